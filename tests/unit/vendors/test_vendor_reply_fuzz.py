"""Fuzz every REST adapter with the replies a vendor (or a proxy in front of it) might send:
wrong types, missing fields, huge and deeply nested bodies, bytes that are not UTF-8, HTML,
2xx statuses with error bodies (issue #13, "no failure hides"; issue #11 item 4).

Two properties, for TTLock, Inlet and Flexipass, over mocked HTTP:
- only classified vendor errors (``VendorError``) ever escape an adapter, and the connection
  check never raises at all;
- a write (create, move, revoke) returns normally only when the reply positively says it was
  done, judged here by a deliberately simple reading of each vendor's success shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import inlet_contract as iwire
from mangodesk.vendors.base import (
    AlreadyGoneError,
    CodeRequest,
    ConnectionConfig,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.flexipass import FlexipassAdapter
from mangodesk.vendors.inlet import InletAdapter
from mangodesk.vendors.ttlock import EU_API_BASE, TTLockAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=48)
END = START + timedelta(days=3)
INLET = "https://inlet.test/api"
FLEXI_HOST = "https://flexipass.test"
FLEXI = FLEXI_HOST + "/Flexipass/rest/webapi/"
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- replies

FIELDS = [
    "errcode", "errmsg", "keyboardPwdId", "keyboardPwd", "keyboardPwdName", "keyboardPwdType",
    "startDate", "endDate", "list", "pages", "total", "lockId", "lockAlias", "featureValue",
    "hasGateway", "keyboardPwdVersion", "timezoneRawOffset", "electricQuantity", "gatewayId",
    "isOnline", "rssi", "access_token", "refresh_token", "expires_in",
    "ReferenceId", "codeFormatted", "startTime", "endTime", "status", "locks", "grants",
    "accessTypes", "online", "batteryLevel", "name", "error", "code", "message",
    "mkID", "result", "Door", "DoorName", "DoorType", "Name", "Surname", "Mail",
    "Checkin_date", "Checkin_time", "Checkout_date", "Checkout_time", "MobileKeyType",
]
SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "0", "-3007", "success", "revoked", "1e400", "2026-03-12",
                       "15:00:00", "2026-03-12T12:00:00Z", "0001-01-01T00:00:00+01:00",
                       "9999-12-31T23:59:59-05:00", "ref-77", "123456", "GrantNotFound",
                       "MobileKeyNotFound", "code", "\u00a0", "x" * 5000])
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), children, max_size=5),
    max_leaves=12,
)
GOOD = [
    {"errcode": 0, "errmsg": "none error message"},
    {"keyboardPwdId": 39656536},
    {"list": [{"keyboardPwdId": 1, "keyboardPwd": "482915", "keyboardPwdName": "Mangodesk 42",
               "keyboardPwdType": 3, "startDate": 1773316800000, "endDate": 1773576000000}],
     "pages": 1, "total": 1},
    {"list": [{"lockId": 1, "lockAlias": "Room 101", "featureValue": "F44354CD5F3",
               "hasGateway": 1, "keyboardPwdVersion": 4, "timezoneRawOffset": 3600000}],
     "pages": 1},
    {"ReferenceId": "ref-77", "codeFormatted": "482915",
     "startTime": "2026-03-12T12:00:00Z", "endTime": "2026-03-15T12:00:00Z"},
    {"ReferenceId": "ref-77", "status": "revoked"},
    {"locks": [{"lockId": "pin-1", "name": "Room 1", "accessTypes": ["code"]}]},
    {"grants": [{"ReferenceId": "ref-77", "codeFormatted": "1234"}]},
    {"mkID": "123456", "result": "success"},
    {"mkID": "123456", "Name": "Ana", "Surname": "Smith", "Mail": "ana@example.com",
     "Door": "101", "Checkin_date": "2026-03-12", "Checkin_time": "13:00:00",
     "Checkout_date": "2026-03-15", "Checkout_time": "13:00:00", "MobileKeyType": 0},
    {"error": {"code": "GrantNotFound", "message": "x"}},
    {"error": "MobileKeyNotFound", "message": "x"},
    {"errcode": -3007, "errmsg": "The same passcode\u00a0already exists."},
    {"errcode": -2009, "errmsg": "Invalid Password"},
]
MUTATED = st.builds(lambda base, changes: {**base, **changes}, st.sampled_from(GOOD),
                    st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3))
RAW = st.sampled_from([
    b"", b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"\xff\xfe\xfa not utf-8 \x80",
    b"[" * 100_000, b'{"a":' * 50_000, b'"' + b"x" * 2_000_000 + b'"',
    b"[" + b"1," * 3_000_000 + b"1]", b"NaN", b"Infinity", b'{"errcode": Infinity}',
    b'{"keyboardPwdId": 1e400}', b'{"errcode": 0', b"null", b"true", b"[]",
])
STATUSES = st.sampled_from([200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 409,
                            422, 429, 500, 502, 503, 504])


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


REPLIES = st.tuples(STATUSES, st.one_of(MUTATED.map(_dump), VALUES.map(_dump), RAW))


def reply(status: int, body: bytes) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=body)


def parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _is_zero(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == 0
    return isinstance(value, str) and re.fullmatch(r"\s*-?0+\s*", value) is not None


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.strip() != ""


def outcome(call: Callable[[], Any]) -> str:
    """"ok" or "error"; anything but a VendorError fails the test (it escapes)."""
    try:
        call()
    except VendorError:
        return "error"
    return "ok"


# --------------------------------------------------------------------------- adapters


@contextmanager
def ttlock_api() -> Iterator[tuple[TTLockAdapter, respx.MockRouter]]:
    config = ConnectionConfig(1, VendorKind.TTLOCK,
                              {"username": "desk@hotel.example", "client_id": "app"},
                              {"password": "pw", "client_secret": "secret"})
    with respx.mock(base_url=EU_API_BASE, assert_all_called=False) as router:
        router.post("/oauth2/token", name="token").respond(json={
            "access_token": "a" * 32, "refresh_token": "r" * 32, "expires_in": 7776000})
        router.get("/v3/gateway/listByLock", name="by_lock").respond(json={"list": []})
        router.get("/v3/lock/listKeyboardPwd", name="codes").respond(
            json={"list": [], "pages": 1})
        adapter = TTLockAdapter(config, clock=FixedClock(NOW), sleep=lambda _seconds: None)
        try:
            yield adapter, router
        finally:
            adapter.close()


@contextmanager
def inlet_api() -> Iterator[tuple[InletAdapter, respx.MockRouter]]:
    config = ConnectionConfig(2, VendorKind.INLET, {"base_url": INLET}, {"api_token": "tok"})
    with respx.mock(base_url=INLET, assert_all_called=False) as router:
        adapter = InletAdapter(config, clock=FixedClock(NOW))
        try:
            yield adapter, router
        finally:
            adapter.close()


@contextmanager
def flexipass_api() -> Iterator[tuple[FlexipassAdapter, respx.MockRouter]]:
    config = ConnectionConfig(3, VendorKind.FLEXIPASS,
                              {"base_url": FLEXI_HOST, "username": "desk",
                               "time_zone": "Europe/Oslo"},
                              {"password": "pw", "company_token": "company"})
    with respx.mock(base_url=FLEXI, assert_all_called=False) as router:
        router.post("getMobileKeyList", name="keys").respond(200, json=[])
        router.get("getMobileKeyDetails", name="details").respond(200, json=GOOD[9])
        adapter = FlexipassAdapter(config, clock=FixedClock(NOW))
        try:
            yield adapter, router
        finally:
            adapter.close()


TTLOCK_CODE = VendorCode("39656536", "482915", START, END, "Mangodesk 42")
INLET_CODE = VendorCode("ref-77", "482915", START, END, "Mangodesk 42")
FLEXI_CODE = VendorCode("123456", None, START, END, "Ana Smith", "ana@example.com")


# --------------------------------------------------------------------------- TTLock


TTLOCK_READS = ["/v3/lock/list", "/v3/gateway/list", "/v3/gateway/listLock",
                "/v3/gateway/detail", "/v3/lock/detail", "/v3/gateway/listByLock",
                "/v3/lock/listKeyboardPwd"]

# Each test builds its adapter and mock router once (an HTTP client is slow to make) and
# gives every generated reply to the same adapter.


def test_ttlock_reads_raise_only_vendor_errors() -> None:
    with ttlock_api() as (adapter, api):
        token_answer = api["token"].return_value

        @FUZZ
        @given(REPLIES, st.booleans())
        def check(answer: tuple[int, bytes], at_sign_in: bool) -> None:
            if at_sign_in:
                adapter.client.forget_token(adapter.client.ensure_token())  # the next call signs in
                api["token"].mock(side_effect=reply(*answer))
            for path in TTLOCK_READS:
                api.get(path).mock(side_effect=reply(*answer))
            outcome(lambda: adapter.list_codes("1"))
            outcome(lambda: adapter.list_locks())
            outcome(lambda: adapter.lock_details("1"))
            assert adapter.test_connection().summary
            api["token"].mock(side_effect=None, return_value=token_answer)

        check()


def test_ttlock_create_succeeds_only_on_a_code_number() -> None:
    with ttlock_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            status, body = answer
            api.post("/v3/keyboardPwd/add").mock(side_effect=reply(status, body))
            result = outcome(lambda: adapter.create_code(
                "1", CodeRequest(START, END, pin="482915", label="Mangodesk 42")))
            data = parsed(body)
            said_done = (status == 200 and isinstance(data, dict)
                         and _is_id(data.get("keyboardPwdId"))
                         and ("errcode" not in data or _is_zero(data["errcode"])))
            assert result == "error" or said_done, (status, body[:200])

        check()


def test_ttlock_move_and_revoke_succeed_only_on_errcode_zero() -> None:
    with ttlock_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            status, body = answer
            api.post("/v3/keyboardPwd/change").mock(side_effect=reply(status, body))
            api.post("/v3/keyboardPwd/delete").mock(side_effect=reply(status, body))
            moved = outcome(lambda: adapter.update_code("1", TTLOCK_CODE, START, END))
            revoked = outcome(lambda: adapter.revoke_code("1", TTLOCK_CODE))
            data = parsed(body)
            errcode = data.get("errcode") if isinstance(data, dict) else None
            said_done = status == 200 and isinstance(data, dict) and _is_zero(errcode)
            said_gone = status == 200 and isinstance(data, dict) and errcode in (-2009, "-2009")
            assert moved == "error" or said_done, (status, body[:200])
            assert revoked == "error" or said_done or said_gone, (status, body[:200])

        check()


# --------------------------------------------------------------------------- Inlet


def test_inlet_reads_raise_only_vendor_errors() -> None:
    with inlet_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            api.get("/Locks").mock(side_effect=reply(*answer))
            api.get("/GrantAccess").mock(side_effect=reply(*answer))
            outcome(lambda: adapter.list_locks())
            outcome(lambda: adapter.lock_details("pin-1"))
            outcome(lambda: adapter.list_codes("pin-1"))
            assert adapter.test_connection().summary

        check()


def test_inlet_writes_succeed_only_on_inlets_success_answers() -> None:
    with inlet_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            status, body = answer
            api.post("/GrantAccess").mock(side_effect=reply(status, body))
            api.put("/GrantAccess/ref-77").mock(side_effect=reply(status, body))
            api.delete("/GrantAccess/ref-77").mock(side_effect=reply(status, body))
            created = outcome(lambda: adapter.create_code("pin-1", CodeRequest(START, END)))
            moved = outcome(lambda: adapter.update_code("pin-1", INLET_CODE, START, END))
            revoked = outcome(lambda: adapter.revoke_code("pin-1", INLET_CODE))
            data = parsed(body)
            grant = status in (200, 201) and isinstance(data, dict) and isinstance(
                data.get("ReferenceId"), str) and data["ReferenceId"].strip() != ""
            with_pin = grant and isinstance(data.get("codeFormatted"), str) and (
                data["codeFormatted"].strip() != "")
            gone = status == 404 and iwire.parse_error(data)[0] == iwire.ERR_GRANT_NOT_FOUND
            revoked_said = status == 200 and iwire.is_revoked_answer(data, "ref-77")
            assert created == "error" or with_pin, (status, body[:200])
            assert moved == "error" or (grant and data["ReferenceId"] == "ref-77"), (
                status, body[:200])
            assert revoked == "error" or revoked_said or gone, (status, body[:200])

        check()


# --------------------------------------------------------------------------- Flexipass


def test_flexipass_reads_raise_only_vendor_errors() -> None:
    with flexipass_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            api.get("getDoorList").mock(side_effect=reply(*answer))
            api["keys"].mock(side_effect=reply(*answer))
            outcome(lambda: adapter.list_locks())
            outcome(lambda: adapter.lock_details("101"))
            outcome(lambda: adapter.list_codes("101"))
            assert adapter.test_connection().summary

        check()


def test_flexipass_writes_succeed_only_on_result_success() -> None:
    with flexipass_api() as (adapter, api):

        @FUZZ
        @given(REPLIES)
        def check(answer: tuple[int, bytes]) -> None:
            status, body = answer
            api.post("createMobileKey").mock(side_effect=reply(status, body))
            api.put("updateMobileKey").mock(side_effect=reply(status, body))
            api.delete("deleteMobileKey").mock(side_effect=reply(status, body))
            created = outcome(lambda: adapter.create_code(
                "101", CodeRequest(START, END, guest_name="Ana Smith",
                                   guest_email="ana@example.com")))
            moved = outcome(lambda: adapter.update_code("101", FLEXI_CODE, START, END))
            revoked = outcome(lambda: adapter.revoke_code("101", FLEXI_CODE))
            data = parsed(body)
            success = status == 200 and isinstance(data, dict) and (
                data.get("result") == "success")
            gone = status == 404 and isinstance(data, dict) and (
                data.get("error") == "MobileKeyNotFound")
            assert created == "error" or (success and _is_id(data.get("mkID"))), (
                status, body[:200])
            assert moved == "error" or success, (status, body[:200])
            assert revoked == "error" or success or gone, (status, body[:200])

        check()


def test_a_deeply_nested_reply_is_a_vendor_error_not_a_recursion_error() -> None:
    with inlet_api() as (adapter, api):
        api.get("/Locks").respond(200, content=b"[" * 100_000 + b"]" * 100_000)
        assert outcome(lambda: adapter.list_locks()) == "error"
    with ttlock_api() as (ttlock, router):
        router.post("/v3/keyboardPwd/delete").respond(200, content=b'{"a":' * 50_000)
        assert outcome(lambda: ttlock.revoke_code("1", TTLOCK_CODE)) == "error"


def test_already_gone_is_the_only_error_a_revoke_turns_into_success() -> None:
    with inlet_api() as (adapter, api):
        api.delete("/GrantAccess/ref-77").respond(404, json=iwire.error_body(
            iwire.ERR_GRANT_NOT_FOUND, "gone"))
        adapter.revoke_code("pin-1", INLET_CODE)
        api.put("/GrantAccess/ref-77").respond(404, json=iwire.error_body(
            iwire.ERR_GRANT_NOT_FOUND, "gone"))
        try:
            adapter.update_code("pin-1", INLET_CODE, START, END)
        except AlreadyGoneError:
            pass
        else:
            raise AssertionError("a move of a grant Inlet does not know must say so")
