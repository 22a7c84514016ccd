"""Applying what the PMS sent to the local copy: a page of bookings, a property and its units.

Bookings are matched by PMS number alone (a move to another property moves the row) and group
membership by content (which rooms the PMS lists now). One multi-row INSERT per page for new
bookings; stored ones are updated field by field, only where something changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, selectinload

from mangodesk.domain.clock import Clock
from mangodesk.domain.types import BookingStatus
from mangodesk.pms.base import BookingPage, PmsBooking, PmsProperty
from mangodesk.pms.sync.alerts import (
    SyncAlerts,
    missing_alert_key,
    tentative_alert_key,
    unreadable_alert_key,
)
from mangodesk.pms.sync.progress import SyncResult
from mangodesk.store.models import Alert, Base, Booking, BookingUnit, Property, Unit

log = logging.getLogger(__name__)

# A property list that suddenly drops more than this share of a property's active units
# (and at least UNIT_DROP_MIN of them) is held, not applied: "1 of 148 rooms" is a fault.
UNIT_DROP_SHARE = 0.5
UNIT_DROP_MIN = 3
INACTIVE_STATUSES = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
LIVE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class _GroupIndex:
    """Stored booking groups (two rooms or more) by the PMS number of each of their rooms."""

    def __init__(self) -> None:
        self._rooms: dict[str, list[str]] = {}
        self._groups: dict[str, set[str]] = {}

    def put(self, group_id: str, members: str | None) -> None:
        """The stored row ``group_id`` now lists ``members`` (",a,b," or None)."""
        for room in self._rooms.pop(group_id, ()):
            listing = self._groups.get(room)
            if listing is not None:
                listing.discard(group_id)
        rooms = _members_list(members)
        if len(rooms) >= 2:
            self._rooms[group_id] = rooms
            for room in rooms:
                self._groups.setdefault(room, set()).add(group_id)

    def listing(self, room: str) -> set[str]:
        return self._groups.get(room, set())


@dataclass
class SyncMaps:
    """PMS ids → database ids for the properties and units this sync knows."""

    properties: dict[str, int] = field(default_factory=dict)
    units: dict[tuple[int, str], int] = field(default_factory=dict)



class PageApplier:
    """Applies pages of bookings for one PMS source. Lives as long as its sync engine: it
    remembers whether a booking named a unit not read yet (so the next run re-reads the
    rooms) and, during a run, the stored groups that lost a room to a booking of a page."""

    def __init__(self, source: str, clock: Clock, alerts: SyncAlerts) -> None:
        self.source = source
        self.clock = clock
        self.alerts = alerts
        self.unknown_units_seen = False
        # Stored groups that lost a room to another booking this run: re-read at its end.
        self.pending_regroup: set[str] = set()
        # Stored groups (two rooms or more) by room number, read once per run and kept up to
        # date page by page, so no page scans every stored group.
        self._groups: _GroupIndex | None = None

    def start_run(self) -> None:
        self.pending_regroup = set()
        self._groups = None

    def apply(
        self, session: Session, page: BookingPage, maps: SyncMaps, result: SyncResult
    ) -> None:
        """Apply one page. Bookings are matched by PMS number alone (a booking moved to
        another property is moved), group membership by content (which rooms the PMS lists
        now), never by comparing modified times across rooms."""
        wanted: dict[str, tuple[int, PmsBooking]] = {}
        elsewhere: list[str] = []
        for booking in page.bookings:
            property_id = maps.properties.get(booking.property_pms_id)
            if property_id is None:
                result.skipped += 1
                elsewhere.append(booking.pms_id)
                continue
            wanted[booking.pms_id] = (property_id, booking)
        if elsewhere:
            self._release_moved_away(session, elsewhere, result)
        if not wanted:
            return
        members = {m for _pid, b in wanted.values() for m in b.member_pms_ids}
        existing = {
            b.pms_id: b
            for b in session.scalars(
                select(Booking)
                .where(Booking.pms_id.in_(set(wanted) | members))
                .options(selectinload(Booking.units))
            )
        }
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        new_units: dict[str, list[int]] = {}
        # Open "cannot be read" alerts of the stored bookings on this page (new ones have
        # none): by key, so the alert table is not scanned per page.
        stored_keys = [unreadable_alert_key(self.source, pms_id)
                       for pms_id in wanted if pms_id in existing]
        unreadable_open = set(session.scalars(select(Alert.dedupe_key).where(
            Alert.dedupe_key.in_(stored_keys),
            Alert.cleared_at.is_(None),
        ))) if stored_keys else set()
        for pms_id, (property_id, incoming) in wanted.items():
            unit_ids: list[int] = []
            unknown = False
            for unit_pms_id in incoming.unit_pms_ids:
                unit_id = maps.units.get((property_id, unit_pms_id))
                if unit_id is None:
                    self.unknown_units_seen = unknown = True
                    log.info("booking %s names unknown unit %s", incoming.pms_id, unit_pms_id)
                    continue
                if unit_id not in unit_ids:
                    unit_ids.append(unit_id)
            stored = existing.get(pms_id)
            if stored is None:
                new_rows.append({"property_id": property_id, "pms_id": incoming.pms_id,
                                 "synced_at": now, **_fields(incoming)})
                new_units[pms_id] = unit_ids
                continue
            same_rooms = stored.pms_member_ids == _members_text(incoming)
            if (
                same_rooms
                and stored.pms_modified_at is not None
                and incoming.modified_at is not None
                and incoming.modified_at < stored.pms_modified_at
            ):
                result.skipped += 1  # an older copy (overlapping window): ours is newer
                continue
            was_live = stored.status in LIVE_STATUSES
            was_tentative = stored.status == BookingStatus.TENTATIVE
            changed = _assign(stored, "property_id", property_id)
            changed |= _copy_fields(stored, incoming)
            if not unknown:  # rooms not read yet: units are settled once they are
                changed |= _set_units(stored, unit_ids, incoming.status)
            if stored.missing_from_pms_since is not None:
                stored.missing_from_pms_since = None
                changed = True
                self.alerts.clear(session, missing_alert_key(stored.id), now)
            if was_live and stored.status == BookingStatus.TENTATIVE:
                self.alerts.no_longer_confirmed(session, stored, now)
            elif was_tentative and stored.status in LIVE_STATUSES:
                self.alerts.clear(session, tentative_alert_key(stored.id), now)  # confirmed again
            if changed:
                stored.synced_at = now
                result.updated += 1
            if unreadable_alert_key(self.source, pms_id) in unreadable_open:
                self.alerts.clear(session, unreadable_alert_key(self.source, pms_id), now)
        if new_rows:
            # A full load is mostly new bookings: one multi-row INSERT per page that returns
            # the new ids (no ORM object each, no read-back of what was just written).
            table = _table(Booking)
            created = session.execute(
                # Rows come back in any order: each names its PMS number.
                insert(table).returning(table.c.id, table.c.pms_id),
                new_rows,
            ).all()
            links = [
                {"booking_id": booking_id, "unit_id": unit_id}
                for booking_id, pms_id in created
                for unit_id in new_units.get(pms_id, ())
            ]
            if links:
                session.execute(insert(_table(BookingUnit)), links)
            result.created += len(created)
        self._settle_membership(session, wanted, existing, result, now)

    def _release_moved_away(
        self, session: Session, pms_ids: Sequence[str], result: SyncResult
    ) -> None:
        """A stored booking now at a property Mangodesk does not sync gives its units up
        here (on the rule of a room move); the row itself stays."""
        for booking in session.scalars(
            select(Booking).where(Booking.pms_id.in_(pms_ids))
            .options(selectinload(Booking.units))
        ):
            if booking.units:
                booking.units = []
                booking.synced_at = self.clock.now()
                result.updated += 1
                log.info("booking %s moved to a property not synced", booking.pms_id)

    def _settle_membership(
        self,
        session: Session,
        wanted: dict[str, tuple[int, PmsBooking]],
        existing: dict[str, Booking],
        result: SyncResult,
        now: datetime,
    ) -> None:
        """Rooms that changed group: a room now in a group is no longer a booking of its
        own (its unit moves to the group), and a group that lost a room to another booking
        gives that room's unit up (both on the rule of a room move)."""
        groups = self._group_index(session)
        for pms_id, (_property_id, incoming) in wanted.items():
            groups.put(pms_id, _members_text(incoming))
        for pms_id, (_property_id, incoming) in wanted.items():
            for member in incoming.member_pms_ids:
                absorbed = existing.get(member)
                if member == pms_id or absorbed is None or not absorbed.units:
                    continue
                absorbed.units = []
                absorbed.pms_member_ids = None
                groups.put(member, None)
                absorbed.synced_at = now
                result.updated += 1
                log.info("booking %s joined group %s", member, pms_id)
        if not wanted:
            return
        # Stored groups one of whose rooms now belongs to a booking of this page.
        self.pending_regroup.update(
            group_id
            for _property_id, incoming in wanted.values()
            for room in incoming.member_pms_ids
            for group_id in groups.listing(room)
            if group_id not in wanted
        )

    def _group_index(self, session: Session) -> _GroupIndex:
        if self._groups is None:
            self._groups = _GroupIndex()
            # Stored groups: two rooms or more (",a,b,").
            for group_id, members in session.execute(
                select(Booking.pms_id, Booking.pms_member_ids)
                .where(Booking.pms_member_ids.like("%,%,%,%"))
            ):
                self._groups.put(group_id, members)
        return self._groups


def load_maps(session: Session) -> SyncMaps:
    maps = SyncMaps()
    for pid, pms_id in session.execute(
        select(Property.id, Property.pms_id).where(Property.pms_id.is_not(None))
    ):
        if pms_id is not None:
            maps.properties[pms_id] = pid
    for uid, property_id, unit_pms_id in session.execute(
        select(Unit.id, Unit.property_id, Unit.pms_id).where(Unit.pms_id.is_not(None))
    ):
        if unit_pms_id is not None:
            maps.units[(property_id, unit_pms_id)] = uid
    return maps


def upsert_property(session: Session, incoming: PmsProperty) -> tuple[int, int, int]:
    """Create or update one property and its units. Returns (units added, units made
    inactive, units held). A reply that would make more than UNIT_DROP_SHARE of the active
    units (and at least UNIT_DROP_MIN) inactive is held: nothing is deactivated, the count
    is returned for an alert. A reply without any unit deactivates nothing either."""
    prop = session.scalars(select(Property).where(Property.pms_id == incoming.pms_id)).first()
    if prop is None:
        prop = Property(
            pms_id=incoming.pms_id,
            name=incoming.name,
            timezone=incoming.timezone,
            checkin_time=incoming.checkin_time,
            checkout_time=incoming.checkout_time,
        )
        session.add(prop)
        session.flush()
    else:
        _assign(prop, "name", incoming.name)
        _assign(prop, "timezone", incoming.timezone)
        _assign(prop, "checkin_time", incoming.checkin_time)
        _assign(prop, "checkout_time", incoming.checkout_time)
    units = {
        u.pms_id: u
        for u in session.scalars(select(Unit).where(Unit.property_id == prop.id))
        if u.pms_id is not None
    }
    added = 0
    for pms_unit in incoming.units:
        unit = units.get(pms_unit.pms_id)
        if unit is None:
            unit = Unit(
                property_id=prop.id,
                pms_id=pms_unit.pms_id,
                name=pms_unit.name,
                kind=pms_unit.kind,
                active=True,
                sort_order=pms_unit.sort_order,
            )
            session.add(unit)
            units[pms_unit.pms_id] = unit
            added += 1
        else:
            _assign(unit, "name", pms_unit.name)
            _assign(unit, "kind", pms_unit.kind)
            _assign(unit, "sort_order", pms_unit.sort_order)
            _assign(unit, "active", True)
    session.flush()
    for pms_unit in incoming.units:
        parent = units.get(pms_unit.parent_pms_id) if pms_unit.parent_pms_id else None
        _assign(units[pms_unit.pms_id], "parent_id", parent.id if parent else None)
    listed = {u.pms_id for u in incoming.units}
    leaving = [u for pms_id, u in units.items() if pms_id not in listed and u.active]
    if not incoming.units:
        return added, 0, 0
    active_before = sum(1 for u in units.values() if u.active) - added
    if len(leaving) >= UNIT_DROP_MIN and len(leaving) > UNIT_DROP_SHARE * active_before:
        return added, 0, len(leaving)
    for unit in leaving:
        unit.active = False
    return added, len(leaving), 0


def _table(model: type[Base]) -> Table:
    """The Core table behind a model, for executemany inserts."""
    return cast(Table, model.__table__)


def _assign(obj: object, name: str, value: object) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        return True
    return False


def _fields(incoming: PmsBooking) -> dict[str, Any]:
    """Booking columns from the PMS copy (a missing modified time never erases ours)."""
    fields: dict[str, Any] = {
        "status": incoming.status,
        "arrival": incoming.arrival,
        "departure": incoming.departure,
        "arrival_time": incoming.arrival_time,
        "departure_time": incoming.departure_time,
        "guest_name": _clip(incoming.guest_name, 200),
        "guest_email": _clip(incoming.guest_email, 320),
        "guest_phone": _clip(incoming.guest_phone, 64),
        "channel": _clip(incoming.channel, 64),
        "arrival_note": _clip(incoming.arrival_note, 200),
        "pms_member_ids": _members_text(incoming),
        "language": incoming.language,
    }
    if incoming.modified_at is not None:
        fields["pms_modified_at"] = incoming.modified_at
    return fields


def _copy_fields(booking: Booking, incoming: PmsBooking) -> bool:
    changed = False
    for name, value in _fields(incoming).items():
        changed |= _assign(booking, name, value)
    return changed


def _set_units(booking: Booking, unit_ids: Sequence[int], status: BookingStatus) -> bool:
    """Make the booking's units match the PMS. A booking the PMS now shows without a room
    ("unallocated") gives its units up, on the rule of a room move; a cancelled one keeps
    them so the right code is revoked."""
    current = {link.unit_id for link in booking.units}
    target = set(unit_ids)
    if not target and status in INACTIVE_STATUSES:
        return False
    if current == target:
        return False
    booking.units = [link for link in booking.units if link.unit_id in target] + [
        BookingUnit(unit_id=u) for u in unit_ids if u not in current
    ]
    return True


def _members_text(incoming: PmsBooking) -> str | None:
    """",101,102,": every PMS number of the booking's rooms, searchable by LIKE."""
    members = [m for m in incoming.member_pms_ids if m]
    return "," + ",".join(members) + "," if members else None


def _members_list(text: str | None) -> list[str]:
    return [m for m in (text or "").split(",") if m]


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else value
