"""Issue #11 at the service level, with the fake vendor and the real engine: staff revoke
(stop or reissue), early check-in / late check-out kept across syncs, a stay shortened into
the past ended on the lock, PINs checked where the vendor checks them, shared and
unusable locks at link, atomic re-link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.app import Context, attach_engine, build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.types import CodeOrigin, CodeState, OperationKind, VendorKind
from mangodesk.engine.engine import Engine
from mangodesk.engine.planning import taken_pins
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.store.models import (
    AccessCode,
    Alert,
    AuditEvent,
    Booking,
    Connection,
    Lock,
    Operation,
    UnitLink,
)
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import PinScope, TransientError
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FAKE_CAPABILITIES, FakeVendor, fake_spec

# 12:00 in Oslo. Booking B-1002 (Room 102) arrives today 15:00 Oslo = 13:00Z, leaves 13 Jun;
# B-1001 (Room 101) is checked in and leaves 11 Jun 11:00 Oslo = 09:00Z.
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
ARRIVAL_102 = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
DEPARTURE_102 = datetime(2026, 6, 13, 9, 0, tzinfo=UTC)


@dataclass
class Desk:
    ctx: Context
    fake: FakeVendor
    clock: FixedClock
    engine: Engine
    locks: dict[str, int]  # vendor lock id -> Lock.id

    def unit(self, name: str) -> int:
        return next(r.id for r in self.ctx.services.units.list_units() if r.name == name)

    def link(self, unit: str, lock: str, **options: object) -> None:
        self.ctx.services.links.link(self.unit(unit), lock_id=self.locks[lock],
                                     **options)  # type: ignore[arg-type]

    def booking(self, ref: str) -> Booking:
        with self.ctx.db.session() as session:
            found = session.scalars(select(Booking).where(Booking.pms_id == ref)).one()
            session.expunge(found)
            return found

    def codes(self, unit: str | None = None) -> list[AccessCode]:
        with self.ctx.db.session() as session:
            query = select(AccessCode).order_by(AccessCode.id)
            if unit is not None:
                query = query.where(AccessCode.unit_id == self.unit(unit))
            return list(session.scalars(query))

    def set_booking(self, ref: str, **values: object) -> None:
        with self.ctx.db.transaction() as session:
            found = session.scalars(select(Booking).where(Booking.pms_id == ref)).one()
            for key, value in values.items():
                setattr(found, key, value)

    def run(self, minutes: int = 0) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        for _ in range(3):
            self.engine.tick()


def make_desk(tmp_path: Path, secret_store: SecretStore, fake: FakeVendor,
              not_automatic: str | None = None) -> Desk:
    clock = FixedClock(NOW)
    registry = VendorRegistry([MANUAL_SPEC, fake_spec(fake)])
    ctx = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                        clock=clock, actor="Anna", vendors=registry)
    seed_hotel(ctx, NOW)
    locks: dict[str, int] = {}
    with ctx.db.transaction() as session:
        conn = Connection(kind=VendorKind.TTLOCK, display_name="Locks", settings={},
                          created_at=NOW)
        session.add(conn)
        session.flush()
        for name in ("lock-101", "lock-102", "lock-103", "lock-old"):
            lock = Lock(connection_id=conn.id, vendor_lock_id=name, name=f"Door {name[5:]}",
                        attributes={}, manageable=name != "lock-old",
                        unmanageable_reason="passcode version too old"
                        if name == "lock-old" else None,
                        present=True)
            if name == "lock-103" and not_automatic:
                lock.codes_not_automatic_reason = not_automatic
            session.add(lock)
            session.flush()
            locks[name] = lock.id
    engine = attach_engine(ctx)
    return Desk(ctx, fake, clock, engine, locks)


@pytest.fixture
def fake() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def desk(tmp_path: Path, secret_store: SecretStore, fake: FakeVendor) -> Iterator[Desk]:
    built = make_desk(tmp_path, secret_store, fake, not_automatic="no gateway")
    built.link("Room 101", "lock-101")
    built.link("Room 102", "lock-102")
    yield built
    built.engine.stop(5)
    built.ctx.close()


def live_code(desk: Desk, unit: str) -> AccessCode:
    (code,) = [c for c in desk.codes(unit) if c.state == CodeState.ACTIVE]
    return code


# ------------------------------------------------------------------ 11.1 staff revoke


def test_revoking_a_booking_code_needs_stop_or_reissue_and_changes_nothing(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 102")
    with pytest.raises(ValidationError, match="choose whether") as caught:
        desk.ctx.services.passcodes.revoke(code.id)
    assert caught.value.fix and "--stop" in caught.value.fix
    assert desk.ctx.services.passcodes.get(code.id).state == CodeState.ACTIVE
    with desk.ctx.db.session() as session:
        assert not session.scalars(select(Operation).where(
            Operation.kind == OperationKind.REVOKE)).all()


def test_revoke_and_stop_codes_leaves_the_booking_without_a_code_until_lifted(
        desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 102")
    desk.ctx.services.passcodes.revoke(code.id, stop_codes=True)
    desk.run(minutes=1)
    desk.run(minutes=30)
    assert desk.fake.pins_on("lock-102") == []
    assert [c.state for c in desk.codes("Room 102")] == [CodeState.REVOKED]
    assert desk.booking("B-1002").codes_stopped
    with desk.ctx.db.session() as session:
        summaries = [e.summary for e in session.scalars(select(AuditEvent))]
    assert any("stopped codes for booking B-1002" in s for s in summaries)

    desk.ctx.services.passcodes.resume_codes(desk.booking("B-1002").id)
    desk.run(minutes=1)
    assert len(desk.fake.pins_on("lock-102")) == 1


def test_revoke_and_reissue_gives_a_new_pin_at_once_and_tells_the_desk(desk: Desk) -> None:
    desk.run()
    old = live_code(desk, "Room 102")
    desk.ctx.services.passcodes.revoke(old.id, stop_codes=False)
    pending = [c for c in desk.codes("Room 102") if c.state == CodeState.PENDING]
    assert len(pending) == 1 and pending[0].code and pending[0].code != old.code
    assert pending[0].origin == CodeOrigin.BOOKING
    with desk.ctx.db.session() as session:
        alerts = [a.message for a in session.scalars(select(Alert))]
    notice = [m for m in alerts if m.startswith("Tell ")]
    assert notice
    guest = desk.booking("B-1002").guest_name or ""
    assert guest in notice[0] and "Room 102" in notice[0]
    assert pending[0].code not in notice[0] and pending[0].code[-1] in notice[0]
    desk.run(minutes=1)
    desk.run(minutes=30)
    assert desk.fake.pins_on("lock-102") == [pending[0].code]
    assert not desk.booking("B-1002").codes_stopped


def test_revoking_a_staff_passcode_needs_no_decision(desk: Desk) -> None:
    view = desk.ctx.services.passcodes.create(
        desk.unit("Room 101"), PasscodeInput(NOW, NOW + timedelta(hours=5), code="739164"))
    desk.ctx.services.passcodes.revoke(view.id)
    assert desk.ctx.services.passcodes.get(view.id).state == CodeState.REVOKING


# ------------------------------------------------------------------ 11.2 shortened stay


def test_a_stay_shortened_into_the_past_is_ended_on_the_lock(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 101")
    assert code.valid_to == datetime(2026, 6, 11, 9, 0, tzinfo=UTC)
    # The guest left this morning; the desk enters it at noon (11:00 check-out is past).
    desk.set_booking("B-1001", departure=date(2026, 6, 10))
    desk.run(minutes=1)
    on_lock = list(desk.fake.codes["lock-101"].values())
    assert all(c.valid_to is not None and c.valid_to <= desk.clock.now() + timedelta(minutes=1)
               for c in on_lock)


# ------------------------------------------------------------------ 11.3 staff times


def test_late_check_out_is_a_staff_edit_kept_when_the_pms_moves_the_dates(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 102")
    late = datetime(2026, 6, 13, 12, 0, tzinfo=UTC)  # 14:00 Oslo instead of 11:00
    desk.ctx.services.passcodes.edit(code.id, PasscodeInput(code.valid_from, late))
    desk.run(minutes=1)
    assert [c.valid_to for c in desk.fake.codes["lock-102"].values()] == [late]
    # A later sync extends the stay by a night: the staff's 14:00 stays.
    desk.set_booking("B-1002", departure=date(2026, 6, 14))
    desk.run(minutes=1)
    assert [c.valid_to for c in desk.fake.codes["lock-102"].values()] == [
        late + timedelta(days=1)]
    assert live_code(desk, "Room 102").valid_from == ARRIVAL_102


def test_the_guests_arrival_time_from_the_pms_is_not_used(desk: Desk) -> None:
    desk.set_booking("B-1002", arrival_time=time(9, 0), departure_time=time(18, 30))
    desk.run()
    (on_lock,) = desk.fake.codes["lock-102"].values()
    assert (on_lock.valid_from, on_lock.valid_to) == (ARRIVAL_102, DEPARTURE_102)


def test_editing_a_booking_code_onto_other_dates_is_refused(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 102")
    with pytest.raises(ValidationError, match="keeps the booking's dates"):
        desk.ctx.services.passcodes.edit(
            code.id, PasscodeInput(code.valid_from, code.valid_to + timedelta(days=1)))


# ------------------------------------------------------------------ 11.9 PIN scope


def test_ttlock_refuses_a_pin_an_expired_code_on_the_lock_still_has(
        tmp_path: Path, secret_store: SecretStore) -> None:
    fake = FakeVendor(replace(FAKE_CAPABILITIES, pin_scope=PinScope.LOCK_ALL))
    desk = make_desk(tmp_path, secret_store, fake)
    try:
        desk.link("Room 101", "lock-101")
        first = desk.ctx.services.passcodes.create(
            desk.unit("Room 101"),
            PasscodeInput(NOW - timedelta(days=3), NOW - timedelta(days=2), code="739164",
                          guest_name="Owner"))
        with desk.ctx.db.transaction() as session:
            stored = session.get(AccessCode, first.id)
            assert stored is not None
            stored.state = CodeState.EXPIRED
        with pytest.raises(ValidationError, match="Owner's code on Room 101") as caught:
            desk.ctx.services.passcodes.create(
                desk.unit("Room 101"),
                PasscodeInput(NOW, NOW + timedelta(days=1), code="739164"))
        assert "expired" in str(caught.value)
        with desk.ctx.db.session() as session:
            assert "739164" in taken_pins(session, desk.locks["lock-101"], NOW,
                                          NOW + timedelta(days=1))
    finally:
        desk.engine.stop(5)
        desk.ctx.close()


def test_smartair_refuses_a_pin_of_an_overlapping_stay_in_another_room(
        tmp_path: Path, secret_store: SecretStore) -> None:
    fake = FakeVendor(replace(FAKE_CAPABILITIES, pin_scope=PinScope.SITE_OVERLAPPING))
    desk = make_desk(tmp_path, secret_store, fake)
    try:
        desk.link("Room 101", "lock-101")
        desk.link("Room 102", "lock-102")
        desk.ctx.services.passcodes.create(
            desk.unit("Room 101"), PasscodeInput(NOW, NOW + timedelta(days=2), code="739164",
                                                 guest_name="Owner"))
        with pytest.raises(ValidationError, match="Owner's code on Room 101"):
            desk.ctx.services.passcodes.create(
                desk.unit("Room 102"), PasscodeInput(NOW + timedelta(days=1),
                                                     NOW + timedelta(days=3), code="739164"))
        later = desk.ctx.services.passcodes.create(
            desk.unit("Room 102"), PasscodeInput(NOW + timedelta(days=2),
                                                 NOW + timedelta(days=3), code="739164"))
        assert later.code == "739164"
    finally:
        desk.engine.stop(5)
        desk.ctx.close()


# ------------------------------------------------------------------ 11.7 shared locks


def test_linking_a_lock_of_another_unit_asks_first_naming_it(desk: Desk) -> None:
    with pytest.raises(ValidationError, match="Door 101 already opens Room 101") as caught:
        desk.link("Room 103", "lock-101")
    assert "both units' guests" in str(caught.value)
    assert desk.ctx.services.units.unit(desk.unit("Room 103")).lock_id is None
    desk.link("Room 103", "lock-101", shared=True)
    row = desk.ctx.services.units.unit(desk.unit("Room 103"))
    assert row.lock_id == desk.locks["lock-101"] and row.shared_with == ("Room 101",)
    assert desk.ctx.services.units.unit(desk.unit("Room 101")).shared_with == ("Room 103",)


def test_relink_with_revoke_is_atomic_when_the_vendor_cannot_be_reached(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 101")
    desk.fake.fail("list_codes", TransientError("The lock server did not answer."))
    with pytest.raises(TransientError):
        desk.ctx.services.links.link(desk.unit("Room 101"), lock_id=desk.locks["lock-103"],
                                     revoke_codes=True)
    with desk.ctx.db.session() as session:
        link = session.scalars(select(UnitLink).where(
            UnitLink.unit_id == desk.unit("Room 101"))).one()
        assert link.lock_id == desk.locks["lock-101"]
        assert not session.scalars(select(Operation).where(
            Operation.kind == OperationKind.REVOKE)).all()
    assert desk.ctx.services.passcodes.get(code.id).state == CodeState.ACTIVE


# ------------------------------------------------------------------ 11.8 locks without codes


def test_an_unusable_lock_is_refused_at_link_with_the_reason(desk: Desk) -> None:
    with pytest.raises(ValidationError, match="passcode version too old"):
        desk.link("Room 103", "lock-old")


def test_a_lock_without_gateway_links_but_never_gets_a_create(desk: Desk) -> None:
    desk.link("Room 103", "lock-103")
    row = desk.ctx.services.units.unit(desk.unit("Room 103"))
    assert row.lock_id == desk.locks["lock-103"] and row.codes_not_automatic_reason == "no gateway"
    desk.set_booking("B-1003", arrival=date(2026, 6, 10))  # the guest arrives today
    desk.run()
    assert desk.fake.pins_on("lock-103") == []
    assert "create_code" not in [c.method for c in desk.fake.calls if c.lock == "lock-103"]
    with desk.ctx.db.session() as session:
        messages = [a.message for a in session.scalars(select(Alert))]
    assert any("no gateway" in m for m in messages)
    with pytest.raises(ValidationError, match="not automatic on Door 103: no gateway"):
        desk.ctx.services.passcodes.create(
            desk.unit("Room 103"), PasscodeInput(NOW, NOW + timedelta(days=1), code="739164"))


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_a_staff_passcode_on_an_offline_gateway_follows_the_30_attempt_rule(
        desk: Desk) -> None:
    desk.run()  # the guests' codes are on their locks first
    desk.fake.fail("create_code", TransientError("The lock's gateway is offline."), times=30)
    view = desk.ctx.services.passcodes.create(
        desk.unit("Room 101"), PasscodeInput(NOW + timedelta(days=1), NOW + timedelta(days=2),
                                             code="739164", guest_name="Plumber"))
    for _ in range(29):
        desk.run(minutes=6)
        assert desk.ctx.services.passcodes.get(view.id).state == CodeState.PENDING
    desk.run(minutes=6)
    failed = desk.ctx.services.passcodes.get(view.id)
    assert failed.state == CodeState.FAILED and "gateway is offline" in (failed.last_error or "")
    assert [c.pin for c in desk.fake.calls if c.method == "create_code"].count("739164") == 30
    with desk.ctx.db.session() as session:
        assert session.scalars(select(Alert).where(Alert.subject_id == view.id)).all()


def test_relink_with_revoke_swaps_the_lock_and_revokes_the_old_code(desk: Desk) -> None:
    desk.run()
    code = live_code(desk, "Room 101")
    desk.fake.add_existing("lock-103", "135790", name="Cleaner")
    desk.ctx.services.links.link(desk.unit("Room 101"), lock_id=desk.locks["lock-103"],
                                 revoke_codes=True)
    row = desk.ctx.services.units.unit(desk.unit("Room 101"))
    assert row.lock_id == desk.locks["lock-103"]
    assert desk.ctx.services.passcodes.get(code.id).state == CodeState.REVOKING
    imported = [c for c in desk.codes("Room 101") if c.origin == CodeOrigin.IMPORTED]
    assert [c.code for c in imported] == ["135790"]


# ------------------------------------------------------------------ 11.10 / 14.3 words


def headlines(desk: Desk) -> list[str]:
    """Open alerts as the desk and ``mangodesk alerts`` show them."""
    return [getattr(a, "headline", a.message) for a in desk.ctx.services.alerts.list()]


def test_a_notice_to_tell_the_guest_starts_with_unit_provider_and_lock(desk: Desk) -> None:
    desk.run()
    old = live_code(desk, "Room 102")
    desk.ctx.services.passcodes.revoke(old.id, stop_codes=False)
    (notice,) = [h for h in headlines(desk) if "Tell " in h]
    assert notice.startswith("Room 102 · TTLock lock Door 102 — Tell "), notice
    assert notice.count("Door 102") == 1, notice


def test_a_stay_without_automatic_codes_starts_with_unit_provider_and_lock(desk: Desk) -> None:
    desk.link("Room 103", "lock-103")
    desk.set_booking("B-1003", arrival=date(2026, 6, 10))
    desk.run()
    (blocked,) = [h for h in headlines(desk) if "no gateway" in h]
    assert blocked.startswith("Room 103 · TTLock lock Door 103 — "), blocked
    assert "lock-103" not in blocked
