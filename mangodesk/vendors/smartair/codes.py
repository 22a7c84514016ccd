"""The pure parts of the Smartair adapter: PIN rules and capabilities, the vendor reference,
a room's stays, which stay is ours, and reading SOAP values and the server's clock.

Nothing here talks to the server, so all of it is tested without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mangodesk.vendors.base import (
    AmbiguousError,
    Capabilities,
    PermanentError,
    PinRules,
    PinScope,
    VendorCode,
)
from mangodesk.vendors.smartair.errors import as_list, value

DEFAULT_PIN_LENGTH = 4
PIN_LENGTHS = (4, 5, 6, 7, 8)


def pin_rules(length: int = DEFAULT_PIN_LENGTH) -> PinRules:
    """Smartair keypads refuse a leading zero; the site decides the length (4 by default)."""
    return PinRules(lengths=(length,), default_length=length, allow_leading_zero=False)


SMARTAIR_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=pin_rules(),
    vendor_generates_pin=False,
    # The server's ModifyDate operations move only an end; update_code moves a start by
    # cancelling (or checking out) and booking again with the same PIN (the reference changes).
    can_move_start=True,
    can_move_end=True,
    can_change_pin=False,
    time_granularity=timedelta(minutes=1),  # Smartair stores activation to the minute
    pin_scope=PinScope.SITE_OVERLAPPING,  # a PIN is refused if any overlapping stay has it
    live_start_is_vendor_now=True,  # a live check-in's activation is forced to "now"
)



STAMP_FORMAT = "%Y%m%d%H%M"
LIVE_REF_PREFIX = "checkin:"  # a reference to the live check-in (else "pre:…")
MAX_SOAP_INT = 2**31 - 1


@dataclass(frozen=True)
class SmartairRef:
    """``pre:<roomId>:<preAssignationId>:<start>`` for a pre-check-in, ``checkin:<roomId>:<start>``
    once live. The start (UTC minute, YYYYmmddHHMM) tells our live stay from a later guest's
    on the same room; references written before it existed (no start) are still read."""

    room_id: int
    pre_assignation_id: int | None
    start: datetime | None = None

    def encode(self) -> str:
        stamp = f":{self.start.astimezone(UTC):{STAMP_FORMAT}}" if self.start else ""
        if self.pre_assignation_id is None:
            return f"{LIVE_REF_PREFIX}{self.room_id}{stamp}"
        return f"pre:{self.room_id}:{self.pre_assignation_id}{stamp}"

    @classmethod
    def decode(cls, text: str) -> SmartairRef:
        parts = text.split(":")
        try:
            if parts[0] == "pre" and len(parts) in (3, 4):
                return cls(int(parts[1]), int(parts[2]), _stamp(parts[3:]))
            if parts[0] == "checkin" and len(parts) in (2, 3):
                return cls(int(parts[1]), None, _stamp(parts[2:]))
        except ValueError:
            pass
        raise PermanentError(
            f"“{text}” is not a Smartair code reference Mangodesk created.",
            "Revoke this code in Mangodesk and let it issue a new one.",
        )

    @classmethod
    def parse(cls, text: str | None) -> SmartairRef | None:
        """None for "no reference yet" (a create whose answer was lost)."""
        return cls.decode(text) if text and text.strip() else None


def _stamp(parts: list[str]) -> datetime | None:
    if not parts:
        return None
    return datetime.strptime(parts[0], STAMP_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class RoomStay:
    """One stay the server holds on a room: the live check-in or a pre-check-in."""

    room_id: int
    pre_assignation_id: int | None  # None: the live check-in
    pin: str | None
    start: datetime | None
    end: datetime | None

    @property
    def live(self) -> bool:
        return self.pre_assignation_id is None

    @property
    def ref(self) -> SmartairRef:
        return SmartairRef(self.room_id, self.pre_assignation_id, self.start)

    def vendor_code(self, name: str | None = None) -> VendorCode:
        return VendorCode(self.ref.encode(), self.pin, self.start, self.end, name)


Window = tuple[datetime, datetime]


def held_as_sent(candidate: VendorCode, pin: str | None, window: Window) -> bool:
    """Exactly a PIN and window we asked for, to the minute. A live check-in started when
    the server checked it in (its "now"), so only its end must be exact and its start inside
    our window."""
    if pin is None or candidate.pin != pin:
        return False
    held_from, held_to = candidate.valid_from, candidate.valid_to
    start, end = to_minute(window[0]), to_minute(window[1])
    if held_to != end or held_from is None:
        return False
    if candidate.vendor_ref.startswith(LIVE_REF_PREFIX):
        return start <= held_from < end
    return held_from == start


def is_ours(stay: RoomStay, ref: SmartairRef | None, pin: str | None,
            windows: Iterable[Window]) -> bool:
    """Ours only by the reference we stored, or by exact PIN + a window we asked for; a
    stranger's stay that happens to share the PIN is never taken for ours."""
    if ref is not None:
        pre_id = stay.pre_assignation_id
        if pre_id is not None and pre_id == ref.pre_assignation_id:
            return True
        same_pin = pin is not None and stay.pin == pin
        if stay.live and ref.start is not None and stay.start == ref.start and same_pin:
            return True  # our pre-check-in turned live, or our check-in
    return any(held_as_sent(stay.vendor_code(), pin, window) for window in windows)


def to_minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def room_id_of(vendor_lock_id: str) -> int:
    try:
        return int(vendor_lock_id)
    except ValueError:
        raise PermanentError(
            f"“{vendor_lock_id}” is not a Smartair room id.",
            "Refresh the room list and link the unit to a Smartair room again.",
        ) from None


def soap_int(found: Any) -> int | None:
    """A positive xs:int, or None for anything else (a damaged or foreign answer)."""
    if isinstance(found, bool):
        return None
    if isinstance(found, str) and found.strip().isdigit():
        found = int(found.strip())
    if isinstance(found, int) and 0 < found <= MAX_SOAP_INT:
        return found
    return None


def held_window(code: VendorCode) -> list[Window]:
    if code.valid_from is None or code.valid_to is None:
        return []
    return [(to_minute(code.valid_from), to_minute(code.valid_to))]


def unconfirmed(operation: str, room: str) -> AmbiguousError:
    return AmbiguousError(
        f"The Smartair server's answer to {operation} on {room} did not confirm the stay.",
        "Mangodesk checks the room before trying again.",
        vendor_code="UNCONFIRMED",
    )


def read_server_time(found: Any, zone: tzinfo | None) -> datetime | None:
    """An xs:dateTime from the server; without an offset it is the server's local time."""
    if not isinstance(found, datetime):
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone or UTC)
    try:
        moment: datetime = found.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment


def pin_text(found: Any) -> str | None:
    text = text_of(found)
    return text.strip() if text and text.strip() else None


def text_of(found: Any) -> str | None:
    return None if found is None else str(found)


def server_zone(settings: Mapping[str, Any], hotel_timezone: str | None) -> ZoneInfo | None:
    """The zone of the server's clock: the installer's ``server_timezone`` when set, else the
    hotel's zone (the server sits on the hotel's LAN); None (UTC) only when neither is known."""
    name = str(settings.get("server_timezone") or "").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise PermanentError(
                f"“{name[:60]}” is not a time zone Mangodesk knows.",
                "Use a name like Europe/Madrid for the Smartair server's time zone in the "
                "connection settings (or leave it empty to use the hotel's zone).",
            ) from None
    hotel = (hotel_timezone or "").strip()
    try:
        return ZoneInfo(hotel) if hotel else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def read_stay_time(found: Any, zone: tzinfo | None) -> datetime | None:
    """A stay's start or end as the server sent it, to the minute."""
    exact = read_server_time(found, zone)
    return None if exact is None else to_minute(exact)


def room_stays(room_id: int, room: Any, zone: tzinfo | None) -> list[RoomStay]:
    """The live check-in (if any) and every pre-check-in of a room from a findAllRooms entry;
    a pre-check-in without a readable id is left out."""
    stays = [
        RoomStay(
            room_id,
            pre_id,
            pin_text(value(pre, "keyPad")),
            read_stay_time(value(pre, "datePreActivation"), zone),
            read_stay_time(value(pre, "datePreExpiration"), zone),
        )
        for pre in as_list(value(room, "preAssignations"))
        if (pre_id := soap_int(value(pre, "preAssignationId"))) is not None
    ]
    if value(room, "roomOccupied", False) is True:
        stays.insert(0, RoomStay(
            room_id,
            None,
            pin_text(value(room, "keyPad")),
            read_stay_time(value(room, "dateActivation"), zone),
            read_stay_time(value(room, "dateExpiration"), zone),
        ))
    return stays


def shows_pin_unreadably(room: Any, pin: str, zone: tzinfo | None) -> bool:
    """A stay on the room shows ``pin`` but its id, occupancy or dates cannot be read."""
    live_pin = pin_text(value(room, "keyPad")) == pin
    occupied = value(room, "roomOccupied")
    live_unreadable = live_pin and (
        (occupied is not True and occupied is not False)
        or (occupied is True and (read_stay_time(value(room, "dateActivation"), zone) is None
                                 or read_stay_time(value(room, "dateExpiration"), zone) is None))
    )
    pre_unreadable = any(
        pin_text(value(pre, "keyPad")) == pin and (
            soap_int(value(pre, "preAssignationId")) is None
            or read_stay_time(value(pre, "datePreActivation"), zone) is None
            or read_stay_time(value(pre, "datePreExpiration"), zone) is None)
        for pre in as_list(value(room, "preAssignations"))
    )
    return live_unreadable or pre_unreadable
