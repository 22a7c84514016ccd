"""Every lifecycle rule of the planner, with exact instants (no clock, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from mangodesk.domain.capabilities import Capabilities
from mangodesk.domain.pinrules import PinRules
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
    floor_to,
    plan,
)
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState

OSLO = PlanProperty(id=1, timezone="Europe/Oslo")
NEW_YORK = PlanProperty(id=2, timezone="America/New_York")
AUTOMATED = Capabilities(automated=True)
LINKS = {
    101: PlanUnitLink(101, 1001, AUTOMATED, lock_name="Room 101"),
    102: PlanUnitLink(102, 1002, AUTOMATED, lock_name="Room 102"),
    103: PlanUnitLink(103, 1003, AUTOMATED, lock_name="Room 103"),
}
# 2026-06-10 15:00 in Oslo (CEST, UTC+2) is 13:00 UTC; departure 2026-06-12 11:00 is 09:00 UTC.
CHECK_IN = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
CHECK_OUT = datetime(2026, 6, 12, 9, 0, tzinfo=UTC)


def booking(**changes: object) -> PlanBooking:
    base = PlanBooking(
        id=7, property_id=1, status=BookingStatus.CONFIRMED, arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12), unit_ids=(101,), guest_name="Ada Smith",
        guest_email="ada@example.org",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def code(**changes: object) -> PlanCode:
    base = PlanCode(
        id=50, lock_id=1001, unit_id=101, origin=CodeOrigin.BOOKING, state=CodeState.ACTIVE,
        valid_from=CHECK_IN, valid_to=CHECK_OUT, booking_id=7, pin="482913",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def run(now: datetime, bookings: list[PlanBooking], codes: list[PlanCode] = (),  # type: ignore[assignment]
        links: dict[int, PlanUnitLink] = LINKS,
        properties: dict[int, PlanProperty] | None = None) -> list[PlannedAction]:
    props = properties if properties is not None else {1: OSLO, 2: NEW_YORK}
    return plan(now, props, bookings, links, codes)


# ------------------------------------------------------------------ issuing


def test_a_booking_ten_days_out_gets_nothing() -> None:
    assert run(CHECK_IN - timedelta(days=10), [booking()]) == []


def test_one_minute_before_issue_time_nothing_and_at_issue_time_create() -> None:
    issue = CHECK_IN - timedelta(hours=48)
    assert run(issue - timedelta(minutes=1), [booking()]) == []
    actions = run(issue, [booking()])
    assert actions == [CreateCode(
        7, 101, 1001, CHECK_IN, CHECK_OUT, reason="The stay starts soon.",
        guest_name="Ada Smith", guest_email="ada@example.org",
    )]


def test_a_code_due_while_the_pc_was_off_is_created_on_catch_up() -> None:
    actions = run(CHECK_IN + timedelta(hours=20), [booking()])
    assert [type(a) for a in actions] == [CreateCode]


def test_no_code_after_check_out() -> None:
    assert run(CHECK_OUT, [booking()]) == []


@pytest.mark.parametrize(
    "status", [BookingStatus.TENTATIVE, BookingStatus.CANCELLED, BookingStatus.NO_SHOW,
               BookingStatus.CHECKED_OUT],
)
def test_only_confirmed_or_checked_in_bookings_get_codes(status: BookingStatus) -> None:
    assert run(CHECK_IN, [booking(status=status)]) == []


def test_checked_in_booking_gets_a_code() -> None:
    assert [type(a) for a in run(CHECK_IN, [booking(status=BookingStatus.CHECKED_IN)])] == [
        CreateCode
    ]


def test_property_lead_time_is_respected() -> None:
    short = {1: replace(OSLO, lead=timedelta(hours=6))}
    assert run(CHECK_IN - timedelta(hours=7), [booking()], properties=short) == []
    assert len(run(CHECK_IN - timedelta(hours=6), [booking()], properties=short)) == 1


def test_vendor_max_lead_delays_issue() -> None:
    inlet = {101: PlanUnitLink(101, 1001, replace(AUTOMATED, max_lead=timedelta(hours=24)))}
    assert run(CHECK_IN - timedelta(hours=30), [booking()], links=inlet) == []
    assert len(run(CHECK_IN - timedelta(hours=24), [booking()], links=inlet)) == 1


def test_automation_off_for_the_property_plans_nothing() -> None:
    off = {1: replace(OSLO, automation_enabled=False)}
    assert run(CHECK_IN, [booking()], properties=off) == []
    assert run(CHECK_IN, [booking(status=BookingStatus.CANCELLED)], [code()],
               properties=off) == []


def test_manual_provider_and_unlinked_units_get_nothing() -> None:
    manual = {101: PlanUnitLink(101, 1001, Capabilities(automated=False))}
    assert run(CHECK_IN, [booking()], links=manual) == []
    assert run(CHECK_IN, [booking()], links={}) == []


def test_lock_without_gateway_raises_an_alert_instead() -> None:
    offline = {101: PlanUnitLink(101, 1001, AUTOMATED, manageable=False,
                                 unmanageable_reason="no gateway", lock_name="Room 101")}
    (action,) = run(CHECK_IN, [booking()], links=offline)
    assert isinstance(action, IssueBlocked)
    assert "Room 101 cannot be managed remotely (no gateway)" in action.message


def test_mobile_key_without_email_raises_an_alert() -> None:
    flexipass = {101: PlanUnitLink(101, 1001, replace(
        AUTOMATED, pin_rules=None, mobile_key=True, needs_guest_email=True))}
    (action,) = run(CHECK_IN, [booking(guest_email=None)], links=flexipass)
    assert isinstance(action, IssueBlocked) and "email" in action.fix


def test_multi_unit_booking_gets_one_code_per_unit() -> None:
    actions = run(CHECK_IN, [booking(unit_ids=(101, 102, 103))])
    assert [(a.unit_id, a.lock_id) for a in actions if isinstance(a, CreateCode)] == [
        (101, 1001), (102, 1002), (103, 1003)
    ]
    existing = [code(), code(id=51, unit_id=102, lock_id=1002, pin="559201")]
    actions = run(CHECK_IN, [booking(unit_ids=(101, 102, 103))], existing)
    assert [(a.unit_id) for a in actions if isinstance(a, CreateCode)] == [103]


def test_existing_code_with_the_same_window_needs_nothing() -> None:
    for state in (CodeState.PENDING, CodeState.ACTIVE, CodeState.FAILED):
        assert run(CHECK_IN, [booking()], [code(state=state)]) == []


def test_time_granularity_widens_the_window() -> None:
    hourly = {101: PlanUnitLink(101, 1001, replace(AUTOMATED, time_granularity=timedelta(hours=1)))}
    (action,) = run(CHECK_IN, [booking(arrival_time=time(15, 30), departure_time=time(10, 15))],
                    links=hourly)
    assert isinstance(action, CreateCode)
    assert action.valid_from == datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
    assert action.valid_to == datetime(2026, 6, 12, 9, 0, tzinfo=UTC)
    assert floor_to(datetime(2026, 1, 1, 10, 59, tzinfo=UTC), timedelta(hours=1)).hour == 10
    assert ceil_to(datetime(2026, 1, 1, 10, 0, tzinfo=UTC), timedelta(hours=1)).hour == 10


# ------------------------------------------------------------------ date changes


def test_check_in_moved_later_updates_the_same_code() -> None:
    actions = run(CHECK_IN - timedelta(hours=2), [booking(arrival=date(2026, 6, 11))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN + timedelta(days=1), CHECK_OUT,
                                    "The booking's dates changed.")]


def test_check_in_moved_earlier_updates_the_same_code() -> None:
    actions = run(CHECK_IN - timedelta(hours=2), [booking(arrival=date(2026, 6, 9))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN - timedelta(days=1), CHECK_OUT,
                                    "The booking's dates changed.")]


def test_check_in_moved_beyond_the_vendors_max_lead_withdraws_the_code() -> None:
    inlet = {101: PlanUnitLink(101, 1001, replace(AUTOMATED, max_lead=timedelta(hours=72)))}
    now = CHECK_IN - timedelta(hours=24)
    later = booking(arrival=date(2026, 6, 20), departure=date(2026, 6, 22))
    actions = run(now, [later], [code()], links=inlet)
    assert len(actions) == 1 and isinstance(actions[0], RevokeCode)
    assert actions[0].code_id == 50
    # moved, but still within 72 h: an ordinary update
    nearer = booking(arrival=date(2026, 6, 11))
    assert run(now, [nearer], [code()], links=inlet) == [
        UpdateWindow(50, CHECK_IN + timedelta(days=1), CHECK_OUT, "The booking's dates changed.")]


def test_stay_extended_updates_the_end() -> None:
    actions = run(CHECK_IN, [booking(departure=date(2026, 6, 15))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN, CHECK_OUT + timedelta(days=3),
                                    "The booking's dates changed.")]


def test_early_check_out_by_date_shortens_the_code() -> None:
    actions = run(CHECK_IN + timedelta(hours=3), [booking(departure=date(2026, 6, 11))], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN, CHECK_OUT - timedelta(days=1),
                                    "The booking's dates changed.")]


def test_early_check_out_by_status_ends_the_code_now() -> None:
    now = CHECK_IN + timedelta(hours=20, seconds=30)
    actions = run(now, [booking(status=BookingStatus.CHECKED_OUT)], [code()])
    assert actions == [UpdateWindow(50, CHECK_IN, ceil_to(now, timedelta(minutes=1)),
                                    "The guest checked out early.", ends_stay=True)]


def test_shortened_stay_already_over_expires_locally_when_the_vendor_never_got_it() -> None:
    now = CHECK_IN + timedelta(days=1, hours=2)
    actions = run(now, [booking(departure=date(2026, 6, 11))],
                  [code(state=CodeState.FAILED, on_vendor=False)])
    assert [type(a) for a in actions] == [ExpireCode]


def test_lock_that_cannot_move_a_start_is_recreated_with_the_same_pin() -> None:
    fixed = {101: PlanUnitLink(101, 1001, replace(AUTOMATED, can_move_start=False))}
    actions = run(CHECK_IN - timedelta(hours=2), [booking(arrival=date(2026, 6, 9))], [code()],
                  links=fixed)
    assert isinstance(actions[0], RevokeCode) and actions[0].code_id == 50
    assert isinstance(actions[1], CreateCode)
    assert actions[1].pin == "482913" and not actions[1].guest_must_be_told
    assert actions[1].valid_from == CHECK_IN - timedelta(days=1)


def test_vendor_generated_pin_that_cannot_move_gets_a_new_code_and_the_desk_is_told() -> None:
    inlet = {101: PlanUnitLink(101, 1001, replace(
        AUTOMATED, can_move_end=False, vendor_generates_pin=True))}
    actions = run(CHECK_IN, [booking(departure=date(2026, 6, 13))], [code()], links=inlet)
    assert isinstance(actions[1], CreateCode)
    assert actions[1].pin is None and actions[1].guest_must_be_told
    assert actions[1].replaces_code_id == 50


# ------------------------------------------------------------------ revoke, expire


def test_cancellation_before_the_code_exists_plans_nothing() -> None:
    assert run(CHECK_IN - timedelta(days=10), [booking(status=BookingStatus.CANCELLED)]) == []
    assert run(CHECK_IN, [booking(status=BookingStatus.CANCELLED)]) == []


@pytest.mark.parametrize("state", [CodeState.PENDING, CodeState.ACTIVE, CodeState.FAILED])
def test_cancellation_after_the_code_exists_revokes_it(state: CodeState) -> None:
    actions = run(CHECK_IN, [booking(status=BookingStatus.CANCELLED)], [code(state=state)])
    assert actions == [RevokeCode(50, "The booking was cancelled.", guest_must_not_enter=True)]


def test_a_code_already_being_revoked_is_left_alone() -> None:
    cancelled = [booking(status=BookingStatus.CANCELLED)]
    for state in (CodeState.REVOKING, CodeState.REVOKED, CodeState.EXPIRED):
        assert run(CHECK_IN, cancelled, [code(state=state)]) == []


def test_expire_after_check_out() -> None:
    assert run(CHECK_OUT - timedelta(seconds=1), [booking()], [code()]) == []
    assert run(CHECK_OUT, [booking()], [code()]) == [ExpireCode(50)]


def test_unit_removed_from_booking_revokes() -> None:
    actions = run(CHECK_IN, [booking(unit_ids=(102,), status=BookingStatus.CONFIRMED)],
                  [code()], links={101: LINKS[101]})
    assert actions == [RevokeCode(50, "The unit was removed from the booking.")]


def test_room_move_revokes_old_and_creates_new_with_the_same_pin() -> None:
    actions = run(CHECK_IN + timedelta(hours=5), [booking(unit_ids=(102,))], [code()])
    assert actions[0] == RevokeCode(50, "The unit was removed from the booking.")
    create = actions[1]
    assert isinstance(create, CreateCode)
    assert (create.unit_id, create.lock_id, create.pin, create.replaces_code_id) == (
        102, 1002, "482913", 50)
    assert not create.guest_must_be_told


def test_room_move_gets_a_new_pin_when_the_old_one_is_taken_on_the_new_lock() -> None:
    other_guest = code(id=60, lock_id=1002, unit_id=102, booking_id=8, pin="482913")
    actions = run(CHECK_IN, [booking(unit_ids=(103,)),
                             booking(id=8, unit_ids=(102,))], [code(), other_guest],
                  links={**LINKS, 103: PlanUnitLink(103, 1002, AUTOMATED)})
    create = next(a for a in actions if isinstance(a, CreateCode))
    assert create.pin is None and create.guest_must_be_told


def test_room_move_to_a_lock_with_other_pin_rules_gets_a_new_pin() -> None:
    four = {**LINKS, 102: PlanUnitLink(102, 1002, replace(
        AUTOMATED, pin_rules=PinRules(lengths=(4,), default_length=4)))}
    actions = run(CHECK_IN, [booking(unit_ids=(102,))], [code()], links=four)
    create = actions[1]
    assert isinstance(create, CreateCode) and create.pin is None and create.guest_must_be_told


def test_unit_relinked_to_another_lock_moves_the_code() -> None:
    relinked = {**LINKS, 101: PlanUnitLink(101, 1009, AUTOMATED)}
    actions = run(CHECK_IN, [booking()], [code()], links=relinked)
    assert actions[0] == RevokeCode(50, "The unit is no longer linked to this lock.")
    assert isinstance(actions[1], CreateCode) and actions[1].lock_id == 1009
    assert actions[1].pin == "482913"


def test_unit_unlinked_revokes_a_managed_code_but_not_an_unmanaged_one() -> None:
    assert run(CHECK_IN, [booking()], [code()], links={}) == [
        RevokeCode(50, "The unit is no longer linked to this lock.")]
    assert run(CHECK_IN, [booking()], [code(managed=False)], links={}) == []


def test_booking_vanished_from_the_pms_revokes_nothing() -> None:
    assert run(CHECK_IN, [], [code()]) == []
    assert run(CHECK_OUT + timedelta(hours=1), [], [code()]) == [ExpireCode(50)]


@pytest.mark.parametrize("origin", [CodeOrigin.MANUAL, CodeOrigin.IMPORTED])
def test_manual_and_imported_codes_are_never_planned_over(origin: CodeOrigin) -> None:
    theirs = code(origin=origin, booking_id=None)
    assert run(CHECK_OUT + timedelta(days=1), [], [theirs]) == []
    with_booking = code(origin=origin)
    actions = run(CHECK_IN, [booking(status=BookingStatus.CANCELLED)], [with_booking])
    assert actions == []


def test_unmanaged_codes_are_never_touched() -> None:
    mine = code(managed=False)
    assert run(CHECK_IN, [booking(status=BookingStatus.CANCELLED)], [mine]) == []
    assert run(CHECK_OUT, [booking()], [mine]) == []
    # ... and the unit is free for automation again: a new managed code is planned
    assert [type(a) for a in run(CHECK_IN, [booking()], [mine])] == [CreateCode]


def test_impossible_dates_plan_nothing() -> None:
    wrong = booking(arrival=date(2026, 6, 12), departure=date(2026, 6, 10))
    assert run(CHECK_IN, [wrong], [code()]) == []


# ------------------------------------------------------------------ DST, exact instants


def _window(prop: PlanProperty, arrival: date, departure: date,
            now: datetime) -> CreateCode:
    (action,) = plan(now, {prop.id: prop},
                     [booking(property_id=prop.id, arrival=arrival, departure=departure)],
                     LINKS, [])
    assert isinstance(action, CreateCode)
    return action


def test_oslo_spring_forward() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST. Check-in 28 Mar 15:00 CET = 14:00Z,
    # check-out 30 Mar 11:00 CEST = 09:00Z, issue 26 Mar 14:00Z.
    issue = datetime(2026, 3, 26, 14, 0, tzinfo=UTC)
    assert plan(issue - timedelta(seconds=1), {1: OSLO},
                [booking(arrival=date(2026, 3, 28), departure=date(2026, 3, 30))], LINKS, []) == []
    action = _window(OSLO, date(2026, 3, 28), date(2026, 3, 30), issue)
    assert action.valid_from == datetime(2026, 3, 28, 14, 0, tzinfo=UTC)
    assert action.valid_to == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_oslo_autumn_back() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET. Check-in 24 Oct 15:00 CEST = 13:00Z,
    # check-out 26 Oct 11:00 CET = 10:00Z.
    action = _window(OSLO, date(2026, 10, 24), date(2026, 10, 26),
                     datetime(2026, 10, 22, 13, 0, tzinfo=UTC))
    assert action.valid_from == datetime(2026, 10, 24, 13, 0, tzinfo=UTC)
    assert action.valid_to == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)


def test_new_york_spring_forward() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT. Check-in 7 Mar 15:00 EST = 20:00Z,
    # check-out 9 Mar 11:00 EDT = 15:00Z.
    action = _window(NEW_YORK, date(2026, 3, 7), date(2026, 3, 9),
                     datetime(2026, 3, 5, 20, 0, tzinfo=UTC))
    assert action.valid_from == datetime(2026, 3, 7, 20, 0, tzinfo=UTC)
    assert action.valid_to == datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def test_new_york_autumn_back() -> None:
    # 2026-11-01 02:00 EDT -> 01:00 EST. Check-in 31 Oct 15:00 EDT = 19:00Z,
    # check-out 2 Nov 11:00 EST = 16:00Z.
    action = _window(NEW_YORK, date(2026, 10, 31), date(2026, 11, 2),
                     datetime(2026, 10, 29, 19, 0, tzinfo=UTC))
    assert action.valid_from == datetime(2026, 10, 31, 19, 0, tzinfo=UTC)
    assert action.valid_to == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)


def test_arrival_time_inside_the_spring_gap_lands_after_the_gap() -> None:
    # 02:30 does not exist in Oslo on 29 Mar 2026; it is read as 03:30 CEST = 01:30Z.
    prop = replace(OSLO, checkin_time=time(2, 30))
    action = _window(prop, date(2026, 3, 29), date(2026, 3, 30),
                     datetime(2026, 3, 28, 0, 0, tzinfo=UTC))
    assert action.valid_from == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_arrival_time_in_the_repeated_autumn_hour_takes_the_first() -> None:
    # 02:30 happens twice in Oslo on 25 Oct 2026; the first is CEST = 00:30Z.
    prop = replace(OSLO, checkin_time=time(2, 30))
    action = _window(prop, date(2026, 10, 25), date(2026, 10, 26),
                     datetime(2026, 10, 24, 0, 0, tzinfo=UTC))
    assert action.valid_from == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_room_move_between_mobile_key_doors_sends_a_new_key_without_telling_the_desk() -> None:
    flexipass = replace(AUTOMATED, pin_rules=None, mobile_key=True, needs_guest_email=True)
    doors = {101: PlanUnitLink(101, 1001, flexipass), 102: PlanUnitLink(102, 1002, flexipass)}
    actions = run(CHECK_IN, [booking(unit_ids=(102,))], [code(pin=None)], links=doors)
    create = actions[1]
    assert isinstance(create, CreateCode)
    assert create.replaces_code_id == 50 and create.pin is None and not create.guest_must_be_told
