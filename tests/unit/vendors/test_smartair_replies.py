"""Fuzzing the Smartair adapter with reply bodies a broken or foreign server could send.

Issue #13 (proof): whatever the server answers (wrong types, missing fields, huge or deeply
nested XML, bytes that are not UTF-8, an HTML page, a SOAP fault, an unknown result type),
only VendorError subclasses leave the adapter, and a write never reports success unless the
answer says so. HTTP is mocked with respx; every answer that is not fuzzed comes from the
simulator's own state and XML, so the rest of each conversation is realistic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.smartair import (
    DEMO_OPERATOR,
    DEMO_PASSWORD,
    SimRoom,
    SmartairSimulator,
    Stay,
    _children,
)
from mangodesk.vendors.base import (
    CodeRequest,
    ConnectionConfig,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.smartair import SmartairAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ARRIVAL = NOW + timedelta(days=2, hours=3)
DEPARTURE = ARRIVAL + timedelta(days=2)
LIVE_START = NOW - timedelta(hours=1)
BASE = "http://127.0.0.1:8080/ServerPlatform"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
KNOWN_TYPES = ("RESULT_OK", "RESULT_ERROR")
GONE_ANSWERS = ("RESULT_ERROR_CHECKIN_INVALID_ROOM", "RESULT_ERROR_CHECKIN_ROOM_NOT_OCCUPIED",
                "ERROR_ROOM_FREE")
ERROR_TYPES = ("ERROR_SERVICE_AUTHENTICATION", "RESULT_ERROR_CHECKIN_ROOM_OCCUPIED",
               "RESULT_ERROR_CHECKIN_ROOM_PREASSIGNED", "ERROR_DATA_ERROR",
               "ERROR_COMMUNICATION_NO_ANSWER", "ERROR_BAD_PARAMETERS", "SOMETHING_NEW", "")

# Each write and the operation whose answer is fuzzed when the write is the target.
WRITES: dict[str, str] = {
    "create-pre": "precheckin",
    "create-live": "checkin",
    "move-end": "precheckinModifyDate",
    "move-start": "precheckinCancel",
    "revoke-pre": "precheckinCancel",
    "revoke-live": "checkout",
}
# References as an earlier version stored them (still read today).
PRE_CODE = VendorCode("pre:3:1001", "4821", ARRIVAL, DEPARTURE)
LIVE_CODE = VendorCode("checkin:4", "5932", LIVE_START, NOW + timedelta(days=1))


def site(clock: FixedClock) -> SmartairSimulator:
    """Room 101 (id 3) has our pre-check-in, room 102 (id 4) our live stay, 103 is free."""
    sim = SmartairSimulator(clock=clock, rooms=[SimRoom(3, "Room 101"), SimRoom(4, "Room 102"),
                                                 SimRoom(5, "Room 103")])
    sim.rooms[3].preassignments[1001] = Stay("4821", ARRIVAL, DEPARTURE)
    sim.rooms[4].checkin = Stay("5932", LIVE_START, NOW + timedelta(days=1))
    return sim


def call(adapter: SmartairAdapter, action: str) -> object:
    if action == "create-pre":
        return adapter.create_code("5", CodeRequest(ARRIVAL, DEPARTURE, pin="6000"))
    if action == "create-live":
        return adapter.create_code("5", CodeRequest(LIVE_START, DEPARTURE, pin="6000"))
    if action == "move-end":
        return adapter.update_code("3", PRE_CODE, ARRIVAL, DEPARTURE + timedelta(days=1))
    if action == "move-start":
        return adapter.update_code("3", PRE_CODE, ARRIVAL + timedelta(hours=3), DEPARTURE)
    if action == "revoke-pre":
        return adapter.revoke_code("3", PRE_CODE)
    if action == "revoke-live":
        return adapter.revoke_code("4", LIVE_CODE)
    if action == "list-codes":
        return adapter.list_codes("3")
    return adapter.list_locks()


# ------------------------------------------------------------------ reply bodies

def envelope(operation: str, inner: str, *, prolog: str = "") -> str:
    return (f'{prolog}<S:Envelope xmlns:S="{SOAP}"><S:Body><ns2:{operation}Response '
            f'xmlns:ns2="http://soap.ws.ts1000.tesa.es/">{inner}</ns2:{operation}Response>'
            "</S:Body></S:Envelope>")


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
odd_values = st.one_of(texts, st.sampled_from(["-1", "0", "99999999999999999999", "1e3", "",
                                               "true", "NaN", "2026-13-45T99:99:99",
                                               "<![CDATA[x]]>"]))


@st.composite
def broken_results(draw: st.DrawFn, operation: str) -> str:
    """A result element that is not a success for this operation."""
    parts: list[str] = []
    for name in draw(st.lists(st.sampled_from(
            ["errorCode", "errorDetail", "operationId", "preAssignationId", "doorData",
             "subOperations", "unknownThing", "keyPad"]), max_size=4)):
        parts.append(f"<{name}>{escape(draw(odd_values))}</{name}>")
    kind = draw(st.sampled_from(["no-type", "odd-type", "error", "ok-but-broken"]))
    if kind == "odd-type":
        odd_type = draw(odd_values.filter(lambda t: t.strip() not in KNOWN_TYPES))
        parts.append(f"<type>{escape(odd_type)}</type>")
    elif kind == "error":
        error_type = draw(st.sampled_from(ERROR_TYPES))
        parts.append(f"<errorType>{error_type}</errorType><type>RESULT_ERROR</type>")
    elif kind == "ok-but-broken":
        if operation == "precheckin":  # no usable pre-assignment id
            parts = [p for p in parts if "preAssignationId" not in p]
            bad_id = draw(st.sampled_from(["", "0", "-7", "abc", "99999999999999999999"]))
            parts.append(f"<preAssignationId>{bad_id}</preAssignationId>")
        else:  # a failed or unreadable sub-result
            sub = draw(st.sampled_from(["<type>RESULT_ERROR</type>", "<type>x</type>", ""]))
            parts.append(f"<subOperations>{sub}</subOperations>")
        parts.append("<type>RESULT_OK</type>")
    element = draw(st.sampled_from(["operationResult", "return", "other"]))
    return f"<{element}>{''.join(parts)}</{element}>"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def bad_replies(draw: st.DrawFn, operation: str) -> tuple[int, bytes]:
    """(HTTP status, body) of an answer that must never count as a success."""
    status = draw(st.sampled_from([200, 200, 200, 500, 502, 204, 301]))
    shape = draw(st.sampled_from(["bytes", "html", "result", "fault", "deep", "huge",
                                  "latin1", "utf16-lie", "empty"]))
    if shape == "bytes":
        return status, draw(st.binary(max_size=300))
    if shape == "html":
        return status, f"<html><body><h1>{escape(draw(texts))}</h1></body></html>".encode()
    if shape == "result":
        return status, envelope(operation, draw(broken_results(operation))).encode()
    if shape == "fault":
        fault = (f"<S:Fault><faultcode>S:Server</faultcode><faultstring>{escape(draw(texts))}"
                 "</faultstring></S:Fault>")
        return status, (f'<S:Envelope xmlns:S="{SOAP}"><S:Body>{fault}</S:Body>'
                        "</S:Envelope>").encode()
    if shape == "deep":
        depth = draw(st.integers(min_value=200, max_value=5000))
        nested = "<a>" * depth + "</a>" * depth
        return status, envelope(operation, f"<operationResult>{nested}</operationResult>").encode()
    if shape == "huge":
        size = draw(st.integers(min_value=10_000, max_value=300_000))
        filler = f"<errorDetail>{'x' * size}</errorDetail>"
        return status, envelope(operation, f"<operationResult>{filler}</operationResult>").encode()
    if shape == "latin1":
        inner = "<operationResult><errorDetail>Habitación ocupada</errorDetail></operationResult>"
        return status, envelope(operation, inner,
                                prolog='<?xml version="1.0" encoding="UTF-8"?>').encode("latin-1")
    if shape == "utf16-lie":
        inner = draw(broken_results(operation))
        return status, envelope(operation, inner,
                                prolog='<?xml version="1.0" encoding="UTF-16"?>').encode()
    return status, b""


ROOM_FIELDS = {
    "doorId": st.sampled_from(["3", "4", "5", "x", "-3", ""]),
    "keyPad": st.sampled_from(["4821", "5932", "", "12345678901234567890"]),
    "preAssignationId": st.sampled_from(["1001", "0", "abc", ""]),
    "roomOccupied": st.sampled_from(["true", "false", "maybe", ""]),
    "dateActivation": st.sampled_from([f"{LIVE_START:%Y-%m-%dT%H:%M:%SZ}", "yesterday", ""]),
    "datePreActivation": st.sampled_from([f"{ARRIVAL:%Y-%m-%dT%H:%M:%SZ}", "soon", ""]),
}


def field(draw: st.DrawFn, name: str) -> str:
    return draw(st.one_of(ROOM_FIELDS.get(name, odd_values), odd_values))


@st.composite
def odd_room_listings(draw: st.DrawFn) -> tuple[int, bytes, set[tuple[str, str]]]:
    """A findAllRooms answer with wrong types and missing fields (or any bad reply), and the
    (doorId, PIN) pairs it shows."""
    if draw(st.booleans()):
        return (*draw(bad_replies("findAllRooms")), set())
    rooms, shown = [], set()
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        fields = {name: field(draw, name) for name in draw(st.lists(st.sampled_from(
            ["dateActivation", "dateExpiration", "doorId", "doorName", "keyPad",
             "roomOccupied", "roomPreassigned"]), max_size=7, unique=True))}
        pre_fields = {name: field(draw, name) for name in draw(st.lists(st.sampled_from(
            ["datePreActivation", "datePreExpiration", "keyPad", "preAssignationId"]),
            max_size=4, unique=True))}
        pre = "".join(f"<{n}>{escape(v)}</{n}>" for n, v in sorted(pre_fields.items()))
        body = "".join(f"<{n}>{escape(v)}</{n}>" for n, v in sorted(fields.items()))
        rooms.append(f"<doorData>{body}<preAssignations>{pre}</preAssignations></doorData>")
        for pin in (fields.get("keyPad"), pre_fields.get("keyPad")):
            if pin:
                shown.add((fields.get("doorId", ""), pin))
    result = f"<operationResult>{''.join(rooms)}<type>RESULT_OK</type></operationResult>"
    return 200, envelope("findAllRooms", result).encode(), shown


# ------------------------------------------------------------------ harness


def operation_of(body: bytes) -> str:
    root = etree.fromstring(body)
    request = next(c for c in root.find(f"{{{SOAP}}}Body") if isinstance(c.tag, str))
    return str(etree.QName(request).localname)


def answering(sim: SmartairSimulator, fuzzed: str, reply: tuple[int, bytes],
              *, only_first: bool) -> Callable[[httpx.Request], httpx.Response]:
    """The simulator answers everything except ``fuzzed``, which gets ``reply``."""
    used = []

    def respond(request: httpx.Request) -> httpx.Response:
        operation = operation_of(request.content)
        if operation == fuzzed and not (only_first and used):
            used.append(operation)
            status, body = reply
            return httpx.Response(status, content=body, headers={"content-type": "text/xml"})
        root = etree.fromstring(request.content)
        params = _children(next(c for c in root.find(f"{{{SOAP}}}Body")
                                if isinstance(c.tag, str)))
        if "GuestsWebService" in str(request.url):
            text = sim.handle_guests(operation, params, None)
        else:
            text = sim.handle_doors(operation, params, None)
        return httpx.Response(200, content=text.encode(), headers={"content-type": "text/xml"})

    return respond


@pytest.fixture(scope="module")
def adapter() -> Iterator[SmartairAdapter]:
    config = ConnectionConfig(1, VendorKind.SMARTAIR, {
        "server_address": "127.0.0.1:8080", "use_http": True, "base_path": "ServerPlatform",
        "operator_name": DEMO_OPERATOR, "timeout_seconds": 5,
    }, {"operator_password": DEMO_PASSWORD})
    smartair = SmartairAdapter(config, clock=FixedClock(NOW))
    yield smartair
    smartair.close()


def run(adapter: SmartairAdapter, action: str, fuzzed: str, reply: tuple[int, bytes],
        *, only_first: bool) -> tuple[object | None, VendorError | None, SmartairSimulator]:
    sim = site(FixedClock(NOW))
    adapter._skew_read_at = None  # read the server's clock on every example
    with respx.mock(assert_all_called=False) as router:
        router.post(url__startswith=BASE).mock(
            side_effect=answering(sim, fuzzed, reply, only_first=only_first))
        try:
            return call(adapter, action), None, sim
        except VendorError as error:  # anything else fails the test
            return None, error, sim


FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.mark.parametrize("action", list(WRITES))
@FUZZ
@given(data=st.data())
@pytest.mark.expect_log(
    r"Error during xml -> python translation",
    level="ERROR", logger="zeep", optional=True)
@pytest.mark.expect_log(
    r"Smartair \S+ the answer could not be",
    logger="mangodesk.vendors", optional=True)
def test_a_bad_answer_to_a_write_is_never_a_success(
    adapter: SmartairAdapter, action: str, data: st.DataObject
) -> None:
    operation = WRITES[action]
    reply = data.draw(bad_replies(operation), label="reply")
    _result, error, _sim = run(adapter, action, operation, reply, only_first=True)
    assert error is not None, f"{action} reported success on {reply!r:.300}"
    assert error.message and error.fix


@pytest.mark.parametrize("action", [*WRITES, "list-codes", "list-locks"])
@FUZZ
@given(data=st.data())
@pytest.mark.expect_log(
    r"Error during xml -> python translation",
    level="ERROR", logger="zeep", optional=True)
@pytest.mark.expect_log(
    r"Smartair findAllRooms: the answer could not be",
    logger="mangodesk.vendors", optional=True)
def test_odd_room_listings_never_escape_as_anything_but_a_vendor_error(
    adapter: SmartairAdapter, action: str, data: st.DataObject
) -> None:
    status, body, shown = data.draw(odd_room_listings(), label="rooms")
    result, error, sim = run(adapter, action, "findAllRooms", (status, body),
                             only_first=False)
    if isinstance(result, list):
        for item in result:
            for moment in (getattr(item, "valid_from", None), getattr(item, "valid_to", None)):
                assert moment is None or moment.tzinfo is not None
    if action.startswith("revoke") and error is None:
        # Never touched (every listing here is unreadable or foreign), so "gone" is claimed
        # only when the answer does not show our PIN on our room at all.
        assert "precheckinCancel" not in sim.calls and "checkout" not in sim.calls
        ours = ("3", "4821") if action == "revoke-pre" else ("4", "5932")
        assert ours not in shown, f"revoke claimed gone on {body!r:.400}"
    if action.startswith("move") and error is None:
        # A move reported done must be true on the server.
        start = ARRIVAL + timedelta(hours=3) if action == "move-start" else ARRIVAL
        end = DEPARTURE if action == "move-start" else DEPARTURE + timedelta(days=1)
        assert [stay for kind, stay in sim.stays(3)] == [Stay("4821", start, end)]


@FUZZ
@given(data=st.data())
@pytest.mark.expect_log(
    r"Smartair getVersion: the answer could not be",
    logger="mangodesk.vendors", optional=True)
def test_a_bad_clock_answer_falls_back_to_the_desk_clock(
    adapter: SmartairAdapter, data: st.DataObject
) -> None:
    reply = data.draw(bad_replies("getVersion"), label="version")
    result, error, sim = run(adapter, "create-pre", "getVersion", reply, only_first=False)
    assert error is None and sim.rooms[5].preassignments
    assert isinstance(result, VendorCode) and result.valid_from == ARRIVAL


@pytest.mark.parametrize("gone", GONE_ANSWERS[:2])
def test_a_not_found_answer_to_a_removal_counts_as_gone(
    adapter: SmartairAdapter, gone: str
) -> None:
    action, operation = (("revoke-pre", "precheckinCancel")
                         if gone.endswith("INVALID_ROOM") else ("revoke-live", "checkout"))
    body = envelope(operation, f"<operationResult><errorType>{gone}</errorType>"
                               "<type>RESULT_ERROR</type></operationResult>").encode()
    result, error, _ = run(adapter, action, operation, (200, body), only_first=True)
    assert error is None and result is None


def test_the_harness_can_see_a_real_success(adapter: SmartairAdapter) -> None:
    """Without fuzzing, every action succeeds: the assertions above can fail."""
    for action in WRITES:
        _result, error, _sim = run(adapter, action, "nothing", (200, b""), only_first=True)
        assert error is None, (action, error)
