"""TTLock's wire values and the pure reading of its answers: instants in epoch ms, loose
numbers, feature bits, lock names and signal words, listed codes, the time-zone check.

Nothing here sends a request; :mod:`.client` does, :mod:`.adapter` puts the two together.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mangodesk.vendors import http
from mangodesk.vendors.base import LockInfo, PermanentError, VendorCode

EU_API_BASE = "https://euapi.ttlock.com"

PASSCODE_TYPE_PERMANENT = 2
PASSCODE_TYPE_PERIOD = 3
VIA_GATEWAY = 2  # addType / changeType / deleteType: anything else never reaches the lock

LOCK_PAGE_SIZE = 100
CODE_PAGE_SIZE = 200  # listKeyboardPwd maximum
GATEWAY_PAGE_SIZE = 200  # gateway/list maximum
ORDER_NEWEST_FIRST = 1

FEATURE_PASSCODE = 0
FEATURE_PASSCODE_MANAGEMENT = 7
FEATURE_WIFI = 56
MIN_PASSCODE_VERSION = 4
MAX_CODES_PER_LOCK = 250
LOW_BATTERY_PERCENT = 20
# A lock's time-zone offset is within UTC−12 … UTC+14.
MAX_OFFSET_MS = 14 * 3600 * 1000

# A lock no gateway reaches can be linked, but Mangodesk cannot send it codes: the unit says
# so and staff enter the guest's code on the lock themselves.
NO_GATEWAY_REASON = "codes not automatic: no gateway"

# TTLock reads carry the access token (and, for a look-up, the PIN) in the query string.
SENSITIVE_QUERY_PARAMETERS = ("accessToken", "clientSecret", "client_secret", "password",
                              "refresh_token", "keyboardPwd", "newKeyboardPwd", "searchStr")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_MS = 60_000


def to_ms(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: times must carry a time zone")
    return (instant - EPOCH) // timedelta(milliseconds=1)


_MAX_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def from_ms(value: Any) -> datetime | None:
    """TTLock instants; 0, missing, unparseable or off the calendar means "no date"
    (permanent codes)."""
    millis = as_whole(value)
    if millis is None or millis <= 0 or millis > _MAX_MS:
        return None
    return EPOCH + timedelta(milliseconds=millis)


def from_ms_sent(millis: int) -> datetime:
    """An instant Mangodesk sent in epoch ms (always a real date, unlike a listed one)."""
    return EPOCH + timedelta(milliseconds=millis)


def floor_minute_ms(instant: datetime) -> int:
    millis = to_ms(instant)
    return millis - millis % _MINUTE_MS


def ceil_minute_ms(instant: datetime) -> int:
    millis = to_ms(instant)
    return -(-millis // _MINUTE_MS) * _MINUTE_MS


def has_feature(feature_value: Any, bit: int) -> bool:
    """featureValue is an uppercase hex string read as one big integer (reference §1.6)."""
    try:
        return bool((int(str(feature_value), 16) >> bit) & 1)
    except ValueError:
        return False


def as_whole(value: Any) -> int | None:
    """A whole number as TTLock may send it (an int, or digits as text); never a boolean,
    a fraction, a list or an absurdly long string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 30:
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii():
            return int(text)
    return None


def lock_offset_ms(value: Any) -> int | None:
    offset = as_whole(value)
    return offset if offset is not None and abs(offset) <= MAX_OFFSET_MS else None


def list_entries(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects in a listing's ``list``; a ``list`` that is not a list is unreadable."""
    entries = body.get("list")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise http.unreadable("TTLock")
    return [entry for entry in entries if isinstance(entry, dict)]


def as_text(value: Any, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def timezone_warning(offset_ms: int, zone_name: str, now: datetime) -> str | None:
    """Compare the lock's raw offset with the hotel's offset right now (TTLock offsets do not
    follow daylight saving time by themselves, so summer time is a mismatch too)."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = now.astimezone(zone)
    hotel_offset = local.utcoffset() or timedelta(0)
    lock_offset = timedelta(milliseconds=offset_ms)
    if lock_offset == hotel_offset:
        return None
    standard = hotel_offset - (local.dst() or timedelta(0))
    difference = abs(lock_offset - hotel_offset)
    hours = difference.total_seconds() / 3600
    span = f"{hours:g} hour{'s' if hours != 1 else ''}"
    if lock_offset == standard:
        return (
            f"The lock's time zone is {format_offset(lock_offset)} (standard time) but the "
            f"hotel is on summer time, {format_offset(hotel_offset)}: codes may work {span} "
            "too early or too late at the door. Update the lock's time zone in the TTLock app "
            "(and again when summer time ends)."
        )
    return (
        f"The lock's time zone is {format_offset(lock_offset)} but the hotel ({zone_name}) is "
        f"on {format_offset(hotel_offset)}: codes may work {span} too early or too late at the "
        "door. Correct the lock's time zone in the TTLock app."
    )


def normalised_base(address: str) -> str:
    """Staff may type the host alone ("euapi.ttlock.com"): that means https."""
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = f"https://{address}"
    return address


def truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unmanageable_reason(raw: Mapping[str, Any]) -> str | None:
    """Why this lock can never take codes from Mangodesk, in words for the desk (None = it
    can). A missing gateway is not such a reason: see ``NO_GATEWAY_REASON``."""
    reasons: list[str] = []
    feature_value = raw.get("featureValue")
    if not has_feature(feature_value, FEATURE_PASSCODE):
        reasons.append("This lock has no keypad, so it cannot use door codes.")
    elif not has_feature(feature_value, FEATURE_PASSCODE_MANAGEMENT):
        reasons.append("This lock does not let its door codes be managed from a distance.")
    version = as_whole(raw.get("keyboardPwdVersion"))
    # A detail without the field (it is not in the documented table) does not block: such a
    # lock would refuse a code with −4043, which reaches the desk as a plain alert.
    if version is not None and version < MIN_PASSCODE_VERSION:
        reasons.append(
            f"This lock uses an older passcode system (version {version}); only version "
            f"{MIN_PASSCODE_VERSION} or later can be managed from a distance."
        )
    return " ".join(reasons) if reasons else None


def has_gateway_flag(raw: Mapping[str, Any]) -> bool:
    return as_whole(raw.get("hasGateway")) == 1


def lock_name(raw: Mapping[str, Any]) -> str:
    return as_text(raw.get("lockAlias")) or as_text(raw.get("lockName")) or "TTLock lock"


def signal_words(rssi: Any) -> str:
    value = as_whole(rssi)
    if value is None:
        return "signal unknown"
    if value > -75:
        return "signal strong"
    if value >= -85:
        return "signal medium"
    return "signal weak"


def vendor_code_of(entry: Mapping[str, Any]) -> VendorCode | None:
    """A listed code, or None for an entry without a code number (nothing to address)."""
    pwd_id = as_whole(entry.get("keyboardPwdId"))
    if pwd_id is None or pwd_id <= 0:
        return None
    pwd_type = as_whole(entry.get("keyboardPwdType"))
    permanent = pwd_type == PASSCODE_TYPE_PERMANENT
    pin = entry.get("keyboardPwd")
    if isinstance(pin, int) and not isinstance(pin, bool):
        pin = str(pin)
    return VendorCode(
        vendor_ref=str(pwd_id),
        pin=pin if isinstance(pin, str) and pin else None,
        valid_from=None if permanent else from_ms(entry.get("startDate")),
        valid_to=None if permanent else from_ms(entry.get("endDate")),
        name=as_text(entry.get("keyboardPwdName")) or None,
    )


def checked_pin(pin: str | None) -> str:
    if not pin:
        raise PermanentError("TTLock needs the code's digits: it does not choose them itself.",
                             "Enter a code of 4 to 9 digits.")
    if not pin.isdigit() or not 4 <= len(pin) <= 9 or not pin.isascii():
        raise PermanentError("A TTLock door code must be 4 to 9 digits.",
                             "Enter a code of 4 to 9 digits.")
    return pin


def pwd_id_of(code: VendorCode) -> int:
    value = as_whole(code.vendor_ref)
    if value is None:
        raise PermanentError(
            "This code has no TTLock code number, so it cannot be changed on the lock.",
            "Revoke it in the TTLock app, or contact Mangodesk support.",
        )
    return value


def lock_info(lock_id: str, raw: Mapping[str, Any], gateway_id: str | None,
              gateway: Mapping[str, Any] | None) -> LockInfo:
    has_gateway = has_gateway_flag(raw)
    wifi = has_feature(raw.get("featureValue"), FEATURE_WIFI)
    reason = unmanageable_reason(raw)
    offset_ms = lock_offset_ms(raw.get("timezoneRawOffset"))
    attributes: dict[str, Any] = {
        "battery": as_whole(raw.get("electricQuantity")),
        "has_gateway": has_gateway,
        "wifi": wifi,
        "gateway_id": gateway_id,
        "gateway_name": as_text(gateway.get("gatewayName")) if gateway else None,
        "gateway_online": (as_whole(gateway.get("isOnline")) == 1) if gateway else None,
        "timezone_offset_minutes": (offset_ms // 60_000) if offset_ms is not None else None,
        "keyboard_pwd_version": as_whole(raw.get("keyboardPwdVersion")),
        "feature_value": as_text(raw.get("featureValue"), 64),
        "lock_name": as_text(raw.get("lockName")),
        "group": as_text(raw.get("groupName")),
    }
    if as_text(raw.get("modelNum")):
        attributes["model"] = as_text(raw.get("modelNum"))
    return LockInfo(
        vendor_lock_id=lock_id,
        name=lock_name(raw),
        attributes=attributes,
        manageable=reason is None,
        unmanageable_reason=reason,
        # Linkable, but codes cannot reach it: staff hand out codes themselves.
        codes_not_automatic_reason=(
            NO_GATEWAY_REASON if reason is None and not has_gateway and not wifi else None),
        serial_key=f"gateway:{gateway_id}" if gateway_id else f"lock:{lock_id}",
    )
