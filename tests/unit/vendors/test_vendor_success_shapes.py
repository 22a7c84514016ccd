"""A write is done only when the vendor's answer positively says so (contract 5, issue #11
item 4): TTLock, Inlet and Flexipass against mocked HTTP. Also the plain words of the shared
failure messages (item 10) and which TTLock locks can take codes (item 8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import inlet_contract as iwire
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    TransientError,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.flexipass import FlexipassAdapter
from mangodesk.vendors.flexipass import contract as fwire
from mangodesk.vendors.inlet import InletAdapter
from mangodesk.vendors.ttlock import EU_API_BASE, TTLockAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=48)
END = START + timedelta(days=3)
INLET = "https://inlet.test/api"
FLEXI = "https://flexipass.test/Flexipass/rest/webapi/"
OK = {"errcode": 0, "errmsg": "none error message or means yes"}
FV_KEYPAD = "F44354CD5F3"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def ttlock() -> Iterator[tuple[TTLockAdapter, respx.MockRouter]]:
    config = ConnectionConfig(1, VendorKind.TTLOCK,
                              {"username": "desk@hotel.example", "client_id": "app"},
                              {"password": "pw", "client_secret": "secret"})
    with respx.mock(base_url=EU_API_BASE, assert_all_called=False) as router:
        router.post("/oauth2/token").respond(json={"access_token": "a" * 32,
                                                   "refresh_token": "r" * 32,
                                                   "expires_in": 7776000})
        router.get("/v3/gateway/listByLock").respond(json={"list": [
            {"gatewayId": 11, "rssi": -60}]})
        adapter = TTLockAdapter(config, clock=FixedClock(NOW), sleep=lambda _seconds: None)
        yield adapter, router
        adapter.close()


@pytest.fixture
def inlet() -> Iterator[tuple[InletAdapter, respx.MockRouter]]:
    config = ConnectionConfig(2, VendorKind.INLET, {"base_url": INLET}, {"api_token": "tok"})
    with respx.mock(base_url=INLET, assert_all_called=False) as router:
        adapter = InletAdapter(config, clock=FixedClock(NOW))
        yield adapter, router
        adapter.close()


@pytest.fixture
def flexipass() -> Iterator[tuple[FlexipassAdapter, respx.MockRouter]]:
    config = ConnectionConfig(3, VendorKind.FLEXIPASS,
                              {"base_url": "https://flexipass.test", "username": "desk",
                               "time_zone": "Europe/Oslo"},
                              {"password": "pw", "company_token": "company"})
    with respx.mock(base_url=FLEXI, assert_all_called=False) as router:
        router.post("getMobileKeyList").respond(200, json=[])
        adapter = FlexipassAdapter(config, clock=FixedClock(NOW))
        yield adapter, router
        adapter.close()


def answer(status: int, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body)
    return httpx.Response(status, json=body)


NOT_SUCCESS = [
    (200, {"success": False}),
    (200, b"<html><body>Bad gateway</body></html>"),
    (204, b""),
    (301, b""),
    (200, {}),
    (200, []),
    (200, {"error": {"code": "ServerError", "message": "x"}}),
]

TTLOCK_CODE = VendorCode("39656536", "482915", START, END, "Mangodesk 42")
INLET_CODE = VendorCode("ref-77", "482915", START, END, "Mangodesk 42")
FLEXI_CODE = VendorCode("123456", None, START, END, "Ana Smith", "ana@example.com")
KEY = {"mkID": "123456", "Name": "Ana", "Surname": "Smith", "Mail": "ana@example.com",
       "Door": "101", "Checkin_date": "2026-03-12", "Checkin_time": "13:00:00",
       "Checkout_date": "2026-03-15", "Checkout_time": "13:00:00", "MobileKeyType": 0}


# --------------------------------------------------------------------------- TTLock


@pytest.mark.parametrize(
    "body",
    [{}, {"errmsg": "ok"}, {"errcode": False}, {"errcode": 0.5}, {"errcode": None},
     {"errcode": []}, {"errcode": "abc"}, {"result": "success"}],
)
def test_ttlock_change_and_delete_need_errcode_zero(
    ttlock: tuple[TTLockAdapter, respx.MockRouter], body: dict[str, Any]
) -> None:
    adapter, api = ttlock
    api.post("/v3/keyboardPwd/change").respond(json=body)
    api.post("/v3/keyboardPwd/delete").respond(json=body)
    with pytest.raises(AmbiguousError):
        adapter.update_code("1", TTLOCK_CODE, START, END + timedelta(days=1))
    with pytest.raises(AmbiguousError):
        adapter.revoke_code("1", TTLOCK_CODE)


@pytest.mark.parametrize("body", [{"errcode": 0}, {"errcode": "0", "errmsg": "none"}, OK])
def test_ttlock_errcode_zero_is_a_done_change(
    ttlock: tuple[TTLockAdapter, respx.MockRouter], body: dict[str, Any]
) -> None:
    adapter, api = ttlock
    api.post("/v3/keyboardPwd/change").respond(json=body)
    api.post("/v3/keyboardPwd/delete").respond(json=body)
    moved = adapter.update_code("1", TTLOCK_CODE, START, END + timedelta(days=1))
    assert moved.valid_to == END + timedelta(days=1)
    adapter.revoke_code("1", TTLOCK_CODE)


@pytest.mark.parametrize(
    "body",
    [{}, {"keyboardPwdId": []}, {"keyboardPwdId": True}, {"keyboardPwdId": 0},
     {"keyboardPwdId": "abc"}, {"keyboardPwdId": 1.5}, {"keyboardPwdId": {"id": 1}},
     {"errcode": 0}],
)
def test_ttlock_create_needs_a_code_number(
    ttlock: tuple[TTLockAdapter, respx.MockRouter], body: dict[str, Any]
) -> None:
    adapter, api = ttlock
    api.post("/v3/keyboardPwd/add").respond(json=body)
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1})
    with pytest.raises(AmbiguousError):
        adapter.create_code("1", CodeRequest(START, END, pin="482915", label="Mangodesk 42"))


def test_ttlock_html_or_redirect_on_a_write_is_ambiguous(
    ttlock: tuple[TTLockAdapter, respx.MockRouter]
) -> None:
    adapter, api = ttlock
    api.post("/v3/keyboardPwd/delete").mock(side_effect=[
        answer(200, b"<html>proxy</html>"), answer(302, b""), answer(204, b"")])
    for _ in range(3):
        with pytest.raises(AmbiguousError):
            adapter.revoke_code("1", TTLOCK_CODE)


# --------------------------------------------------------------------------- Inlet


@pytest.mark.parametrize(("status", "body"), NOT_SUCCESS)
def test_inlet_revoke_and_move_need_the_vendors_success_answer(
    inlet: tuple[InletAdapter, respx.MockRouter], status: int, body: Any
) -> None:
    adapter, api = inlet
    api.delete("/GrantAccess/ref-77").mock(side_effect=[answer(status, body)])
    api.put("/GrantAccess/ref-77").mock(side_effect=[answer(status, body)])
    with pytest.raises(AmbiguousError):
        adapter.revoke_code("pin-1", INLET_CODE)
    with pytest.raises(AmbiguousError):
        adapter.update_code("pin-1", INLET_CODE, START, END + timedelta(days=1))


@pytest.mark.parametrize(
    "body",
    [{"ReferenceId": 77, "codeFormatted": "482915"},
     {"ReferenceId": [], "codeFormatted": "482915"},
     {"ReferenceId": "ref-77"},
     {"ReferenceId": "ref-77", "codeFormatted": ""},
     {"ReferenceId": "ref-77", "codeFormatted": 482915},
     {"ReferenceId": "ref-77", "codeFormatted": "482915",
      "startTime": "2026-03-01T00:00:00Z", "endTime": "2026-03-02T00:00:00Z"},
     {"success": False}],
)
def test_inlet_nonsense_create_answers_are_not_successes(
    inlet: tuple[InletAdapter, respx.MockRouter], body: dict[str, Any]
) -> None:
    adapter, api = inlet
    api.post("/GrantAccess").respond(201, json=body)
    with pytest.raises(AmbiguousError):
        adapter.create_code("pin-1", CodeRequest(START, END, label="Mangodesk 42"))


def test_inlet_success_answers_are_done(inlet: tuple[InletAdapter, respx.MockRouter]) -> None:
    adapter, api = inlet
    api.delete("/GrantAccess/ref-77").respond(200, json=iwire.revoked_body("ref-77"))
    api.put("/GrantAccess/ref-77").respond(200, json={
        "ReferenceId": "ref-77", "codeFormatted": "482915",
        "startTime": iwire.format_instant(START),
        "endTime": iwire.format_instant(END + timedelta(days=1))})
    adapter.revoke_code("pin-1", INLET_CODE)
    moved = adapter.update_code("pin-1", INLET_CODE, START, END + timedelta(days=1))
    assert moved.valid_to == END + timedelta(days=1)


def test_inlet_not_found_means_gone_only_when_inlet_says_the_grant_is_unknown(
    inlet: tuple[InletAdapter, respx.MockRouter]
) -> None:
    adapter, api = inlet
    api.put("/GrantAccess/ref-77").mock(side_effect=[
        answer(404, iwire.error_body(iwire.ERR_GRANT_NOT_FOUND, "Unknown ReferenceId")),
        answer(404, b"<html>Not Found</html>"),
        answer(404, iwire.error_body(iwire.ERR_LOCK_NOT_FOUND, "Unknown lock")),
    ])
    with pytest.raises(AlreadyGoneError):
        adapter.update_code("pin-1", INLET_CODE, START, END)
    with pytest.raises(AmbiguousError):  # a proxy's 404 page is not Inlet's "not found"
        adapter.update_code("pin-1", INLET_CODE, START, END)
    with pytest.raises(PermanentError, match="does not know this lock"):
        adapter.update_code("pin-1", INLET_CODE, START, END)


# --------------------------------------------------------------------------- Flexipass


@pytest.mark.parametrize(("status", "body"), NOT_SUCCESS)
def test_flexipass_delete_and_update_need_result_success(
    flexipass: tuple[FlexipassAdapter, respx.MockRouter], status: int, body: Any
) -> None:
    adapter, api = flexipass
    api.get("getMobileKeyDetails").respond(200, json=KEY)
    api.delete("deleteMobileKey").mock(side_effect=[answer(status, body)])
    api.put("updateMobileKey").mock(side_effect=[answer(status, body)])
    with pytest.raises(AmbiguousError):
        adapter.revoke_code("101", FLEXI_CODE)
    with pytest.raises(AmbiguousError):
        adapter.update_code("101", FLEXI_CODE, START, END + timedelta(days=1))


@pytest.mark.parametrize(
    "body",
    [{"mkID": []}, {"mkID": [], "result": "success"}, {"mkID": True, "result": "success"},
     {"mkID": "", "result": "success"}, {"result": "success"}, {"mkID": "77"},
     {"mkID": "77", "result": "failure"}],
)
def test_flexipass_nonsense_create_answers_are_not_successes(
    flexipass: tuple[FlexipassAdapter, respx.MockRouter], body: dict[str, Any]
) -> None:
    adapter, api = flexipass
    api.post("createMobileKey").respond(200, json=body)
    with pytest.raises(AmbiguousError):
        adapter.create_code("101", CodeRequest(START, END, guest_name="Ana Smith",
                                               guest_email="ana@example.com"))


def test_flexipass_update_that_shows_other_dates_was_not_applied(
    flexipass: tuple[FlexipassAdapter, respx.MockRouter]
) -> None:
    adapter, api = flexipass
    api.get("getMobileKeyDetails").respond(200, json=KEY)
    api.put("updateMobileKey").respond(200, json={**KEY, "result": "success"})  # old dates
    with pytest.raises(AmbiguousError):
        adapter.update_code("101", FLEXI_CODE, START, END + timedelta(days=1))


def test_flexipass_not_found_means_gone_only_for_an_unknown_key(
    flexipass: tuple[FlexipassAdapter, respx.MockRouter]
) -> None:
    adapter, api = flexipass
    api.delete("deleteMobileKey").mock(side_effect=[
        answer(404, fwire.error_body(fwire.ERR_KEY_NOT_FOUND, "Unknown mkID")),
        answer(404, b"<html>Not Found</html>"),
    ])
    adapter.revoke_code("101", FLEXI_CODE)
    with pytest.raises(AmbiguousError):
        adapter.revoke_code("101", FLEXI_CODE)


# --------------------------------------------------------------------------- words (item 10)


@pytest.mark.parametrize("status", [502, 503])
def test_bad_gateway_and_unavailable_are_not_worded_timed_out(
    ttlock: tuple[TTLockAdapter, respx.MockRouter],
    inlet: tuple[InletAdapter, respx.MockRouter],
    flexipass: tuple[FlexipassAdapter, respx.MockRouter], status: int
) -> None:
    errors: list[VendorError] = []
    ttlock[1].get("/v3/lock/listKeyboardPwd").respond(status)
    ttlock[1].post("/v3/keyboardPwd/change").respond(status)
    inlet[1].get("/GrantAccess").respond(status)
    inlet[1].put("/GrantAccess/ref-77").respond(status)
    flexipass[1].get("getDoorList").respond(status)
    flexipass[1].get("getMobileKeyDetails").respond(status)
    flexipass[1].put("updateMobileKey").respond(status)
    calls = [
        lambda: ttlock[0].list_codes("1"),
        lambda: ttlock[0].update_code("1", TTLOCK_CODE, START, END),
        lambda: inlet[0].list_codes("pin-1"),
        lambda: inlet[0].update_code("pin-1", INLET_CODE, START, END),
        lambda: flexipass[0].list_locks(),
        lambda: flexipass[0].update_code("101", FLEXI_CODE, START, END),
    ]
    for call in calls:
        with pytest.raises(VendorError) as caught:
            call()
        errors.append(caught.value)
    for error in errors:
        text = str(error).lower()
        assert "timed out" not in text and "in time" not in text, text
        assert "keeps trying" not in text and "by itself" not in text, text
        assert str(status) in text or isinstance(error, AmbiguousError), text


def test_transient_fixes_never_promise_that_mangodesk_keeps_trying() -> None:
    from mangodesk.vendors import ttlock

    for errcode, known in ttlock.ERRCODES.items():
        words = f"{known.message} {known.fix or ''}".lower()
        assert "keeps trying" not in words and "by itself" not in words, errcode


def test_refusals_do_not_repeat_the_vendors_text_with_its_internal_ids(
    inlet: tuple[InletAdapter, respx.MockRouter],
    flexipass: tuple[FlexipassAdapter, respx.MockRouter],
) -> None:
    inlet[1].post("/GrantAccess").respond(400, json=iwire.error_body(
        iwire.ERR_INVALID, "lock salto-7f3a9c0e rejected grant 5e1d"))
    flexipass[1].post("createMobileKey").respond(400, json=fwire.error_body(
        fwire.ERR_INVALID, "door 7f3a9c0e mkID 99812 invalid"))
    with pytest.raises(PermanentError) as from_inlet:
        inlet[0].create_code("pin-1", CodeRequest(START, END))
    with pytest.raises(PermanentError) as from_flexipass:
        flexipass[0].create_code("101", CodeRequest(START, END, guest_email="a@b.example"))
    for error in (from_inlet.value, from_flexipass.value):
        assert "7f3a9c0e" not in str(error) and "99812" not in str(error)


# --------------------------------------------------------------------------- locks (item 8)


def lock_row(lock_id: int, alias: str, *, has_gateway: int, feature_value: str = FV_KEYPAD,
             version: int = 4) -> dict[str, Any]:
    return {"lockId": lock_id, "lockAlias": alias, "featureValue": feature_value,
            "hasGateway": has_gateway, "keyboardPwdVersion": version}


def test_ttlock_lock_without_gateway_is_linkable_but_codes_are_not_automatic(
    ttlock: tuple[TTLockAdapter, respx.MockRouter]
) -> None:
    adapter, api = ttlock
    rows = {1: lock_row(1, "Room 104", has_gateway=0),
            2: lock_row(2, "Old door", has_gateway=1, version=3),
            3: lock_row(3, "Bike shed", has_gateway=1, feature_value="C27442140F5F4"),
            4: lock_row(4, "Room 101", has_gateway=1)}
    api.get("/v3/lock/list").respond(json={"list": list(rows.values()), "pages": 1})
    api.get("/v3/gateway/list").respond(json={"list": [], "pages": 1})
    api.get("/v3/lock/detail").mock(side_effect=lambda request: httpx.Response(
        200, json=rows[int(request.url.params["lockId"])]))
    locks = {lock.name: lock for lock in adapter.list_locks()}
    no_gateway = locks["Room 104"]
    assert no_gateway.manageable and no_gateway.unmanageable_reason is None
    assert no_gateway.codes_not_automatic_reason == "codes not automatic: no gateway"
    old, shed = locks["Old door"], locks["Bike shed"]
    assert not old.manageable and "version 3" in (old.unmanageable_reason or "")
    assert not shed.manageable and "no keypad" in (shed.unmanageable_reason or "")
    assert old.codes_not_automatic_reason is None
    assert locks["Room 101"].manageable and locks["Room 101"].codes_not_automatic_reason is None


def test_shared_transport_messages_are_one_per_failure_class() -> None:
    from mangodesk.vendors import http

    assert isinstance(http.unreachable("X"), TransientError)
    assert isinstance(http.no_answer("X"), TransientError)
    assert isinstance(http.unclear_outcome("X", "the code was created", "the lock"),
                      AmbiguousError)
    assert isinstance(http.unreadable("X"), PermanentError)
    assert "timed out" not in http.server_trouble("X", 502).message
    assert "did not answer in time" in http.server_trouble("X", 504).message
