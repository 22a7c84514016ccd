"""How Mangodesk reaches a Smartair server: the address, TLS, timeouts, and zeep over httpx.

One ``httpx.Client`` carries every request (WSDL probes and SOAP calls), so a single place
decides the timeout and the certificate pin. zeep's own transport has no operation timeout by
default; ours always has one.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import ssl
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mangodesk.vendors.base import PermanentError
from mangodesk.vendors.smartair.tls import PinnedSSLContext

log = logging.getLogger(__name__)

DEFAULT_PORT = 8181
DEFAULT_BASE_PATH = "ServerPlatform"
# Context roots seen on real installations, in the order we try them.
KNOWN_BASE_PATHS = ("ServerPlatform", "TesaHotelPlatform", "TesaSmartairPlatform")
DEFAULT_OPERATION_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0

GUESTS_SERVICE = "GuestsWebService"
DOORS_SERVICE = "DoorsWebService"
NAMESPACE = "http://soap.ws.ts1000.tesa.es/"
GUESTS_BINDING = f"{{{NAMESPACE}}}GuestsServicePortBinding"
DOORS_BINDING = f"{{{NAMESPACE}}}WirelessDoorsServicePortBinding"

_WSDL_FILES = (
    "GuestsWebService.wsdl",
    "GuestsWebService.xsd",
    "DoorsWebService.wsdl",
    "DoorsWebService.xsd",
)
_extracted_dir: Path | None = None
_extract_lock = threading.Lock()


def bundled_wsdl_dir() -> Path:
    """The folder holding the bundled WSDL/XSD files, side by side so imports resolve.

    Installed packages (and frozen bundles) keep them as real files; from a zip they are
    copied once to a temporary folder for this process.
    """
    global _extracted_dir
    resources = importlib.resources.files("mangodesk").joinpath("resources", "smartair")
    if isinstance(resources, Path):
        return resources
    with _extract_lock:
        if _extracted_dir is None:
            target = Path(tempfile.mkdtemp(prefix="mangodesk-smartair-"))
            for name in _WSDL_FILES:
                source = resources.joinpath(name).read_bytes()
                (target / name).write_bytes(source)
            _extracted_dir = target
        return _extracted_dir


@dataclass(frozen=True)
class ServerAddress:
    """Where the Smartair Server Platform listens, from what the installer typed."""

    host: str
    port: int
    use_http: bool
    base_path: str | None  # None: not chosen yet, probe the known ones

    @property
    def scheme(self) -> str:
        return "http" if self.use_http else "https"

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def service_url(self, service: str, base_path: str | None = None) -> str:
        root = base_path or self.base_path or DEFAULT_BASE_PATH
        return f"{self.origin}/{root}/{service}"

    def display(self) -> str:
        return f"{self.host}:{self.port}"


def explicitly_true(setting: Any) -> bool:
    """Only a real yes counts (settings from the wizard arrive as strings)."""
    if isinstance(setting, bool):
        return setting
    return isinstance(setting, str) and setting.strip().lower() == "true"


def parse_server_address(text: str, settings: Mapping[str, Any]) -> ServerAddress:
    """Accept ``10.0.0.5``, ``smartair.local:8181`` or ``https://10.0.0.5:8181/TesaHotelPlatform``.

    A base path in the address wins over the ``base_path`` setting; ``http://`` is refused
    unless the installer explicitly chose plain HTTP (``use_http``), because the operator
    password travels in every request.
    """
    raw = text.strip()
    if not raw:
        raise PermanentError(
            "The Smartair server address is empty.",
            "Type the address of the Smartair Server Platform (ask your Smartair installer).",
        )
    use_http = explicitly_true(settings.get("use_http"))
    candidate = raw if "://" in raw else f"//{raw}"
    try:
        parts = urlsplit(candidate)
        explicit_port = parts.port
    except ValueError:
        raise PermanentError(
            f"“{raw}” is not a server address Mangodesk understands.",
            "Type it like 192.168.1.20 or smartair-server:8181.",
        ) from None
    if parts.scheme == "http" and not use_http:
        raise PermanentError(
            "The address starts with http://, which would send the operator password "
            "unencrypted over the network.",
            "Use the https address (usually port 8181), or tick “Plain HTTP” under "
            "Advanced in the connect window if your installer set the server up that way.",
        )
    if parts.scheme not in ("", "http", "https"):
        raise PermanentError(
            f"“{raw}” is not a Smartair server address.",
            "Type it like 192.168.1.20 or smartair-server:8181.",
        )
    if not parts.hostname:
        raise PermanentError(
            f"“{raw}” has no server name or IP address in it.",
            "Type it like 192.168.1.20 or smartair-server:8181.",
        )
    setting_port = settings.get("port")
    port = explicit_port or (int(setting_port) if setting_port else None)
    if port is None:
        port = 8080 if use_http else DEFAULT_PORT
    path_root = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else None
    setting_root = str(settings.get("base_path") or "").strip("/") or None
    return ServerAddress(
        host=parts.hostname,
        port=port,
        use_http=use_http,
        base_path=path_root or setting_root,
    )


def operation_timeout(settings: Mapping[str, Any]) -> float:
    value = settings.get("timeout_seconds")
    try:
        seconds = float(value) if value is not None else DEFAULT_OPERATION_TIMEOUT
    except (TypeError, ValueError):
        seconds = DEFAULT_OPERATION_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_OPERATION_TIMEOUT


def build_http_client(
    address: ServerAddress, pinned_sha256: str | None, timeout_seconds: float
) -> httpx.Client:
    """An httpx client bound to one server: pinned TLS (or explicit plain HTTP), hard timeouts.

    ``trust_env=False``: the lock server is on the hotel LAN, so proxy settings meant for the
    internet must not capture (or see) these requests.
    """
    verify: ssl.SSLContext | bool
    if address.use_http:
        verify = True  # irrelevant for http://, and never a verify-off
    elif pinned_sha256:
        try:
            verify = PinnedSSLContext(pinned_sha256)
        except ValueError:
            raise PermanentError(
                "The accepted certificate fingerprint stored for this Smartair connection is "
                "damaged.",
                "Run the connection check again and accept the server's certificate anew.",
            ) from None
    else:
        raise PermanentError(
            "The Smartair server's certificate has not been accepted yet.",
            "Run the connection check, compare the certificate fingerprint with the one your "
            "Smartair installer gives you, and accept it.",
        )
    timeout = httpx.Timeout(
        timeout_seconds, connect=min(DEFAULT_CONNECT_TIMEOUT, timeout_seconds)
    )
    return httpx.Client(verify=verify, timeout=timeout, trust_env=False, follow_redirects=False)



def __getattr__(name: str) -> Any:
    """``HttpxTransport`` is built on first use: zeep loads only when a SOAP client is made,
    so a command that never talks to a Smartair server starts without it."""
    if name == "HttpxTransport":
        return _httpx_transport_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _httpx_transport_class() -> type:
    from zeep.transports import Transport

    class HttpxTransport(Transport):
        """zeep's transport, but every request goes through one ``httpx.Client`` with timeouts.

        Local WSDL/XSD files are read from disk by zeep's ``load``; anything remote goes through
        the same client (and so the same pin and timeout) as the operations.
        """

        def __init__(self, http: httpx.Client) -> None:
            # Deliberately not calling Transport.__init__: it builds a requests.Session we
            # never use.
            self.cache = None
            self.load_timeout = http.timeout.read
            self.operation_timeout = http.timeout.read
            self.logger = logging.getLogger("zeep.transports")
            self._close_session = False
            self.session = None
            self.http = http
            self._calls = threading.local()  # per engine worker: did this call get an answer?

        def expect_answer(self) -> None:
            self._calls.answered = False

        @property
        def answered(self) -> bool:
            """Whether the current thread's last call got an HTTP answer (so any failure after
            it is about that answer, not about the request we built)."""
            return bool(getattr(self._calls, "answered", False))

        def get(self, address: str, params: Any, headers: Any) -> httpx.Response:
            return self.http.get(address, params=params, headers=headers)

        def post(self, address: str, message: Any, headers: Any) -> httpx.Response:
            response = self.http.post(address, content=message, headers=headers)
            self._calls.answered = True
            return response

        def _load_remote_data(self, url: str) -> bytes:
            response = self.http.get(url)
            response.raise_for_status()
            return response.content

        def __del__(self) -> None:
            return None

    return HttpxTransport

