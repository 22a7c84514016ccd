"""Smartair's result model mapped onto Mangodesk's error taxonomy.

Business errors come back as ordinary responses with ``type = RESULT_ERROR`` and an
``errorType`` from the platform-wide enumeration; ``errorType`` is the stable key
(``errorCode`` numbering differs between versions). Messages are for front-desk staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    CodeConflictError,
    PermanentError,
    TransientError,
    VendorError,
)

RESULT_OK = "RESULT_OK"
RESULT_ERROR = "RESULT_ERROR"
AUTHENTICATION_ERRORS = frozenset(
    {
        "ERROR_SERVICE_AUTHENTICATION",
        "ERROR_SERVICE_AUTHORIZATION",
        "ERROR_NOT_AUTHORIZED_USER_INACTIVE_OR_EXPIRED",
    }
)
LICENCE_ERROR = "ERROR_NOT_AUTHORIZED_IN_SERVER_SITE_LICENSE"
# The lock or its radio link did not answer: worth retrying in a few minutes.
OFFLINE_ERRORS = frozenset(
    {
        "ERROR_OPERATION_TIMEOUT",
        "ERROR_OPERATION_HUB_BUSY",
        "ERROR_COMMUNICATION_NO_ANSWER",
        "ERROR_COMMUNICATION_LOCK_NOT_WAKING_UP",
        "ERROR_COMMUNICATION_MODULE_LOCK",
        "ERROR_COMMUNICATION_HUB_MODULE",
        "ERROR_COMMUNICATION_RF_1",
        "ERROR_COMMUNICATION_RF_2",
        "ERROR_COMMUNICATION_RF_4",
        "ERROR_COMMUNICATION_RF_COLLISION",
        "ERROR_COMMUNICATION_WIRELESS_MEANS_BUSY",
    }
)
# The server itself is busy or briefly unable to work: also worth retrying.
SERVER_BUSY_ERRORS = frozenset(
    {
        "ERROR_SERVER_CANNOT_CONNECT",
        "ERROR_SERVICE_SITE_INTERNAL_ERROR",
        "ERROR_OPERATION_LOCKDOWN_IN_PROGRESS",
        "ERROR_OPERATION_UNKNOWN_ERROR",
    }
)
ROOM_OCCUPIED_ERRORS = frozenset(
    {
        "RESULT_ERROR_CHECKIN_ROOM_OCCUPIED",
        "RESULT_ERROR_CHECKIN_PARENT_OCCUPIED",
        "RESULT_ERROR_CHECKIN_CHILD_OCCUPIED",
        "ERROR_ROOM_OCCUPIED",
    }
)
ROOM_PREASSIGNED_ERRORS = frozenset(
    {
        "RESULT_ERROR_CHECKIN_ROOM_PREASSIGNED",
        "RESULT_ERROR_CHECKIN_PARENT_PREASSIGNED",
        "RESULT_ERROR_CHECKIN_CHILD_PREASSIGNED",
        "ERROR_ROOM_PREASSIGNED",
    }
)
UNKNOWN_ROOM_ERRORS = frozenset(
    {
        "RESULT_ERROR_CHECKIN_INVALID_ROOM",
        "RESULT_ERROR_CHECKIN_INVALID_PARENT_ROOM",
        "RESULT_ERROR_CHECKIN_INVALID_CHILD_ROOM",
        "ERROR_OPERATION_DOOR_UNKNOWN",
    }
)
# "Already gone" answers: cancelling an unknown pre-assignment, checking out a free room.
GONE_ON_CANCEL = frozenset({"RESULT_ERROR_CHECKIN_INVALID_ROOM"})
GONE_ON_CHECKOUT = frozenset({"RESULT_ERROR_CHECKIN_ROOM_NOT_OCCUPIED", "ERROR_ROOM_FREE"})
PIN_EXISTS_PREFIX = "PIN_ALREADY_EXISTS"

INSTALLER_HINT = "ask your Smartair installer"
ASK_INSTALLER = "Ask your Smartair installer"
LICENCE_FIX = (
    "Ask your Smartair installer or TESA distributor to enable the SOAP API (web services) "
    "feature in the Smartair server site licence. Mangodesk cannot work without it."
)


def value(obj: Any, name: str, default: Any = None) -> Any:
    """Read a field leniently: optional and unknown elements are simply absent."""
    if obj is None:
        return default
    try:
        found = obj[name] if isinstance(obj, dict) else getattr(obj, name)
    except (AttributeError, KeyError):
        return default
    return default if found is None else found


def as_list(obj: Any) -> list[Any]:
    if obj is None:
        return []
    if isinstance(obj, list | tuple):
        return [item for item in obj if item is not None]
    return [obj]


@dataclass(frozen=True)
class ResultFailure:
    """A result that is not ``RESULT_OK``; ``error_type`` is None when the type is missing."""

    operation: str
    error_type: str | None
    error_code: str | None
    error_detail: str | None
    type_missing: bool = False

    def describe(self) -> str:
        parts = [p for p in (self.error_type, self.error_detail) if p]
        if self.error_code:
            parts.append(f"code {self.error_code}")
        return ", ".join(parts) or "no details"

    @property
    def pin_exists(self) -> bool:
        return self.error_type == "ERROR_DATA_ERROR" and (self.error_detail or "").startswith(
            PIN_EXISTS_PREFIX
        )

    @property
    def could_be_ours(self) -> bool:
        """A create refused because of a stay that may be our own earlier attempt (its
        answer was lost): the room is taken, or the PIN is in use."""
        return (
            self.pin_exists
            or self.error_type in ROOM_OCCUPIED_ERRORS
            or self.error_type in ROOM_PREASSIGNED_ERRORS
        )


def result_failure(operation: str, result: Any) -> ResultFailure | None:
    """None when the result (and every nested sub-result) is ``RESULT_OK``.

    A missing ``type`` is an error: with a changed schema it is what a dropped field looks
    like, and a silent "success" would be worse than a retry.
    """
    result_type = value(result, "type")
    if result_type is None or str(result_type) not in (RESULT_OK, RESULT_ERROR):
        # No result, or one this contract does not know: neither success nor a refusal.
        return ResultFailure(operation, None, None, None, type_missing=True)
    if str(result_type) != RESULT_OK:
        return _failure(operation, result)
    for sub in as_list(value(result, "subOperations")):
        sub_type = str(value(sub, "type", ""))
        if sub_type == RESULT_ERROR:
            return _failure(operation, sub)
        if sub_type != RESULT_OK:
            return ResultFailure(operation, None, None, None, type_missing=True)
    return None


def _failure(operation: str, result: Any) -> ResultFailure:
    def text(name: str) -> str | None:
        found = value(result, name)
        return str(found) if found is not None else None

    return ResultFailure(operation, text("errorType"), text("errorCode"), text("errorDetail"))


def error_for(failure: ResultFailure, *, room: str | None = None, mutating: bool) -> VendorError:
    """The taxonomy error for a failed result, with a message staff can act on. ``room`` is
    the room as staff know it (e.g. “Room 101”), never the server's door id."""
    where = room or "the room"
    code = failure.error_type
    if failure.type_missing:
        message = (
            f"The Smartair server's answer to {failure.operation} could not be read "
            "(it carried no result Mangodesk knows)."
        )
        fix = (
            "Mangodesk checks the room and tries again. If this keeps happening, the server "
            f"version may have changed: {INSTALLER_HINT} which version is installed."
        )
        return (AmbiguousError if mutating else TransientError)(message, fix)
    if code in AUTHENTICATION_ERRORS:
        return AuthError(
            "The Smartair server refused the operator name or password.",
            "Check the operator name and password in the Smartair connection settings; they "
            "must match the operator created in Smartair for Mangodesk (or "
            f"{INSTALLER_HINT} to reset them).",
            vendor_code=code,
        )
    if code == LICENCE_ERROR:
        return PermanentError(
            "The Smartair server's licence does not allow web-service (SOAP) access.",
            LICENCE_FIX,
            vendor_code=code,
        )
    if failure.pin_exists:
        return CodeConflictError(
            "This PIN is already used by another stay on the Smartair system (Smartair "
            "refuses a PIN that any room has for overlapping dates).",
            "A different PIN is needed for these dates.",
            vendor_code=code,
        )
    if code in OFFLINE_ERRORS:
        return TransientError(
            f"The lock of {where} did not answer the Smartair server ({code}).",
            "Mangodesk tries again in a few minutes. If it keeps failing, check the lock's "
            "batteries and the Smartair wireless hub near the room.",
            vendor_code=code,
        )
    if code in SERVER_BUSY_ERRORS:
        return TransientError(
            f"The Smartair server could not do this just now ({failure.describe()}).",
            "Mangodesk tries again in a few minutes.",
            vendor_code=code,
        )
    if code in ROOM_OCCUPIED_ERRORS:
        return PermanentError(
            f"Smartair shows {where} as still checked in for another stay at these dates.",
            "Check the previous guest out in Smartair (or shorten their stay), then choose "
            "Retry.",
            vendor_code=code,
        )
    if code in ROOM_PREASSIGNED_ERRORS:
        return PermanentError(
            f"Smartair already has another pre-check-in on {where} that overlaps these dates.",
            "Remove or shorten the other pre-check-in in Smartair, then choose Retry.",
            vendor_code=code,
        )
    if code in UNKNOWN_ROOM_ERRORS:
        return PermanentError(
            f"The Smartair server does not know {where} any more.",
            "Refresh the room list and link the unit to the right Smartair room.",
            vendor_code=code,
        )
    if code in ("ERROR_NOT_AUTHORIZED_IN_LOCKING_PLAN", "ERROR_NOT_AUTHORIZED_MISSING_GRANT"):
        return PermanentError(
            f"The Smartair operator Mangodesk uses is not allowed to manage {where}.",
            f"{ASK_INSTALLER} to give the operator rights to this room.",
            vendor_code=code,
        )
    if code in ("ERROR_NOT_AUTHORIZED_DOOR_BLOCKED", "ERROR_NOT_AUTHORIZED_DOOR_PRIVACY_ON"):
        return PermanentError(
            f"The lock of {where} is blocked or in privacy mode in Smartair.",
            "Unblock it in Smartair, then choose Retry.",
            vendor_code=code,
        )
    if code in ("ERROR_BAD_PARAMETERS", "ERROR_FORMAT_ERROR", "ERROR_DATA_ERROR"):
        return PermanentError(
            f"The Smartair server refused the request as invalid ({failure.describe()}).",
            "Check the dates of this code. If they look right, report the error shown here "
            "to Mangodesk support.",
            vendor_code=code,
        )
    return PermanentError(
        f"The Smartair server refused {failure.operation} ({failure.describe()}).",
        f"Choose Retry; if it keeps happening, {INSTALLER_HINT} what this error means.",
        vendor_code=code,
    )
