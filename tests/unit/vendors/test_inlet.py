"""Inlet adapter against mocked HTTP: the request shapes, the PIN-capable filter, the 72-hour
rule and the mapping of every failure to the error taxonomy."""

from __future__ import annotations

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
from mangodesk.vendors import inlet_contract as wire
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
from mangodesk.vendors.inlet import INLET_SPEC, MAX_LEAD, InletAdapter
from mangodesk.vendors.registry import default_specs

BASE = "https://inlet.test/api"
TOKEN = "prop-token-5f1c"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=48)
END = START + timedelta(days=3)


def lock_json(lock_id: str, access: list[str], **extra: Any) -> dict[str, Any]:
    body = {
        "lockId": lock_id,
        "name": f"Lock {lock_id}",
        "lockSystem": "Salto KS",
        "locationName": "Main building",
        "groupName": "Floor 1",
        "online": True,
        "accessTypes": access,
    }
    body.update(extra)
    return body


LOCKS = {
    "locks": [
        lock_json("pin-1", ["code", "mobileKey"], batteryLevel=80),
        lock_json("pin-2", ["code"], online=False),
        lock_json("mobile-1", ["mobileKey"]),
        lock_json("mobile-2", ["mobileKey", "urlKey"]),
        lock_json("unlock-1", ["unlock"]),
        lock_json("nothing", []),
    ]
}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def adapter(clock: FixedClock) -> Iterator[InletAdapter]:
    config = ConnectionConfig(1, VendorKind.INLET, {"base_url": BASE}, {"api_token": TOKEN})
    inlet = InletAdapter(config, clock=clock)
    yield inlet
    inlet.close()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_adapter_satisfies_the_protocol_and_is_registered(adapter: InletAdapter) -> None:
    assert isinstance(adapter, VendorAdapter)
    assert INLET_SPEC in default_specs()
    assert [(f.name, f.secret) for f in INLET_SPEC.fields] == [("api_token", True)]
    assert adapter.capabilities.max_lead == timedelta(hours=72)
    assert adapter.capabilities.vendor_generates_pin
    assert adapter.capabilities.automated


def test_connection_counts_hidden_locks_and_says_why(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get("/Locks").respond(200, json=LOCKS)
    report = adapter.test_connection()
    assert report.ok
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert report.details == {"pin_locks": "2", "hidden_locks": "4"}
    hidden = next(step for step in report.steps if step.name == "Hidden locks")
    assert "4 locks" in hidden.message
    assert "2 mobile key only" in hidden.message
    assert "1 auto-unlock only" in hidden.message
    assert "1 no PIN-code support" in hidden.message
    assert report.summary == (
        "Connected to Inlet: 2 locks ready to link; 4 hidden "
        "(2 mobile key only, 1 auto-unlock only, 1 no PIN-code support)."
    )


def test_connection_with_rejected_token_reports_a_fix_without_the_token(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.get("/Locks").respond(401, json=wire.error_body("Unauthorized", "bad token"))
    report = adapter.test_connection()
    assert not report.ok
    assert "rejected the API token" in report.summary
    assert report.steps[0].fix and "token" in report.steps[0].fix
    assert all(TOKEN not in f"{s.message} {s.fix}" for s in report.steps)


def test_connection_with_no_pin_locks_is_flagged(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.get("/Locks").respond(200, json={"locks": [lock_json("m", ["mobileKey"])]})
    report = adapter.test_connection()
    locks_step = next(step for step in report.steps if step.name == "Locks")
    assert not locks_step.ok
    assert locks_step.fix
    assert "none of your locks" in report.summary
    hidden = next(step for step in report.steps if step.name == "Hidden locks")
    assert hidden.message == (
        "1 lock not shown because it cannot take PIN codes (1 mobile key only)."
    )


def test_list_locks_offers_only_pin_capable_locks_with_their_attributes(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.get("/Locks").respond(200, json=LOCKS)
    locks = adapter.list_locks()
    assert [lock.vendor_lock_id for lock in locks] == ["pin-1", "pin-2"]
    first = locks[0]
    assert first.attributes["lock_system"] == "Salto KS"
    assert first.attributes["group"] == "Floor 1"
    assert first.attributes["online"] is True
    assert first.attributes["battery"] == 80
    assert locks[1].attributes["online"] is False


def test_lock_details_show_system_location_group_and_online_status(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.get("/Locks").respond(200, json=LOCKS)
    details = dict(adapter.lock_details("pin-1").items)
    assert details["Lock system"] == "Salto KS"
    assert details["Location"] == "Main building"
    assert details["Group"] == "Floor 1"
    assert details["Online status"] == "Online"
    offline = adapter.lock_details("pin-2")
    assert dict(offline.items)["Online status"] == "Offline"
    assert offline.warnings and "offline" in offline.warnings[0]
    with pytest.raises(PermanentError, match="no longer lists this lock"):
        adapter.lock_details("gone")


def test_create_grants_access_and_returns_the_formatted_pin_and_reference(
    adapter: InletAdapter, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    route = mock.post("/GrantAccess").respond(
        201, json={"ReferenceId": "ref-77", "codeFormatted": "#482913*"}
    )
    request = CodeRequest(START, END, guest_name="Ada Berg", guest_email="ada@example.com",
                          label="Mangodesk 4711 Berg")
    with caplog.at_level(logging.DEBUG, logger="mangodesk.vendors.inlet"):
        code = adapter.create_code("pin-1", request)
    assert code == VendorCode("ref-77", "#482913*", START, END, "Mangodesk 4711 Berg")
    assert sent_json(route) == {
        "operation": "code",
        "lockId": "pin-1",
        "startTime": "2026-03-12T12:00:00Z",
        "endTime": "2026-03-15T12:00:00Z",
        "suppressGuestMessages": True,
        "guestName": "Ada Berg",
        "email": "ada@example.com",
        "externalReference": "Mangodesk 4711 Berg",
    }
    assert "482913" not in caplog.text
    assert TOKEN not in caplog.text


def test_create_more_than_72_hours_ahead_is_refused_without_calling_inlet(
    adapter: InletAdapter, mock: respx.MockRouter, clock: FixedClock
) -> None:
    route = mock.post("/GrantAccess").respond(201, json={"ReferenceId": "r", "codeFormatted": "1"})
    too_early = NOW + MAX_LEAD + timedelta(minutes=1)
    with pytest.raises(PermanentError, match="72 hours") as caught:
        adapter.create_code("pin-1", CodeRequest(too_early, too_early + timedelta(days=1)))
    assert caught.value.fix
    assert not route.called
    at_limit = NOW + MAX_LEAD
    adapter.create_code("pin-1", CodeRequest(at_limit, at_limit + timedelta(days=1)))
    assert route.call_count == 1


def test_create_read_timeout_is_ambiguous(adapter: InletAdapter, mock: respx.MockRouter) -> None:
    mock.post("/GrantAccess").mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(AmbiguousError):
        adapter.create_code("pin-1", CodeRequest(START, END))


def test_create_connect_failure_is_transient(adapter: InletAdapter, mock: respx.MockRouter) -> None:
    mock.post("/GrantAccess").mock(side_effect=httpx.ConnectTimeout("no route"))
    with pytest.raises(TransientError, match="could not reach Inlet"):
        adapter.create_code("pin-1", CodeRequest(START, END))


def test_create_with_unreadable_answer_is_ambiguous(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.post("/GrantAccess").respond(200, text="<html>ok</html>")
    with pytest.raises(AmbiguousError):
        adapter.create_code("pin-1", CodeRequest(START, END))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, wire.error_body("Unauthorized", "x"), AuthError),
        (403, None, AuthError),
        (409, wire.error_body("LockOffline", "offline"), TransientError),
        (500, None, TransientError),
        (503, wire.error_body("ServerError", "down"), TransientError),
        (404, wire.error_body("LockNotFound", "x"), PermanentError),
        (422, wire.error_body("AccessTypeNotSupported", "x"), PermanentError),
        (422, wire.error_body("BookingTooFarAhead", "x"), PermanentError),
        (400, wire.error_body("InvalidRequest", "endTime before startTime"), PermanentError),
    ],
)
def test_create_failures_map_to_the_taxonomy(
    adapter: InletAdapter,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, Any] | None,
    error: type[Exception],
) -> None:
    mock.post("/GrantAccess").respond(status, json=body)
    with pytest.raises(error) as caught:
        adapter.create_code("pin-1", CodeRequest(START, END))
    assert type(caught.value) is error
    assert TOKEN not in str(caught.value)


def test_rate_limit_is_transient_with_retry_after(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.get("/Locks").respond(429, headers={"Retry-After": "30"})
    with pytest.raises(TransientError) as caught:
        adapter.list_locks()
    assert caught.value.retry_after == 30.0


def test_missing_token_fails_before_any_call(mock: respx.MockRouter) -> None:
    route = mock.get("/Locks").respond(200, json=LOCKS)
    config = ConnectionConfig(1, VendorKind.INLET, {"base_url": BASE}, {})
    inlet = InletAdapter(config)
    try:
        with pytest.raises(AuthError, match="No Inlet API token"):
            inlet.list_locks()
    finally:
        inlet.close()
    assert not route.called


def test_update_moves_the_window_by_reference(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    route = mock.put("/GrantAccess/ref-77").respond(
        200, json={"ReferenceId": "ref-77", "codeFormatted": "#482913*"}
    )
    code = VendorCode("ref-77", "#482913*", START, END, "label")
    new_end = END + timedelta(days=1)
    updated = adapter.update_code("pin-1", code, START, new_end)
    assert sent_json(route) == {
        "startTime": "2026-03-12T12:00:00Z",
        "endTime": "2026-03-16T12:00:00Z",
    }
    assert updated == VendorCode("ref-77", "#482913*", START, new_end, "label")


def test_update_of_a_grant_inlet_lost_is_already_gone(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.put("/GrantAccess/ref-77").respond(404, json=wire.error_body("GrantNotFound", "x"))
    with pytest.raises(AlreadyGoneError):
        adapter.update_code("pin-1", VendorCode("ref-77", "1", START, END), START, END)


def test_update_read_timeout_is_ambiguous_the_move_may_have_been_applied(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    mock.put("/GrantAccess/ref-77").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(AmbiguousError):
        adapter.update_code("pin-1", VendorCode("ref-77", "1", START, END), START, END)


def test_revoke_by_reference_and_already_gone_is_success(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    route = mock.delete("/GrantAccess/ref-77").mock(
        side_effect=[httpx.Response(200, json=wire.revoked_body("ref-77")),
                     httpx.Response(404, json=wire.error_body(wire.ERR_GRANT_NOT_FOUND, "y"))]
    )
    code = VendorCode("ref-77", "1", START, END)
    adapter.revoke_code("pin-1", code)
    adapter.revoke_code("pin-1", code)
    assert route.call_count == 2


def test_revoke_server_error_is_transient(adapter: InletAdapter, mock: respx.MockRouter) -> None:
    mock.delete("/GrantAccess/ref-77").respond(502)
    with pytest.raises(TransientError):
        adapter.revoke_code("pin-1", VendorCode("ref-77", "1", START, END))


def test_list_codes_reads_the_grants_of_a_lock(
    adapter: InletAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get("/GrantAccess", params={"lockId": "pin-1"}).respond(
        200,
        json={
            "grants": [
                {
                    "ReferenceId": "ref-1",
                    "codeFormatted": "123456",
                    "startTime": "2026-03-12T12:00:00Z",
                    "endTime": "2026-03-15T12:00:00Z",
                    "externalReference": "Mangodesk 4711 Berg",
                }
            ]
        },
    )
    codes = adapter.list_codes("pin-1")
    assert route.called
    assert codes == [VendorCode("ref-1", "123456", START, END, "Mangodesk 4711 Berg")]
