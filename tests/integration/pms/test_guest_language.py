"""#17 item 7: the guest's language comes from Beds24 (``lang``) into the local copy, as the
code message versions are kept under ("de"), and picks the version a message is sent in."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.pms.sync import SyncEngine
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import Booking


def language_of(db: Database, pms_id: int) -> str | None:
    with db.session() as session:
        return session.scalars(
            select(Booking.language).where(Booking.pms_id == str(pms_id))).one()


def test_the_guests_language_is_read_from_beds24_and_kept_current(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    upcoming = sorted(b.id for b in sim.bookings.values()
                      if b.departure >= sim.today and b.master_id is None)
    german, portuguese, unknown = upcoming[:3]
    sim.set_language(german, "DE")
    sim.set_language(portuguese, "pt")
    assert engine.run_once().ok
    assert language_of(db, german) == "de"
    assert language_of(db, portuguese) == "pt"
    assert language_of(db, unknown) is None
    clock.advance(timedelta(minutes=5))
    sim.set_language(german, "en")
    sim.set_language(portuguese, "")
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert language_of(db, german) == "en"
    assert language_of(db, portuguese) is None


def test_a_new_booking_brings_its_language(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    assert engine.run_once().ok
    clock.advance(timedelta(minutes=5))
    room = next(iter(sim.bookings.values()))
    new = sim.add_booking(room.room_id, room.unit_id, sim.today + timedelta(days=90),
                          sim.today + timedelta(days=92), language="fr")
    clock.advance(timedelta(minutes=5))
    assert engine.run_once().ok
    assert language_of(db, new) == "fr"
