"""Smartair against its simulator when answers get lost, stays move and clocks disagree.

Issue #11 item 4/5 and #13 items 10/11: a code is ours only by the reference we stored or by
exact PIN + the window we asked for (pre-check-ins included); success only when the server's
answer (and, for a removal, the room read back) says so; moves of start and end on a
pre-check-in and on a live stay; offset-less server times in the hotel's zone; the server's
clock decides whether a stay has started; no Guests WSDL, or results named ``return``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.smartair import (
    DEMO_OPERATOR,
    DEMO_PASSWORD,
    Fault,
    SmartairSimulator,
    Stay,
)
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    VendorCode,
)
from mangodesk.vendors.smartair import SmartairAdapter
from mangodesk.vendors.smartair.doctor import run_doctor

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROOM = "3"
PIN = "4821"
ARRIVAL = NOW + timedelta(days=2, hours=3)  # 15:00 UTC
DEPARTURE = ARRIVAL + timedelta(days=2, hours=-4)  # 11:00 UTC
RESULT_OK_WITHOUT_ID = (
    b'<?xml version="1.0" encoding="UTF-8"?><S:Envelope '
    b'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    b'<ns2:{op}Response xmlns:ns2="http://soap.ws.ts1000.tesa.es/"><operationResult>'
    b"{extra}<type>RESULT_OK</type></operationResult></ns2:{op}Response></S:Body></S:Envelope>"
)


def ok_body(operation: str, extra: str = "") -> bytes:
    """A RESULT_OK answer the server sends without doing anything."""
    return RESULT_OK_WITHOUT_ID.replace(b"{op}", operation.encode()).replace(
        b"{extra}", extra.encode())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[SmartairSimulator]:
    simulator = SmartairSimulator(clock=clock).start()
    yield simulator
    simulator.stop()


def make_adapter(sim: SmartairSimulator, clock: FixedClock, hotel_timezone: str | None = None,
                 **settings: Any) -> SmartairAdapter:
    values: dict[str, Any] = {
        "server_address": sim.address,
        "operator_name": DEMO_OPERATOR,
        "pinned_sha256": sim.certificate_fingerprint,
        "timeout_seconds": 5,
        **settings,
    }
    config = ConnectionConfig(1, VendorKind.SMARTAIR, values, {"operator_password": DEMO_PASSWORD},
                              hotel_timezone=hotel_timezone)
    return SmartairAdapter(config, clock=clock)


@pytest.fixture
def adapter(sim: SmartairSimulator, clock: FixedClock) -> Iterator[SmartairAdapter]:
    smartair = make_adapter(sim, clock)
    yield smartair
    smartair.close()


def request(start: datetime = ARRIVAL, end: datetime = DEPARTURE, pin: str = PIN) -> CodeRequest:
    return CodeRequest(valid_from=start, valid_to=end, pin=pin)


def lose_create_answer(adapter: SmartairAdapter, sim: SmartairSimulator,
                       start: datetime = ARRIVAL, end: datetime = DEPARTURE) -> None:
    """The server books the stay, then the connection drops before the answer."""
    operation = "checkin" if start <= sim.clock.now() else "precheckin"
    sim.inject(operation, Fault(drop_answer=True, after_apply=True))
    with pytest.raises(AmbiguousError):
        adapter.create_code(ROOM, request(start, end))
    assert len(sim.stays(3)) == 1  # it did happen on the server


def read_back(adapter: SmartairAdapter, pin: str, start: datetime,
              end: datetime) -> VendorCode | None:
    """What the engine's read-back does (contract 6): ours by exact PIN + the window sent."""
    return next((code for code in adapter.list_codes(ROOM)
                 if code.pin == pin and (code.valid_from, code.valid_to) == (start, end)), None)


# ---------------------------------------------- 1. read-back sees pre-check-ins


def test_list_codes_shows_pre_checkins_with_pin_window_and_reference(
    adapter: SmartairAdapter,
) -> None:
    created = adapter.create_code(ROOM, request())
    [listed] = adapter.list_codes(ROOM)
    assert (listed.vendor_ref, listed.pin, listed.valid_from, listed.valid_to) == (
        created.vendor_ref, PIN, ARRIVAL, DEPARTURE)


def test_revoke_after_an_interrupted_create_finds_and_cancels_the_pre_checkin(
    adapter: SmartairAdapter, sim: SmartairSimulator, clock: FixedClock
) -> None:
    lose_create_answer(adapter, sim)
    found = read_back(adapter, PIN, ARRIVAL, DEPARTURE)
    assert found is not None, "the read-back must see the pre-check-in the server holds"
    adapter.revoke_code(ROOM, found)
    assert sim.stays(3) == []
    clock.set(ARRIVAL + timedelta(minutes=5))  # arrival: nothing turns into a check-in
    assert sim.rooms[3].checkin is None


def test_revoke_without_a_reference_finds_our_pre_checkin_by_pin_and_window(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    lose_create_answer(adapter, sim)
    adapter.revoke_code(ROOM, VendorCode("", PIN, ARRIVAL, DEPARTURE))
    assert sim.stays(3) == []


# ---------------------------------------------- 2. date change after a lost create


@pytest.mark.parametrize(
    ("new_start", "new_end"),
    [
        (ARRIVAL, DEPARTURE + timedelta(days=1)),  # end only
        (ARRIVAL + timedelta(hours=2), DEPARTURE),  # start only
        (ARRIVAL + timedelta(days=1), DEPARTURE + timedelta(days=1)),  # both
    ],
    ids=["end", "start", "both"],
)
@pytest.mark.parametrize("stored_ref", ["", "pre:3:999"], ids=["no-ref", "stale-ref"])
def test_a_date_change_after_an_interrupted_create_moves_our_stay_and_leaves_no_stray(
    adapter: SmartairAdapter, sim: SmartairSimulator, new_start: datetime, new_end: datetime,
    stored_ref: str,
) -> None:
    lose_create_answer(adapter, sim)
    moved = adapter.update_code(ROOM, VendorCode(stored_ref, PIN, ARRIVAL, DEPARTURE),
                                new_start, new_end)
    assert (moved.pin, moved.valid_from, moved.valid_to) == (PIN, new_start, new_end)
    assert sim.stays(3) == [("pre", Stay(PIN, new_start, new_end))]
    assert moved.vendor_ref == adapter.list_codes(ROOM)[0].vendor_ref


def test_a_move_whose_answer_was_lost_is_found_at_its_new_window_on_retry(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    created = adapter.create_code(ROOM, request())
    later = ARRIVAL + timedelta(hours=2)
    sim.inject("precheckin", Fault(drop_answer=True, after_apply=True))
    with pytest.raises(AmbiguousError):
        adapter.update_code(ROOM, created, later, DEPARTURE)
    retried = adapter.update_code(ROOM, created, later, DEPARTURE)
    assert (retried.valid_from, retried.valid_to) == (later, DEPARTURE)
    assert sim.stays(3) == [("pre", Stay(PIN, later, DEPARTURE))]


# ---------------------------------------------- 3. our own stay on a retried create


def test_a_retried_precheckin_that_meets_our_own_pre_assignment_adopts_it(
    clock: FixedClock,
) -> None:
    with SmartairSimulator(clock=clock, room_checked_before_pin=True) as sim:
        adapter = make_adapter(sim, clock)
        try:
            lose_create_answer(adapter, sim)
            retried = adapter.create_code(ROOM, request())
            [(kind, stay)] = sim.stays(3)
            assert (kind, stay) == ("pre", Stay(PIN, ARRIVAL, DEPARTURE))
            pre_id = next(iter(sim.rooms[3].preassignments))
            assert retried.vendor_ref.startswith(f"pre:3:{pre_id}")
            assert (retried.valid_from, retried.valid_to) == (ARRIVAL, DEPARTURE)
        finally:
            adapter.close()


@pytest.mark.parametrize("room_first", [True, False], ids=["room-checked-first", "pin-first"])
def test_a_pre_assignment_with_our_pin_but_another_window_is_not_ours(
    clock: FixedClock, room_first: bool
) -> None:
    with SmartairSimulator(clock=clock, room_checked_before_pin=room_first) as sim:
        sim.rooms[3].preassignments[5] = Stay(PIN, ARRIVAL - timedelta(hours=1), DEPARTURE)
        adapter = make_adapter(sim, clock)
        try:
            with pytest.raises((PermanentError, CodeConflictError)):
                adapter.create_code(ROOM, request())
        finally:
            adapter.close()
        assert sim.stays(3) == [("pre", Stay(PIN, ARRIVAL - timedelta(hours=1), DEPARTURE))]


# ---------------------------------------------- 4. a stranger with the same PIN


def test_a_strangers_check_in_sharing_the_pin_is_never_adopted_nor_checked_out(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    stranger = Stay(PIN, NOW - timedelta(days=1), NOW + timedelta(days=1, hours=-1))
    sim.rooms[3].checkin = stranger
    ours_from, ours_to = NOW - timedelta(hours=1), NOW + timedelta(days=2)
    with pytest.raises(PermanentError, match="still checked in"):
        adapter.create_code(ROOM, request(ours_from, ours_to))
    assert read_back(adapter, PIN, ours_from, ours_to) is None
    # Whatever reference an older version stored, revoking "our" code leaves the guest in.
    for ref in ("checkin:3", "", f"checkin:3:{NOW:%Y%m%d%H%M}"):
        adapter.revoke_code(ROOM, VendorCode(ref, PIN, ours_from, ours_to))
    assert "checkout" not in sim.calls
    assert sim.rooms[3].checkin == stranger


# ---------------------------------------------- 5. success shapes


def test_a_precheckin_ok_without_a_usable_id_is_ambiguous(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    for extra in ("", "<preAssignationId>0</preAssignationId>",
                  "<preAssignationId>-4</preAssignationId>"):
        sim.inject("precheckin", Fault(raw_body=ok_body("precheckin", extra)))
        with pytest.raises(AmbiguousError):
            adapter.create_code(ROOM, request())


def test_a_result_type_the_contract_does_not_know_is_not_success(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    created = adapter.create_code(ROOM, request())
    sim.inject("precheckinModifyDate", Fault(result_type="RESULT_PENDING"))
    with pytest.raises(AmbiguousError):
        adapter.update_code(ROOM, created, ARRIVAL, DEPARTURE + timedelta(days=1))
    sim.inject("precheckin", Fault(result_type="ok"))
    with pytest.raises(AmbiguousError):
        adapter.create_code("4", request(pin="5932"))


def test_a_checkin_the_room_does_not_show_is_not_success(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    sim.inject("checkin", Fault(raw_body=ok_body("checkin")))
    with pytest.raises(AmbiguousError):
        adapter.create_code(ROOM, request(NOW - timedelta(hours=1), NOW + timedelta(days=1)))
    assert sim.rooms[3].checkin is None


@pytest.mark.parametrize("live", [False, True], ids=["pre-checkin", "check-in"])
def test_a_removal_is_done_only_when_the_room_no_longer_shows_it(
    adapter: SmartairAdapter, sim: SmartairSimulator, live: bool
) -> None:
    start = NOW - timedelta(hours=1) if live else ARRIVAL
    created = adapter.create_code(ROOM, request(start, DEPARTURE))
    operation = "checkout" if live else "precheckinCancel"
    sim.inject(operation, Fault(raw_body=ok_body(operation)))  # "done", but nothing happened
    with pytest.raises(AmbiguousError, match="still shows"):
        adapter.revoke_code(ROOM, created)
    assert len(sim.stays(3)) == 1
    adapter.revoke_code(ROOM, created)
    assert sim.stays(3) == []


def test_a_pre_checkin_that_just_went_live_is_checked_out_not_called_gone(
    adapter: SmartairAdapter, sim: SmartairSimulator, clock: FixedClock
) -> None:
    created = adapter.create_code(ROOM, request())
    clock.set(ARRIVAL - timedelta(seconds=1))
    # Our re-read still shows the pre-check-in; by the cancel it has turned into a check-in,
    # so the server answers "no such pre-check-in".
    sim.inject("precheckinCancel",
               Fault(meanwhile=lambda: clock.set(ARRIVAL + timedelta(minutes=1))))
    adapter.revoke_code(ROOM, created)
    assert sim.stays(3) == []
    assert [c for c in sim.calls if c in ("precheckinCancel", "checkout")] == [
        "precheckinCancel", "checkout"]


# ---------------------------------------------- 6. moves (contract 3)


PRE_MOVES = {
    "start-later": (ARRIVAL + timedelta(hours=3), DEPARTURE),
    "start-earlier": (ARRIVAL - timedelta(days=1), DEPARTURE),
    "end-later": (ARRIVAL, DEPARTURE + timedelta(days=2)),
    "end-earlier": (ARRIVAL, DEPARTURE - timedelta(days=1)),
    "both": (ARRIVAL + timedelta(days=3), DEPARTURE + timedelta(days=4)),
}


@pytest.mark.parametrize("move", list(PRE_MOVES))
def test_moves_of_a_pre_checkin_keep_the_pin_and_leave_exactly_the_new_stay(
    adapter: SmartairAdapter, sim: SmartairSimulator, move: str
) -> None:
    created = adapter.create_code(ROOM, request())
    new_start, new_end = PRE_MOVES[move]
    moved = adapter.update_code(ROOM, created, new_start, new_end)
    assert (moved.pin, moved.valid_from, moved.valid_to) == (PIN, new_start, new_end)
    assert sim.stays(3) == [("pre", Stay(PIN, new_start, new_end))]
    if move.startswith("end"):
        assert moved.vendor_ref == created.vendor_ref
        assert "precheckinModifyDate" in sim.calls and "precheckinCancel" not in sim.calls
    assert adapter.list_codes(ROOM)[0].vendor_ref == moved.vendor_ref


def test_a_start_move_is_compared_with_the_start_the_server_holds(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    """Even when the caller's idea of the current window is already the new one (an older
    engine passed the new window as the old), the start still moves on the server."""
    created = adapter.create_code(ROOM, request())
    later = ARRIVAL + timedelta(hours=3)
    believed = VendorCode(created.vendor_ref, PIN, later, DEPARTURE)
    adapter.update_code(ROOM, believed, later, DEPARTURE)
    assert sim.stays(3) == [("pre", Stay(PIN, later, DEPARTURE))]


def test_a_pre_checkin_cancelled_in_smartair_during_a_move_is_already_gone(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    created = adapter.create_code(ROOM, request())
    sim.inject("precheckinModifyDate",
               Fault(meanwhile=lambda: sim.rooms[3].preassignments.clear()))
    with pytest.raises(AlreadyGoneError):
        adapter.update_code(ROOM, created, ARRIVAL, DEPARTURE + timedelta(days=1))


def test_a_pre_checkin_that_goes_live_during_a_move_gets_its_end_moved_as_a_check_in(
    adapter: SmartairAdapter, sim: SmartairSimulator, clock: FixedClock
) -> None:
    created = adapter.create_code(ROOM, request())
    clock.set(ARRIVAL - timedelta(seconds=1))
    sim.inject("precheckinModifyDate",
               Fault(meanwhile=lambda: clock.set(ARRIVAL + timedelta(minutes=1))))
    moved = adapter.update_code(ROOM, created, ARRIVAL, DEPARTURE + timedelta(days=1))
    assert sim.stays(3) == [("checkin", Stay(PIN, ARRIVAL, DEPARTURE + timedelta(days=1)))]
    assert moved.valid_to == DEPARTURE + timedelta(days=1)


LIVE_START = NOW - timedelta(hours=20)
LIVE_END = NOW + timedelta(days=1, hours=-1)
LIVE_MOVES = {
    "end-later": (LIVE_START, LIVE_END + timedelta(days=2), ("checkin", LIVE_START)),
    "end-earlier": (LIVE_START, NOW + timedelta(hours=2), ("checkin", LIVE_START)),
    "start-earlier": (LIVE_START - timedelta(hours=3), LIVE_END, ("checkin", LIVE_START)),
    "start-to-tomorrow": (NOW + timedelta(days=1), LIVE_END + timedelta(days=1), ("pre", None)),
}


@pytest.mark.parametrize("move", list(LIVE_MOVES))
def test_moves_of_a_live_stay(
    adapter: SmartairAdapter, sim: SmartairSimulator, clock: FixedClock, move: str
) -> None:
    clock.set(LIVE_START - timedelta(days=1))
    created = adapter.create_code(ROOM, request(LIVE_START, LIVE_END))
    clock.set(NOW)  # the pre-check-in has turned into a check-in
    assert [kind for kind, _ in sim.stays(3)] == ["checkin"]
    new_start, new_end, (kind, kept_start) = LIVE_MOVES[move]
    moved = adapter.update_code(ROOM, created, new_start, new_end)
    [(found_kind, stay)] = sim.stays(3)
    expected_start = kept_start or new_start
    assert (found_kind, stay) == (kind, Stay(PIN, expected_start, new_end))
    assert (moved.pin, moved.valid_from, moved.valid_to) == (PIN, expected_start, new_end)


def test_ending_a_live_stay_now_ends_it_on_the_server(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    created = adapter.create_code(ROOM, request(NOW - timedelta(hours=2), NOW + timedelta(days=1)))
    ended = adapter.update_code(ROOM, created, NOW - timedelta(hours=2), NOW + timedelta(minutes=1))
    assert ended.valid_to == NOW + timedelta(minutes=1)
    assert sim.stays(3) == [("checkin", Stay(PIN, NOW, NOW + timedelta(minutes=1)))]


def test_a_pre_checkin_shortened_into_the_past_is_cancelled(
    adapter: SmartairAdapter, sim: SmartairSimulator
) -> None:
    created = adapter.create_code(ROOM, request())
    adapter.update_code(ROOM, created, NOW - timedelta(days=1), NOW)
    assert sim.stays(3) == []


# ---------------------------------------------- 7. server time


def test_offset_less_server_times_are_read_in_the_hotel_zone(clock: FixedClock) -> None:
    with SmartairSimulator(clock=clock, local_zone="Europe/Madrid") as sim:
        adapter = make_adapter(sim, clock, hotel_timezone="Europe/Madrid")
        try:
            created = adapter.create_code(ROOM, request())
            [listed] = adapter.list_codes(ROOM)
        finally:
            adapter.close()
        assert sim._write(ARRIVAL) == "2026-03-12T16:00:00"  # it answers in local time
        assert sim.stays(3) == [("pre", Stay(PIN, ARRIVAL, DEPARTURE))]
        assert (listed.valid_from, listed.valid_to) == (ARRIVAL, DEPARTURE)
        assert listed.vendor_ref == created.vendor_ref


def test_the_installers_server_zone_wins_over_the_hotels(clock: FixedClock) -> None:
    with SmartairSimulator(clock=clock, local_zone="Europe/Madrid") as sim:
        adapter = make_adapter(sim, clock, hotel_timezone="Europe/London",
                               server_timezone="Europe/Madrid")
        try:
            adapter.create_code(ROOM, request())
            [listed] = adapter.list_codes(ROOM)
        finally:
            adapter.close()
        assert (listed.valid_from, listed.valid_to) == (ARRIVAL, DEPARTURE)


def test_the_servers_clock_decides_whether_a_stay_has_started() -> None:
    """The desk PC runs 2 minutes fast, the server 8 minutes slow; the previous guest is
    checked in until 15:00 (server time) and ours arrives at 15:00. By the desk's clock the
    stay has started (check in now: the room is still occupied); by the server's it has not
    (pre-check-in, which the server activates at 15:00)."""
    server_clock = FixedClock(ARRIVAL - timedelta(minutes=8))
    desk_clock = FixedClock(ARRIVAL + timedelta(minutes=2))
    with SmartairSimulator(clock=server_clock) as sim:
        sim.rooms[3].checkin = Stay("7777", ARRIVAL - timedelta(days=2), ARRIVAL)
        adapter = make_adapter(sim, desk_clock)
        try:
            created = adapter.create_code(ROOM, request())
        finally:
            adapter.close()
        assert "checkin" not in sim.calls and "precheckin" in sim.calls
        assert created.vendor_ref.startswith("pre:3:")
        server_clock.set(ARRIVAL + timedelta(minutes=1))
        assert sim.stays(3) == [("checkin", Stay(PIN, ARRIVAL, DEPARTURE))]


def test_the_doctor_shows_the_server_clock_and_flags_a_skew(clock: FixedClock) -> None:
    server_clock = FixedClock(NOW + timedelta(minutes=7))
    with SmartairSimulator(clock=server_clock, local_zone="Europe/Madrid") as sim:
        settings = {"pinned_sha256": sim.certificate_fingerprint}
        report = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD, settings, clock=clock,
                            hotel_timezone="Europe/Madrid")
    assert report.ok, report.summary
    step = next(step for step in report.steps if step.name == "Server clock")
    assert step.warning
    assert "2026-03-10 13:07 (Europe/Madrid, the hotel's zone)" in step.message
    assert "7 minutes ahead of this computer's clock" in step.message
    assert report.details["server_timezone"] == "Europe/Madrid"
    assert report.details["clock_skew_seconds"] == "420"


def test_the_connection_check_compares_the_server_clock_in_the_hotel_zone(
    clock: FixedClock,
) -> None:
    server_clock = FixedClock(NOW + timedelta(minutes=7))
    with SmartairSimulator(clock=server_clock, local_zone="Europe/Madrid") as sim:
        adapter = make_adapter(sim, clock, hotel_timezone="Europe/Madrid")
        try:
            report = adapter.test_connection()
        finally:
            adapter.close()
    step = next(step for step in report.steps if step.name == "Server clock")
    assert "(Europe/Madrid, the hotel's zone)" in step.message
    assert "7 minutes ahead of this computer's clock" in step.message


def test_the_doctor_recognises_a_wrong_zone_and_the_setting_corrects_it(
    clock: FixedClock,
) -> None:
    with SmartairSimulator(clock=clock, local_zone="Europe/Madrid") as sim:
        base = {"pinned_sha256": sim.certificate_fingerprint}
        wrong = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD, base, clock=clock,
                           hotel_timezone="UTC")
        fixed = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD,
                           {**base, "server_timezone": "Europe/Madrid"}, clock=clock,
                           hotel_timezone="UTC")
    step = next(step for step in wrong.steps if step.name == "Server clock")
    assert wrong.ok and step.warning
    assert "1 hour ahead" in step.message
    assert step.fix is not None and "time zone" in step.fix and "Server time zone" in step.fix
    fixed_step = next(step for step in fixed.steps if step.name == "Server clock")
    assert fixed_step.ok and not fixed_step.warning
    assert "set in the connection settings" in fixed_step.message


# ---------------------------------------------- 8. contract variations


def test_a_server_that_does_not_publish_the_guests_wsdl_still_works(clock: FixedClock) -> None:
    with SmartairSimulator(clock=clock, publishes_guests_wsdl=False) as sim:
        adapter = make_adapter(sim, clock)
        try:
            created = adapter.create_code(ROOM, request())
            adapter.revoke_code(ROOM, created)
        finally:
            adapter.close()
        assert sim.stays(3) == []
        report = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD,
                            {"pinned_sha256": sim.certificate_fingerprint}, clock=clock)
    assert report.ok, report.summary
    step = next(step for step in report.steps if step.name == "Web services")
    assert step.warning and "does not publish" in step.message


def test_results_named_return_are_read_with_the_bundled_contract(clock: FixedClock) -> None:
    with SmartairSimulator(clock=clock, result_element="return") as sim:
        adapter = make_adapter(sim, clock)
        try:
            created = adapter.create_code(ROOM, request())
            assert [code.pin for code in adapter.list_codes(ROOM)] == [PIN]
            moved = adapter.update_code(ROOM, created, ARRIVAL, DEPARTURE + timedelta(days=1))
            adapter.revoke_code(ROOM, moved)
        finally:
            adapter.close()
        assert sim.stays(3) == []
        report = run_doctor(sim.address, DEMO_OPERATOR, DEMO_PASSWORD,
                            {"pinned_sha256": sim.certificate_fingerprint}, clock=clock)
    assert report.ok, report.summary
    step = next(step for step in report.steps if step.name == "Answer format")
    assert step.warning and "“return”" in step.message
