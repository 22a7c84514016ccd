"""Reading Beds24's answers, with no I/O: cursors, properties and their rooms, booking
statuses, booking groups merged into one booking, guests' free-text arrival times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from mangodesk.domain.types import BookingStatus, UnitKind
from mangodesk.pms.base import (
    PmsBooking,
    PmsError,
    PmsProperty,
    PmsUnit,
    UnreadableBooking,
    guest_language,
)
from mangodesk.pms.beds24.errors import malformed

_APARTMENT_ROOM_TYPES = {
    "apartment", "studio", "holidayHome", "villa", "chalet", "bungalow", "mobileHome",
}
_ARRIVAL_TIME = re.compile(
    r"(?<![\d:.])(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h|uhr)?(?![\d])",
    re.IGNORECASE,
)


def format_cursor(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_cursor(cursor: str) -> datetime:
    try:
        value = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PmsError(
            f"The stored sync position {cursor!r} is not a time.",
            "Run a full sync (mangodesk sync --full).",
            transient=False,
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)



def server_time(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def checked_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PmsError(
            f"The time zone {name!r} is not known.",
            "Use a zone name such as Europe/Berlin or America/New_York.",
            transient=False,
        ) from exc
    return name



def _clock_time(value: Any, default: time) -> time:
    if not isinstance(value, str):
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        return default


def parse_arrival_time(text: Any) -> time | None:
    """Guests type anything ("15:30", "around 18:30", "3pm", "late"): the first thing that
    clearly is a clock time, else None. For staff to read only, never a code's start."""
    if not isinstance(text, str) or not text.strip():
        return None
    for match in _ARRIVAL_TIME.finditer(text):
        found = _clock_of(match, alone=match.group(0).strip() == text.strip())
        if found is not None:
            return found
    return None


def _clock_of(match: re.Match[str], *, alone: bool) -> time | None:
    hour = int(match.group(1))
    minute = int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower().replace(".", "")
    if not alone and not match.group(2) and meridiem not in ("am", "pm", "h", "uhr"):
        return None  # a bare number ("2 guests") is not a time
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def unit_pms_id(room_id: int, unit_id: int) -> str:
    return f"{room_id}-{unit_id}"


def parse_property(raw: Any, timezone: str) -> PmsProperty:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        raise malformed("a property", "it has no id")
    pid = raw["id"]
    units: list[PmsUnit] = []
    rooms = raw.get("roomTypes") or []
    if not isinstance(rooms, list):
        raise malformed(f"property {pid}", "its rooms are not a list")
    for order, room in enumerate(rooms):
        units.extend(parse_room_units(room, order))
    return PmsProperty(
        pms_id=str(pid),
        name=str(raw.get("name") or f"Property {pid}"),
        timezone=timezone,
        checkin_time=_clock_time(raw.get("checkInStart"), time(15, 0)),
        checkout_time=_clock_time(raw.get("checkOutEnd"), time(11, 0)),
        units=tuple(units),
    )


def parse_room_units(room: Any, order: int) -> list[PmsUnit]:
    """A Beds24 room is a room *type* with ``qty`` physical units. Each unit becomes a
    PmsUnit; with per-guest allocation (dormitories) the units are beds under one parent."""
    if not isinstance(room, dict) or not isinstance(room.get("id"), int):
        raise malformed("a room", "it has no id")
    room_id = room["id"]
    name = str(room.get("name") or f"Room {room_id}")
    kind = UnitKind.APARTMENT if room.get("roomType") in _APARTMENT_ROOM_TYPES else UnitKind.ROOM
    raw_units = room.get("units")
    listed: list[tuple[int, str]] = []
    if isinstance(raw_units, list):
        for raw_unit in raw_units:
            if isinstance(raw_unit, dict) and isinstance(raw_unit.get("id"), int):
                listed.append((raw_unit["id"], str(raw_unit.get("name") or raw_unit["id"])))
    if not listed:
        qty_value = room.get("qty")
        qty = qty_value if isinstance(qty_value, int) and qty_value > 0 else 1
        listed = [(n, name if qty == 1 else f"{name} {n}") for n in range(1, qty + 1)]
    listed = _distinct(listed)
    base_order = order * 1000
    if room.get("unitAllocation") == "perGuest":
        parent = PmsUnit(pms_id=str(room_id), name=name, kind=kind, sort_order=base_order)
        beds = [
            PmsUnit(
                pms_id=unit_pms_id(room_id, uid),
                name=f"{name} – {uname}",
                kind=UnitKind.BED,
                parent_pms_id=parent.pms_id,
                sort_order=base_order + i + 1,
            )
            for i, (uid, uname) in enumerate(listed)
        ]
        return [parent, *beds]
    return [
        PmsUnit(
            pms_id=unit_pms_id(room_id, uid),
            name=_physical_unit_name(name, uname, uid, len(listed)),
            kind=kind,
            sort_order=base_order + i,
        )
        for i, (uid, uname) in enumerate(listed)
    ]


def _distinct(listed: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Units of one room that share a name ("Bed", "Bed") get their number added, so staff
    can tell the beds of a dormitory apart."""
    counts: dict[str, int] = {}
    for _uid, uname in listed:
        counts[uname] = counts.get(uname, 0) + 1
    return [(uid, uname if counts[uname] == 1 else f"{uname} {uid}") for uid, uname in listed]


def _physical_unit_name(room_name: str, unit_name: str, unit_id: int, count: int) -> str:
    """A bare unit number ("101") says little in a guest email: prefix the room type
    ("Double room 101"). Descriptive unit names are kept as Beds24 has them."""
    if count == 1 and unit_name == str(unit_id):
        return room_name
    if unit_name.isdigit():
        return f"{room_name} {unit_name}"
    return unit_name


def map_status(status: Any, sub_status: Any) -> BookingStatus:
    """Beds24 status (+ subStatus) → the normalised status. Unknown statuses are tentative
    (no code), never cancelled: only an explicit cancellation revokes."""
    if sub_status == "noShow":
        return BookingStatus.NO_SHOW
    if status == "cancelled":
        return BookingStatus.CANCELLED
    if status in ("confirmed", "new"):
        return BookingStatus.CONFIRMED
    return BookingStatus.TENTATIVE  # request, inquiry, black (a block, not a guest), unknown


def _parse_date(value: Any, booking_id: Any, name: str) -> date:
    if not isinstance(value, str):
        raise malformed(f"booking {booking_id}", f"its {name} date is missing")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise malformed(f"booking {booking_id}", f"its {name} date {value!r} is invalid") from exc


def parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Room:
    """One Beds24 booking (one room of a possible group), validated."""

    id: int
    property_id: int
    master_id: int | None
    unit: str | None
    status: BookingStatus
    arrival: date
    departure: date
    raw: dict[str, Any]


def _parse_room_booking(raw: dict[str, Any]) -> _Room:
    bid = raw.get("id")
    if not isinstance(bid, int):
        raise malformed("a booking", "it has no id")
    prop = raw.get("propertyId")
    if not isinstance(prop, int):
        raise malformed(f"booking {bid}", "it has no property")
    arrival = _parse_date(raw.get("arrival"), bid, "arrival")
    departure = _parse_date(raw.get("departure"), bid, "departure")
    if departure < arrival:
        raise malformed(f"booking {bid}", "it departs before it arrives")
    room_id = raw.get("roomId")
    unit_id = raw.get("unitId")
    unit = (
        unit_pms_id(room_id, unit_id)
        if isinstance(room_id, int) and isinstance(unit_id, int) and unit_id > 0
        else None
    )
    master = raw.get("masterId")
    group = raw.get("bookingGroup")
    if isinstance(group, dict) and isinstance(group.get("master"), int):
        master = group["master"]
    return _Room(
        id=bid,
        property_id=prop,
        master_id=master if isinstance(master, int) and master > 0 else None,
        unit=unit,
        status=map_status(raw.get("status"), raw.get("subStatus")),
        arrival=arrival,
        departure=departure,
        raw=raw,
    )


_STATUS_RANK = {
    BookingStatus.CHECKED_IN: 0,
    BookingStatus.CONFIRMED: 1,
    BookingStatus.CHECKED_OUT: 2,
    BookingStatus.TENTATIVE: 3,
    BookingStatus.NO_SHOW: 4,
    BookingStatus.CANCELLED: 5,
}


def merge_groups(raw_bookings: Sequence[dict[str, Any]]) -> list[PmsBooking]:
    """Map Beds24 bookings to PmsBookings; the rooms of a group become one booking (id =
    the master's id) whose units are the rooms still booked. Raises on any unreadable one."""
    bookings, unreadable = read_bookings(raw_bookings)
    if unreadable:
        raise malformed(f"booking {unreadable[0].pms_id}", unreadable[0].reason)
    return bookings


def read_bookings(
    raw_bookings: Sequence[dict[str, Any]],
) -> tuple[list[PmsBooking], list[UnreadableBooking]]:
    """Like :func:`merge_groups`, but a booking that cannot be read is set aside (with its
    group: a group is only ever applied whole) instead of failing the others."""
    groups: dict[int, list[_Room]] = {}
    order: list[int] = []
    bad: dict[str, str] = {}
    for raw in raw_bookings:
        key = group_key(raw)
        try:
            room = _parse_room_booking(raw)
        except PmsError as exc:
            name = str(key) if key is not None else "?"
            reason = exc.message.removeprefix("Beds24 sent ").removesuffix(".")
            bad.setdefault(name, reason)
            continue
        key = room.master_id or room.id
        if key not in groups:
            groups[key] = []
            order.append(key)
        if all(existing.id != room.id for existing in groups[key]):
            groups[key].append(room)
    bookings = [_group_booking(key, groups[key]) for key in order if str(key) not in bad]
    return bookings, [UnreadableBooking(pms_id, reason) for pms_id, reason in bad.items()]


def group_key(raw: Any) -> int | None:
    """The number a Beds24 booking is stored under: its group's master, else its own."""
    if not isinstance(raw, dict):
        return None
    group = raw.get("bookingGroup")
    master = group.get("master") if isinstance(group, dict) else None
    if not isinstance(master, int) or master <= 0:
        master = raw.get("masterId")
    if isinstance(master, int) and master > 0:
        return master
    own = raw.get("id")
    return own if isinstance(own, int) else None


def whole_groups(
    rooms: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[UnreadableBooking]]:
    """Rooms of complete groups, and the groups Beds24 did not send whole even when asked
    (set aside: a missing room must never look like a room given up)."""
    complete, partial = split_partial_groups(rooms)
    keys = sorted({str(group_key(b)) for b in partial})
    return complete, [
        UnreadableBooking(key, "Beds24 did not send every room of this booking group")
        for key in keys
    ]


def split_partial_groups(
    rooms: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rooms whose group is all here, rooms of groups only partly here)."""
    present = {b.get("id") for b in rooms}
    partial_keys: set[int | None] = set()
    for booking in rooms:
        group = booking.get("bookingGroup")
        ids = group.get("ids") if isinstance(group, dict) else None
        master = booking.get("masterId")
        if isinstance(ids, list):
            if any(i not in present for i in ids):
                partial_keys.add(group_key(booking))
        elif isinstance(master, int) and master > 0 and master not in present:
            partial_keys.add(group_key(booking))
    if not partial_keys:
        return list(rooms), []
    complete: list[dict[str, Any]] = []
    partial: list[dict[str, Any]] = []
    for booking in rooms:
        (partial if group_key(booking) in partial_keys else complete).append(booking)
    return complete, partial


def _group_booking(key: int, rooms: list[_Room]) -> PmsBooking:
    rooms.sort(key=lambda r: (r.id != key, r.id))
    live = [r for r in rooms if r.status not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)]
    basis = live or rooms
    status = min((r.status for r in basis), key=lambda s: _STATUS_RANK[s])
    units: list[str] = []
    for room in basis:
        if room.unit is not None and room.unit not in units:
            units.append(room.unit)
    lead = rooms[0].raw
    first = str(lead.get("firstName") or "").strip()
    last = str(lead.get("lastName") or "").strip()
    name = " ".join(p for p in (first, last) if p) or None
    guests = lead.get("guests")
    if name is None and isinstance(guests, list) and guests and isinstance(guests[0], dict):
        g = guests[0]
        name = " ".join(str(g.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
        name = name or None
    modified = [m for m in (parse_instant(r.raw.get("modifiedTime")) for r in rooms) if m]
    # apiSource is the name Beds24 shows staff ("Booking.com", "Airbnb.com", "Direct").
    channel = lead.get("apiSource") or lead.get("channel") or "Direct"
    return PmsBooking(
        pms_id=str(key),
        property_pms_id=str(rooms[0].property_id),
        status=status,
        arrival=min(r.arrival for r in basis),
        departure=max(r.departure for r in basis),
        unit_pms_ids=tuple(units),
        arrival_time=parse_arrival_time(lead.get("arrivalTime")),
        arrival_note=str(lead.get("arrivalTime") or "").strip()[:200] or None,
        member_pms_ids=tuple(str(r.id) for r in rooms),
        guest_name=name,
        guest_email=(str(lead["email"]).strip() or None) if lead.get("email") else None,
        guest_phone=str(lead.get("mobile") or lead.get("phone") or "").strip() or None,
        channel=str(channel)[:64],
        modified_at=max(modified) if modified else None,
        language=guest_language(lead.get("lang")),
    )
