"""How Flexipass says no: its error statuses and codes in the staff's words.

The wire codes are in :mod:`.contract`; throttling and unclear outcomes go through the one
HTTP classification in :mod:`mangodesk.vendors.http`.
"""

from __future__ import annotations

import logging

import httpx

from mangodesk.domain.clock import Clock
from mangodesk.vendors import http
from mangodesk.vendors.base import AlreadyGoneError, AuthError, PermanentError, TransientError
from mangodesk.vendors.flexipass import contract as wire

log = logging.getLogger(__name__)


def gone() -> AlreadyGoneError:
    """The key was deleted outside Mangodesk: a change of its dates cannot be made."""
    return AlreadyGoneError(
        "Flexipass no longer has this mobile key (it was deleted outside Mangodesk), so "
        "its dates cannot be changed.",
        "Mangodesk creates a new key for the stay.",
    )


def unreadable() -> PermanentError:
    return http.unreadable("Flexipass")


def key_unknown(response: httpx.Response) -> bool:
    """Flexipass says this key does not exist (deleted outside Mangodesk, or by us)."""
    if response.status_code != 404:
        return False
    code, _ = wire.parse_error(http.json_or_none(response))
    return code == wire.ERR_KEY_NOT_FOUND


def raise_for_status(
    response: httpx.Response, *, clock: Clock, write: bool = False
) -> None:
    """Classify an error status. On a write, a bare 404 (no Flexipass error code: a
    proxy's page, a moved address) leaves the outcome unclear rather than "refused"."""
    status = response.status_code
    if status < 400:
        return
    code, _ = wire.parse_error(http.json_or_none(response))
    log.info("Flexipass refused a request (HTTP %s, error code %s)", status, code)
    if status == 401 or code == wire.ERR_BAD_CREDENTIALS:
        raise AuthError(
            "Flexipass rejected the username or password.",
            "Check them with your Flexipass account and enter them again.",
            vendor_code=code,
        )
    if status == 403 or code == wire.ERR_BAD_COMPANY_TOKEN:
        raise AuthError(
            "Flexipass rejected the company token.",
            "Ask Flexipass for your property's company token and enter it again.",
            vendor_code=code,
        )
    if code == wire.ERR_DOOR_OFFLINE:
        raise TransientError(
            "The door is offline in Flexipass.",
            "If this lasts, check the lock system's connection.",
            vendor_code=code,
        )
    http.raise_if_overloaded(response, "Flexipass", code, now=clock.now())
    if write and code is None and status == 404:
        raise http.unclear_outcome("Flexipass", "the change was made", "the door's keys",
                                   vendor_code=f"HTTP {status}")
    if status == 404 or code == wire.ERR_DOOR_NOT_FOUND:
        raise PermanentError(
            "Flexipass does not know this door any more.",
            "Refresh the door list and link the unit to the right door again.",
            vendor_code=code,
        )
    raise PermanentError(
        f"Flexipass refused the request (error {status}).",
        "Check the booking's dates and guest details; contact Mangodesk support if it "
        "keeps failing.",
        vendor_code=code,
    )
