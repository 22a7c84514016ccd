"""The connection doctor: why can't Mangodesk talk to this Smartair server?

Checks, in order, everything between the desk PC and a room list, and stops at the first
failure with a plain-language message and what to ask the Smartair installer. Qt-free: the
connect wizard, the adapter's ``test_connection`` and the ``smartair-doctor`` command use it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from mangodesk.vendors.base import (
    AuthError,
    ConnectionReport,
    PermanentError,
    ReportStep,
    VendorError,
)
from mangodesk.vendors.smartair.client import SmartairClient
from mangodesk.vendors.smartair.errors import (
    ASK_INSTALLER,
    AUTHENTICATION_ERRORS,
    INSTALLER_HINT,
    LICENCE_ERROR,
    LICENCE_FIX,
    as_list,
    error_for,
    result_failure,
    value,
)
from mangodesk.vendors.smartair.tls import (
    fetch_certificate,
    fingerprint_of,
    normalise_fingerprint,
)
from mangodesk.vendors.smartair.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    GUESTS_SERVICE,
    KNOWN_BASE_PATHS,
    ServerAddress,
    build_http_client,
    operation_timeout,
    parse_server_address,
)

Resolver = Callable[..., list[Any]]

STEP_ADDRESS = "Server address"
STEP_PORT = "Network port"
STEP_TLS = "Secure connection"
STEP_WSDL = "Web services"
STEP_VERSION = "Smartair version"
STEP_LOGIN = "Operator login"
STEP_LICENCE = "Web-services licence"
STEP_ROOMS = "Rooms"


class _Stop(Exception):
    """The first failing step: the rest would only repeat the same problem."""


class _Report:
    def __init__(self) -> None:
        self.steps: list[ReportStep] = []
        self.details: dict[str, str] = {}

    def ok(self, name: str, message: str) -> None:
        self.steps.append(ReportStep(name, True, message))

    def fail(self, name: str, message: str, fix: str) -> _Stop:
        self.steps.append(ReportStep(name, False, message, fix))
        return _Stop()

    def result(self, summary_ok: str) -> ConnectionReport:
        failed = next((step for step in self.steps if not step.ok), None)
        if failed is None:
            return ConnectionReport(True, summary_ok, tuple(self.steps), dict(self.details))
        return ConnectionReport(False, failed.message, tuple(self.steps), dict(self.details))


def run_doctor(
    server_address: str,
    operator_name: str,
    operator_password: str,
    settings: Mapping[str, Any],
    *,
    resolve: Resolver | None = None,
) -> ConnectionReport:
    """Check the connection step by step; never raises for a connection problem."""
    resolve = resolve or socket.getaddrinfo
    report = _Report()
    summary = "Connected."
    with contextlib.suppress(_Stop):
        summary = _run(report, server_address, operator_name, operator_password, settings,
                       resolve)
    return report.result(summary)


def _run(
    report: _Report,
    server_address: str,
    operator_name: str,
    operator_password: str,
    settings: Mapping[str, Any],
    resolve: Resolver,
) -> str:
    try:
        address = parse_server_address(server_address, settings)
    except PermanentError as error:
        raise report.fail(STEP_ADDRESS, error.message, error.fix or "") from None
    timeout = operation_timeout(settings)
    connect_timeout = min(DEFAULT_CONNECT_TIMEOUT, timeout)

    # 1. The name resolves.
    try:
        infos = resolve(address.host, address.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise report.fail(
            STEP_ADDRESS,
            f"The name “{address.host}” does not lead to any computer on this network.",
            "Check the spelling. Ask your Smartair installer (or IT administrator) for the IP "
            "address of the computer running the Smartair Server Platform, e.g. 192.168.1.20.",
        ) from None
    ip = str(infos[0][4][0]) if infos else address.host
    shown = address.host if ip == address.host else f"{address.host} ({ip})"
    report.ok(STEP_ADDRESS, f"{shown} found on the network.")

    # 2. Something listens on the port.
    try:
        with socket.create_connection((ip, address.port), timeout=connect_timeout):
            pass
    except OSError:
        raise report.fail(
            STEP_PORT,
            f"Nothing answers on port {address.port} at {shown}.",
            "Check that the Smartair server computer is switched on and the Smartair Server "
            f"Platform service is running. {ASK_INSTALLER} which port the web "
            "services use (8181 for HTTPS by default) and whether a firewall blocks this "
            "computer.",
        ) from None
    report.ok(STEP_PORT, f"Port {address.port} is open.")

    # 3. TLS: read the certificate and compare it with the accepted one.
    pinned = _pinned(settings)
    if address.use_http:
        report.ok(
            STEP_TLS,
            "Plain HTTP was chosen: no encryption, the operator password crosses the network "
            "readable. Use HTTPS (port 8181) whenever the server offers it.",
        )
    else:
        try:
            presented = fingerprint_of(fetch_certificate(ip, address.port, connect_timeout))
        except (ssl.SSLError, OSError):
            raise report.fail(
                STEP_TLS,
                f"Port {address.port} at {shown} does not speak HTTPS.",
                f"{ASK_INSTALLER} for the HTTPS port of the web services (8181 "
                "by default). Choose plain HTTP only if the installer says the server has no "
                "HTTPS.",
            ) from None
        report.details["certificate_fingerprint"] = presented
        if pinned is None:
            report.details["needs_certificate_acceptance"] = "true"
            raise report.fail(
                STEP_TLS,
                "The server's security certificate is not trusted yet. Its fingerprint is "
                f"{presented}.",
                f"{ASK_INSTALLER} to read the certificate fingerprint on the "
                "Smartair server and compare it with this one. If they match, accept it; "
                "Mangodesk will then only ever talk to this server.",
            )
        if pinned != presented:
            raise report.fail(
                STEP_TLS,
                "Warning: the server's security certificate has CHANGED since it was accepted "
                f"(accepted {pinned}, now {presented}).",
                f"Do not accept it before you {INSTALLER_HINT} whether the server was "
                "reinstalled or its certificate renewed. If not, something on the network may "
                "be impersonating the server.",
            )
        report.ok(STEP_TLS, f"Secure connection to the accepted certificate ({presented}).")

    http = build_http_client(address, pinned, timeout)
    client = SmartairClient(address, http, operator_name, operator_password)
    try:
        return _run_services(report, client, address)
    finally:
        client.close()


def _run_services(report: _Report, client: SmartairClient, address: ServerAddress) -> str:
    # 4. Where the web services live.
    candidates = (address.base_path,) if address.base_path else KNOWN_BASE_PATHS
    found: str | None = None
    try:
        for candidate in candidates:
            if client.wsdl_answers(GUESTS_SERVICE, candidate):
                found = candidate
                break
    except VendorError as error:
        raise report.fail(STEP_WSDL, error.message, error.fix or "") from None
    if found is None:
        tried = ", ".join(f"/{p}" for p in candidates)
        raise report.fail(
            STEP_WSDL,
            f"The Smartair web services were not found on {address.display()} (tried {tried}).",
            f"{ASK_INSTALLER} for the web-services address (it ends in "
            "/GuestsWebService?wsdl) and whether the SOAP web services are installed and "
            "started on the server.",
        )
    report.details["base_path"] = found
    client.use_base_path(found)
    report.ok(STEP_WSDL, f"Web services found at /{found}.")

    # 5. getVersion needs no login: proves the SOAP stack answers.
    try:
        info = client.doors("getVersion", auth=False)
    except VendorError as error:
        raise report.fail(
            STEP_VERSION,
            f"The Smartair server did not answer a version request. {error.message}",
            f"{ASK_INSTALLER} to check that the Smartair Server Platform is "
            "running normally.",
        ) from None
    version = str(value(info, "platformVersion", "unknown"))
    site = str(value(info, "siteName", "")) or "unnamed site"
    report.details["platform_version"] = version
    report.details["site_name"] = site
    report.ok(STEP_VERSION, f"Smartair Server Platform {version}, site “{site}”.")

    # 6–8. One authenticated call tells login, licence and rooms apart.
    try:
        result = client.guests("findAllRooms", mutating=False)
    except VendorError as error:
        step = STEP_LOGIN if isinstance(error, AuthError) else STEP_ROOMS
        raise report.fail(step, error.message, error.fix or "") from None
    failure = result_failure("findAllRooms", result)
    if failure is not None and failure.error_type in AUTHENTICATION_ERRORS:
        raise report.fail(
            STEP_LOGIN,
            "The Smartair server refused the operator name or password.",
            "Check the operator name and password (they are case-sensitive). "
            f"{ASK_INSTALLER} to confirm the operator created for Mangodesk "
            "exists, is active and has this password.",
        )
    report.ok(STEP_LOGIN, "Operator name and password accepted.")
    if failure is not None and failure.error_type == LICENCE_ERROR:
        raise report.fail(
            STEP_LICENCE,
            "The Smartair licence of this server does not include the SOAP API (web "
            "services) feature.",
            LICENCE_FIX,
        )
    report.ok(STEP_LICENCE, "The web-services feature is licensed.")
    if failure is not None:
        refused = error_for(failure, mutating=False)
        raise report.fail(STEP_ROOMS, refused.message, refused.fix or "")
    rooms = as_list(value(result, "doorData"))
    if not rooms:
        raise report.fail(
            STEP_ROOMS,
            "The Smartair server lists no rooms for this operator.",
            f"{ASK_INSTALLER} to give the Mangodesk operator access to the "
            "guest rooms.",
        )
    report.details["room_count"] = str(len(rooms))
    report.ok(STEP_ROOMS, f"{len(rooms)} rooms found.")
    return f"Connected to Smartair at {address.display()}: {len(rooms)} rooms."


def _pinned(settings: Mapping[str, Any]) -> str | None:
    raw = settings.get("pinned_sha256")
    if not raw:
        return None
    try:
        return normalise_fingerprint(str(raw))
    except ValueError:
        return None
