"""A local TESA Smartair Server Platform: SOAP 1.1 over HTTPS (self-signed) or HTTP.

It serves the bundled WSDLs on ``?wsdl`` under a configurable context root, answers the
GuestsWebService and DoorsWebService operations the adapter uses with XML built the way a
JAX-WS server writes it, and follows the behaviour in ``reference/smartair-soap.md``: rooms,
pre-assignments that become check-ins when their start passes (on an injectable clock), PIN
uniqueness across the site, operator authentication and the web-services licence.

Where public documentation is silent the simulator assumes (and the adapter must not rely on
more than this): a pre-check-in whose start is already past turns into a check-in at once; a
live check-in ends by itself at its expiration; precheckin checks PIN clashes before room
overlaps (unless told otherwise); errorCode values are those seen in client test fixtures.

It lists each pre-assignment's PIN (``keyPad``, an inferred element). Switches for
real-site variations: answers in the server's local time without an offset, the order of
the room and PIN checks, a result element called ``return``, no published Guests WSDL.

Faults for tests: result errors by errorType (authentication, licence, lock offline…), slow
answers, a hang until the simulator stops, a SOAP Fault, an HTML 500 page, an unknown extra
element before ``type``, a missing ``type``, another ``type``, raw reply bytes, a
connection closed without an answer (before or after applying the operation), and a
checkout whose nested sub-result fails.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from lxml import etree

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.base import DemoVendor, LoopbackServer
from mangodesk.vendors.smartair.tls import fingerprint_of
from mangodesk.vendors.smartair.transport import bundled_wsdl_dir

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://soap.ws.ts1000.tesa.es/"
DEMO_OPERATOR = "mangodesk"
DEMO_PASSWORD = "demo-smartair-password"

ERROR_CODES = {  # as in roomdoo-smartlocks' fixtures; clients must key on errorType
    "ERROR_SERVICE_AUTHENTICATION": "500",
    "ERROR_NOT_AUTHORIZED_IN_SERVER_SITE_LICENSE": "604",
    "RESULT_ERROR_CHECKIN_ROOM_OCCUPIED": "300",
    "RESULT_ERROR_CHECKIN_ROOM_PREASSIGNED": "301",
    "RESULT_ERROR_CHECKIN_INVALID_ROOM": "307",
    "RESULT_ERROR_CHECKIN_ROOM_NOT_OCCUPIED": "310",
    "ERROR_OPERATION_DOOR_UNKNOWN": "503",
    "ERROR_DATA_ERROR": "800",
    "ERROR_BAD_PARAMETERS": "801",
    "ERROR_COMMUNICATION_NO_ANSWER": "C5",
}


@dataclass
class Stay:
    pin: str
    start: datetime
    end: datetime


@dataclass
class SimRoom:
    door_id: int
    name: str
    group: str | None = None
    battery_status: str = "OK"
    battery_percentage: int = 90
    checkin: Stay | None = None
    preassignments: dict[int, Stay] = field(default_factory=dict)


@dataclass
class Fault:
    """One injected misbehaviour for the next matching request."""

    error_type: str | None = None  # answer RESULT_ERROR with this errorType
    error_detail: str | None = None
    delay: float = 0.0  # answer this many seconds late
    hang: bool = False  # never answer (until the simulator stops)
    soap_fault: bool = False
    html_500: bool = False
    extra_element: bool = False  # an element the contract does not know, before ``type``
    missing_type: bool = False
    nested_error: str | None = None  # checkout: top level OK, this errorType in subOperations
    after_apply: bool = False  # misbehave only after carrying the operation out
    drop_answer: bool = False  # close the connection without an answer (after_apply: applied)
    result_type: str | None = None  # answer with this ``type`` instead of RESULT_OK
    raw_body: bytes | None = None  # answer exactly these bytes (HTTP 200, text/xml)
    meanwhile: Callable[[], None] | None = None  # runs as the request arrives (a race)


class SmartairError(Exception):
    def __init__(self, error_type: str, detail: str | None = None) -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.detail = detail


def demo_rooms() -> list[SimRoom]:
    """Two floors of guest rooms and a suite; door ids are not room numbers (as on site)."""
    rooms = [SimRoom(3 + i, f"Room {101 + i}", "Floor 1") for i in range(6)]
    rooms += [SimRoom(20 + i, f"Room {201 + i}", "Floor 2") for i in range(6)]
    rooms.append(SimRoom(40, "Suite 301", "Suites", battery_status="LOW_BATTERIES",
                         battery_percentage=15))
    return rooms


def _minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def _xml_time(instant: datetime, zone: tzinfo | None = None) -> str:
    """UTC with ``Z``; with a zone, that zone's wall time WITHOUT an offset (as servers that
    answer in their local time do)."""
    if zone is None:
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def _parse_time(text: str | None, zone: tzinfo = UTC) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)  # no offset: the server's own local time
    return _minute(parsed)


def _overlaps(a: Stay, start: datetime, end: datetime) -> bool:
    return a.start < end and start < a.end


def _self_signed_certificate(common_name: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


class SmartairSimulator:
    """State and behaviour of one simulated site; ``start()`` puts it on a loopback port."""

    def __init__(
        self,
        *,
        rooms: Iterable[SimRoom] | None = None,
        clock: Clock | None = None,
        operator_name: str = DEMO_OPERATOR,
        operator_password: str = DEMO_PASSWORD,
        base_path: str = "ServerPlatform",
        use_tls: bool = True,
        site_name: str = "Demo Hotel",
        platform_version: str = "5.61",
        local_zone: str | None = None,
        room_checked_before_pin: bool = False,
        result_element: str = "operationResult",
        publishes_guests_wsdl: bool = True,
    ) -> None:
        """``local_zone``: the server answers in this zone's wall time without an offset and
        reads offset-less times in it (None: UTC with ``Z``). ``room_checked_before_pin``:
        precheckin refuses an overlapping room before a clashing PIN (the order real servers
        use is not documented). ``result_element``: the name of each answer's result child
        (some JAX-WS servers call it ``return``). ``publishes_guests_wsdl``: False answers
        ``GuestsWebService?wsdl`` with 404 while the service itself works."""
        self.clock = clock or SystemClock()
        self.rooms = {room.door_id: room for room in (rooms if rooms is not None else demo_rooms())}
        self.operator_name = operator_name
        self.operator_password = operator_password
        self.base_path = base_path.strip("/")
        self.use_tls = use_tls
        self.site_name = site_name
        self.platform_version = platform_version
        self.local_zone: tzinfo | None = ZoneInfo(local_zone) if local_zone else None
        self.room_checked_before_pin = room_checked_before_pin
        self.result_element = result_element
        self.publishes_guests_wsdl = publishes_guests_wsdl
        self.licensed = True
        self.calls: list[str] = []  # operation names in arrival order
        self.requests: list[bytes] = []  # raw request bodies (tests check the wire)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.RLock()
        self._released = threading.Event()
        self._next_pre_id = 1000
        self._ssl_context: ssl.SSLContext | None = None
        self._server: LoopbackServer | None = None
        self.certificate_fingerprint: str | None = None

    # ----------------------------------------------------------------- control

    def start(self) -> SmartairSimulator:
        context = None
        if self.use_tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl_context = context
            self.replace_certificate()
        handler = type("SmartairHandler", (_Handler,), {"sim": self})
        self._server = LoopbackServer(handler, ssl_context=context).start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SmartairSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def replace_certificate(self) -> str:
        """Load a fresh self-signed certificate (a reinstalled server, or an impostor)."""
        certificate, key = _self_signed_certificate("smartair-server")
        with tempfile.TemporaryDirectory() as folder:
            cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
            cert_file.write_bytes(certificate)
            key_file.write_bytes(key)
            assert self._ssl_context is not None, "only a TLS simulator has a certificate"
            self._ssl_context.load_cert_chain(cert_file, key_file)
        der = ssl.PEM_cert_to_DER_cert(certificate.decode())
        self.certificate_fingerprint = fingerprint_of(der)
        return self.certificate_fingerprint

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the simulator first"
        return self._server.port

    @property
    def address(self) -> str:
        """What an installer would type: host and port."""
        return f"127.0.0.1:{self.port}"

    def service_url(self, service: str) -> str:
        scheme = "https" if self.use_tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{self.base_path}/{service}"

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """Misbehave on the next ``times`` calls of ``operation`` ("*" for any)."""
        with self._lock:
            for _ in range(times):
                self._faults[operation].append(fault)

    def _take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for key in (operation, "*"):
                if self._faults[key]:
                    return self._faults[key].popleft()
        return None

    # ----------------------------------------------------------------- state

    def advance(self) -> None:
        """Apply the passage of time: due pre-assignments become check-ins (the server does
        this by itself), finished check-ins end."""
        now = _minute(self.clock.now())
        with self._lock:
            for room in self.rooms.values():
                if room.checkin is not None and room.checkin.end <= now:
                    room.checkin = None
                for pre_id, stay in sorted(room.preassignments.items(), key=lambda i: i[1].start):
                    if stay.start <= now and room.checkin is None:
                        del room.preassignments[pre_id]
                        if stay.end > now:
                            room.checkin = Stay(stay.pin, stay.start, stay.end)

    def stays(self, door_id: int) -> list[tuple[str, Stay]]:
        """Every stay on a room that can open it now or later: ("checkin" | "pre", stay)."""
        with self._lock:
            self.advance()
            room = self.rooms[door_id]
            found = [("checkin", room.checkin)] if room.checkin is not None else []
            found += [("pre", stay) for _, stay in sorted(room.preassignments.items())]
            return [(kind, Stay(stay.pin, stay.start, stay.end)) for kind, stay in found]

    def _read(self, text: Any) -> datetime | None:
        return _parse_time(text if isinstance(text, str) else None, self.local_zone or UTC)

    def _write(self, instant: datetime) -> str:
        return _xml_time(instant, self.local_zone)

    def _room(self, door_id: Any) -> SimRoom:
        try:
            return self.rooms[int(door_id)]
        except (TypeError, ValueError, KeyError):
            raise SmartairError("RESULT_ERROR_CHECKIN_INVALID_ROOM") from None

    def _check_pin(self, pin: str, start: datetime, end: datetime) -> None:
        for room in self.rooms.values():
            if room.checkin and room.checkin.pin == pin and _overlaps(room.checkin, start, end):
                raise SmartairError("ERROR_DATA_ERROR", "PIN_ALREADY_EXISTS_CHECKINPIN")
            for stay in room.preassignments.values():
                if stay.pin == pin and _overlaps(stay, start, end):
                    raise SmartairError("ERROR_DATA_ERROR", "PIN_ALREADY_EXISTS_PRECHECKINPIN")

    def _guest_stay(self, guest: dict[str, Any]) -> tuple[SimRoom, Stay]:
        room = self._room(guest.get("roomId"))
        start = self._read(guest.get("dateActivation"))
        end = self._read(guest.get("dateExpiration"))
        pin = (guest.get("keyPad") or "").strip()
        if start is None or end is None or end <= start:
            raise SmartairError("ERROR_BAD_PARAMETERS", "dateExpiration must follow dateActivation")
        if not pin.isdigit() or pin.startswith("0") or not 4 <= len(pin) <= 8:
            raise SmartairError("ERROR_BAD_PARAMETERS", "keyPad")
        return room, Stay(pin, start, end)

    # ----------------------------------------------------------------- operations

    def op_precheckin(self, params: dict[str, Any]) -> dict[str, Any]:
        room, stay = self._guest_stay(params.get("guestData") or {})
        if not self.room_checked_before_pin:
            self._check_pin(stay.pin, stay.start, stay.end)
        if room.checkin and _overlaps(room.checkin, stay.start, stay.end):
            raise SmartairError("RESULT_ERROR_CHECKIN_ROOM_OCCUPIED")
        if any(_overlaps(other, stay.start, stay.end) for other in room.preassignments.values()):
            raise SmartairError("RESULT_ERROR_CHECKIN_ROOM_PREASSIGNED")
        self._check_pin(stay.pin, stay.start, stay.end)
        self._next_pre_id += 1
        pre_id = self._next_pre_id
        room.preassignments[pre_id] = stay
        self.advance()
        return {"preAssignationId": pre_id}

    def op_checkin(self, params: dict[str, Any]) -> dict[str, Any]:
        room, stay = self._guest_stay(params.get("guestData") or {})
        if room.checkin is not None:
            raise SmartairError("RESULT_ERROR_CHECKIN_ROOM_OCCUPIED")
        self._check_pin(stay.pin, stay.start, stay.end)
        now = _minute(self.clock.now())
        room.checkin = Stay(stay.pin, now, stay.end)  # a live check-in starts "now"
        return {}

    def op_precheckinModifyDate(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("roomId") is None or params.get("preAssignationId") is None:
            raise SmartairError("ERROR_BAD_PARAMETERS", "roomId and preAssignationId required")
        room = self._room(params["roomId"])
        stay = room.preassignments.get(int(params["preAssignationId"]))
        if stay is None:
            raise SmartairError("RESULT_ERROR_CHECKIN_INVALID_ROOM")
        end = self._read(params.get("dateExpiration"))
        if end is None or end <= stay.start:
            raise SmartairError("ERROR_BAD_PARAMETERS", "dateExpiration")
        stay.end = end
        return {}

    def op_precheckinCancel(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            pre_id = int(params.get("preAssignationId") or -1)
        except ValueError:
            pre_id = -1
        for room in self.rooms.values():
            if room.preassignments.pop(pre_id, None) is not None:
                return {}
        raise SmartairError("RESULT_ERROR_CHECKIN_INVALID_ROOM")

    def op_checkinModifyDate(self, params: dict[str, Any]) -> dict[str, Any]:
        room = self._room(params.get("roomId"))
        if room.checkin is None:
            raise SmartairError("RESULT_ERROR_CHECKIN_ROOM_NOT_OCCUPIED")
        end = self._read(params.get("dateExpiration"))
        if end is None:
            raise SmartairError("ERROR_BAD_PARAMETERS", "dateExpiration")
        room.checkin.end = end
        return {}

    def op_checkout(self, params: dict[str, Any]) -> dict[str, Any]:
        room = self._room(params.get("roomId"))
        if room.checkin is None:
            raise SmartairError("RESULT_ERROR_CHECKIN_ROOM_NOT_OCCUPIED")
        room.checkin = None
        return {"subOperations": [{"type": "RESULT_OK"}]}

    def op_findAllRooms(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"doorData": [self._room_xml(room) for room in self.rooms.values()]}

    def op_findAllOccupiedRooms(self, params: dict[str, Any]) -> dict[str, Any]:
        busy = [r for r in self.rooms.values() if r.checkin or r.preassignments]
        return {"doorData": [self._room_xml(room) for room in busy]}

    def _room_xml(self, room: SimRoom) -> str:
        parts = []
        if room.checkin:
            parts.append(_el("dateActivation", self._write(room.checkin.start)))
            parts.append(_el("dateExpiration", self._write(room.checkin.end)))
        parts.append(_el("doorId", str(room.door_id)))
        parts.append(_el("doorName", room.name))
        parts.append(
            "<doorStateInfo>"
            + _el("batteryPercentage", str(room.battery_percentage))
            + _el("batteryStatus", room.battery_status)
            + "</doorStateInfo>"
        )
        if room.checkin:
            parts.append(_el("keyPad", room.checkin.pin))
        for pre_id, stay in sorted(room.preassignments.items()):
            parts.append(
                "<preAssignations>"
                + _el("datePreActivation", self._write(stay.start))
                + _el("datePreExpiration", self._write(stay.end))
                + _el("keyPad", stay.pin)
                + _el("preAssignationId", str(pre_id))
                + "</preAssignations>"
            )
        parts.append(_el("roomOccupied", "true" if room.checkin else "false"))
        parts.append(_el("roomPreassigned", "true" if room.preassignments else "false"))
        return "".join(parts)

    # ----------------------------------------------------------------- dispatch

    def handle_guests(self, operation: str, params: dict[str, Any], fault: Fault | None) -> str:
        handler = getattr(self, f"op_{operation}", None)
        if handler is None:
            raise _SoapFault(f"Cannot find dispatch method for {{{TNS}}}{operation}")
        with self._lock:
            self.advance()
            try:
                self._authenticate(params)
                if fault is not None and fault.error_type and not fault.after_apply:
                    raise SmartairError(fault.error_type, fault.error_detail)
                if fault is not None and fault.nested_error and operation == "checkout":
                    failed_sub = _result_body(False, fault.nested_error, None)
                    return _result(operation, ok=True, fault=fault,
                                   extra=_el_raw("subOperations", failed_sub),
                                   element=self.result_element)
                fields = handler(params)
            except SmartairError as error:
                return _result(operation, ok=False, error=error, fault=fault,
                               element=self.result_element)
        # guestResult's own elements, in schema order: doorData*, preAssignationId, subOperations*
        extra = "".join(_el_raw("doorData", room_xml) for room_xml in fields.get("doorData", []))
        if "preAssignationId" in fields:
            extra += _el("preAssignationId", str(fields["preAssignationId"]))
        for sub in fields.get("subOperations", []):
            extra += _el_raw("subOperations", _result_body(sub["type"] == "RESULT_OK", None, None))
        return _result(operation, ok=True, extra=extra, fault=fault, element=self.result_element)

    def handle_doors(self, operation: str, params: dict[str, Any], fault: Fault | None) -> str:
        with self._lock:
            self.advance()
            if operation == "getVersion":
                info = (
                    _el("dataVersion", "1")
                    + _el("platformVersion", self.platform_version)
                    + _el("siteId", "1")
                    + _el("siteName", self.site_name)
                    + _el("siteNameShort", self.site_name[:8])
                    + _el("systemTime", self._write(self.clock.now()))
                    + _el("systemType", "SMARTAIR_PRO")
                )
                return _envelope(operation, _el_raw("systemInfo", info))
            if operation == "doorGetAll":
                authenticated = (
                    params.get("operatorName") == self.operator_name
                    and params.get("operatorPassword") == self.operator_password
                )
                # As observed on real servers: wrong credentials give an empty list, not an error.
                doors = self.rooms.values() if authenticated else []
                body = _el("recordCount", str(len(doors))) + "".join(
                    _el_raw(
                        "wirelessDoor",
                        _el("doorId", str(room.door_id))
                        + _el("doorName", room.name)
                        + (_el("groupName", room.group) if room.group else ""),
                    )
                    for room in doors
                )
                return _envelope(
                    operation,
                    _el_raw("operationResultAssignedRFModules", _result_body(True, None, None)
                            + body),
                )
        raise _SoapFault(f"Cannot find dispatch method for {{{TNS}}}{operation}")

    def _authenticate(self, params: dict[str, Any]) -> None:
        if (
            params.get("operatorName") != self.operator_name
            or params.get("operatorPassword") != self.operator_password
        ):
            raise SmartairError("ERROR_SERVICE_AUTHENTICATION")
        if not self.licensed:
            raise SmartairError("ERROR_NOT_AUTHORIZED_IN_SERVER_SITE_LICENSE")

    # ----------------------------------------------------------------- WSDL

    def wsdl(self, service: str) -> bytes:
        text = (bundled_wsdl_dir() / f"{service}.wsdl").read_text(encoding="utf-8")
        url = self.service_url(service)
        for old in (
            "https://localhost:8181/TesaSmartairPlatform/DoorsWebService",
            "https://localhost:8181/ServerPlatform/GuestsWebService",
        ):
            text = text.replace(old, url)
        text = text.replace(f'schemaLocation="{service}.xsd"', f'schemaLocation="{url}?xsd=1"')
        return text.encode()

    def xsd(self, service: str) -> bytes:
        text = (bundled_wsdl_dir() / f"{service}.xsd").read_text(encoding="utf-8")
        doors = self.service_url("DoorsWebService") + "?xsd=1"
        text = text.replace('schemaLocation="DoorsWebService.xsd"', f'schemaLocation="{doors}"')
        return text.encode()


class _SoapFault(Exception):
    pass


def _el(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>"


def _el_raw(name: str, inner: str) -> str:
    return f"<{name}>{inner}</{name}>"


def _result_body(ok: bool, error_type: str | None, detail: str | None,
                 fault: Fault | None = None) -> str:
    parts = []
    if not ok and error_type:
        parts.append(_el("errorCode", ERROR_CODES.get(error_type, "999")))
        if detail:
            parts.append(_el("errorDetail", detail))
        parts.append(_el("errorType", error_type))
    parts.append(_el("operationId", str(time.monotonic_ns())))
    if fault is not None and fault.extra_element:
        parts.append(_el("futureDiagnostics", "added by a newer server version"))
    if fault is None or not fault.missing_type:
        result_type = "RESULT_OK" if ok else "RESULT_ERROR"
        if fault is not None and fault.result_type is not None:
            result_type = fault.result_type
        parts.append(_el("type", result_type))
    return "".join(parts)


def _result(operation: str, *, ok: bool, error: SmartairError | None = None, extra: str = "",
            fault: Fault | None = None, element: str = "operationResult") -> str:
    body = _result_body(
        ok, error.error_type if error else None, error.detail if error else None, fault
    )
    return _envelope(operation, _el_raw(element, body + extra))


def _envelope(operation: str, inner: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>'
        f'<ns2:{operation}Response xmlns:ns2="{TNS}">{inner}</ns2:{operation}Response>'
        "</S:Body></S:Envelope>"
    )


def _fault_envelope(message: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>'
        f"<S:Fault><faultcode>S:Server</faultcode><faultstring>{escape(message)}</faultstring>"
        "</S:Fault></S:Body></S:Envelope>"
    )


HTML_500 = (
    "<!DOCTYPE html><html><head><title>GlassFish Server - Error report</title></head><body>"
    "<h1>HTTP Status 500 - Internal Server Error</h1><hr/><p><b>type</b> Exception report</p>"
    "</body></html>"
)


def _children(element: Any) -> dict[str, Any]:
    """Request children by local name; nested elements become dicts, repeats lists."""
    found: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        item: Any = _children(child) if len(child) else (child.text or "")
        if name in found:
            previous = found[name]
            found[name] = [*previous, item] if isinstance(previous, list) else [previous, item]
        else:
            found[name] = item
    return found


class _Handler(BaseHTTPRequestHandler):
    sim: SmartairSimulator
    server_version = "GlassFish Server Open Source Edition 4.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _service(self) -> tuple[str | None, str]:
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 2 and segments[0] == self.sim.base_path and segments[1] in (
            "GuestsWebService", "DoorsWebService"
        ):
            return segments[1], parts.query
        return None, parts.query

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            return  # the client gave up waiting (or was killed): nothing left to answer

    def _not_found(self) -> None:
        page = b"<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>"
        self._send(404, page, "text/html")

    def do_GET(self) -> None:
        service, query = self._service()
        hidden = query.lower() == "wsdl" and service == "GuestsWebService" \
            and not self.sim.publishes_guests_wsdl
        if service is None or hidden:
            self._not_found()
        elif query.lower() == "wsdl":
            self._send(200, self.sim.wsdl(service), "text/xml;charset=utf-8")
        elif query.lower() == "xsd=1":
            self._send(200, self.sim.xsd(service), "text/xml;charset=utf-8")
        else:
            self._send(200, f"<html><body>{service}</body></html>".encode(), "text/html")

    def do_POST(self) -> None:
        service, _query = self._service()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if service is None:
            self._not_found()
            return
        sim = self.sim
        try:
            root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False,
                                                                 no_network=True))
            soap_body = root.find(f"{{{SOAP_ENV}}}Body")
            request = next(child for child in soap_body if isinstance(child.tag, str))
        except (etree.XMLSyntaxError, StopIteration, TypeError):
            self._send(500, _fault_envelope("Malformed SOAP request").encode(), "text/xml")
            return
        operation = etree.QName(request).localname
        params = _children(request)
        with sim._lock:
            sim.calls.append(operation)
            sim.requests.append(body)
        fault = sim._take_fault(operation)
        if fault is not None and fault.meanwhile is not None:
            fault.meanwhile()
        if fault is not None and fault.hang and not fault.after_apply:
            sim._released.wait(timeout=60)
            return
        if fault is not None and fault.drop_answer and not fault.after_apply:
            self.close_connection = True
            return
        if fault is not None and fault.raw_body is not None and not fault.after_apply:
            self._send(200, fault.raw_body, "text/xml;charset=utf-8")
            return
        if fault is not None and fault.delay:
            sim._released.wait(fault.delay)  # a slow server, cut short when the simulator stops
        if fault is not None and fault.soap_fault:
            self._send(500, _fault_envelope("java.lang.NullPointerException").encode(),
                       "text/xml;charset=utf-8")
            return
        if fault is not None and fault.html_500 and not fault.after_apply:
            self._send(500, HTML_500.encode(), "text/html")
            return
        try:
            if service == "GuestsWebService":
                answer = sim.handle_guests(operation, params, fault)
            else:
                answer = sim.handle_doors(operation, params, fault)
        except _SoapFault as error:
            self._send(500, _fault_envelope(str(error)).encode(), "text/xml;charset=utf-8")
            return
        if fault is not None and fault.after_apply:
            if fault.hang:
                sim._released.wait(timeout=60)
                return
            if fault.html_500:
                self._send(500, HTML_500.encode(), "text/html")
                return
            if fault.drop_answer:
                self.close_connection = True  # applied, but the answer never leaves
                return
            if fault.raw_body is not None:
                self._send(200, fault.raw_body, "text/xml;charset=utf-8")
                return
        self._send(200, answer.encode(), "text/xml;charset=utf-8")


def start_for_demo(clock: Clock | None = None) -> DemoVendor:
    """A running HTTPS simulator with the demo rooms, and the wizard values that reach it."""
    sim = SmartairSimulator(clock=clock).start()
    return DemoVendor(
        kind=VendorKind.SMARTAIR,
        display_name="TESA Smartair (demo server)",
        values={
            "server_address": sim.address,
            "operator_name": DEMO_OPERATOR,
            "operator_password": DEMO_PASSWORD,
        },
        stop=sim.stop,
        settings={
            "pinned_sha256": sim.certificate_fingerprint or "",
            "base_path": sim.base_path,
        },
    )


__all__ = ["Fault", "SimRoom", "SmartairSimulator", "Stay", "demo_rooms", "start_for_demo"]
