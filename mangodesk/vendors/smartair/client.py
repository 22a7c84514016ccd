"""Calls to the Smartair web services through zeep, with transport failures classified.

Every authenticated request carries ``operatorName`` / ``operatorPassword`` as its first
children; there is no session. WSDLs come from the bundled files and the endpoint from the
installer's address (``create_service``), never from the server's own ``soap:address``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from zeep.plugins import Plugin

from mangodesk.vendors import http
from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    PermanentError,
    TransientError,
    VendorError,
)
from mangodesk.vendors.smartair.errors import ASK_INSTALLER, INSTALLER_HINT
from mangodesk.vendors.smartair.tls import find_certificate_change
from mangodesk.vendors.smartair.transport import (
    DOORS_BINDING,
    DOORS_SERVICE,
    GUESTS_BINDING,
    GUESTS_SERVICE,
    KNOWN_BASE_PATHS,
    HttpxTransport,
    ServerAddress,
    bundled_wsdl_dir,
)

log = logging.getLogger(__name__)

ZEEP_SETTINGS = zeep.Settings(
    strict=False,  # newer servers add elements; don't fail on them…
    xsd_ignore_sequence_order=True,  # …and don't let one extra element swallow the next field
    forbid_external=True,  # the bundled WSDLs are local files; nothing to fetch
)


def certificate_changed_error(address: ServerAddress, presented: str) -> PermanentError:
    return PermanentError(
        f"The Smartair server at {address.display()} presented a different security "
        f"certificate from the one accepted for this connection (it now shows {presented}). "
        "Mangodesk stopped before sending the operator password.",
        "This happens when the server was reinstalled or its certificate renewed, but also "
        f"when something on the network is impersonating it: {INSTALLER_HINT} whether the "
        "certificate was changed, and only then accept the new fingerprint in the connection "
        "settings.",
        vendor_code="CERTIFICATE_CHANGED",
    )


# Failures that mean the Smartair server was never reached (nothing was sent).
_NOT_CONNECTED = frozenset({http.Failure.NOT_CONNECTED, http.Failure.CONNECT_TIMED_OUT,
                            http.Failure.BAD_CERTIFICATE})


def transport_error(
    address: ServerAddress, operation: str, error: Exception, *, mutating: bool
) -> VendorError:
    """A failure before a usable answer arrived, classified for the retry policy."""
    changed = find_certificate_change(error)
    if changed is not None:
        return certificate_changed_error(address, changed.presented)
    where = address.display()
    failure = http.classify_exception(error) if isinstance(error, httpx.TransportError) else None
    if failure is not None and failure.kind in _NOT_CONNECTED:
        return TransientError(
            f"Mangodesk cannot reach the Smartair server at {where}.",
            "Check that the Smartair server computer is on and connected to the network. "
            "Mangodesk tries again in a few minutes.",
            vendor_code="CONNECT",
        )
    if failure is not None and failure.timed_out:
        message = f"The Smartair server at {where} did not answer {operation} in time."
        if mutating:
            return AmbiguousError(
                message, "Mangodesk checks the room before trying again.", vendor_code="TIMEOUT"
            )
        return TransientError(message, "Mangodesk tries again in a few minutes.",
                              vendor_code="TIMEOUT")
    if isinstance(error, zeep.exceptions.TransportError):
        status = error.status_code
        if status in (401, 403):
            return AuthError(
                f"The Smartair server at {where} refused access to its web services "
                f"(HTTP {status}).",
                f"{ASK_INSTALLER} whether this computer may use the web services.",
                vendor_code=f"HTTP_{status}",
            )
        if status == 404:
            return PermanentError(
                f"The Smartair web services were not found at {where}.",
                "Run the connection check to find the right address.",
                vendor_code="HTTP_404",
            )
    if isinstance(error, zeep.exceptions.Fault):
        message = (
            f"The Smartair server reported an internal error during {operation} "
            f"({error.message or 'no details'})."
        )
    elif isinstance(error, zeep.exceptions.TransportError):
        message = (
            f"The Smartair server answered {operation} with an error page "
            f"(HTTP {error.status_code})."
        )
    elif isinstance(error, zeep.exceptions.XMLSyntaxError | etree.XMLSyntaxError):
        message = f"The Smartair server's answer to {operation} was not valid XML."
    else:
        message = f"The connection to the Smartair server broke during {operation} ({error})."
    if mutating:
        return AmbiguousError(message, "Mangodesk checks the room before trying again.")
    return TransientError(message, "Mangodesk tries again in a few minutes.")


RESULT_ELEMENT = "operationResult"
# What some JAX-WS servers call the one child of every ``<op>Response``.
RETURN_ELEMENT = "return"


class ResultElementPlugin(Plugin):
    """Reads an answer whose result element is called ``return`` as the bundled contract's
    ``operationResult``, and remembers that the server does so (the doctor says it)."""

    def __init__(self) -> None:
        self.renamed = False

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> tuple[Any, Any]:
        body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        for response in body if body is not None else ():
            if not isinstance(response.tag, str):
                continue
            children = [c for c in response if isinstance(c.tag, str)]
            names = {etree.QName(c).localname for c in children}
            if RESULT_ELEMENT in names:
                continue
            for child in children:
                if etree.QName(child).localname == RETURN_ELEMENT:
                    child.tag = RESULT_ELEMENT
                    self.renamed = True
        return envelope, http_headers


def unreadable_answer(operation: str, *, mutating: bool) -> VendorError:
    message = f"The Smartair server's answer to {operation} could not be read."
    if mutating:
        return AmbiguousError(message, "Mangodesk checks the room before trying again.",
                              vendor_code="UNREADABLE")
    return TransientError(
        message,
        "Mangodesk tries again in a few minutes. If it keeps happening, send the log file to "
        "Mangodesk support.",
        vendor_code="UNREADABLE",
    )


class SmartairClient:
    """One server, one operator: zeep proxies for GuestsWebService and DoorsWebService.

    Thread-safe for the engine's workers: zeep proxies are built once under a lock; httpx
    clients may be shared between threads.
    """

    def __init__(
        self,
        address: ServerAddress,
        http: httpx.Client,
        operator_name: str,
        operator_password: str,
    ) -> None:
        self.address = address
        self.http = http
        self._operator_name = operator_name
        self._operator_password = operator_password
        self._base_path = address.base_path
        self._lock = threading.Lock()
        self._proxies: dict[str, Any] = {}
        self._transport = HttpxTransport(http)
        self.result_element_plugin = ResultElementPlugin()
        # Set when the server serves its Doors WSDL but not the Guests one (we use the
        # bundled Guests contract either way).
        self.guests_wsdl_missing = False

    @property
    def base_path(self) -> str | None:
        return self._base_path

    def close(self) -> None:
        self.http.close()

    # ----------------------------------------------------------------- discovery

    def wsdl_answers(self, service: str, base_path: str) -> bool:
        """Whether ``<base>/<service>?wsdl`` serves a WSDL (raises on TLS pin mismatch)."""
        url = self.address.service_url(service, base_path) + "?wsdl"
        try:
            response = self.http.get(url)
        except httpx.HTTPError as error:
            changed = find_certificate_change(error)
            if changed is not None:
                raise certificate_changed_error(self.address, changed.presented) from error
            raise transport_error(self.address, "the WSDL check", error, mutating=False) from error
        return response.status_code == 200 and b"definitions" in response.content

    def use_base_path(self, base_path: str) -> None:
        with self._lock:
            self._base_path = base_path

    def find_services(self, base_path: str) -> bool:
        """Whether the web services live under ``base_path``: the Guests WSDL answers there,
        or (a server that does not publish it) the Doors WSDL beside it does."""
        if self.wsdl_answers(GUESTS_SERVICE, base_path):
            return True
        if self.wsdl_answers(DOORS_SERVICE, base_path):
            self.guests_wsdl_missing = True
            return True
        return False

    def discover_base_path(self) -> str:
        """The context root the web services live under: the configured one, or a probe of the
        roots seen on real installations."""
        with self._lock:
            if self._base_path:
                return self._base_path
        candidates = list(KNOWN_BASE_PATHS)
        for candidate in candidates:
            if self.find_services(candidate):
                with self._lock:
                    self._base_path = candidate
                return candidate
        tried = ", ".join(f"/{p}" for p in candidates)
        raise PermanentError(
            f"No Smartair web services were found on {self.address.display()} (tried {tried}).",
            f"{ASK_INSTALLER} for the web-services address (it ends in "
            "/GuestsWebService?wsdl) and whether the web services are installed.",
            vendor_code="WSDL_NOT_FOUND",
        )

    # ----------------------------------------------------------------- calls

    def _proxy(self, service: str) -> Any:
        base_path = self.discover_base_path()
        with self._lock:
            proxy = self._proxies.get(service)
            if proxy is None:
                wsdl_name, binding = (
                    ("GuestsWebService.wsdl", GUESTS_BINDING)
                    if service == GUESTS_SERVICE
                    else ("DoorsWebService.wsdl", DOORS_BINDING)
                )
                wsdl = str(bundled_wsdl_dir() / wsdl_name)
                client = zeep.Client(  # type: ignore[no-untyped-call]
                    wsdl, transport=self._transport, settings=ZEEP_SETTINGS,
                    plugins=[self.result_element_plugin],
                )
                proxy = client.create_service(  # type: ignore[no-untyped-call]
                    binding, self.address.service_url(service, base_path)
                )
                self._proxies[service] = proxy
            return proxy

    def guests(self, operation: str, *, mutating: bool, **params: Any) -> Any:
        return self._call(GUESTS_SERVICE, operation, mutating=mutating, auth=True, **params)

    def doors(self, operation: str, *, auth: bool = True, **params: Any) -> Any:
        return self._call(DOORS_SERVICE, operation, mutating=False, auth=auth, **params)

    def _call(
        self, service: str, operation: str, *, mutating: bool, auth: bool, **params: Any
    ) -> Any:
        proxy = self._proxy(service)
        if auth:
            params = {
                "operatorName": self._operator_name,
                "operatorPassword": self._operator_password,
                **params,
            }
        self._transport.expect_answer()
        try:
            return getattr(proxy, operation)(**params)
        except VendorError:
            raise
        except (httpx.HTTPError, zeep.exceptions.Error, etree.XMLSyntaxError, OSError) as error:
            log.info("Smartair %s failed: %s", operation, type(error).__name__)
            raise transport_error(self.address, operation, error, mutating=mutating) from error
        except Exception as error:
            if not self._transport.answered:
                raise  # failed before anything was sent: a fault of ours, kept loud
            # zeep choked on the answer (deeply nested, wrong types, foreign XML…).
            log.warning("Smartair %s: the answer could not be read", operation, exc_info=True)
            raise unreadable_answer(operation, mutating=mutating) from error
