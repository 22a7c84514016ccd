"""Words and formats staff see: state names, colours with text, dates in the property's zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mangodesk.domain.types import CodeOrigin, UnitKind, VendorKind
from mangodesk.services.views import STATE_WORDS, CodeView, StateWord, retry_note

# The words and colours are defined once, beside the states (services.views); the grid, the
# Passcodes panel and the CLI all read them from there.
StateLook = StateWord
UNIT_STATUS: dict[str, StateLook] = {state.value: word for state, word in STATE_WORDS.items()}


def code_state(code: CodeView, now: datetime) -> StateLook:
    return STATE_WORDS[code.shown(now)]


def retrying(next_try: datetime, attempts: int, max_attempts: int, zone: ZoneInfo) -> str:
    """``Retrying — next try 14:05 (attempt 4 of 30)``, in hotel time."""
    note = retry_note(f"{next_try.astimezone(zone):%H:%M}", attempts, max_attempts)
    return note[0].upper() + note[1:]


ORIGIN_TEXT: dict[CodeOrigin, str] = {
    CodeOrigin.BOOKING: "Booking",
    CodeOrigin.MANUAL: "Created by staff",
    CodeOrigin.IMPORTED: "Found on lock",
}

KIND_TEXT: dict[UnitKind, str] = {
    UnitKind.ROOM: "Room",
    UnitKind.APARTMENT: "Apartment",
    UnitKind.BED: "Bed",
}

PROVIDER_TEXT: dict[VendorKind, str] = {
    VendorKind.MANUAL: "Manual",
    VendorKind.TTLOCK: "TTLock",
    VendorKind.FLEXIPASS: "Flexipass",
    VendorKind.INLET: "Inlet",
    VendorKind.SMARTAIR: "TESA Smartair",
}


def unit_status(status: str, failed_codes: int = 0) -> StateLook:
    look = UNIT_STATUS.get(status, StateLook(status.capitalize(), "#5c5c5c", "#f5f5f5"))
    if status == "failed" and failed_codes > 1:
        return StateLook(f"{look.text} ({failed_codes} codes)", look.colour, look.background)
    return look


def local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def short_instant(instant: datetime, zone: ZoneInfo) -> str:
    """e.g. ``12 Mar 15:00`` in the property's zone; codes far out get the year."""
    moment = instant.astimezone(zone)
    if moment.year >= 2099:
        return "no end"
    if moment.year <= 2000:
        return "always"
    return f"{moment.day} {moment:%b %H:%M}"


def validity(valid_from: datetime, valid_to: datetime, zone: ZoneInfo) -> str:
    return f"{short_instant(valid_from, zone)} → {short_instant(valid_to, zone)}"


def relative_day(day: date, today: date) -> str:
    """``Today``, ``Tomorrow``, or a short date with the weekday."""
    delta = (day - today).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Tomorrow"
    if 1 < delta < 7:
        return f"{day:%a} {day.day} {day:%b}"
    return f"{day.day} {day:%b %Y}" if day.year != today.year else f"{day.day} {day:%b}"


def ago(earlier: datetime, now: datetime) -> str:
    """``just now``, ``2 min ago``, ``3 h ago``, ``2 days ago``."""
    seconds = max((now - earlier) / timedelta(seconds=1), 0.0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return "1 day ago" if days == 1 else f"{days} days ago"
