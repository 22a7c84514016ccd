"""The Beds24 adapter against mocked HTTP (respx): auth, renewal, paging, cancelled bookings
included, credit back-off, and clear errors for malformed replies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import BookingStatus, UnitKind
from mangodesk.pms.base import PmsAuthError, PmsError
from mangodesk.pms.beds24 import (
    REFRESH_TOKEN_KEY,
    Beds24Adapter,
    Beds24Settings,
    map_status,
    merge_groups,
    parse_arrival_time,
    parse_room_units,
    read_bookings,
)
from mangodesk.store.secrets import SecretStore

BASE = "https://beds24.test/api/v2"
CREDITS = {
    "X-FiveMinCreditLimit": "100",
    "X-FiveMinCreditLimit-Remaining": "90",
    "X-FiveMinCreditLimit-ResetsIn": "200",
    "X-RequestCost": "1",
}


class Sleeper:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/authentication/token").mock(
            return_value=httpx.Response(200, json={"token": "tok-1", "expiresIn": 86400},
                                        headers=CREDITS)
        )
        yield router


@pytest.fixture
def adapter(
    secret_store: SecretStore, clock: FixedClock, sleeper: Sleeper
) -> Iterator[Beds24Adapter]:
    secret_store.set(REFRESH_TOKEN_KEY, "refresh-secret")
    adapter = Beds24Adapter(
        secrets=secret_store,
        clock=clock,
        settings=Beds24Settings(base_url=BASE, timezone="Europe/Berlin"),
        sleep=sleeper,
        monotonic=lambda: 1000.0,
    )
    yield adapter
    adapter.close()


def booking(bid: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": bid,
        "propertyId": 7,
        "roomId": 70,
        "unitId": 1,
        "status": "confirmed",
        "subStatus": "none",
        "arrival": "2026-03-12",
        "departure": "2026-03-14",
        "firstName": "Anna",
        "lastName": "Hansen",
        "email": "anna@example.com",
        "modifiedTime": "2026-03-10T11:00:00Z",
    }
    body.update(fields)
    return body


def page(data: list[dict[str, Any]], more: bool = False) -> dict[str, Any]:
    return {"success": True, "type": "booking", "count": len(data),
            "pages": {"nextPageExists": more}, "data": data}


def by_page(*pages: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """A /bookings mock answering by the ``page`` asked for (empty past the last), as Beds24
    does: a read of several pages also counts the list (pms.paging) and reads page 1 again."""
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        if number <= len(pages):
            return pages[number - 1]
        return httpx.Response(200, json=page([]))
    return answer


def all_pages(adapter: Beds24Adapter, cursor: str | None = None) -> list[Any]:
    return list(adapter.bookings_changed_since(cursor))


# ---------------------------------------------------------------------- auth


def test_invite_code_is_traded_for_a_refresh_token_kept_in_the_keyring(
    secret_store: SecretStore, clock: FixedClock
) -> None:
    with respx.mock(base_url=BASE) as api:
        setup = api.get("/authentication/setup").mock(
            return_value=httpx.Response(
                200, json={"token": "tok-0", "expiresIn": 86400, "refreshToken": "rt-new"}
            )
        )
        bookings = api.get("/bookings").mock(return_value=httpx.Response(200, json=page([])))
        with Beds24Adapter(secrets=secret_store, clock=clock,
                           settings=Beds24Settings(base_url=BASE,
                                                   timezone="Europe/Berlin")) as adapter:
            adapter.connect_with_invite_code("  INVITE-123 ")
            all_pages(adapter, "2026-03-10T10:00:00Z")
    assert setup.calls.last.request.headers["code"] == "INVITE-123"
    assert secret_store.get(REFRESH_TOKEN_KEY) == "rt-new"
    # The token from the setup reply is used directly; no extra renewal call.
    assert bookings.calls.last.request.headers["token"] == "tok-0"


def test_a_rejected_invite_code_says_what_to_do(
    secret_store: SecretStore, clock: FixedClock
) -> None:
    with respx.mock(base_url=BASE) as api:
        api.get("/authentication/setup").mock(
            return_value=httpx.Response(
                400, json={"success": False, "type": "error", "code": 400, "error": "Invalid code"}
            )
        )
        with Beds24Adapter(secrets=secret_store, clock=clock,
                           settings=Beds24Settings(base_url=BASE)) as adapter, \
                pytest.raises(PmsAuthError) as caught:
            adapter.connect_with_invite_code("WRONG")
    assert "invite code" in caught.value.message
    assert "Marketplace" in (caught.value.fix or "")
    assert secret_store.get(REFRESH_TOKEN_KEY) is None


def test_not_connected_is_a_plain_auth_error(clock: FixedClock, secret_store: SecretStore) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False), Beds24Adapter(
        secrets=secret_store, clock=clock, settings=Beds24Settings(base_url=BASE)
    ) as adapter, pytest.raises(PmsAuthError, match="not connected"):
        all_pages(adapter)


def test_token_is_renewed_shortly_before_it_expires(
    api: respx.MockRouter, adapter: Beds24Adapter, clock: FixedClock
) -> None:
    api.get("/bookings").mock(return_value=httpx.Response(200, json=page([])))
    all_pages(adapter, "2026-03-10T10:00:00Z")
    all_pages(adapter, "2026-03-10T10:00:00Z")
    assert api.routes[0].call_count == 1  # one token for both calls
    assert api.routes[0].calls.last.request.headers["refreshToken"] == "refresh-secret"
    clock.advance(timedelta(hours=23, minutes=55))
    all_pages(adapter, "2026-03-10T10:00:00Z")
    assert api.routes[0].call_count == 2


def test_a_401_renews_the_token_once_and_repeats_the_call(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/authentication/token").mock(
        side_effect=[
            httpx.Response(200, json={"token": "tok-1", "expiresIn": 86400}),
            httpx.Response(200, json={"token": "tok-2", "expiresIn": 86400}),
        ]
    )
    route = api.get("/bookings").mock(
        side_effect=[
            httpx.Response(401, json={"success": False, "code": 401, "error": "expired"}),
            httpx.Response(200, json=page([booking(1)])),
        ]
    )
    pages = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert [b.pms_id for b in pages[0].bookings] == ["1"]
    assert [c.request.headers["token"] for c in route.calls] == ["tok-1", "tok-2"]


def test_a_second_401_is_an_auth_error_not_a_loop(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/bookings").mock(
        return_value=httpx.Response(401, json={"success": False, "code": 401, "error": "no"})
    )
    with pytest.raises(PmsAuthError, match="refused access"):
        all_pages(adapter, "2026-03-10T10:00:00Z")
    assert api.routes[0].call_count == 2


def test_a_refresh_token_beds24_no_longer_accepts_asks_to_reconnect(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/authentication/token").mock(
        return_value=httpx.Response(400, json={"success": False, "type": "error", "code": 400,
                                               "error": "Invalid refresh token"})
    )
    with pytest.raises(PmsAuthError) as caught:
        all_pages(adapter, "2026-03-10T10:00:00Z")
    assert "no longer accepts" in caught.value.message
    assert "refresh-secret" not in str(caught.value)


# ---------------------------------------------------------------------- bookings


def test_bookings_always_ask_for_cancelled_ones_and_overlap_the_cursor(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    route = api.get("/bookings").mock(return_value=httpx.Response(200, json=page([])))
    all_pages(adapter, "2026-03-10T10:00:00Z")
    params = route.calls.last.request.url.params
    assert set(params.get_list("status")) == {
        "confirmed", "request", "new", "cancelled", "black", "inquiry"
    }
    # 10:00Z minus the 10-minute overlap, in the account's zone (Berlin, UTC+1): exactly the
    # overlap, not the 70 minutes the UTC reading meant.
    assert params["modifiedFrom"] == "2026-03-10T10:50:00"
    assert params["includeBookingGroup"] == "true"


def test_a_first_sync_reads_from_a_week_back_instead_of_by_modification(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    route = api.get("/bookings").mock(return_value=httpx.Response(200, json=page([])))
    all_pages(adapter, None)
    params = route.calls.last.request.url.params
    assert "modifiedFrom" not in params
    assert params["departureFrom"] == "2026-03-03"
    assert "cancelled" in params.get_list("status")


def test_modified_from_reads_local_time_when_the_zone_is_behind_utc(
    secret_store: SecretStore, clock: FixedClock
) -> None:
    with Beds24Adapter(secrets=secret_store, clock=clock, settings=Beds24Settings(
        base_url=BASE, timezone="America/New_York")) as adapter:
        # 15:00Z is 10:00 in New York (EST): the local reading is the earlier one.
        assert adapter.modified_from("2026-03-05T15:00:00Z") == "2026-03-05T09:50:00"


def test_paging_continues_until_next_page_exists_is_false(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    route = api.get("/bookings").mock(
        side_effect=by_page(
            httpx.Response(200, json=page([booking(1)], more=True),
                           headers={"Date": "Tue, 10 Mar 2026 11:58:00 GMT"}),
            httpx.Response(200, json=page([booking(2)], more=True)),
            httpx.Response(200, json=page([booking(3, status="cancelled")])),
        )
    )
    pages = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert [p.page_number for p in pages] == [1, 2, 3]
    assert [p.has_more for p in pages] == [True, True, False]
    # Page 1, the count (galloping to the first empty page, then halving), the pages.
    assert [c.request.url.params.get("page") for c in route.calls] == [
        None, "2", "3", "5", "4", None, "2", "3"]
    # Only the last page carries the new cursor: the server time of the first request.
    assert [p.cursor for p in pages] == [None, None, "2026-03-10T11:58:00Z"]
    assert pages[2].bookings[0].status is BookingStatus.CANCELLED


def test_endless_paging_is_stopped(
    api: respx.MockRouter, adapter: Beds24Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mangodesk.pms.beds24.client.MAX_PAGES", 3)
    route = api.get("/bookings").mock(
        return_value=httpx.Response(200, json=page([booking(1)], True)))
    with pytest.raises(PmsError, match="kept announcing more pages"):
        all_pages(adapter, "2026-03-10T10:00:00Z")
    # Page 1, the count (pages 2 and 3, both full: it stops at the limit), pages 1 to 3.
    assert route.call_count == 6


def test_a_booking_group_becomes_one_booking_with_a_unit_per_room(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    group = {"master": 10, "ids": [10, 11, 12]}
    api.get("/bookings").mock(
        return_value=httpx.Response(200, json=page([
            booking(10, masterId=10, unitId=1, bookingGroup=group),
            booking(11, masterId=10, unitId=2, bookingGroup=group, firstName="Other"),
            booking(12, masterId=10, unitId=3, bookingGroup=group, status="cancelled"),
        ]))
    )
    [result] = all_pages(adapter, "2026-03-10T10:00:00Z")
    [merged] = result.bookings
    assert merged.pms_id == "10"
    assert merged.unit_pms_ids == ("70-1", "70-2")  # the cancelled room is no longer booked
    assert merged.status is BookingStatus.CONFIRMED
    assert merged.guest_name == "Anna Hansen"


def test_rooms_of_a_group_missing_from_the_page_are_fetched_by_master_id(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    group = {"master": 10, "ids": [10, 11]}
    route = api.get("/bookings").mock(
        side_effect=[
            httpx.Response(200, json=page([booking(11, masterId=10, unitId=2,
                                                   bookingGroup=group)])),
            httpx.Response(200, json=page([booking(10, masterId=10, unitId=1,
                                                   bookingGroup=group),
                                           booking(11, masterId=10, unitId=2,
                                                   bookingGroup=group)])),
        ]
    )
    [result] = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert route.calls[1].request.url.params.get_list("masterId") == ["10"]
    assert "cancelled" in route.calls[1].request.url.params.get_list("status")
    assert [(b.pms_id, tuple(b.unit_pms_ids)) for b in result.bookings] == [
        ("10", ("70-1", "70-2"))
    ]


def test_a_group_that_stays_incomplete_is_an_error_not_a_smaller_booking(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    group = {"master": 10, "ids": [10, 11]}
    api.get("/bookings").mock(
        return_value=httpx.Response(200, json=page([booking(11, masterId=10,
                                                            bookingGroup=group)]))
    )
    [result] = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert result.bookings == []
    assert [(u.pms_id, u.reason) for u in result.unreadable] == [
        ("10", "Beds24 did not send every room of this booking group")]


def test_booking_fields_are_normalised(api: respx.MockRouter, adapter: Beds24Adapter) -> None:
    api.get("/bookings").mock(
        return_value=httpx.Response(200, json=page([
            booking(5, arrivalTime="3pm", mobile="+47 555", channel="airbnb"),
            booking(6, unitId=0, apiSource="Direct", email=""),
        ]))
    )
    [result] = all_pages(adapter, "2026-03-10T10:00:00Z")
    first, second = result.bookings
    assert first.arrival == date(2026, 3, 12) and first.departure == date(2026, 3, 14)
    assert first.arrival_time == time(15, 0)
    assert first.guest_phone == "+47 555"
    assert first.channel == "airbnb"
    assert first.modified_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert second.unit_pms_ids == ()  # not yet assigned to a unit in Beds24
    assert second.channel == "Direct"
    assert second.guest_email is None


@pytest.mark.parametrize(
    ("status", "sub_status", "expected"),
    [
        ("confirmed", "none", BookingStatus.CONFIRMED),
        ("new", "none", BookingStatus.CONFIRMED),
        ("request", "none", BookingStatus.TENTATIVE),
        ("inquiry", "none", BookingStatus.TENTATIVE),
        ("black", "none", BookingStatus.TENTATIVE),
        ("cancelled", "cancelledByGuest", BookingStatus.CANCELLED),
        ("confirmed", "noShow", BookingStatus.NO_SHOW),
        ("something-new", None, BookingStatus.TENTATIVE),
    ],
)
def test_status_mapping(status: str, sub_status: str | None, expected: BookingStatus) -> None:
    assert map_status(status, sub_status) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15:30", time(15, 30)), ("9.45", time(9, 45)), ("3pm", time(15, 0)),
     ("12am", time(0, 0)), ("around 18h", time(18, 0)), ("around 18:30", time(18, 30)),
     ("2 adults", None), ("late", None), ("", None), ("25:00", None)],
)
def test_arrival_time_keeps_only_clear_times(text: str, expected: time | None) -> None:
    assert parse_arrival_time(text) == expected


def test_a_booking_merged_twice_keeps_one_copy_of_each_room() -> None:
    [merged] = merge_groups([booking(1, masterId=1), booking(1, masterId=1)])
    assert merged.unit_pms_ids == ("70-1",)


# ---------------------------------------------------------------------- properties


def test_properties_map_rooms_units_beds_and_times(
    api: respx.MockRouter, secret_store: SecretStore, clock: FixedClock
) -> None:
    api.get("/accounts").mock(return_value=httpx.Response(200, json={
        "success": True, "data": [{"id": 1, "timezone": "Europe/Oslo"}],
        "pages": {"nextPageExists": False}}))
    route = api.get("/properties").mock(return_value=httpx.Response(200, json={
        "success": True, "pages": {"nextPageExists": False}, "data": [{
            "id": 7, "name": "Fjord Hotel", "checkInStart": "14:00", "checkOutEnd": "10:30",
            "roomTypes": [
                {"id": 70, "name": "Double", "roomType": "double", "qty": 2,
                 "units": [{"id": 1, "name": "101"}, {"id": 2, "name": "102"}]},
                {"id": 71, "name": "Loft", "roomType": "apartment", "qty": 1},
                {"id": 72, "name": "Dorm", "roomType": "bedInDormitory", "qty": 2,
                 "unitAllocation": "perGuest",
                 "units": [{"id": 1, "name": "Bed A"}, {"id": 2, "name": "Bed B"}]},
            ]}]}))
    secret_store.set(REFRESH_TOKEN_KEY, "refresh-secret")
    with Beds24Adapter(secrets=secret_store, clock=clock,
                       settings=Beds24Settings(base_url=BASE, property_ids=(7,))) as adapter:
        [prop] = adapter.list_properties()
    params = route.calls.last.request.url.params
    assert params["includeAllRooms"] == "true" and params["includeUnitDetails"] == "true"
    assert params.get_list("id") == ["7"]
    assert (prop.pms_id, prop.name, prop.timezone) == ("7", "Fjord Hotel", "Europe/Oslo")
    assert (prop.checkin_time, prop.checkout_time) == (time(14, 0), time(10, 30))
    units = {u.pms_id: u for u in prop.units}
    assert units["70-1"].name == "Double 101" and units["70-1"].kind is UnitKind.ROOM
    assert units["71-1"].kind is UnitKind.APARTMENT and units["71-1"].name == "Loft"
    assert units["72"].kind is UnitKind.ROOM and units["72"].parent_pms_id is None
    assert units["72-2"].kind is UnitKind.BED and units["72-2"].parent_pms_id == "72"


def test_an_unknown_time_zone_is_refused_with_a_fix(
    secret_store: SecretStore, clock: FixedClock
) -> None:
    with Beds24Adapter(secrets=secret_store, clock=clock, settings=Beds24Settings(
        base_url=BASE, timezone="Mars/Olympus")) as adapter, pytest.raises(PmsError) as caught:
        adapter.account_timezone()
    assert "Europe/Berlin" in (caught.value.fix or "")
    assert caught.value.transient is False


# ---------------------------------------------------------------------- rate limits


def test_low_credits_wait_for_the_window_to_reset(
    api: respx.MockRouter, adapter: Beds24Adapter, sleeper: Sleeper
) -> None:
    low = {**CREDITS, "X-FiveMinCreditLimit-Remaining": "1", "X-FiveMinCreditLimit-ResetsIn": "42"}
    api.get("/bookings").mock(
        side_effect=[
            httpx.Response(200, json=page([booking(1)], more=True), headers=CREDITS),
            # The count: page 2 is full (one a page), page 3 empty.
            httpx.Response(200, json=page([booking(2)]), headers=CREDITS),
            httpx.Response(200, json=page([]), headers=CREDITS),
            httpx.Response(200, json=page([booking(1)], more=True), headers=low),
            httpx.Response(200, json=page([booking(2)]), headers=CREDITS),
        ]
    )
    pages = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert len(pages) == 2
    assert sleeper.calls == [42.0]
    assert adapter.credits.remaining == 90


def test_a_429_waits_and_retries(
    api: respx.MockRouter, adapter: Beds24Adapter, sleeper: Sleeper
) -> None:
    api.get("/bookings").mock(
        side_effect=[
            httpx.Response(429, json={"success": False, "code": 429, "error": "limit"},
                           headers={"X-FiveMinCreditLimit-ResetsIn": "17"}),
            httpx.Response(200, json=page([booking(1)])),
        ]
    )
    assert len(all_pages(adapter, "2026-03-10T10:00:00Z")[0].bookings) == 1
    assert sleeper.calls == [17.0]


def test_repeated_429_gives_up_with_a_clear_transient_error(
    api: respx.MockRouter, adapter: Beds24Adapter, sleeper: Sleeper
) -> None:
    api.get("/bookings").mock(
        return_value=httpx.Response(429, json={"success": False, "code": 429, "error": "limit"})
    )
    with pytest.raises(PmsError, match="slow down") as caught:
        all_pages(adapter, "2026-03-10T10:00:00Z")
    assert caught.value.transient
    assert len(sleeper.calls) == 3


# ---------------------------------------------------------------------- malformed replies


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200, content=b"{not json"), "cannot read"),
        (httpx.Response(200, json=[1, 2]), "unexpected reply"),
        (httpx.Response(200, json={"success": True, "pages": {"nextPageExists": False}}),
         "without a list of bookings"),
        (httpx.Response(200, json={"success": True, "data": []}), "without paging"),
        (httpx.Response(200, json={"success": True, "data": [],
                                   "pages": {"nextPageExists": True}}), "empty page"),
        (httpx.Response(200, json={"success": False, "error": "Bad filter"}), "Bad filter"),
        (httpx.Response(503, text="down"), "HTTP 503"),
    ],
)
def test_malformed_or_failed_replies_become_clear_pms_errors(
    api: respx.MockRouter, adapter: Beds24Adapter, response: httpx.Response, expected: str
) -> None:
    api.get("/bookings").mock(return_value=response)
    with pytest.raises(PmsError) as caught:
        all_pages(adapter, "2026-03-10T10:00:00Z")
    assert expected in str(caught.value)
    assert "Beds24" in caught.value.message


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (booking(1, arrival=None), "arrival date is missing"),
        (booking(1, arrival="2026-13-01"), "is invalid"),
        (booking(1, departure="2026-03-01"), "departs before it arrives"),
    ],
)
def test_an_unreadable_booking_is_set_aside_and_the_others_are_read(
    api: respx.MockRouter, adapter: Beds24Adapter, bad: dict[str, Any], expected: str
) -> None:
    api.get("/bookings").mock(return_value=httpx.Response(200, json=page([bad, booking(2)])))
    [result] = all_pages(adapter, "2026-03-10T10:00:00Z")
    assert [b.pms_id for b in result.bookings] == ["2"]
    [unreadable] = result.unreadable
    assert unreadable.pms_id == "1" and expected in unreadable.reason


def test_timeouts_and_network_errors_are_transient_pms_errors(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/bookings").mock(side_effect=[httpx.ReadTimeout("slow"),
                                           httpx.ConnectError("refused")])
    with pytest.raises(PmsError, match="did not answer in time") as slow:
        all_pages(adapter, "2026-03-10T10:00:00Z")
    with pytest.raises(PmsError, match="could not reach Beds24") as down:
        all_pages(adapter, "2026-03-10T10:00:00Z")
    assert slow.value.transient and down.value.transient


# ---------------------------------------------------------------------- write-back


def _booking_with_items(items: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json=page([booking(1, infoItems=items)]))


def _posted(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


@pytest.mark.parametrize(
    ("items", "lines", "expected"),
    [
        ([], ["Room 101: 4821"], [{"code": "MANGODESK_PIN", "text": "Room 101: 4821"}]),
        ([{"id": 5, "code": "MANGODESK_PIN", "text": "old"}, {"id": 6, "code": "MANGODESK_PIN"},
          {"id": 7, "code": "PARKING", "text": "B2"}],
         ["Room 101: 4821", "Room 102: 7713"],
         [{"id": 5, "text": "Room 101: 4821\nRoom 102: 7713"}, {"id": 6}]),
        ([{"id": 5, "code": "MANGODESK_PIN", "text": "Room 101: 4821"}], [], [{"id": 5}]),
    ],
    ids=["add", "update in place and drop duplicates", "remove when no codes"],
)
def test_write_back_keeps_one_lock_pin_info_item(
    api: respx.MockRouter, adapter: Beds24Adapter, items: list[dict[str, Any]],
    lines: list[str], expected: list[dict[str, Any]],
) -> None:
    read = api.get("/bookings").mock(return_value=_booking_with_items(items))
    write = api.post("/bookings").mock(
        return_value=httpx.Response(201, json=[{"success": True}]))
    adapter.write_back_codes("1", lines)
    assert read.calls.last.request.url.params["includeInfoItems"] == "true"
    assert _posted(write) == [{"id": 1, "infoItems": expected}]


def test_write_back_without_changes_writes_nothing(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/bookings").mock(return_value=_booking_with_items(
        [{"id": 5, "code": "MANGODESK_PIN", "text": "Room 101: 4821"}]))
    write = api.post("/bookings")
    adapter.write_back_codes("1", ["Room 101: 4821"])
    assert not write.called


def test_write_back_rejected_by_beds24_is_a_clear_error(
    api: respx.MockRouter, adapter: Beds24Adapter
) -> None:
    api.get("/bookings").mock(return_value=_booking_with_items([]))
    api.post("/bookings").mock(return_value=httpx.Response(201, json=[
        {"success": False, "errors": [{"action": "modify", "message": "no write access"}]}]))
    with pytest.raises(PmsError, match="did not save the door codes on booking 1: no write"):
        adapter.write_back_codes("1", ["Room 101: 4821"])


def test_write_back_to_an_unknown_booking(api: respx.MockRouter, adapter: Beds24Adapter) -> None:
    api.get("/bookings").mock(return_value=httpx.Response(200, json=page([])))
    with pytest.raises(PmsError, match="does not know booking 1"):
        adapter.write_back_codes("1", ["Room 101: 4821"])


def test_dorm_beds_that_share_a_name_get_distinct_names() -> None:
    room = {"id": 90, "name": "Mixed dorm", "unitAllocation": "perGuest",
            "units": [{"id": 1, "name": "Bed"}, {"id": 2, "name": "Bed"},
                      {"id": 3, "name": "Window bed"}]}
    names = [u.name for u in parse_room_units(room, 0)]
    assert names == ["Mixed dorm", "Mixed dorm – Bed 1", "Mixed dorm – Bed 2",
                     "Mixed dorm – Window bed"]


def test_a_group_with_one_unreadable_room_is_set_aside_whole() -> None:
    group = {"master": 10, "ids": [10, 11]}
    bookings, unreadable = read_bookings([
        booking(10, masterId=10, bookingGroup=group),
        booking(11, masterId=10, bookingGroup=group, departure="2026-13-40"),
        booking(12),
    ])
    assert [b.pms_id for b in bookings] == ["12"]
    assert [u.pms_id for u in unreadable] == ["10"]


def test_a_booking_keeps_every_room_number_and_the_typed_arrival_time() -> None:
    group = {"master": 10, "ids": [10, 11]}
    [merged] = merge_groups([
        booking(10, masterId=10, bookingGroup=group, arrivalTime="around 18:30"),
        booking(11, masterId=10, unitId=2, bookingGroup=group),
    ])
    assert merged.member_pms_ids == ("10", "11")
    assert merged.arrival_note == "around 18:30" and merged.arrival_time == time(18, 30)
