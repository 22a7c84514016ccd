"""The checks and loaders behind staff passcodes: each one refuses with words staff act on
(what is wrong, what to do), so the service reads as the steps of a change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mangodesk.domain.errors import (
    ChangedElsewhereError,
    NotFoundError,
    ValidationError,
    mask_code,
)
from mangodesk.services.versions import move_version
from mangodesk.services.views import CodeView
from mangodesk.store.code_versions import mark_version_taken
from mangodesk.store.models import AccessCode, Booking, Lock, Unit
from mangodesk.vendors.base import Capabilities

MAX_GUEST_NAME = 200
# The automation moves a code's version too (store/code_versions.py): the words name both.
CHANGED_ELSEWHERE = ("This passcode was changed after you opened it, at another desk or by the "
                     "automation — reload and try again.")


def code_view(code: AccessCode) -> CodeView:
    return CodeView(
        id=code.id,
        unit_id=code.unit_id,
        unit_name=code.unit.name if code.unit else None,
        lock_id=code.lock_id,
        lock_name=code.lock.name,
        kind=code.lock.connection.kind,
        origin=code.origin,
        booking_id=code.booking_id,
        booking_ref=code.booking.pms_id if code.booking else None,
        code=code.code,
        mobile_key_sent_to=code.mobile_key_sent_to,
        valid_from=code.valid_from,
        valid_to=code.valid_to,
        guest_name=code.guest_name,
        state=code.state,
        managed=code.managed,
        attempts=code.attempts,
        last_error=code.last_error,
        booking_codes_stopped=bool(code.booking and code.booking.codes_stopped),
        version=code.version,
    )


def take_version(session: Session, code_id: int, expected: int | None) -> None:
    """Move the code's version first thing in the transaction, only from the version the
    desk saw (see :mod:`mangodesk.services.versions`); refused if it moved since."""
    moved = move_version(session, AccessCode.id, AccessCode.version, code_id, expected)
    if not moved and expected is not None:
        load_code(session, code_id)  # a code that is gone says so
        raise ChangedElsewhereError(
            CHANGED_ELSEWHERE,
            "Close this passcode, open it again to see what changed, then "
            "make your change again if it is still needed.")
    mark_version_taken(session, code_id)


def load_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFoundError(f"There is no unit number {unit_id}.",
                            "Pick a unit from the list; it may have been removed in the PMS.")
    return unit


def linked_lock(session: Session, unit: Unit) -> Lock:
    if unit.link is None:
        raise ValidationError(f"{unit.name} is not linked to a lock.", field="unit",
                              fix="Link it to a lock first (Link).")
    return unit.link.lock


def load_code(session: Session, code_id: int) -> AccessCode:
    code = session.get(AccessCode, code_id)
    if code is None:
        raise NotFoundError(f"There is no passcode number {code_id}.")
    return code


def load_booking(session: Session, booking_id: int | None) -> Booking | None:
    if booking_id is None:
        return None
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError(f"There is no booking number {booking_id}.")
    return booking


def check_window(valid_from: datetime | None,
                  valid_to: datetime | None) -> tuple[datetime, datetime]:
    if valid_from is None:
        raise ValidationError("Enter the Valid From date.", field="valid_from")
    if valid_to is None:
        raise ValidationError("Enter the Valid To date.", field="valid_to")
    if valid_from.tzinfo is None or valid_to.tzinfo is None:
        raise ValueError("passcode windows must be timezone-aware")
    if valid_to <= valid_from:
        raise ValidationError("Valid To must be after Valid From.", field="valid_to",
                              fix="Check that the dates are not the wrong way round.")
    return valid_from, valid_to


def check_guest(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > MAX_GUEST_NAME:
        raise ValidationError(f"The guest name can be at most {MAX_GUEST_NAME} characters.",
                              field="guest_name")
    return name or None


def scope_words(caps: Capabilities) -> str:
    from mangodesk.vendors.base import PinScope

    if caps.pin_scope == PinScope.LOCK_ALL:
        return "this lock refuses a code that any code stored on it has, expired ones included."
    if caps.pin_scope == PinScope.SITE_OVERLAPPING:
        return "the lock system refuses a code used by any overlapping stay on the site."
    return "two codes on one lock cannot be the same for overlapping dates."


def check_takes_codes(lock: Lock) -> None:
    """Refuse at once what the vendor would refuse after 30 tries."""
    if not lock.manageable:
        raise ValidationError(
            f"{lock.name} cannot take codes from Mangodesk: "
            f"{lock.unmanageable_reason or 'the provider does not allow it'}.",
            field="unit", fix="Give the guest a key or code another way.")
    if lock.codes_not_automatic_reason:
        raise ValidationError(
            f"Codes are not automatic on {lock.name}: {lock.codes_not_automatic_reason}.",
            field="unit",
            fix="Set the code on the lock with the vendor's app, or add a gateway to the lock.")


def span(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def audit_state(code: AccessCode) -> dict[str, object]:
    return {
        "code": mask_code(code.code),
        "valid_from": code.valid_from.isoformat(),
        "valid_to": code.valid_to.isoformat(),
        "state": str(code.state),
        "guest": code.guest_name,
    }
