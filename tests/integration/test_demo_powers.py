"""The Demo menu's powers against the real demo: a booking changed in the simulated PMS
reaches the desk at once; a simulated vendor made to fail or lose a reply does so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mangodesk.app import attach_engine
from mangodesk.demo import Demo, DemoPowers, start_demo
from mangodesk.paths import Paths
from mangodesk.settings import Settings


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = start_demo(Paths.under(tmp_path), Settings())
    yield running
    running.context.close()


def test_cancel_and_move_a_booking_in_the_simulated_pms(demo: Demo) -> None:
    powers = DemoPowers(demo)
    today = demo.context.clock.now().date()
    listed = [b for b in powers.bookings() if demo.pms.booking(b.pms_id).arrival > today]
    assert len(listed) >= 2 and powers.has_pms
    first, second = listed[0], listed[1]
    said = powers.cancel_booking(first.pms_id)
    assert said.endswith("Synced.")
    units = demo.context.services.units
    assert units.find_booking(str(first.pms_id)).status == "cancelled"
    before = units.find_booking(str(second.pms_id))
    powers.move_booking(second.pms_id, 1)
    after = units.find_booking(str(second.pms_id))
    assert (after.arrival - before.arrival).days == 1
    assert first.pms_id not in [b.pms_id for b in powers.bookings()]


def test_shorten_a_stay_sets_departure_today(demo: Demo) -> None:
    powers = DemoPowers(demo)
    today = demo.context.clock.now().date()
    in_house = [b for b in demo.pms.bookings.values()
                if b.arrival < today < b.departure and b.status != "cancelled"]
    assert in_house
    powers.shorten_booking(in_house[0].id)
    assert demo.context.services.units.find_booking(str(in_house[0].id)).departure == today


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_a_vendor_made_to_fail_fails_its_next_calls(demo: Demo) -> None:
    powers = DemoPowers(demo)
    names = powers.vendor_names()
    ttlock = next(n for n in names if n.startswith("TTLock"))
    assert "fails its next 3 calls" in powers.fail_vendor(ttlock)
    engine = attach_engine(demo.context)
    engine.plan_and_enqueue()
    engine.run_due()
    errors = [c.last_error or "" for r in demo.context.services.units.list_units()
              if r.provider is not None and str(r.provider) == "ttlock"
              for c in demo.context.services.passcodes.list_for_unit(r.id)]
    assert any(errors), "the TTLock simulator refused the engine's first calls"
    for name in names:
        assert "reply is lost" in powers.lose_reply(name)
