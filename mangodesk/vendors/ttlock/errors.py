"""TTLock's errcodes: what each one means for the retry policy and in words for staff.

Errors arrive with HTTP 200 as ``{"errcode": …, "errmsg": …}`` (reference §1.9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mangodesk.vendors import http
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AuthError,
    CodeConflictError,
    PermanentError,
    TransientError,
    VendorError,
)
from mangodesk.vendors.ttlock.details import as_text, as_whole

# Errcodes that mean "the access token is not good any more": re-authenticate, retry once.
REAUTH_ERRCODES = frozenset({10003, 10004, 10011, 10015})
# "Busy" (gateway −3003, Wi-Fi lock −3037): the lock was not changed. The reference (§1.11)
# says to retry after a few seconds, so the adapter does, a few times, before giving the
# engine a transient error that asks for another try in seconds, not minutes.
BUSY_ERRCODES = frozenset({-3003, -3037})
BUSY_PAUSES_SECONDS = (2.0, 4.0, 6.0)
BUSY_RETRY_AFTER = 15.0
# The errcode TTLock answers when the PIN is already on the lock.
SAME_PIN_ERRCODE = -3007


@dataclass(frozen=True)
class _Errcode:
    error: type[VendorError]
    message: str
    fix: str | None = None
    retry_after: float | None = None


SIGN_IN_AGAIN = "Open the TTLock connection and enter the TTLock app email and password again."
IF_IT_LASTS = "If this keeps happening, check the lock and its gateway in the TTLock app."

# The reference's retry classes (§1.9): R → TransientError, A → re-auth (then AuthError),
# F → PermanentError/AuthError, I → AlreadyGone or reconcile (CodeConflict after a look-up).
ERRCODES: dict[int, _Errcode] = {
    1: _Errcode(TransientError, "TTLock reported a failure without saying why.",
                IF_IT_LASTS),
    -3: _Errcode(PermanentError, "TTLock refused the request as invalid.",
                 "Please report this to Mangodesk support (TTLock error −3)."),
    10000: _Errcode(AuthError, "TTLock does not know the client ID of this connection.",
                    "Check the client ID and client secret of your TTLock developer app."),
    10001: _Errcode(AuthError, "TTLock did not accept the client ID or client secret.",
                    "Check the client ID and client secret of your TTLock developer app."),
    10003: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", SIGN_IN_AGAIN),
    10004: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", SIGN_IN_AGAIN),
    10006: _Errcode(AuthError, "TTLock has not approved this developer app yet.",
                    "Wait for TTLock's approval e-mail, or use an approved app's client ID."),
    10007: _Errcode(AuthError, "TTLock did not accept the username or password.",
                    "Use the e-mail and password of your TTLock app account (not the developer "
                    "portal account) and check the server region."),
    10011: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", SIGN_IN_AGAIN),
    10015: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", SIGN_IN_AGAIN),
    20002: _Errcode(PermanentError, "This TTLock account is not an administrator of the lock.",
                    "Connect with the lock owner's account, or have the owner make this account "
                    "an administrator in the TTLock app."),
    -2018: _Errcode(PermanentError, "This TTLock account is not allowed to manage the lock.",
                    "Connect with the lock owner's account, or have the owner make this account "
                    "an administrator in the TTLock app."),
    30001: _Errcode(PermanentError, "This TTLock developer app may not use that function.",
                    "Check the app's permissions on the TTLock developer portal."),
    30005: _Errcode(AuthError, "TTLock expected the password in another form.",
                    "Enter the plain TTLock app password. If it came from a TTHotel export, "
                    "tick “The password is already hashed” under Advanced in Sign in "
                    "again."),
    30006: _Errcode(TransientError, "TTLock asked Mangodesk to make fewer calls for a moment.",
                    IF_IT_LASTS, retry_after=60),
    30007: _Errcode(PermanentError,
                    "The TTLock developer app has used up this month's allowance of calls.",
                    "Upgrade the plan on the TTLock developer portal, or wait until the 1st of "
                    "next month."),
    30008: _Errcode(PermanentError, "This TTLock account belongs to another TTLock region.",
                    "Set the server to https://cnapi.ttlock.com for accounts in mainland China "
                    "and https://euapi.ttlock.com everywhere else."),
    80000: _Errcode(TransientError,
                    "TTLock refused the request because this computer's clock is wrong.",
                    "Set this computer's date and time correctly (turn on automatic time); "
                    "Mangodesk will then try again.", retry_after=300),
    80002: _Errcode(PermanentError, "TTLock could not read Mangodesk's request.",
                    "Please report this to Mangodesk support (TTLock error 80002)."),
    90000: _Errcode(TransientError, "TTLock had an internal problem.", IF_IT_LASTS,
                    retry_after=60),
    -1003: _Errcode(PermanentError,
                    "TTLock no longer knows this lock (deleted or moved to another account).",
                    "Check the lock in the TTLock app, then link the unit to the right lock."),
    -2025: _Errcode(PermanentError, "The lock is frozen in TTLock.",
                    "Unfreeze the lock in the TTLock app, then retry."),
    -4043: _Errcode(PermanentError, "This lock cannot take door codes from a distance.",
                    "Use a lock with a keypad and passcode version 4 or later, or handle this "
                    "door's codes by hand."),
    -4056: _Errcode(PermanentError, "The lock's memory is full.",
                    "Delete old or expired passcodes of this lock in the TTLock app, then retry."),
    -1007: _Errcode(PermanentError, "The lock has no passcode data in TTLock.",
                    "Reset the lock's passcodes in the TTLock app, then retry."),
    -2009: _Errcode(AlreadyGoneError,
                    "The code is no longer on the lock (it was deleted outside Mangodesk, "
                    "for example in the TTLock app).",
                    "Mangodesk gives the guest a new code."),
    -2032: _Errcode(CodeConflictError,
                    "The lock refused the code as too easy to guess (repeated or consecutive "
                    "digits).", "Choose a less obvious code."),
    -3006: _Errcode(PermanentError, "The lock refused the length of the code.",
                    "Use a code of 4 to 9 digits."),
    -3007: _Errcode(CodeConflictError, "This code is already in use on the lock.",
                    "Choose another code."),
    -3008: _Errcode(PermanentError,
                    "TTLock cannot change a code that has never been used on the lock.",
                    "Revoke the code and create a new one."),
    -3009: _Errcode(PermanentError, "The lock already holds 250 codes, its maximum.",
                    "Delete old or expired passcodes of this lock in the TTLock app, then retry."),
    -1026: _Errcode(PermanentError, "TTLock refused a code for this period.",
                    "Choose other dates or another code."),
    -2012: _Errcode(TransientError, "The lock is not connected to a TTLock gateway right now.",
                    "Check that the gateway near this door is plugged in and online.",
                    retry_after=900),
    -3002: _Errcode(TransientError, "The TTLock gateway of this lock is offline.",
                    "Check the gateway's power and its Wi-Fi or network cable.",
                    retry_after=300),
    -3003: _Errcode(TransientError, "The TTLock gateway is busy with another request.",
                    IF_IT_LASTS, retry_after=BUSY_RETRY_AFTER),
    -3034: _Errcode(PermanentError, "This Wi-Fi lock is not set up on a network.",
                    "Finish the lock's Wi-Fi setup in the TTLock app."),
    -3035: _Errcode(TransientError, "This Wi-Fi lock is saving power and did not answer.",
                    "Turn off power saving for this lock in the TTLock app.",
                    retry_after=300),
    -3036: _Errcode(TransientError, "The Wi-Fi lock is offline.",
                    "Check the lock's batteries and the Wi-Fi near the door.",
                    retry_after=300),
    -3037: _Errcode(TransientError, "The Wi-Fi lock is busy with another request.",
                    IF_IT_LASTS, retry_after=BUSY_RETRY_AFTER),
    -4037: _Errcode(PermanentError, "The TTLock gateway of this lock no longer exists.",
                    "Check the gateway in the TTLock app and add it again if needed."),
}


def errcode_of(body: Mapping[str, Any]) -> int | None:
    """The body's ``errcode``, None when there is none; ``ValueError`` when it is not a whole
    number (TTLock's types are loose: "-3007" as text is fine; true, 0.5 or a list are not,
    and must never read as 0 = success)."""
    if "errcode" not in body:
        return None
    value = as_whole(body["errcode"])
    if value is None:
        raise ValueError("errcode is not a whole number")
    return value


def require_ok(body: Mapping[str, Any], outcome: str) -> None:
    """A change or delete is done only when TTLock answers ``{"errcode": 0, …}``; a body
    without errcode (or any other shape) does not say so."""
    try:
        errcode = errcode_of(body)
    except ValueError:
        errcode = None
    if errcode != 0:
        raise http.unclear_outcome("TTLock", outcome, "the lock's codes")


def error_for(errcode: int, body: Mapping[str, Any]) -> VendorError:
    """The classified error for a TTLock errcode; unknown codes are permanent, with TTLock's
    own words so staff have something to search for."""
    known = ERRCODES.get(errcode)
    if known is not None:
        return known.error(known.message, known.fix, vendor_code=str(errcode),
                           retry_after=known.retry_after)
    vendor_text = as_text(body.get("errmsg"), 120).replace("\u00a0", " ").strip()
    detail = f" ({vendor_text})" if vendor_text else ""
    return PermanentError(
        f"TTLock refused the request with error {errcode}{detail}.",
        "Check the lock in the TTLock app; if it keeps happening, contact Mangodesk support.",
        vendor_code=str(errcode),
    )
