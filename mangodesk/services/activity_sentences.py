"""An audit row as a sentence for a receptionist ("Code ••••8 created on TTLock lock Room 101
for Double room 104 (Ana Ruiz) after 1 attempt"), and the place it is about. Pure: the
activity service reads the rows and places, this module only words them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import (
    AuditAction,
)


@dataclass(frozen=True)
class Where:
    """The unit and lock an alert or audit row is about, as far as they are known."""

    unit_id: int | None = None
    unit_name: str | None = None
    lock_name: str | None = None
    provider: str | None = None  # e.g. "TTLock"
    connection_id: int | None = None
    guest_name: str | None = None

    @property
    def lock_text(self) -> str | None:
        """``TTLock lock Room 101``."""
        if self.lock_name is None:
            return None
        return f"{self.provider} lock {self.lock_name}" if self.provider else self.lock_name

    @property
    def label(self) -> str:
        """``Double room 104 · TTLock lock Room 101`` (what is known of it)."""
        lock = self.lock_text
        if lock is None and self.provider and self.connection_id is not None:
            lock = self.provider
        return " · ".join(part for part in (self.unit_name, lock) if part)


# Staff's own actions on a code call it a "passcode", as the desk does.
_STAFF_CODE_ACTIONS = frozenset({AuditAction.CODE_STAFF_CREATE, AuditAction.CODE_STAFF_EDIT,
                                 AuditAction.CODE_STAFF_REVOKE, AuditAction.CODE_STAFF_RETRY})
_SENT = {AuditAction.CODE_CREATE: "created on", AuditAction.CODE_UPDATE: "updated on",
         AuditAction.CODE_REVOKE: "removed from"}
_GAVE_UP = {AuditAction.CODE_CREATE_FAILED: "create", AuditAction.CODE_UPDATE_FAILED: "change",
            AuditAction.CODE_REVOKE_FAILED: "remove"}
_ATTEMPTS = re.compile(r"after (\d+) attempt")
_REASON = re.compile(r":\s+(.*)$", re.DOTALL)


def link_sentence(summary: str, where: Where, after: dict[str, Any]) -> str:
    """``Linked Double room 104 to TTLock lock Room 101`` while that link still stands."""
    if after.get("lock") not in (None, where.lock_name):
        return _tidy(summary)  # linked elsewhere since: the stored words are the truth
    text = f"Linked {where.unit_name} to {where.lock_text}"
    imported = after.get("imported")
    if isinstance(imported, int) and imported:
        text += (f" and took over {imported} code{'s' if imported != 1 else ''} already on "
                 "the lock")
    return _tidy(text)


def sync_sentence(summary: str, after: dict[str, Any]) -> str:
    """``Bookings synced from Beds24: 486 read (486 new, 0 changed), 24 units added``."""
    counts = {key: after.get(key) for key in ("bookings", "created", "updated", "units_added")}
    if not all(isinstance(v, int) for v in counts.values()):
        return _tidy(summary)
    kind = "Full sync" if after.get("full") else "Bookings synced"
    text = (f"{kind} from Beds24: {counts['bookings']} read ({counts['created']} new, "
            f"{counts['updated']} changed)")
    if counts["units_added"]:
        text += f", {counts['units_added']} units added"
    return text


def _when(value: Any, zone: ZoneInfo) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    moment = instant.astimezone(zone)
    if moment.year >= 2099:
        return "no end"
    if moment.year <= 2000:
        return "always"
    return f"{moment.day} {moment:%b %H:%M}"


def _window(after: dict[str, Any], zone: ZoneInfo) -> str:
    start, end = _when(after.get("valid_from"), zone), _when(after.get("valid_to"), zone)
    if start is None or end is None:
        return ""
    if start == "always" and end == "no end":
        return "always valid"
    return f"{start} → {end} ({zone.key})"


def _what(pin: str | None, mobile: str | None, after: dict[str, Any], summary: str,
          *, staff: bool) -> str:
    noun = "Passcode" if staff else "Code"
    masked = after.get("code") if isinstance(after.get("code"), str) and after.get("code") \
        else mask_code(pin)
    if masked:
        return f"{noun} {masked}"
    if mobile:
        return f"Mobile key for {mobile}"
    if "mobile key" in summary.casefold():
        return "Mobile key"
    return "A code" if not staff else "A passcode"


def _attempts(summary: str) -> str:
    match = _ATTEMPTS.search(summary)
    if match is None:
        return ""
    count = int(match.group(1))
    return f" after {count} attempt{'s' if count != 1 else ''}"


def _reason(summary: str) -> str:
    match = _REASON.search(summary)
    return match.group(1).strip().rstrip(".") if match else ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _tidy(sentence: str) -> str:
    return re.sub(r"\s{2,}", " ", sentence).strip()


def sentence_for(action: str, summary: str, where: Where | None, pin: str | None,
                 mobile: str | None, after: dict[str, Any], zone: ZoneInfo) -> str:
    """One audit row as a sentence; rows that are not about a code keep their summary."""
    if where is None:
        return _tidy(summary)
    lock = where.lock_text or "its lock"
    unit = where.unit_name
    whom = (f" for {unit} ({where.guest_name})" if unit and where.guest_name
            else f" for {unit}" if unit else f" for {where.guest_name}" if where.guest_name
            else "")
    staff = action in _STAFF_CODE_ACTIONS
    what = _what(pin, mobile, after, summary, staff=staff)
    window = _window(after, zone)
    reason = _reason(summary)
    if action in _SENT:
        if "free a slot" in summary:
            text = f"{what} was over; deleted from {lock}{whom} to free a slot"
        else:
            text = f"{what} {_SENT[AuditAction(action)]} {lock}{whom}"
        return _tidy(text + _attempts(summary))
    if action in _GAVE_UP:
        detail = summary.split(": ", 1)[1] if ": " in summary else ""
        text = (f"Gave up trying to {_GAVE_UP[AuditAction(action)]} {_lower_first(what)} "
                f"on {lock}{whom}")
        return _tidy(f"{text}: {detail}" if detail else text)
    if action == AuditAction.CODE_PLAN_CREATE:
        text = f"{what} queued for {lock}{whom}"
        text += f", {window}" if window else ""
        return _tidy(f"{text} — {reason}" if reason else text)
    if action == AuditAction.CODE_PLAN_UPDATE:
        text = f"New dates for {_lower_first(what)} on {lock}{whom}"
        text += f": {window}" if window else ""
        return _tidy(f"{text} — {reason}" if reason else text)
    if action == AuditAction.CODE_PLAN_REVOKE:
        text = f"{what} on {lock}{whom} will be removed"
        return _tidy(f"{text} — {reason}" if reason else text)
    if action == AuditAction.CODE_EXPIRE:
        text = f"{what} on {lock}{whom} expired"
        return _tidy(f"{text} — {reason}" if reason else text)
    if action == AuditAction.CODE_NEW_PIN:
        return _tidy(f"{summary.rstrip('.')} — on {lock}{whom}")
    if action in (AuditAction.CODE_RETRY, AuditAction.CODE_STAFF_RETRY):
        return _tidy(f"Retry now for {_lower_first(what)} on {lock}{whom}")
    if action == AuditAction.CODE_STAFF_CREATE:
        text = f"{what} created by staff for {lock}{whom}"
        return _tidy(f"{text}, {window}" if window else text)
    if action == AuditAction.CODE_STAFF_EDIT:
        text = f"{what} on {lock}{whom} changed"
        return _tidy(f"{text} to {window}" if window else text)
    if action == AuditAction.CODE_STAFF_REVOKE:
        return _tidy(f"{what} on {lock}{whom} revoked by staff")
    return _tidy(f"{summary.rstrip('.')} — {lock}{whom}")
