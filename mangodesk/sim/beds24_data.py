"""Sample data for the Beds24 simulator: a hotel of configurable size with rooms, an apartment
and a dormitory of beds, and bookings around "today" from several channels, with
cancellations, no-shows and multi-room groups. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

FIRST_NAMES = [
    "Anna", "Ben", "Chloé", "David", "Elif", "Felix", "Grace", "Hiro", "Ingrid", "Jonas",
    "Kaya", "Luca", "Maja", "Nils", "Olga", "Pablo", "Queenie", "Rosa", "Sven", "Tariq",
    "Ulla", "Viktor", "Wen", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito",
    "Jensen", "Kowalski", "Larsen", "Müller", "Nowak", "Olsen", "Petit", "Rossi", "Schmidt",
    "Tanaka", "Underwood", "Virtanen", "Weber", "Yilmaz", "Zimmermann",
]
# (Beds24 channel, apiSource, share). Direct bookings carry no channel in Beds24.
CHANNELS: list[tuple[str | None, str, float]] = [
    ("booking", "Booking.com", 0.45),
    ("airbnb", "Airbnb.com", 0.25),
    ("expedia", "Expedia", 0.10),
    (None, "Direct", 0.20),
]
ARRIVAL_TIMES = ["", "", "", "16:00", "18:30", "late evening", "2pm", "around 20h", "14:00"]


@dataclass
class SimRoom:
    id: int
    property_id: int
    name: str
    room_type: str
    unit_allocation: str  # perBooking | perGuest
    units: list[tuple[int, str]]

    @property
    def qty(self) -> int:
        return len(self.units)


@dataclass
class SimProperty:
    id: int
    name: str
    property_type: str = "hotel"
    check_in_start: str = "15:00"
    check_in_end: str = "22:00"
    check_out_end: str = "11:00"
    rooms: list[SimRoom] = field(default_factory=list)


@dataclass
class SimBooking:
    id: int
    property_id: int
    room_id: int
    unit_id: int
    arrival: date
    departure: date
    status: str = "confirmed"
    sub_status: str = "none"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    channel: str | None = None
    api_source: str = "Direct"
    arrival_time: str = ""
    # Beds24's "lang": the guest's language, two letters as Beds24 keeps it ("" when unknown).
    language: str = ""
    num_adult: int = 2
    master_id: int | None = None
    booking_time: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    modified_time: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    cancel_time: datetime | None = None
    # Booking info items: {"id", "code", "text", "createTime"} (door codes are written here).
    info_items: list[dict[str, Any]] = field(default_factory=list)
    # Raw JSON fields served instead of the real ones (a damaged booking).
    raw_overrides: dict[str, Any] = field(default_factory=dict)


def build_property(property_id: int = 100001, rooms: int = 24) -> SimProperty:
    """A city hotel: doubles, twins and suites numbered by floor, a garden apartment, and a
    six-bed dormitory whose beds are booked one by one (Beds24 ``perGuest`` allocation)."""
    prop = SimProperty(id=property_id, name="Hotel Mango")
    rooms = max(rooms, 3)
    doubles = max(1, rooms // 2)
    twins = max(1, rooms // 4)
    suites = max(1, rooms - doubles - twins)
    numbers = iter(
        f"{floor}{n:02d}" for floor in range(1, 100) for n in range(1, 21)
    )
    room_id = property_id * 10
    for name, room_type, count in (
        ("Double room", "double", doubles),
        ("Twin room", "twin", twins),
        ("Suite", "suite", suites),
    ):
        room_id += 1
        prop.rooms.append(
            SimRoom(
                id=room_id,
                property_id=property_id,
                name=name,
                room_type=room_type,
                unit_allocation="perBooking",
                units=[(i + 1, next(numbers)) for i in range(count)],
            )
        )
    prop.rooms.append(
        SimRoom(room_id + 1, property_id, "Garden apartment", "apartment", "perBooking",
                [(1, "Garden apartment")])
    )
    prop.rooms.append(
        SimRoom(room_id + 2, property_id, "Shared dorm", "bedInDormitory", "perGuest",
                [(i, f"Bed {i}") for i in range(1, 7)])
    )
    return prop


def build_bookings(
    prop: SimProperty,
    today: date,
    now: datetime,
    *,
    count: int | None = None,
    days_before: int = 14,
    days_after: int = 60,
    seed: int = 7,
    first_id: int = 50000001,
) -> list[SimBooking]:
    """Fill the units day by day from ``today - days_before``: stays of 1–7 nights with gaps,
    some multi-room groups, some cancelled. With ``count`` the calendar grows until that many
    bookings exist; otherwise it stops ``days_after`` days after today."""
    rng = random.Random(seed)
    units = [(room, uid) for room in prop.rooms for uid, _name in room.units]
    free_from = {(room.id, uid): today - timedelta(days=days_before) for room, uid in units}
    bookings: list[SimBooking] = []
    next_id = first_id
    day = today - timedelta(days=days_before)
    end = today + timedelta(days=days_after)
    while (count is not None and len(bookings) < count) or (count is None and day <= end):
        free_now = [(room, uid) for room, uid in units if free_from[(room.id, uid)] <= day]
        rng.shuffle(free_now)
        taken: set[tuple[int, int]] = set()
        for room, uid in free_now:
            if (room.id, uid) in taken or (count is not None and len(bookings) >= count):
                continue
            if rng.random() < 0.25:  # stays empty tonight
                free_from[(room.id, uid)] = day + timedelta(days=1)
                continue
            nights = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5, 7])
            members = [(room, uid)]
            if rng.random() < 0.05:  # a family or group books more than one room
                partners = [
                    (r, u) for r, u in free_now
                    if (r.id, u) not in taken and (r.id, u) != (room.id, uid)
                    and r.unit_allocation == "perBooking"
                ]
                members += partners[: rng.choice([1, 1, 2])]
            guest = _guest(rng)
            channel, source = _channel(rng)
            booked = datetime.combine(day, datetime.min.time(), UTC) - timedelta(
                days=rng.randint(1, 90), minutes=rng.randint(0, 1439))
            if booked > now:  # far-future stays were booked some time before now
                booked = now - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1439))
            status, sub_status, cancelled = _status(rng, day, today)
            master = next_id if len(members) > 1 else None
            for member_room, member_unit in members:
                taken.add((member_room.id, member_unit))
                booking = SimBooking(
                    id=next_id,
                    property_id=prop.id,
                    room_id=member_room.id,
                    unit_id=member_unit,
                    arrival=day,
                    departure=day + timedelta(days=nights),
                    status=status,
                    sub_status=sub_status,
                    channel=channel,
                    api_source=source,
                    arrival_time=rng.choice(ARRIVAL_TIMES),
                    num_adult=rng.choice([1, 2, 2, 2, 3]),
                    master_id=master,
                    booking_time=booked,
                    modified_time=booked,
                    first_name=guest["first_name"],
                    last_name=guest["last_name"],
                    email=guest["email"],
                    phone=guest["phone"],
                )
                if cancelled:
                    booking.cancel_time = min(now, booked + timedelta(days=rng.randint(0, 10)))
                    booking.modified_time = booking.cancel_time
                next_id += 1
                bookings.append(booking)
                if not cancelled:
                    free_from[(member_room.id, member_unit)] = booking.departure
        day += timedelta(days=1)
    return bookings


def _guest(rng: random.Random) -> dict[str, str]:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    ascii_last = last.encode("ascii", "ignore").decode().lower() or "guest"
    ascii_first = first.encode("ascii", "ignore").decode().lower() or "guest"
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{ascii_first}.{ascii_last}@example.com",
        "phone": f"+49 30 5550 {rng.randint(1000, 9999)}",
    }


def _channel(rng: random.Random) -> tuple[str | None, str]:
    pick = rng.random()
    total = 0.0
    for channel, source, share in CHANNELS:
        total += share
        if pick < total:
            return channel, source
    return CHANNELS[-1][0], CHANNELS[-1][1]


def _status(rng: random.Random, arrival: date, today: date) -> tuple[str, str, bool]:
    """(status, subStatus, cancelled). Cancelled bookings keep no room in the calendar."""
    pick = rng.random()
    if pick < 0.07:
        return "cancelled", rng.choice(["cancelledByGuest", "cancelledByGuest",
                                        "cancelledByHost"]), True
    if arrival < today and pick < 0.08:
        return "confirmed", "noShow", False
    if arrival > today and pick < 0.11:
        return "request", "none", False
    if arrival > today and pick < 0.15:
        return "new", "none", False
    return "confirmed", "none", False
