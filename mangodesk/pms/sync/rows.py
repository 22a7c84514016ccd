"""Booking rows as the database driver sees them, for the sync's per-page writes.

A full load stores tens of thousands of bookings; going through SQLAlchemy's per-row
parameter handling cost more than fetching and parsing them. Here each PMS copy becomes one
tuple of already-converted values (SQLAlchemy's own converters for this database, run once
per distinct value where values repeat), stored rows are read back raw in the same form, and
the two compare as tuples: an unchanged booking costs one comparison and is not written.
Statements go to the driver as they are, many rows per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from mangodesk.pms.base import PmsBooking
from mangodesk.store.driver import (
    CHUNK,
    Converted,
    bind_converter,
    chunks,
    positional_mark,
    result_converter,
)
from mangodesk.store.models import Booking

# The booking columns a PMS copy sets, in the order of a row's values.
PMS_COLUMNS = (
    "property_id", "status", "arrival", "departure", "arrival_time", "departure_time",
    "guest_name", "guest_email", "guest_phone", "channel", "arrival_note", "pms_member_ids",
    "language", "pms_modified_at",
)
MODIFIED_AT = PMS_COLUMNS.index("pms_modified_at")
MEMBERS = PMS_COLUMNS.index("pms_member_ids")
STATUS = PMS_COLUMNS.index("status")
_INSERTED = (*PMS_COLUMNS, "pms_id", "synced_at", "codes_stopped")


@dataclass
class StoredBooking:
    """A stored booking as the page sees it: its values as stored and its units, kept up to
    date as the page writes it."""

    id: int
    values: tuple[Any, ...]
    units: set[int]
    missing: bool


class BookingRows:
    """Converts PMS copies to driver values and reads and writes booking rows in bulk, on one
    database dialect. One per sync engine; its value caches live for one run."""

    def __init__(self, dialect: Dialect) -> None:
        self._mark = positional_mark(dialect)
        table = cast(Table, Booking.__table__)

        def converter(name: str) -> Callable[[Any], Any]:
            return bind_converter(table.c[name], dialect)

        self._status = Converted(converter("status"))
        self._arrival = Converted(converter("arrival"))
        self._departure = Converted(converter("departure"))
        self._arrival_time = Converted(converter("arrival_time"))
        self._departure_time = Converted(converter("departure_time"))
        self._modified = _quick_instants(converter("pms_modified_at"))
        self._synced = converter("synced_at")
        self._not_stopped = converter("codes_stopped")(False)
        self._modified_result = result_converter(table.c.pms_modified_at, dialect)
        columns = ", ".join(_INSERTED)
        self._insert_head = f"INSERT INTO booking ({columns}) VALUES "
        self._insert_row = "(" + ", ".join([self._mark] * len(_INSERTED)) + ")"
        sets = ", ".join(f"{name} = {self._mark}" for name in PMS_COLUMNS)
        self._update = (f"UPDATE booking SET {sets}, synced_at = {self._mark}, "
                        f"missing_from_pms_since = NULL WHERE id = {self._mark}")

    def start_run(self) -> None:
        for converted in (self._status, self._arrival, self._departure, self._arrival_time,
                          self._departure_time):
            converted.clear()

    # ------------------------------------------------------------------ values

    def values(self, property_id: int, incoming: PmsBooking) -> tuple[Any, ...]:
        """The row's PMS_COLUMNS values as the driver stores them."""
        name, email, phone = incoming.guest_name, incoming.guest_email, incoming.guest_phone
        channel, note, modified = incoming.channel, incoming.arrival_note, incoming.modified_at
        return (
            property_id,
            self._status[incoming.status],
            self._arrival[incoming.arrival],
            self._departure[incoming.departure],
            self._arrival_time[incoming.arrival_time],
            self._departure_time[incoming.departure_time],
            name[:200] if name else name,
            email[:320] if email else email,
            phone[:64] if phone else phone,
            channel[:64] if channel else channel,
            note[:200] if note else note,
            members_text(incoming),
            incoming.language,
            None if modified is None else self._modified(modified),
        )

    def instant(self, value: datetime) -> Any:
        """A UTC instant (synced_at) as the driver stores it."""
        return self._synced(value)

    def modified_at(self, stored: tuple[Any, ...]) -> datetime | None:
        """The stored row's PMS modified time as an aware datetime."""
        value = stored[MODIFIED_AT]
        if value is None:
            return None
        return cast(datetime, self._modified_result(value))

    # ------------------------------------------------------------------ statements

    def stored(self, conn: Connection, pms_ids: Iterable[str]) -> dict[str, StoredBooking]:
        """The stored bookings with these PMS numbers, by number, with their units."""
        found: dict[str, StoredBooking] = {}
        columns = ", ".join(PMS_COLUMNS)
        for chunk in chunks(sorted(set(pms_ids))):
            marks = ", ".join([self._mark] * len(chunk))
            for row in conn.exec_driver_sql(
                f"SELECT id, pms_id, missing_from_pms_since, {columns} FROM booking "
                f"WHERE pms_id IN ({marks})", tuple(chunk),
            ).all():
                found[row[1]] = StoredBooking(row[0], tuple(row[3:]), set(), row[2] is not None)
        by_id = {stored.id: stored for stored in found.values()}
        for ids in chunks(sorted(by_id)):
            marks = ", ".join([self._mark] * len(ids))
            for booking_id, unit_id in conn.exec_driver_sql(
                f"SELECT booking_id, unit_id FROM booking_unit WHERE booking_id IN ({marks})",
                tuple(ids),
            ).all():
                by_id[booking_id].units.add(unit_id)
        return found

    def insert(
        self, conn: Connection, rows: Sequence[tuple[Any, ...]], pms_ids: Sequence[str],
        synced_at: datetime,
    ) -> list[tuple[int, str]]:
        """New bookings (their values, and their PMS numbers in the same order): one
        multi-row INSERT per chunk that returns (id, PMS number) of each, in any order."""
        tail = (self.instant(synced_at), self._not_stopped)
        created: list[tuple[int, str]] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            params: list[Any] = []
            for values, pms_id in zip(chunk, pms_ids[start:start + CHUNK], strict=True):
                params += values
                params.append(pms_id)
                params += tail
            statement = (self._insert_head + ", ".join([self._insert_row] * len(chunk))
                         + " RETURNING id, pms_id")
            created += conn.exec_driver_sql(statement, tuple(params)).all()
        return created

    def update(
        self, conn: Connection, rows: Sequence[tuple[int, tuple[Any, ...]]],
        synced_at: datetime,
    ) -> None:
        """Changed bookings (id, values): every PMS column, synced now, no longer missing."""
        if rows:
            synced = self.instant(synced_at)
            conn.exec_driver_sql(
                self._update, [(*values, synced, booking_id) for booking_id, values in rows])

    def link(self, conn: Connection, links: Sequence[tuple[int, int]]) -> None:
        """(booking id, unit id) links to add."""
        pair = f"({self._mark}, {self._mark})"
        for chunk in chunks(links):
            conn.exec_driver_sql(
                "INSERT INTO booking_unit (booking_id, unit_id) VALUES "
                + ", ".join([pair] * len(chunk)), tuple(v for link in chunk for v in link))

    def unlink(self, conn: Connection, links: Sequence[tuple[int, int]]) -> None:
        """(booking id, unit id) links to remove."""
        if links:
            conn.exec_driver_sql(
                f"DELETE FROM booking_unit WHERE booking_id = {self._mark} "
                f"AND unit_id = {self._mark}", list(links))

    def leave_group(self, conn: Connection, booking_ids: Sequence[int],
                    synced_at: datetime) -> None:
        """Bookings absorbed into a group: no units, no group of their own, synced now."""
        if booking_ids:
            synced = self.instant(synced_at)
            conn.exec_driver_sql(
                f"DELETE FROM booking_unit WHERE booking_id = {self._mark}",
                [(booking_id,) for booking_id in booking_ids])
            conn.exec_driver_sql(
                f"UPDATE booking SET pms_member_ids = NULL, synced_at = {self._mark} "
                f"WHERE id = {self._mark}",
                [(synced, booking_id) for booking_id in booking_ids])


# Instants that must convert alike (whole seconds, microseconds, another zone, early years).
_INSTANT_SAMPLES = (
    datetime(2026, 6, 8, 9, 0, tzinfo=UTC),
    datetime(2031, 12, 31, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1001, 1, 2, 3, 4, 5, 6, tzinfo=timezone(-timedelta(hours=7))),
)


def _quick_instants(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's converter for an aware instant costs a few Python calls per row (UTC,
    then the dialect's text format); on SQLite that text is ``isoformat(" ")`` of the naive
    UTC time, done in C. Used only where it gives the very same values as ``convert``."""

    def quick(value: datetime) -> Any:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    if all(quick(sample) == convert(sample) for sample in _INSTANT_SAMPLES):
        return quick
    return convert

def members_text(incoming: PmsBooking) -> str | None:
    """",101,102,": every PMS number of the booking's rooms, searchable by LIKE."""
    members = [m for m in incoming.member_pms_ids if m]
    return "," + ",".join(members) + "," if members else None

