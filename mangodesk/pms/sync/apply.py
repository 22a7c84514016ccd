"""Applying what the PMS sent to the local copy: a page of bookings, a property and its units.

Bookings are matched by PMS number alone (a move to another property moves the row) and group
membership by content (which rooms the PMS lists now). A page's stored bookings are read in one
query as plain rows and compared with the PMS copies as tuples: new ones are inserted and changed
ones updated in a few driver-level statements per page (rows.py), unchanged ones not written.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
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
from mangodesk.pms.sync.rows import (
    MEMBERS,
    MODIFIED_AT,
    STATUS,
    BookingRows,
    StoredBooking,
)
from mangodesk.store.models import Alert, Booking, Property, Unit

log = logging.getLogger(__name__)

# A property list that suddenly drops more than this share of a property's active units
# (and at least UNIT_DROP_MIN of them) is held, not applied: "1 of 148 rooms" is a fault.
UNIT_DROP_SHARE = 0.5
UNIT_DROP_MIN = 3
INACTIVE_STATUSES = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
LIVE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class _GroupIndex:
    """Stored booking groups (two rooms or more) by the PMS number of each of their rooms.
    Tuples of numbers throughout: the garbage collector stops tracking them, so a big load's
    thousands of groups add nothing to its full collections (a set each did)."""

    def __init__(self) -> None:
        self._rooms: dict[str, tuple[str, ...]] = {}
        self._groups: dict[str, tuple[str, ...]] = {}

    def put(self, group_id: str, members: str | None) -> None:
        """The stored row ``group_id`` now lists ``members`` (",a,b," or None)."""
        if group_id not in self._rooms and (members is None or members.count(",") < 3):
            return  # a booking of one room that was no group either: nothing to index
        groups = self._groups
        for room in self._rooms.pop(group_id, ()):
            others = tuple(g for g in groups.get(room, ()) if g != group_id)
            if others:
                groups[room] = others
            else:
                groups.pop(room, None)
        rooms = _members_list(members)
        if len(rooms) >= 2:
            self._rooms[group_id] = tuple(rooms)
            for room in rooms:
                listing = groups.get(room, ())
                if group_id not in listing:
                    groups[room] = (*listing, group_id)

    def put_all(self, rooms_of: dict[str, str | None]) -> None:
        """``put`` for each (group id, members) of a page, skipping plain one-room ones."""
        indexed = self._rooms
        for group_id, members in rooms_of.items():
            if group_id in indexed or (members is not None and members.count(",") >= 3):
                self.put(group_id, members)

    def holding(self, rooms: Iterable[str], other_than: Container[str]) -> set[str]:
        """The stored groups that list one of ``rooms``, except those ``other_than``."""
        groups = self._groups
        if not groups:
            return set()
        return {group_id for room in rooms for group_id in groups.get(room, ())
                if group_id not in other_than}


@dataclass
class SyncMaps:
    """PMS ids → database ids for the properties and units this sync knows."""

    properties: dict[str, int] = field(default_factory=dict)
    # By property id, then the unit's PMS id.
    units: dict[int, dict[str, int]] = field(default_factory=dict)



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
        self._rows: BookingRows | None = None
        # When the run began on an empty booking table: the PMS numbers it has inserted,
        # the only ones a page can find stored (a first full load reads back nothing).
        self._inserted: set[str] | None = None

    def start_run(self, *, empty: bool = False) -> None:
        """A new run; ``empty``: the booking table holds no row yet."""
        self.pending_regroup = set()
        self._groups = None
        self._inserted = set() if empty else None
        if self._rows is not None:
            self._rows.start_run()

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
        conn = session.connection()
        rows = self._booking_rows(conn)
        lookup = set(wanted).union(*(b.member_pms_ids for _pid, b in wanted.values()))
        if self._inserted is not None:
            lookup &= self._inserted
        existing = rows.stored(conn, lookup) if lookup else {}
        now = self.clock.now()
        new_values: list[tuple[Any, ...]] = []
        new_ids: list[str] = []
        new_units: dict[str, list[int]] = {}
        changed_rows: list[tuple[int, tuple[Any, ...]]] = []
        links: list[tuple[int, int]] = []
        rooms_of: dict[str, str | None] = {}  # each booking's ",a,b," as written
        unlinks: list[tuple[int, int]] = []
        # Alerts to settle once the page is written (their text names the booking's units).
        became_tentative: list[int] = []
        to_clear: list[str] = []
        # Open "cannot be read" alerts of the stored bookings on this page (new ones have
        # none): by key, so the alert table is not scanned per page.
        stored_keys = [unreadable_alert_key(self.source, pms_id)
                       for pms_id in wanted if pms_id in existing]
        unreadable_open = set(session.scalars(select(Alert.dedupe_key).where(
            Alert.dedupe_key.in_(stored_keys),
            Alert.cleared_at.is_(None),
        ))) if stored_keys else set()
        no_units: dict[str, int] = {}
        for pms_id, (property_id, incoming) in wanted.items():
            unit_ids: list[int] = []
            unknown = False
            units_here = maps.units.get(property_id, no_units)
            for unit_pms_id in incoming.unit_pms_ids:
                unit_id = units_here.get(unit_pms_id)
                if unit_id is None:
                    self.unknown_units_seen = unknown = True
                    log.info("booking %s names unknown unit %s", incoming.pms_id, unit_pms_id)
                    continue
                if unit_id not in unit_ids:
                    unit_ids.append(unit_id)
            values = rows.values(property_id, incoming)
            rooms_of[pms_id] = values[MEMBERS]
            stored = existing.get(pms_id)
            if stored is None:
                new_values.append(values)
                new_ids.append(pms_id)
                new_units[pms_id] = unit_ids
                continue
            same_rooms = stored.values[MEMBERS] == values[MEMBERS]
            stored_modified = rows.modified_at(stored.values)
            if (
                same_rooms
                and stored_modified is not None
                and incoming.modified_at is not None
                and incoming.modified_at < stored_modified
            ):
                result.skipped += 1  # an older copy (overlapping window): ours is newer
                continue
            if incoming.modified_at is None:  # a missing modified time never erases ours
                values = (*values[:MODIFIED_AT], stored.values[MODIFIED_AT])
            was_status = stored.values[STATUS]
            changed = values != stored.values or stored.missing
            if stored.missing:
                to_clear.append(missing_alert_key(stored.id))
            stored.values, stored.missing = values, False
            if not unknown:  # rooms not read yet: units are settled once they are
                target = set(unit_ids)
                if stored.units != target and (target or incoming.status not in INACTIVE_STATUSES):
                    unlinks.extend((stored.id, u) for u in stored.units - target)
                    links.extend((stored.id, u) for u in unit_ids if u not in stored.units)
                    stored.units = target
                    changed = True
            if was_status in LIVE_STATUSES and incoming.status == BookingStatus.TENTATIVE:
                became_tentative.append(stored.id)
            elif was_status == BookingStatus.TENTATIVE and incoming.status in LIVE_STATUSES:
                to_clear.append(tentative_alert_key(stored.id))  # confirmed again
            if changed:
                changed_rows.append((stored.id, values))
                result.updated += 1
            if unreadable_alert_key(self.source, pms_id) in unreadable_open:
                to_clear.append(unreadable_alert_key(self.source, pms_id))
        rows.update(conn, changed_rows, now)
        rows.unlink(conn, unlinks)
        if new_values:
            # A full load is mostly new bookings: multi-row INSERTs that return the new ids
            # (no ORM object each, no read-back of what was just written).
            created = rows.insert(conn, new_values, new_ids, now)
            if self._inserted is not None:
                self._inserted.update(pms_id for _booking_id, pms_id in created)
            links.extend((booking_id, unit_id) for booking_id, pms_id in created
                         for unit_id in new_units.get(pms_id, ()))
            result.created += len(created)
        rows.link(conn, links)
        self._settle_membership(conn, rows, wanted, rooms_of, existing, result, now)
        for key in to_clear:
            self.alerts.clear(session, key, now)
        for booking_id in became_tentative:
            tentative = session.get(Booking, booking_id, populate_existing=True)
            if tentative is not None:
                self.alerts.no_longer_confirmed(session, tentative, now)

    def _booking_rows(self, conn: Connection) -> BookingRows:
        if self._rows is None:
            self._rows = BookingRows(conn.dialect)
        return self._rows

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
        session.flush()

    def _settle_membership(
        self,
        conn: Connection,
        rows: BookingRows,
        wanted: dict[str, tuple[int, PmsBooking]],
        rooms_of: dict[str, str | None],
        existing: dict[str, StoredBooking],
        result: SyncResult,
        now: datetime,
    ) -> None:
        """Rooms that changed group: a room now in a group is no longer a booking of its
        own (its unit moves to the group), and a group that lost a room to another booking
        gives that room's unit up (both on the rule of a room move)."""
        groups = self._group_index(conn)
        groups.put_all(rooms_of)
        absorbed_ids: list[int] = []
        # A room can only leave a booking of its own that is stored.
        for pms_id, (_property_id, incoming) in (wanted.items() if existing else ()):
            for member in incoming.member_pms_ids:
                absorbed = existing.get(member)
                if member == pms_id or absorbed is None or not absorbed.units:
                    continue
                absorbed.units = set()
                absorbed.values = (*absorbed.values[:MEMBERS], None,
                                   *absorbed.values[MEMBERS + 1:])
                groups.put(member, None)
                absorbed_ids.append(absorbed.id)
                result.updated += 1
                log.info("booking %s joined group %s", member, pms_id)
        rows.leave_group(conn, absorbed_ids, now)
        # Stored groups one of whose rooms now belongs to a booking of this page.
        self.pending_regroup |= groups.holding(
            (room for _property_id, incoming in wanted.values()
             for room in incoming.member_pms_ids), wanted)

    def _group_index(self, conn: Connection) -> _GroupIndex:
        if self._groups is None:
            self._groups = _GroupIndex()
            # Stored groups: two rooms or more (",a,b,").
            for group_id, members in conn.execute(
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
            maps.units.setdefault(property_id, {})[unit_pms_id] = uid
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


def _assign(obj: object, name: str, value: object) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        return True
    return False


def _members_list(text: str | None) -> list[str]:
    return [m for m in (text or "").split(",") if m]


