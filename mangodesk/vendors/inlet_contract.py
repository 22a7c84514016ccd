"""Inlet's wire contract as Mangodesk assumes it: the ONE place to edit with Inlet's real spec.

Inlet documents its partner API in a Swagger reference that is not public. What the public
knowledge base (kb.inlet.tech) confirms is marked CONFIRMED below; everything else is ASSUMED
and was chosen to be plausible, consistent and easy to replace. The adapter
(``mangodesk.vendors.inlet``) and the simulator (``mangodesk.sim.inlet``) both read this
module, so once a partner's Swagger file arrives, changing this file changes both sides.
See ``docs/vendor-contracts.md`` for the full list and the sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# --------------------------------------------------------------------------- host and auth

# ASSUMED: no base URL is public. A partner receives test and production hosts with the
# credentials; the connection setting ``base_url`` overrides this.
DEFAULT_BASE_URL = "https://api.inlet.tech"

# ASSUMED: the token is sent as an OAuth-style bearer token. CONFIRMED only that there is one
# property-scoped token (Mangobeds' product description).
AUTH_HEADER = "Authorization"


def auth_header_value(token: str) -> str:
    return f"Bearer {token}"


def token_from_header(value: str | None) -> str | None:
    """The simulator's inverse of :func:`auth_header_value`."""
    if not value or not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ")


# --------------------------------------------------------------------------- paths

LOCKS_PATH = "/Locks"  # ASSUMED: GET, the property's locks.
GRANT_ACCESS_PATH = "/GrantAccess"  # CONFIRMED: the create endpoint is /GrantAccess.
# ASSUMED: PUT (new window) and DELETE (revoke) on the grant, addressed by its ReferenceId.
# CONFIRMED only that the ReferenceId is what identifies a grant for update and revoke.
GRANT_PATH_TEMPLATE = "/GrantAccess/{reference_id}"
# ASSUMED: GET with ``?lockId=`` lists the grants on a lock (used to read a lock back after a
# create whose answer was lost).
GRANTS_QUERY_LOCK = "lockId"


def grant_path(reference_id: str) -> str:
    return GRANT_PATH_TEMPLATE.format(reference_id=reference_id)


# --------------------------------------------------------------------------- lock list

# ASSUMED body of GET /Locks: {"locks": [{...}, ...]} with these keys per lock. CONFIRMED only
# that Inlet models locks with an ID, a name, a group, a location and an online status, and
# that not every lock can take a PIN.
LOCKS_KEY = "locks"
LOCK_ID = "lockId"
LOCK_NAME = "name"
LOCK_SYSTEM = "lockSystem"  # e.g. "Salto KS", "igloohome"
LOCK_LOCATION = "locationName"
LOCK_GROUP = "groupName"
LOCK_ONLINE = "online"
LOCK_BATTERY = "batteryLevel"  # percent, absent when the lock system does not report it
# ASSUMED: the access methods a lock supports, named like the GrantAccess ``operation`` values.
LOCK_ACCESS_TYPES = "accessTypes"

# CONFIRMED operation names: 'code' (a PIN) and 'unlock' (keep the door open for a period).
# ASSUMED names for the mobile-key and URL-key variants the knowledge base mentions.
ACCESS_CODE = "code"
ACCESS_UNLOCK = "unlock"
ACCESS_MOBILE_KEY = "mobileKey"
ACCESS_URL_KEY = "urlKey"


@dataclass(frozen=True)
class InletLock:
    lock_id: str
    name: str
    lock_system: str
    location: str
    group: str
    online: bool | None
    battery: int | None
    access_types: tuple[str, ...]

    @property
    def takes_pin(self) -> bool:
        return ACCESS_CODE in self.access_types


def parse_locks(body: Any) -> list[InletLock]:
    """Read the lock list; raises ``ValueError`` when the body is not the expected shape."""
    if not isinstance(body, Mapping) or not isinstance(body.get(LOCKS_KEY), list):
        raise ValueError("lock list without a 'locks' array")
    locks = []
    for item in body[LOCKS_KEY]:
        if not isinstance(item, Mapping):
            raise ValueError("lock that is not an object")
        lock_id = _identifier(item.get(LOCK_ID))
        if lock_id is None:
            raise ValueError("lock without an id")
        access_types = item.get(LOCK_ACCESS_TYPES) or []
        if not isinstance(access_types, list):
            raise ValueError("accessTypes is not an array")
        online = item.get(LOCK_ONLINE)
        battery = item.get(LOCK_BATTERY)
        locks.append(
            InletLock(
                lock_id=lock_id,
                name=_text(item.get(LOCK_NAME)) or lock_id,
                lock_system=_text(item.get(LOCK_SYSTEM)),
                location=_text(item.get(LOCK_LOCATION)),
                group=_text(item.get(LOCK_GROUP)),
                online=online if isinstance(online, bool) else None,
                battery=battery if isinstance(battery, int) and _is_int(battery) else None,
                access_types=tuple(t for t in access_types if isinstance(t, str)),
            )
        )
    return locks


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _identifier(value: Any) -> str | None:
    """An id as Inlet may send it: a non-empty string or a whole number (never a list, an
    object, a boolean or a fraction, which would make a nonsense id)."""
    if isinstance(value, str) and value.strip():
        return value
    if _is_int(value):
        return str(value)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def lock_to_json(lock: InletLock) -> dict[str, Any]:
    """The simulator's inverse of :func:`parse_locks` for one lock."""
    body: dict[str, Any] = {
        LOCK_ID: lock.lock_id,
        LOCK_NAME: lock.name,
        LOCK_SYSTEM: lock.lock_system,
        LOCK_LOCATION: lock.location,
        LOCK_GROUP: lock.group,
        LOCK_ONLINE: lock.online,
        LOCK_ACCESS_TYPES: list(lock.access_types),
    }
    if lock.battery is not None:
        body[LOCK_BATTERY] = lock.battery
    return body


# --------------------------------------------------------------------------- grants

# CONFIRMED: the request carries ``operation`` ('code' for a PIN) and optional guest contact
# fields (``phoneNumber`` with ``countryCode``, e-mail); the response carries ``ReferenceId``
# and ``codeFormatted`` (the PIN with any keypad symbols, e.g. "#1234*").
# ASSUMED: every other name, the exact casing of those two, and the date format.
GRANT_OPERATION = "operation"
GRANT_LOCK_ID = "lockId"
GRANT_START = "startTime"
GRANT_END = "endTime"
GRANT_NAME = "guestName"
GRANT_EMAIL = "email"
# ASSUMED: an opaque reference of ours, echoed in the grant list, to find a grant whose create
# answer was lost.
GRANT_EXTERNAL_REF = "externalReference"
# ASSUMED: Mangodesk delivers the PIN in its own check-in email, so it asks Inlet not to send
# its own guest messages (certification covers "suppressing guest messages").
GRANT_SUPPRESS_MESSAGES = "suppressGuestMessages"
GRANT_REFERENCE_ID = "ReferenceId"
GRANT_CODE_FORMATTED = "codeFormatted"
GRANTS_KEY = "grants"  # ASSUMED: body of the grant list: {"grants": [{...}, ...]}


def format_instant(instant: datetime) -> str:
    """ASSUMED: ISO 8601 in UTC with a Z suffix, whole seconds."""
    return instant.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    """``ValueError`` for anything that is not an ISO 8601 instant with a zone."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("time without a zone")
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # a zone that pushes year 1 or 9999 off the calendar
        raise ValueError("time out of range") from exc


def grant_request(
    lock_id: str,
    start: datetime,
    end: datetime,
    *,
    guest_name: str | None,
    guest_email: str | None,
    external_reference: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        GRANT_OPERATION: ACCESS_CODE,
        GRANT_LOCK_ID: lock_id,
        GRANT_START: format_instant(start),
        GRANT_END: format_instant(end),
        GRANT_SUPPRESS_MESSAGES: True,
    }
    if guest_name:
        body[GRANT_NAME] = guest_name
    if guest_email:
        body[GRANT_EMAIL] = guest_email
    if external_reference:
        body[GRANT_EXTERNAL_REF] = external_reference
    return body


def window_request(start: datetime, end: datetime) -> dict[str, Any]:
    """ASSUMED body of the update: only the new window."""
    return {GRANT_START: format_instant(start), GRANT_END: format_instant(end)}


@dataclass(frozen=True)
class InletGrant:
    reference_id: str
    code_formatted: str | None
    start: datetime | None
    end: datetime | None
    guest_name: str | None
    external_reference: str | None


def parse_grant(body: Any) -> InletGrant:
    """Read one grant (the create answer or a list item); ``ValueError`` on a wrong shape.

    ASSUMED: the ReferenceId is a string (an integer, a list or an object is not one), and
    ``codeFormatted`` is a string when present."""
    if not isinstance(body, Mapping):
        raise ValueError("grant that is not an object")
    reference = body.get(GRANT_REFERENCE_ID)
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("grant without a ReferenceId")
    start, end = body.get(GRANT_START), body.get(GRANT_END)
    code = body.get(GRANT_CODE_FORMATTED)
    if code is not None and not isinstance(code, str):
        raise ValueError("codeFormatted is not text")
    name = body.get(GRANT_NAME)
    external = body.get(GRANT_EXTERNAL_REF)
    return InletGrant(
        reference_id=reference,
        code_formatted=(code.strip() or None) if code is not None else None,
        start=parse_instant(start) if isinstance(start, str) else None,
        end=parse_instant(end) if isinstance(end, str) else None,
        guest_name=name if isinstance(name, str) and name else None,
        external_reference=external if isinstance(external, str) and external else None,
    )


# ASSUMED success answers of the writes (the adapter reports success only on these):
# - create (POST /GrantAccess): 200/201 with the grant: its ReferenceId, its codeFormatted and
#   the window it holds;
# - update (PUT /GrantAccess/{id}): 200 with the grant as it is now (same ReferenceId, the new
#   window);
# - revoke (DELETE /GrantAccess/{id}): 200 with {"ReferenceId": id, "status": "revoked"}.
# Anything else on a write (a 204, a redirect, HTML, an error body) leaves the outcome unclear.
GRANT_STATUS = "status"
STATUS_REVOKED = "revoked"


def revoked_body(reference_id: str) -> dict[str, Any]:
    return {GRANT_REFERENCE_ID: reference_id, GRANT_STATUS: STATUS_REVOKED}


def is_revoked_answer(body: Any, reference_id: str) -> bool:
    return (isinstance(body, Mapping) and body.get(GRANT_REFERENCE_ID) == reference_id
            and body.get(GRANT_STATUS) == STATUS_REVOKED)


def parse_grants(body: Any) -> list[InletGrant]:
    if not isinstance(body, Mapping) or not isinstance(body.get(GRANTS_KEY), list):
        raise ValueError("grant list without a 'grants' array")
    return [parse_grant(item) for item in body[GRANTS_KEY]]


def grant_to_json(grant: InletGrant) -> dict[str, Any]:
    """The simulator's inverse of :func:`parse_grant`."""
    body: dict[str, Any] = {
        GRANT_REFERENCE_ID: grant.reference_id,
        GRANT_CODE_FORMATTED: grant.code_formatted,
    }
    if grant.start is not None:
        body[GRANT_START] = format_instant(grant.start)
    if grant.end is not None:
        body[GRANT_END] = format_instant(grant.end)
    if grant.guest_name:
        body[GRANT_NAME] = grant.guest_name
    if grant.external_reference:
        body[GRANT_EXTERNAL_REF] = grant.external_reference
    return body


# --------------------------------------------------------------------------- errors

# ASSUMED error body: {"error": {"code": "...", "message": "..."}} with these codes. HTTP
# statuses follow common REST use: 400 invalid input, 401/403 token rejected, 404 unknown lock
# or grant, 409 lock offline, 422 a business rule (the 72-hour rule), 429 rate limited.
ERROR_KEY = "error"
ERROR_CODE = "code"
ERROR_MESSAGE = "message"
ERR_LOCK_OFFLINE = "LockOffline"
ERR_LOCK_NOT_FOUND = "LockNotFound"
ERR_GRANT_NOT_FOUND = "GrantNotFound"
ERR_TOO_EARLY = "BookingTooFarAhead"
ERR_NOT_PIN_CAPABLE = "AccessTypeNotSupported"
ERR_INVALID = "InvalidRequest"
ERR_UNAUTHORIZED = "Unauthorized"

# CONFIRMED by the PMS certification guide: never send a booking more than 72 h before arrival.
MAX_LEAD_HOURS = 72


def error_body(code: str, message: str) -> dict[str, Any]:
    return {ERROR_KEY: {ERROR_CODE: code, ERROR_MESSAGE: message}}


def parse_error(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from an error body of any shape; (None, None) when there is none."""
    if isinstance(body, Mapping) and isinstance(body.get(ERROR_KEY), Mapping):
        inner = body[ERROR_KEY]
        code, message = inner.get(ERROR_CODE), inner.get(ERROR_MESSAGE)
        return (code[:100] if isinstance(code, str) and code else None,
                message[:300] if isinstance(message, str) and message else None)
    return (None, None)
