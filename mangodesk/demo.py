"""The demo profile: a sample hotel in a throwaway profile, with simulated lock vendors.

A new user sees the whole product work without any account. Everything runs on loopback and
every secret stays in an in-memory keyring that disappears with the process.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.stay import local_instant
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, UnitKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.base import DemoVendor
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Property, Unit
from mangodesk.store.secrets import MemoryKeyring, SecretStore

log = logging.getLogger(__name__)

HOTEL_ZONE = "Europe/Oslo"

# Simulator modules offering ``start_for_demo() -> DemoVendor``; missing ones are skipped.
DEMO_VENDOR_MODULES = [
    "mangodesk.sim.ttlock",
    "mangodesk.sim.smartair",
    "mangodesk.sim.inlet",
    "mangodesk.sim.flexipass",
]

UNITS: list[tuple[str, UnitKind, str | None]] = [
    ("Room 101", UnitKind.ROOM, None),
    ("Room 102", UnitKind.ROOM, None),
    ("Room 103", UnitKind.ROOM, None),
    ("Room 104", UnitKind.ROOM, None),
    ("Double room 1", UnitKind.ROOM, None),
    ("Double room 2", UnitKind.ROOM, None),
    ("Room Marta", UnitKind.ROOM, None),
    ("Apartment Sol", UnitKind.APARTMENT, None),
    ("Apartment Fjord", UnitKind.APARTMENT, None),
    ("Dorm 6", UnitKind.ROOM, None),
    ("Dorm 6 · Bed A", UnitKind.BED, "Dorm 6"),
    ("Dorm 6 · Bed B", UnitKind.BED, "Dorm 6"),
    ("Dorm 6 · Bed C", UnitKind.BED, "Dorm 6"),
]

GUESTS = ["Ingrid Berg", "Lars Hansen", "Sofia Rossi", "James Carter", "Amélie Dubois",
          "Kenji Watanabe", "Maria Nowak", "Olu Adeyemi", "Chen Wei", "Elena Petrova",
          "Tomás García", "Freya Lind"]


@dataclass
class Demo:
    context: Context
    vendors: list[DemoVendor] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    pms: Any = None  # the simulated Beds24 account, when the demo syncs from it
    mail: Any = None  # the local mail sink guest emails go to

    def stop(self) -> None:
        for stop in self.stoppers + [v.stop for v in self.vendors]:
            try:
                stop()
            except Exception:
                log.exception("stopping a demo simulator failed")


def start_demo(paths: Paths, settings: Settings, *, clock: Clock | None = None,
               with_simulators: bool = True) -> Demo:
    """A throwaway hotel. With simulators, bookings come from a simulated Beds24 account
    through the real sync, and each lock vendor's simulator is connected and linked to a few
    units, so the automation issues real codes as soon as the engine runs."""
    clock = clock or SystemClock()
    context = build_context(paths, settings, secrets=SecretStore(MemoryKeyring()), clock=clock,
                            actor="demo")
    demo = Demo(context)
    original_close = context.close

    def close() -> None:
        original_close()
        demo.stop()

    context.close = close  # type: ignore[method-assign]
    if not (with_simulators and _sync_from_simulated_pms(demo)):
        seed_hotel(context, clock.now())
    seed_manual_locks(context, clock.now())
    if with_simulators:
        _connect_simulated_vendors(demo)
        _start_mail_sink(demo)
    return demo


def _start_mail_sink(demo: Demo) -> None:
    """A local mail server that keeps what it receives, a check-in template with the door
    codes, and that email queued for today's and tomorrow's arrivals (held until their codes
    exist), so the sent log shows it within a minute of the engine running."""
    try:
        from mangodesk.comms.smtp import SmtpSettings
        from mangodesk.domain.template import TemplateContext
        from mangodesk.services.comms import TemplateInput
        from mangodesk.sim.mail import start_for_demo

        sink = start_for_demo()
    except Exception:
        log.exception("the demo mail sink could not start")
        return
    demo.stoppers.append(sink.stop)
    demo.mail = sink
    comms = demo.context.services.comms
    comms.save_smtp_settings(SmtpSettings(
        host="127.0.0.1", port=sink.port, security="none", from_address="desk@mango.example",
        from_name="Hotel Mango Front Desk", reply_to="hello@mango.example", timeout=10))
    comms.save_template(TemplateInput(
        name="Check-in", context=TemplateContext.SCHEDULED_CHECKIN,
        subject="Your stay at {{property_name}}",
        body="Dear {{guest_name}},\n\nwelcome! You arrive {{arrival}} and leave "
        "{{departure}}.\n\nYour door codes:\n{{smart_lock_access_codes}}\n\n"
        "See you soon,\n{{property_name}}\n",
        offset_minutes=24 * 60, hold_for_codes=True, hold_latest_hours=1))
    today = demo.context.clock.now().astimezone(UTC).date()
    with demo.context.db.session() as session:
        arriving = list(session.scalars(select(Booking.id).where(
            Booking.arrival.in_((today, today + timedelta(days=1))),
            Booking.status == BookingStatus.CONFIRMED, Booking.guest_email.is_not(None))))
    for booking_id in arriving:
        comms.schedule_now(booking_id, "Check-in")


def _sync_from_simulated_pms(demo: Demo) -> bool:
    """Connect the Beds24 simulator and run the first full sync. False if it cannot."""
    context = demo.context
    try:
        from mangodesk.sim.beds24 import start_for_demo

        simulator, values = start_for_demo(context.clock.now().date(), rooms=16)
        demo.stoppers.append(simulator.stop)
        demo.pms = simulator
        context.services.pms.connect(values["invite_code"], base_url=values["base_url"],
                                     timezone=values["timezone"], keep_saved=False)
        return bool(context.services.pms.sync_once().ok)
    except Exception:
        log.exception("the simulated PMS could not be connected; using built-in sample data")
        return False


def _connect_simulated_vendors(demo: Demo) -> None:
    """Start every vendor simulator, connect it, and link two unlinked units to its first
    remotely manageable locks."""
    context = demo.context
    services = context.services
    for module_name in DEMO_VENDOR_MODULES:
        try:
            module = importlib.import_module(module_name)
            vendor = module.start_for_demo()
        except Exception:
            log.exception("demo simulator %s could not start", module_name)
            continue
        demo.vendors.append(vendor)
        try:
            result = services.connections.connect(
                vendor.kind, {**vendor.values, **vendor.settings}, vendor.display_name)
        except Exception:
            log.exception("demo connection to %s failed", vendor.display_name)
            continue
        locks = [lock for lock in result.locks if lock.manageable]
        free_units = [row for row in services.units.list_units()
                      if row.lock_id is None and row.kind != UnitKind.BED]
        for unit, lock in zip(free_units[:2], locks[:2], strict=False):
            try:
                services.links.link(unit.id, lock_id=lock.id)
            except Exception:
                log.exception("demo link of %s to %s failed", unit.name, lock.name)


def seed_hotel(context: Context, now: datetime) -> None:
    """A small hotel with bookings around today: arrivals today and tomorrow, guests in
    house, one in a week, a cancellation and a multi-room group."""
    today = now.astimezone(UTC).date()
    with context.db.transaction() as session:
        prop = Property(name="Hotel Mango (demo)", timezone=HOTEL_ZONE, pms_id="demo",
                        checkin_time=time(15, 0), checkout_time=time(11, 0),
                        lead_minutes=48 * 60, automation_enabled=True)
        session.add(prop)
        session.flush()
        by_name: dict[str, Unit] = {}
        for order, (name, kind, parent) in enumerate(UNITS):
            unit = Unit(property_id=prop.id, pms_id=f"demo-{order + 1}", name=name, kind=kind,
                        parent_id=by_name[parent].id if parent else None, active=True,
                        sort_order=order)
            session.add(unit)
            session.flush()
            by_name[name] = unit
        plan: list[tuple[str, list[str], int, int, BookingStatus]] = [
            ("B-1001", ["Room 101"], -1, 2, BookingStatus.CHECKED_IN),
            ("B-1002", ["Room 102"], 0, 3, BookingStatus.CONFIRMED),
            ("B-1003", ["Room 103"], 1, 4, BookingStatus.CONFIRMED),
            ("B-1004", ["Double room 1", "Room Marta"], 1, 3, BookingStatus.CONFIRMED),
            ("B-1005", ["Apartment Sol"], 2, 9, BookingStatus.CONFIRMED),
            ("B-1006", ["Apartment Fjord"], 7, 10, BookingStatus.CONFIRMED),
            ("B-1007", ["Room 104"], 3, 5, BookingStatus.CANCELLED),
            ("B-1008", ["Dorm 6 · Bed A"], 0, 2, BookingStatus.CONFIRMED),
            ("B-1009", ["Double room 2"], 12, 14, BookingStatus.TENTATIVE),
        ]
        for index, (ref, unit_names, start, nights, status) in enumerate(plan):
            booking = Booking(
                property_id=prop.id, pms_id=ref, status=status,
                arrival=today + timedelta(days=start),
                departure=today + timedelta(days=start + nights),
                guest_name=GUESTS[index % len(GUESTS)],
                guest_email=f"guest{index + 1}@example.com",
                channel=["Booking.com", "Airbnb", "Direct"][index % 3],
                pms_modified_at=now, synced_at=now,
            )
            booking.units = [BookingUnit(unit_id=by_name[n].id) for n in unit_names]
            session.add(booking)


def seed_manual_locks(context: Context, now: datetime) -> None:
    """Manual locks on the first units, with the code staff typed for each unit's current or
    next guest (the Manual provider's way of keying a stay)."""
    services = context.services
    rows = [r for r in services.units.list_units() if r.kind != UnitKind.BED][:3]
    codes = iter(["482915", "730264", "5307"])
    today = now.astimezone(UTC).date()
    for row in rows:
        services.links.link(row.id, manual_lock_name=f"{row.name} keypad")
    with context.db.transaction() as session:
        for row in rows:
            unit = session.get(Unit, row.id)
            assert unit is not None and unit.link is not None
            stay = session.scalars(
                select(Booking).join(BookingUnit, BookingUnit.booking_id == Booking.id)
                .where(BookingUnit.unit_id == unit.id, Booking.departure > today,
                       Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]))
                .order_by(Booking.arrival)
            ).first()
            start, end = ((stay.arrival, stay.departure) if stay else
                          (today, today + timedelta(days=2)))
            session.add(AccessCode(
                unit_id=unit.id, lock_id=unit.link.lock_id, origin=CodeOrigin.MANUAL,
                booking_id=stay.id if stay else None, code=next(codes),
                vendor_ref=f"manual:{unit.link.lock.vendor_lock_id}",
                valid_from=_at(start, time(15, 0)), valid_to=_at(end, time(11, 0)),
                guest_name=stay.guest_name if stay else None, state=CodeState.ACTIVE,
                managed=True, attempts=0, created_at=now, updated_at=now,
            ))


def _at(day: date, wall: time) -> datetime:
    return local_instant(day, wall, HOTEL_ZONE)


# --------------------------------------------------------------------------- demo powers


@dataclass(frozen=True)
class DemoBooking:
    """A booking of the simulated PMS, as the Demo menu lists it."""

    pms_id: int
    label: str


# TTLock write endpoints (what a vendor failure or a lost reply hits).
TTLOCK_WRITES = ("/v3/keyboardPwd/add", "/v3/keyboardPwd/change", "/v3/keyboardPwd/delete")


@dataclass(frozen=True)
class SinkMessage:
    """One email the demo mail sink received, as the Messages view shows it."""

    to: str
    subject: str
    received_at: datetime
    sender: str
    body: str


def sink_message(at: datetime, message: Any) -> SinkMessage:
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return SinkMessage(to=str(message.get("To", "")), subject=str(message.get("Subject", "")),
                       received_at=at, sender=str(message.get("From", "")),
                       body=text.replace("\r\n", "\n"))


class DemoPowers:
    """What the Demo menu lets a person do to see the lifecycle react: change a booking in
    the simulated PMS (then sync at once), or make a simulated vendor fail or lose a reply.
    Only ever built for ``--demo``; every call blocks (run it off the GUI thread)."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    @property
    def has_pms(self) -> bool:
        return self.demo.pms is not None

    @property
    def has_mail(self) -> bool:
        return self.demo.mail is not None

    def hotel_zone(self) -> ZoneInfo:
        """The demo hotel's time zone (times in the Messages view are shown in it)."""
        with self.demo.context.db.session() as session:
            zone = session.scalars(select(Property.timezone).order_by(Property.id)).first()
        return ZoneInfo(zone or HOTEL_ZONE)

    def mail_received(self, after: int = 0) -> list[SinkMessage]:
        """What the demo's mail sink received, from message ``after`` on, oldest first:
        the emails guests would have got (check-in with its door codes)."""
        if self.demo.mail is None:
            return []
        return [sink_message(at, message) for at, message in self.demo.mail.entries(after)]

    def bookings(self) -> list[DemoBooking]:
        """Confirmed bookings of the simulated PMS that have not ended, earliest first."""
        if self.demo.pms is None:
            return []
        today = self.demo.context.clock.now().date()
        found = []
        for booking in sorted(self.demo.pms.bookings.values(),
                              key=lambda b: (b.arrival, b.id)):
            if booking.status == "cancelled" or booking.departure <= today:
                continue
            room = self.demo.pms.room(booking.room_id).name
            guest = f"{booking.first_name} {booking.last_name}".strip() or "guest"
            found.append(DemoBooking(booking.id, f"{booking.id} · {guest} · {room} · "
                                                 f"{booking.arrival:%d %b} → "
                                                 f"{booking.departure:%d %b}"))
        return found

    def move_booking(self, pms_id: int, days: int) -> str:
        booking = self._pms().booking(pms_id)
        arrival = booking.arrival + timedelta(days=days)
        departure = booking.departure + timedelta(days=days)
        self._pms().change_dates(pms_id, arrival, departure)
        return self._synced(f"Booking {pms_id} moved to {arrival:%d %b} → {departure:%d %b}.")

    def shorten_booking(self, pms_id: int) -> str:
        """The guest left early and the PMS is told after the fact: departure today."""
        booking = self._pms().booking(pms_id)
        today = self.demo.context.clock.now().date()
        departure = max(today, booking.arrival + timedelta(days=1))
        self._pms().change_dates(pms_id, booking.arrival, departure)
        return self._synced(f"Booking {pms_id} now leaves {departure:%d %b}.")

    def cancel_booking(self, pms_id: int) -> str:
        self._pms().cancel(pms_id)
        return self._synced(f"Booking {pms_id} cancelled in the PMS.")

    def vendor_names(self) -> list[str]:
        return [vendor.display_name for vendor in self.demo.vendors]

    def fail_vendor(self, name: str, times: int = 3) -> str:
        """The vendor answers its next few calls with a server error (retried later)."""
        simulator = self._simulator(name)
        from mangodesk.sim.jsonapi import JsonApiSimulator
        from mangodesk.sim.smartair import Fault as SmartairFault
        from mangodesk.sim.smartair import SmartairSimulator
        from mangodesk.sim.ttlock import TTLockSimulator

        if isinstance(simulator, TTLockSimulator):
            for path in TTLOCK_WRITES:
                simulator.inject_http_status(path, 503, times)
        elif isinstance(simulator, JsonApiSimulator):
            simulator.fail_next(503, times)
        elif isinstance(simulator, SmartairSimulator):
            simulator.inject("*", SmartairFault(html_500=True), times)
        else:
            raise ValueError(f"{name} cannot be made to fail in the demo")
        return f"{name} fails its next {times} calls with a server error."

    def lose_reply(self, name: str) -> str:
        """The vendor carries out its next write and the answer never arrives."""
        simulator = self._simulator(name)
        from mangodesk.sim.jsonapi import JsonApiSimulator
        from mangodesk.sim.smartair import Fault as SmartairFault
        from mangodesk.sim.smartair import SmartairSimulator
        from mangodesk.sim.ttlock import TTLockSimulator

        if isinstance(simulator, TTLockSimulator):
            for path in TTLOCK_WRITES:
                simulator.lose_answers(path)
        elif isinstance(simulator, JsonApiSimulator):
            simulator.hang_next(after_apply=True)
        elif isinstance(simulator, SmartairSimulator):
            simulator.inject("*", SmartairFault(hang=True, after_apply=True))
        else:
            raise ValueError(f"{name} cannot lose a reply in the demo")
        return f"{name} carries out its next call but its reply is lost."

    def _pms(self) -> Any:
        if self.demo.pms is None:
            raise ValueError("This demo has no simulated PMS.")
        return self.demo.pms

    def _simulator(self, name: str) -> object:
        vendor = next((v for v in self.demo.vendors if v.display_name == name), None)
        if vendor is None:
            raise ValueError(f"There is no demo vendor called {name}.")
        # A demo vendor's ``stop`` is its simulator's bound method: that is the simulator.
        return getattr(vendor.stop, "__self__", None)

    def _synced(self, done: str) -> str:
        # A full read: a change made within the same second as the last sync would fall
        # before the incremental cursor (Beds24 times have whole seconds).
        self.demo.context.services.pms.sync_once(full=True)
        self.demo.context.services.wake_engine()
        return done + " Synced."
