"""Planner rules of issue #11 (staff revoke, shortened stays, check-in times, locks that get
no automatic codes), as pure tests with exact instants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mangodesk.domain.capabilities import Capabilities
from mangodesk.domain.planner import (
    CreateCode,
    ExpireCode,
    IssueBlocked,
    PlanBooking,
    PlanCode,
    PlannedAction,
    PlanProperty,
    PlanUnitLink,
    RevokeCode,
    UpdateWindow,
    ceil_to,
    plan,
)
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState

OSLO = PlanProperty(id=1, timezone="Europe/Oslo")
AUTOMATED = Capabilities(automated=True)
LINKS = {101: PlanUnitLink(101, 1001, AUTOMATED, lock_name="Room 101")}
# 2026-06-10 15:00 Oslo (UTC+2) = 13:00Z; 2026-06-12 11:00 Oslo = 09:00Z.
CHECK_IN = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
CHECK_OUT = datetime(2026, 6, 12, 9, 0, tzinfo=UTC)


def booking(**changes: object) -> PlanBooking:
    base = PlanBooking(
        id=7, property_id=1, status=BookingStatus.CONFIRMED, arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12), unit_ids=(101,), guest_name="Ada Smith",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def code(**changes: object) -> PlanCode:
    base = PlanCode(
        id=50, lock_id=1001, unit_id=101, origin=CodeOrigin.BOOKING, state=CodeState.ACTIVE,
        valid_from=CHECK_IN, valid_to=CHECK_OUT, booking_id=7, pin="482913",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def run(now: datetime, bookings: list[PlanBooking], codes: list[PlanCode] | None = None,
        links: dict[int, PlanUnitLink] | None = None) -> list[PlannedAction]:
    return plan(now, {1: OSLO}, bookings, LINKS if links is None else links, codes or [])


# ------------------------------------------------------------------ 11.1 codes stopped


def test_a_booking_whose_codes_staff_stopped_gets_no_new_code() -> None:
    revoked = code(state=CodeState.REVOKED)
    assert run(CHECK_IN, [booking(codes_stopped=True)], [revoked]) == []


def test_a_booking_whose_stop_was_lifted_gets_a_code_again() -> None:
    revoked = code(state=CodeState.REVOKED)
    actions = run(CHECK_IN, [booking(codes_stopped=False)], [revoked])
    assert [type(a) for a in actions] == [CreateCode]


# ------------------------------------------------------------------ #12.5 silence from the PMS


def test_a_booking_the_pms_no_longer_returns_gets_no_new_code() -> None:
    assert run(CHECK_IN, [booking(missing_from_pms=True)]) == []


def test_a_booking_the_pms_no_longer_returns_keeps_its_code() -> None:
    assert run(CHECK_IN, [booking(missing_from_pms=True)], [code()]) == []


def test_a_booking_back_to_tentative_keeps_its_code() -> None:
    assert run(CHECK_IN, [booking(status=BookingStatus.TENTATIVE)], [code()]) == []


# ------------------------------------------------------------------ 11.2 shortened stays


def test_stay_shortened_into_the_past_ends_the_code_on_the_lock_now() -> None:
    now = CHECK_IN + timedelta(days=1, hours=2, seconds=20)  # 11 Jun 15:00:20Z
    actions = run(now, [booking(departure=date(2026, 6, 11))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN, datetime(2026, 6, 11, 15, 1, tzinfo=UTC),
                                    "The stay was shortened and is now over.", ends_stay=True)]


def test_stay_shortened_to_earlier_today_ends_the_code_now() -> None:
    # Departure stays 12 Jun, but staff set check-out 08:00 local (06:00Z); it is 07:30Z now.
    now = datetime(2026, 6, 12, 7, 30, tzinfo=UTC)
    actions = run(now, [booking(checkout_override=time(8, 0))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN, now, "The stay was shortened and is now over.",
                                    ends_stay=True)]


def test_a_code_already_ended_now_is_not_revoked_on_the_next_pass() -> None:
    now = datetime(2026, 6, 11, 15, 0, 20, tzinfo=UTC)
    ended = code(valid_to=datetime(2026, 6, 11, 15, 1, tzinfo=UTC))
    assert run(now, [booking(departure=date(2026, 6, 11))], [ended]) == []
    later = now + timedelta(minutes=1)
    assert run(later, [booking(departure=date(2026, 6, 11))], [ended]) == [ExpireCode(50)]


def test_shortened_stay_on_a_lock_that_cannot_move_an_end_is_revoked() -> None:
    traits = replace(AUTOMATED, can_move_end=False)
    links = {101: PlanUnitLink(101, 1001, traits, lock_name="Room 101")}
    now = CHECK_IN + timedelta(days=1, hours=2)
    actions = run(now, [booking(departure=date(2026, 6, 11))], [code()], links)
    assert len(actions) == 1 and isinstance(actions[0], RevokeCode)
    assert actions[0].ends_stay and actions[0].code_id == 50


def test_stay_moved_entirely_into_the_past_before_the_code_started_is_revoked() -> None:
    # The code was for 20-22 Jun; the booking now says 8-9 Jun and it is 10 Jun.
    later = code(valid_from=CHECK_IN + timedelta(days=10), valid_to=CHECK_OUT + timedelta(days=10))
    actions = run(CHECK_IN, [booking(arrival=date(2026, 6, 8), departure=date(2026, 6, 9))],
                  [later])
    assert len(actions) == 1 and isinstance(actions[0], RevokeCode) and actions[0].ends_stay


def test_shortened_stay_with_a_create_in_flight_is_ended_on_the_lock_too() -> None:
    now = CHECK_IN + timedelta(days=1, hours=2)
    actions = run(now, [booking(departure=date(2026, 6, 11))], [code(state=CodeState.PENDING)])
    assert [type(a) for a in actions] == [UpdateWindow]


def test_shortened_stay_never_sent_to_the_vendor_only_expires_locally() -> None:
    now = CHECK_IN + timedelta(days=1, hours=2)
    actions = run(now, [booking(departure=date(2026, 6, 11))],
                  [code(state=CodeState.FAILED, on_vendor=False)])
    assert [type(a) for a in actions] == [ExpireCode]


# ------------------------------------------------------------------ 11.3 check-in times


def test_the_guests_free_text_arrival_time_is_not_the_codes_start() -> None:
    early_guess = booking(arrival_time=time(9, 0), departure_time=time(18, 30))
    actions = run(CHECK_IN - timedelta(hours=1), [early_guess])
    assert len(actions) == 1 and isinstance(actions[0], CreateCode)
    assert (actions[0].valid_from, actions[0].valid_to) == (CHECK_IN, CHECK_OUT)


def test_a_late_arrival_time_does_not_move_a_code_already_issued() -> None:
    assert run(CHECK_IN, [booking(arrival_time=time(18, 30))], [code()]) == []


def test_staff_early_check_in_and_late_check_out_set_the_window() -> None:
    early_late = booking(checkin_override=time(12, 0), checkout_override=time(14, 0))
    actions = run(CHECK_IN - timedelta(hours=4), [early_late])
    assert len(actions) == 1 and isinstance(actions[0], CreateCode)
    assert actions[0].valid_from == datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    assert actions[0].valid_to == datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


def test_staff_times_are_kept_on_new_dates_from_the_pms() -> None:
    edited = code(valid_from=datetime(2026, 6, 10, 10, 0, tzinfo=UTC))
    moved = booking(arrival=date(2026, 6, 9), checkin_override=time(12, 0))
    actions = run(datetime(2026, 6, 9, 8, 0, tzinfo=UTC), [moved], [edited])
    assert actions == [UpdateWindow(50, datetime(2026, 6, 9, 10, 0, tzinfo=UTC), CHECK_OUT,
                                    "The booking's dates changed.")]


# ------------------------------------------------------------------ 11.8 no automatic codes


def test_a_lock_without_gateway_gets_no_create_and_the_desk_is_told_why() -> None:
    links = {101: PlanUnitLink(101, 1001, AUTOMATED, lock_name="Room 101",
                               codes_not_automatic_reason="no gateway")}
    actions = run(CHECK_IN, [booking()], links=links)
    assert len(actions) == 1 and isinstance(actions[0], IssueBlocked)
    assert "no gateway" in actions[0].message and "Room 101" in actions[0].message


# ------------------------------------------------------------------ property: never left open


@given(
    nights=st.integers(min_value=1, max_value=5),
    cut=st.integers(min_value=0, max_value=4),
    minutes_after=st.integers(min_value=0, max_value=3 * 24 * 60),
    can_move_end=st.booleans(),
    granularity=st.sampled_from([1, 15, 60]),
)
def test_a_shortened_stay_never_leaves_a_code_open_past_now(
        nights: int, cut: int, minutes_after: int, can_move_end: bool, granularity: int) -> None:
    step = timedelta(minutes=granularity)
    traits = replace(AUTOMATED, can_move_end=can_move_end, time_granularity=step)
    links = {101: PlanUnitLink(101, 1001, traits, lock_name="Room 101")}
    old_out = CHECK_IN + timedelta(days=nights, hours=-4)  # 11:00 Oslo, nights later
    live = code(valid_to=old_out)
    departure = date(2026, 6, 10) + timedelta(days=max(1, nights - cut))
    shortened = booking(departure=departure)
    now = CHECK_IN + timedelta(minutes=minutes_after)
    actions = run(now, [shortened], [live], links)
    new_out = datetime.combine(departure, time(9, 0), tzinfo=UTC)  # 11:00 Oslo in June
    if now >= old_out or not now >= new_out:
        return  # not the case under test: the old window is over, or the stay is not over
    if not actions:
        assert live.valid_to <= ceil_to(now, step)
        return
    (action,) = actions
    if isinstance(action, UpdateWindow):
        assert action.ends_stay and action.valid_to == ceil_to(now, step) < old_out
    else:
        assert isinstance(action, RevokeCode) and action.ends_stay
