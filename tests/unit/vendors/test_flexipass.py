"""Flexipass adapter against mocked HTTP: auth on every call, local wall-clock dates, the
no-email refusal, full-replace updates and the error taxonomy."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    AuthError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    TransientError,
    VendorAdapter,
    VendorCode,
)
from mangodesk.vendors.flexipass import (
    FLEXIPASS_SPEC,
    NO_EMAIL_FIX,
    NO_EMAIL_MESSAGE,
    FlexipassAdapter,
)
from mangodesk.vendors.flexipass import contract as wire
from mangodesk.vendors.registry import default_specs

HOST = "https://flexipass.test"
PREFIX = "/Flexipass/rest/webapi/"
USER = "desk@hotel.example"
PASSWORD = "s3cret-pass"
COMPANY = "company-token-9f"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# 2026-03-12 14:00 UTC is 15:00 in Oslo (winter time, UTC+1).
START = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)
END = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)

DOORS = [
    {"Door": "101", "DoorName": "Room 101", "DoorType": "Room", "LockSystem": "VingCard Vostio"},
    {"Door": "GYM", "DoorName": "Gym", "DoorType": "CommonArea", "LockSystem": "Salto Space"},
]

KEY_101 = {
    "mkID": "123456",
    "Name": "Ada",
    "Surname": "Berg",
    "Mail": "ada@example.com",
    "Door": "101",
    "Checkin_date": "2026-03-12",
    "Checkin_time": "15:00:00",
    "Checkout_date": "2026-03-15",
    "Checkout_time": "11:00:00",
    "MobileKeyType": 0,
}


@pytest.fixture
def adapter() -> Iterator[FlexipassAdapter]:
    config = ConnectionConfig(
        1,
        VendorKind.FLEXIPASS,
        {"base_url": HOST, "username": USER, "time_zone": "Europe/Oslo"},
        {"password": PASSWORD, "company_token": COMPANY},
    )
    flexipass = FlexipassAdapter(config, clock=FixedClock(NOW))
    yield flexipass
    flexipass.close()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=HOST + PREFIX, assert_all_called=False) as router:
        # Every create first looks for the same key on the door; by default there is none.
        router.post("getMobileKeyList", name="key_list").respond(200, json=[])
        yield router


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_adapter_satisfies_the_protocol_and_is_registered(adapter: FlexipassAdapter) -> None:
    assert isinstance(adapter, VendorAdapter)
    assert FLEXIPASS_SPEC in default_specs()
    fields = {f.name: f.secret for f in FLEXIPASS_SPEC.fields if f.required}
    assert fields == {"username": False, "password": True, "company_token": True}
    caps = adapter.capabilities
    assert caps.mobile_key and caps.needs_guest_email and caps.pin_rules is None
    assert FLEXIPASS_SPEC.lock_noun == "door"


def test_every_call_carries_basic_auth_and_the_company_token(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get("getDoorList").respond(200, json=DOORS)
    report = adapter.test_connection()
    assert report.ok
    request = route.calls.last.request
    expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.url.params["companyToken"] == COMPANY
    assert report.details == {"rooms": "1", "common_areas": "1"}
    assert "2 door(s)" in report.summary


def test_doors_carry_their_type(adapter: FlexipassAdapter, mock: respx.MockRouter) -> None:
    mock.get("getDoorList").respond(200, json=DOORS)
    locks = adapter.list_locks()
    assert [(lock.vendor_lock_id, lock.attributes["door_type"]) for lock in locks] == [
        ("101", "room"),
        ("GYM", "common_area"),
    ]
    assert dict(adapter.lock_details("GYM").items)["Door type"] == "Common area"
    assert dict(adapter.lock_details("101").items)["Door type"] == "Room"


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (401, wire.error_body("InvalidCredentials", "x"), "username or password"),
        (403, wire.error_body("InvalidCompanyToken", "x"), "company token"),
    ],
)
def test_rejected_credentials_are_auth_errors_without_secrets(
    adapter: FlexipassAdapter,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, Any],
    match: str,
) -> None:
    mock.get("getDoorList").respond(status, json=body)
    report = adapter.test_connection()
    assert not report.ok
    assert match in report.summary
    with pytest.raises(AuthError) as caught:
        adapter.list_locks()
    text = str(caught.value)
    assert PASSWORD not in text and COMPANY not in text


@pytest.mark.parametrize("email", [None, "", "   "])
def test_a_booking_without_guest_email_is_refused_at_once(
    adapter: FlexipassAdapter, mock: respx.MockRouter, email: str | None
) -> None:
    route = mock.post("createMobileKey").respond(200, json={"mkID": "1", "result": "success"})
    with pytest.raises(PermanentError) as caught:
        adapter.create_code("101", CodeRequest(START, END, guest_name="Ada", guest_email=email))
    assert caught.value.message == NO_EMAIL_MESSAGE
    assert caught.value.fix == NO_EMAIL_FIX
    assert str(caught.value) == (
        "This booking has no guest email, so Flexipass cannot send a mobile key. "
        "Add the guest's email in the PMS."
    )
    assert not route.called


def test_a_malformed_guest_email_is_refused(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post("createMobileKey").respond(200, json={"mkID": "1", "result": "success"})
    with pytest.raises(PermanentError, match="not a valid address"):
        adapter.create_code("101", CodeRequest(START, END, guest_email="ada(at)example"))
    assert not route.called


def test_create_sends_local_wall_clock_times_and_returns_where_the_key_went(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post("createMobileKey").respond(200, json={"mkID": 123456, "result": "success"})
    request = CodeRequest(START, END, guest_name="Ada Maria Berg", guest_email="ada@example.com")
    code = adapter.create_code("101", request)
    assert sent_json(route) == {
        "Name": "Ada Maria",
        "Surname": "Berg",
        "Mail": "ada@example.com",
        "Door": "101",
        "Checkin_date": "2026-03-12",
        "Checkin_time": "15:00:00",
        "Checkout_date": "2026-03-15",
        "Checkout_time": "11:00:00",
        "MobileKeyType": 0,
    }
    assert code == VendorCode(
        "123456", None, START, END, "Ada Maria Berg", mobile_key_sent_to="ada@example.com"
    )


def test_summer_time_is_converted_with_the_summer_offset(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post("createMobileKey").respond(200, json={"mkID": "9", "result": "success"})
    summer = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # 15:00 in Oslo (UTC+2)
    adapter.create_code("101", CodeRequest(summer, summer + timedelta(days=1),
                                           guest_email="a@b.example"))
    assert sent_json(route)["Checkin_time"] == "15:00:00"


def test_create_timeout_after_sending_is_ambiguous(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    mock.post("createMobileKey").mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(AmbiguousError):
        adapter.create_code("101", CodeRequest(START, END, guest_email="a@b.example"))


def test_create_answer_without_mkid_is_ambiguous(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    mock.post("createMobileKey").respond(200, json={"result": "success"})
    with pytest.raises(AmbiguousError):
        adapter.create_code("101", CodeRequest(START, END, guest_email="a@b.example"))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, None, TransientError),
        (500, {"error": "ServerError"}, TransientError),
        (409, wire.error_body("DoorOffline", "offline"), TransientError),
        (404, wire.error_body("DoorNotFound", "x"), PermanentError),
        (400, wire.error_body("InvalidRequest", "bad"), PermanentError),
    ],
)
def test_create_failures_map_to_the_taxonomy(
    adapter: FlexipassAdapter,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, Any] | None,
    error: type[Exception],
) -> None:
    mock.post("createMobileKey").respond(status, json=body)
    with pytest.raises(error) as caught:
        adapter.create_code("101", CodeRequest(START, END, guest_email="a@b.example"))
    assert type(caught.value) is error


def test_connect_failure_is_transient(adapter: FlexipassAdapter, mock: respx.MockRouter) -> None:
    mock.get("getDoorList").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="could not reach Flexipass"):
        adapter.list_locks()


def test_update_of_a_key_whose_guest_is_unknown_reads_it_and_keeps_the_guest(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    details = mock.get("getMobileKeyDetails", params={"mkID": "123456"}).respond(
        200, json=KEY_101
    )
    put = mock.put("updateMobileKey", params={"mkID": "123456"}).respond(
        200, json={**KEY_101, "Checkout_date": "2026-03-17", "result": "success"})
    code = VendorCode("123456", None, START, END)
    later = END + timedelta(days=2)
    updated = adapter.update_code("101", code, START, later)
    assert details.called
    body = sent_json(put)
    assert put.calls.last.request.url.params["companyToken"] == COMPANY
    assert body["Checkout_date"] == "2026-03-17"
    assert body["Checkout_time"] == "11:00:00"
    assert (body["Name"], body["Surname"], body["Mail"], body["Door"]) == (
        "Ada", "Berg", "ada@example.com", "101"
    )
    assert updated.valid_to == later
    assert updated.mobile_key_sent_to == "ada@example.com"


def test_update_of_a_key_carrying_its_guest_sends_it_without_a_read(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    """After a restart the adapter has sent nothing yet; the engine's code names the guest
    and the address the key went to, which is all a create sends."""
    details = mock.get("getMobileKeyDetails").respond(200, json=KEY_101)
    put = mock.put("updateMobileKey", params={"mkID": "123456"}).respond(
        200, json={**KEY_101, "Checkout_date": "2026-03-17", "result": "success"})
    code = VendorCode("123456", None, START, END, "Ada Maria Berg", "ada@example.com")
    updated = adapter.update_code("101", code, START, END + timedelta(days=2))
    assert not details.called
    body = sent_json(put)
    assert (body["Name"], body["Surname"], body["Mail"], body["Door"]) == (
        "Ada Maria", "Berg", "ada@example.com", "101")
    assert body["MobileKeyType"] == wire.DEFAULT_MOBILE_KEY_TYPE
    assert updated.mobile_key_sent_to == "ada@example.com"


def test_update_of_a_deleted_key_is_already_gone(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    mock.get("getMobileKeyDetails").respond(404, json=wire.error_body("MobileKeyNotFound", "x"))
    with pytest.raises(AlreadyGoneError):
        adapter.update_code("101", VendorCode("1", None), START, END)


def test_delete_and_already_gone_is_success(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock.delete("deleteMobileKey", params={"mkID": "123456"}).mock(
        side_effect=[httpx.Response(200, json={"result": "success"}),
                     httpx.Response(404, json=wire.error_body("MobileKeyNotFound", "x"))]
    )
    code = VendorCode("123456", None)
    adapter.revoke_code("101", code)
    adapter.revoke_code("101", code)
    assert route.call_count == 2


def test_delete_failure_is_transient(adapter: FlexipassAdapter, mock: respx.MockRouter) -> None:
    mock.delete("deleteMobileKey").respond(500)
    with pytest.raises(TransientError):
        adapter.revoke_code("101", VendorCode("123456", None))


def test_list_codes_asks_in_compact_local_form_and_returns_utc(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    route = mock["key_list"].respond(200, json=[KEY_101])
    codes = adapter.list_codes("101")
    body = sent_json(route)
    assert body["Door"] == "101"
    assert body["StartDate"] == "20260207T1300"  # NOW - 31 days, Oslo time
    assert codes == [
        VendorCode("123456", None, START, datetime(2026, 3, 15, 10, 0, tzinfo=UTC), "Ada Berg",
                   mobile_key_sent_to="ada@example.com")
    ]


@pytest.mark.expect_log(r"Flexipass could not e-mail mobile key \d+", logger="mangodesk.vendors")
def test_when_create_does_not_mail_the_adapter_asks_for_the_mail(
    adapter: FlexipassAdapter, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "CREATE_SENDS_MAIL", False)
    mock.post("createMobileKey").respond(200, json={"mkID": "77", "result": "success"})
    mail = mock.get("sendMail", params={"mkID": "77"}).respond(503)
    code = adapter.create_code("101", CodeRequest(START, END, guest_email="a@b.example"))
    assert mail.called
    assert code.vendor_ref == "77"  # the key exists: a failed e-mail must not cause a second one


def test_unknown_time_zone_is_refused_with_a_fix() -> None:
    config = ConnectionConfig(1, VendorKind.FLEXIPASS, {"time_zone": "Mars/Olympus"}, {})
    with pytest.raises(PermanentError, match="not a known time zone"):
        FlexipassAdapter(config)


def test_create_is_one_request_without_reading_the_door_first(
    adapter: FlexipassAdapter, mock: respx.MockRouter
) -> None:
    """A lost answer is caught by the engine's read-back (matches_sent), not by listing the
    door before every create."""
    listed = mock["key_list"].respond(200, json=[{**KEY_101, "Mail": "ada@example.com"}])
    create = mock.post("createMobileKey").respond(200, json={"mkID": "999", "result": "success"})
    code = adapter.create_code("101", CodeRequest(START, END, guest_email="ada@example.com"))
    assert not listed.called
    assert create.call_count == 1
    assert code.vendor_ref == "999"


def test_the_company_token_never_reaches_the_log(
    adapter: FlexipassAdapter, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get("getDoorList").respond(200, json=DOORS)
    with caplog.at_level(logging.DEBUG):
        adapter.list_locks()
    assert "getDoorList" in caplog.text  # httpx did log the request URL
    assert "companyToken=•••" in caplog.text
    assert COMPANY not in caplog.text and PASSWORD not in caplog.text
