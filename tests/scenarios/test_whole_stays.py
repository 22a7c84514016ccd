"""Whole stays, PMS to door, on an injected clock (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import AlertSeverity, CodeState
from tests.scenarios.conftest import ROOM_102, TODAY, Hotel

MINUTE = timedelta(minutes=1)
LEAD = timedelta(hours=48)


def test_a_stay_from_booking_to_cancellation_with_every_change_on_the_door(
        hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=4), TODAY + timedelta(days=6)
    booking = hotel.book(arrival, departure, first_name="Ada", last_name="Smith")
    check_in, check_out = hotel.stay(arrival, departure)

    hotel.run(check_in - LEAD - MINUTE)  # not due yet
    assert hotel.door() == []

    hotel.run(check_in - LEAD)  # due: the guest's code opens the door for the stay only
    (code,) = hotel.codes(booking)
    pin = code.code
    assert pin is not None and code.state == CodeState.ACTIVE
    assert hotel.door() == [(pin, check_in, check_out)]

    # The guest comes a day earlier: the start moves on the door, same PIN.
    earlier = arrival - timedelta(days=1)
    hotel.pms.change_dates(booking, earlier, departure)
    hotel.run(hotel.clock.now() + MINUTE)
    assert hotel.door() == [(pin, *hotel.stay(earlier, departure))]

    # ...and stays a night longer: the end moves.
    later = departure + timedelta(days=1)
    hotel.pms.change_dates(booking, earlier, later)
    hotel.run(hotel.clock.now() + MINUTE)
    assert hotel.door() == [(pin, *hotel.stay(earlier, later))]

    # Both at once.
    arrival2, departure2 = arrival + timedelta(days=1), later + timedelta(days=1)
    hotel.pms.change_dates(booking, arrival2, departure2)
    hotel.run(hotel.clock.now() + MINUTE)
    assert hotel.door() == [(pin, *hotel.stay(arrival2, departure2))]

    # Cancelled: nothing of the guest's opens the door any more.
    hotel.pms.cancel(booking)
    hotel.run(hotel.clock.now() + MINUTE)
    assert hotel.door() == []
    assert [c.state for c in hotel.codes(booking)] == [CodeState.REVOKED]
    assert hotel.open_alerts() == []


@pytest.mark.expect_log(r"failed \(already_gone, attempt", logger="mangodesk.engine")
def test_a_code_deleted_in_the_ttlock_app_is_replaced_and_the_desk_is_told(
        hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    booking = hotel.book(arrival, departure, first_name="Bo", last_name="Lind")
    hotel.run(hotel.stay(arrival, departure)[0] - LEAD)
    (code,) = hotel.codes(booking)
    assert code.code is not None
    hotel.delete_in_vendor_app(code.code)
    assert hotel.door() == []

    later = departure + timedelta(days=1)
    hotel.pms.change_dates(booking, arrival, later)  # the date change meets -2009
    hotel.run(hotel.clock.now() + MINUTE)
    (replacement,) = hotel.codes(booking)
    assert replacement.state == CodeState.ACTIVE and replacement.code is not None
    assert hotel.door() == [(replacement.code, *hotel.stay(arrival, later))]
    (notice,) = hotel.open_alerts()
    assert notice.severity == AlertSeverity.WARNING
    assert "door code changed" in notice.message and mask_code(code.code) in notice.message
    assert "Room 101" in notice.message


def test_a_booking_that_vanishes_from_the_pms_leaves_the_door_as_it_was(hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    booking = hotel.book(arrival, departure)
    hotel.run(hotel.stay(arrival, departure)[0] - LEAD)
    door = hotel.door()
    assert len(door) == 1
    hotel.pms.delete_booking(booking)
    hotel.run(hotel.clock.now() + MINUTE)
    assert hotel.door() == door


def test_a_stay_that_ends_is_over_on_the_door_and_cleaned_up(hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=3)
    booking = hotel.book(arrival, departure)
    check_in, check_out = hotel.stay(arrival, departure)
    hotel.run(check_in - LEAD)
    assert len(hotel.door()) == 1
    hotel.run(check_out + MINUTE)
    assert [c.state for c in hotel.codes(booking)] == [CodeState.EXPIRED]
    assert hotel.door() == []  # TTLock's slot is freed


def test_a_room_move_takes_the_code_to_the_new_door_only(hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    booking = hotel.book(arrival, departure)
    window = hotel.stay(arrival, departure)
    hotel.run(window[0] - LEAD)
    (code,) = hotel.codes(booking)
    assert hotel.door() == [(code.code, *window)] and hotel.door(ROOM_102) == []
    hotel.pms.move(booking, hotel.room_id, hotel.pms_units[1])
    hotel.run(hotel.clock.now() + MINUTE)
    old, new = hotel.codes(booking)
    assert old.state == CodeState.REVOKED and new.state == CodeState.ACTIVE
    assert hotel.door() == []
    assert hotel.door(ROOM_102) == [(new.code, *window)]


def test_a_stay_shortened_after_the_fact_stops_opening_the_door(hotel: Hotel) -> None:
    """The guest left a day early and the PMS learns it the next morning: the code must end
    on the lock now, not at the old check-out."""
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=5)
    booking = hotel.book(arrival, departure)
    check_in, _ = hotel.stay(arrival, departure)
    hotel.run(check_in - LEAD)
    assert len(hotel.door()) == 1

    shortened = departure - timedelta(days=1)
    _, new_check_out = hotel.stay(arrival, shortened)
    hotel.clock.set(new_check_out + timedelta(hours=3))
    hotel.pms.change_dates(booking, arrival, shortened)
    hotel.run()
    now = hotel.clock.now()
    assert all(end <= now + MINUTE for _, _, end in hotel.door())
    assert [c.state for c in hotel.codes(booking)] == [CodeState.EXPIRED]


def test_a_staff_revoke_that_stops_codes_keeps_the_door_shut_until_lifted(
        hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    booking = hotel.book(arrival, departure)
    window = hotel.stay(arrival, departure)
    hotel.run(window[0] - LEAD)
    (code,) = hotel.codes(booking)
    hotel.context.services.passcodes.revoke(code.id, stop_codes=True)
    hotel.run(hotel.clock.now() + MINUTE)
    hotel.run(hotel.clock.now() + timedelta(hours=1))  # later passes issue nothing either
    assert hotel.door() == []
    assert [c.state for c in hotel.codes(booking)] == [CodeState.REVOKED]

    hotel.context.services.passcodes.resume_codes(code.booking_id or 0)
    hotel.run(hotel.clock.now() + MINUTE)
    revoked, new = hotel.codes(booking)
    assert revoked.state == CodeState.REVOKED
    assert new.state == CodeState.ACTIVE and new.code != code.code
    assert hotel.door() == [(new.code, *window)]


def test_a_staff_revoke_with_a_new_code_swaps_the_pin_on_the_door(hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=2), TODAY + timedelta(days=4)
    booking = hotel.book(arrival, departure, first_name="Cy", last_name="Berg")
    window = hotel.stay(arrival, departure)
    hotel.run(window[0] - LEAD)
    (code,) = hotel.codes(booking)
    hotel.context.services.passcodes.revoke(code.id, stop_codes=False)
    hotel.run(hotel.clock.now() + MINUTE)
    old, new = hotel.codes(booking)
    assert old.state == CodeState.REVOKED and new.state == CodeState.ACTIVE
    assert new.code is not None and new.code != code.code
    assert hotel.door() == [(new.code, *window)]
    assert any("Tell Cy Berg" in a.message and mask_code(new.code) in a.message
               for a in hotel.open_alerts())


def test_a_booking_deleted_in_the_pms_before_its_code_is_due_never_gets_one(
        hotel: Hotel) -> None:
    arrival, departure = TODAY + timedelta(days=5), TODAY + timedelta(days=7)
    booking = hotel.book(arrival, departure)
    hotel.book(departure, departure + timedelta(days=2))  # the PMS is not empty: a real load
    hotel.run(hotel.clock.now() + MINUTE)
    hotel.pms.delete_booking(booking)
    assert hotel.sync.run_once(full=True).ok
    hotel.run(hotel.stay(arrival, departure)[0] - LEAD)
    assert hotel.door() == [] and hotel.codes(booking) == []
    assert any("not in" in a.message.lower() or "no longer" in a.message.lower()
               for a in hotel.open_alerts())
