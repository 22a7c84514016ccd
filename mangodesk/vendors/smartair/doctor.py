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
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.vendors.base import (
    AuthError,
    ConnectionReport,
    PermanentError,
    ReportStep,
    VendorError,
)
from mangodesk.vendors.smartair.client import SmartairClient
from mangodesk.vendors.smartair.codes import read_server_time, server_zone
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
STEP_CLOCK = "Server clock"
STEP_FORMAT = "Answer format"
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

    def warn(self, name: str, message: str, fix: str) -> None:
        """Passed, but the installer should know (and may want to act)."""
        self.steps.append(ReportStep(name, True, f"Warning: {message}", fix, warning=True))

    def fail(self, name: str, message: str, fix: str) -> _Stop:
        self.steps.append(ReportStep(name, False, message, fix))
        return _Stop()

    def result(self, summary_ok: str) -> ConnectionReport:
        failed = next((step for step in self.steps if not step.ok), None)
        if failed is None:
            warnings = sum(1 for step in self.steps if step.warning)
            if warnings:
                summary_ok += f" ({warnings} warning{'s' if warnings > 1 else ''}: see below)"
            return ConnectionReport(True, summary_ok, tuple(self.steps), dict(self.details))
        return ConnectionReport(False, failed.message, tuple(self.steps), dict(self.details))


def run_doctor(
    server_address: str,
    operator_name: str,
    operator_password: str,
    settings: Mapping[str, Any],
    *,
    resolve: Resolver | None = None,
    clock: Clock | None = None,
    hotel_timezone: str | None = None,
) -> ConnectionReport:
    """Check the connection step by step; never raises for a connection problem.
    ``hotel_timezone`` stands in for the server's zone when the settings name none."""
    resolve = resolve or socket.getaddrinfo
    report = _Report()
    summary = "Connected."
    with contextlib.suppress(_Stop):
        summary = _run(report, server_address, operator_name, operator_password, settings,
                       resolve, clock or SystemClock(), hotel_timezone)
    return report.result(summary)


def _run(
    report: _Report,
    server_address: str,
    operator_name: str,
    operator_password: str,
    settings: Mapping[str, Any],
    resolve: Resolver,
    clock: Clock,
    hotel_timezone: str | None,
) -> str:
    try:
        address = parse_server_address(server_address, settings)
    except PermanentError as error:
        raise report.fail(STEP_ADDRESS, error.message, error.fix or "") from None
    try:
        zone = server_zone(settings, hotel_timezone)
    except PermanentError as error:
        raise report.fail(STEP_CLOCK, error.message, error.fix or "") from None
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
        return _run_services(report, client, address, _ZoneView(zone, settings), clock)
    finally:
        client.close()


class _ZoneView:
    """The zone the server's offset-less times are read in, and where that choice came from."""

    def __init__(self, zone: ZoneInfo | None, settings: Mapping[str, Any]) -> None:
        self.zone = zone
        if settings.get("server_timezone"):
            self.origin = "set in the connection settings"
        elif zone is not None:
            self.origin = "the hotel's zone"
        else:
            self.origin = "no zone known, read as UTC"

    @property
    def name(self) -> str:
        return self.zone.key if self.zone is not None else "UTC"


def _run_services(report: _Report, client: SmartairClient, address: ServerAddress,
                  zones: _ZoneView, clock: Clock) -> str:
    # 4. Where the web services live.
    candidates = (address.base_path,) if address.base_path else KNOWN_BASE_PATHS
    found: str | None = None
    try:
        for candidate in candidates:
            if client.find_services(candidate):
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
    if client.guests_wsdl_missing:
        report.warn(
            STEP_WSDL,
            f"Web services found at /{found}, but the server does not publish the guest "
            "service's contract (GuestsWebService?wsdl). Mangodesk uses its own copy of it.",
            f"Nothing to do if the rooms below are found. If codes fail, {INSTALLER_HINT} "
            "whether the guest web service is installed.",
        )
    else:
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
    _check_clock(report, value(info, "systemTime"), zones, clock.now())

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
    if client.result_element_plugin.renamed:
        report.warn(
            STEP_FORMAT,
            "The server names its answers' result element “return” instead of "
            "“operationResult”. Mangodesk reads both.",
            "Nothing to do; mention it if you report a problem to Mangodesk support.",
        )
    return f"Connected to Smartair at {address.display()}: {len(rooms)} rooms."


def _pinned(settings: Mapping[str, Any]) -> str | None:
    raw = settings.get("pinned_sha256")
    if not raw:
        return None
    try:
        return normalise_fingerprint(str(raw))
    except ValueError:
        return None


SKEW_TOLERANCE = timedelta(minutes=2)
HALF_HOUR = timedelta(minutes=30)


def _check_clock(report: _Report, system_time: Any, zones: _ZoneView, desk: datetime) -> None:
    """Show the server's clock and zone, and flag a clock that disagrees with this PC's: the
    server decides when a stay starts, so a skew moves every guest's start."""
    server = read_server_time(system_time, zones.zone)
    if server is None:
        report.warn(
            STEP_CLOCK,
            "The server did not tell its time, so Mangodesk cannot compare clocks.",
            f"{ASK_INSTALLER} to check the Smartair server's clock and time zone.",
        )
        return
    if isinstance(system_time, datetime) and system_time.tzinfo is not None:
        offset = system_time.utcoffset() or timedelta(0)
        hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
        zone_text = f"UTC{'+' if offset >= timedelta(0) else '-'}{abs(hours):02d}:{minutes:02d}" \
            ", as the server reports it"
        shown = system_time
    else:
        zone_text = f"{zones.name}, {zones.origin}"
        shown = server.astimezone(zones.zone or UTC)
    report.details["server_time"] = shown.isoformat()
    report.details["server_timezone"] = zones.name
    skew = server - desk
    report.details["clock_skew_seconds"] = str(int(skew.total_seconds()))
    clock_text = f"The server's clock shows {shown:%Y-%m-%d %H:%M} ({zone_text})"
    if abs(skew) <= SKEW_TOLERANCE:
        report.ok(STEP_CLOCK, f"{clock_text}; it agrees with this computer's clock.")
        return
    minutes = round(abs(skew).total_seconds() / 60)
    direction = "ahead of" if skew > timedelta(0) else "behind"
    amount = _duration(minutes)
    whole_half_hours = round(skew / HALF_HOUR) * HALF_HOUR
    looks_like_zone = whole_half_hours and abs(skew - whole_half_hours) <= SKEW_TOLERANCE
    if looks_like_zone:
        fix = (
            f"A difference of {amount} is usually a time zone, not a wrong clock: the server "
            f"probably keeps another zone than {zones.name}. Type the server's zone (e.g. "
            "Europe/Madrid) as “Server time zone” in the connection settings, then check "
            "again."
        )
    else:
        fix = (
            "Mangodesk follows the server's clock for when a stay starts, but times shown on "
            f"this computer will be off. {ASK_INSTALLER} to set the server's clock (or this "
            "computer's) to the correct time, ideally from a time server."
        )
    report.warn(STEP_CLOCK, f"{clock_text}, {amount} {direction} this computer's clock.", fix)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
