"""Stay windows: when a guest's access starts and ends, as UTC instants.

Computed from the booking's arrival/departure dates and times (or the property's defaults) in
the property's IANA zone, so the wall-clock time is right on both sides of a DST change.
A wall time that does not exist (spring forward) is moved forward by the gap; an ambiguous one
(autumn back) takes its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mangodesk.domain.errors import ValidationError


@dataclass(frozen=True)
class StayWindow:
    check_in_at: datetime  # aware, UTC
    check_out_at: datetime  # aware, UTC


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"“{name}” is not a known time zone.",
            field="timezone",
            fix="Use a zone name such as Europe/Oslo or America/New_York.",
        ) from exc


@lru_cache(maxsize=65536)
def local_instant(day: date, wall: time, zone_name: str) -> datetime:
    """The UTC instant of a wall-clock time on a date in a zone (DST-correct). Memoised:
    a planning pass asks for the same few check-in and check-out times on each date."""
    tz = zone(zone_name)
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=tz)
    as_utc = local.astimezone(UTC)
    # A non-existent wall time round-trips to a different wall time; Python's fold=0 then
    # applies the pre-transition offset, which already lands after the gap. Nothing to fix.
    return as_utc


def stay_window(
    arrival: date,
    departure: date,
    zone_name: str,
    *,
    arrival_time: time | None,
    departure_time: time | None,
    default_checkin: time,
    default_checkout: time,
) -> StayWindow:
    check_in = local_instant(arrival, arrival_time or default_checkin, zone_name)
    check_out = local_instant(departure, departure_time or default_checkout, zone_name)
    if check_out <= check_in:
        raise ValidationError(
            f"The stay ends ({departure}) before it starts ({arrival}).",
            field="departure",
            fix="Correct the booking's dates in the PMS.",
        )
    return StayWindow(check_in, check_out)
