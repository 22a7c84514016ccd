"""What staff read when a Beds24 call fails: the fixes, the name of each call in words, and
the one classification of HTTP failures (:mod:`mangodesk.vendors.http`) in Beds24's terms.
"""

from __future__ import annotations

from typing import Any

from mangodesk.pms.base import PmsError
from mangodesk.vendors.http import Failure, HttpFailure

# What staff read after a failed call: it is retried, and a failure never takes codes away.
RETRY_FIX = (
    "Mangodesk will try again at the next sync; no booking or door code is removed because "
    "of this."
)
CONNECT_FIX = (
    "In Beds24 open Settings › Marketplace › API, create an invite code (with the bookings, "
    "bookings-personal, properties and accounts scopes), then connect Mangodesk again with "
    "that code."
)


def describe(path: str) -> str:
    return {
        "/authentication/setup": "connecting with the invite code",
        "/authentication/token": "renewing access",
        "/authentication/details": "reading access details",
        "/properties": "properties",
        "/bookings": "bookings",
        "/accounts": "account details",
    }.get(path, path)


def error_text(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error") or body.get("message")
        if isinstance(error, str):
            return error[:300]
    return None



def malformed(what: str, detail: str) -> PmsError:
    return PmsError(
        f"Beds24 sent {what} Mangodesk cannot read: {detail}.",
        RETRY_FIX,
    )


def transport_error(failure: HttpFailure, path: str) -> PmsError:
    """A call that got no answer. Beds24 calls are reads or idempotent writes (the info
    item is replaced whole), so every kind is retried at the next sync."""
    what = describe(path)
    if failure.timed_out:
        return PmsError(f"Beds24 did not answer in time ({what}).", RETRY_FIX)
    if failure.kind is Failure.CUT_OFF:
        return PmsError(
            f"Beds24 closed the connection before answering ({what}).",
            "This is usually a short problem at Beds24 or on the way to it, not this "
            "computer. " + RETRY_FIX,
        )
    return PmsError(
        f"Mangodesk could not reach Beds24 ({failure.cause}).",
        "Check this computer's internet connection. Mangodesk keeps working with the "
        "bookings it already has and tries again at the next sync.",
    )
