"""Passcodes staff create by hand (maintenance, owner stays, friends) and edit or revoke.

On a Manual lock the code is simply recorded (staff set it on the keypad themselves). On an
automated lock the intent is stored with an outbox operation in one transaction and the
engine carries it out with the vendor, with retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.domain.errors import NotFoundError, ValidationError, mask_code
from mangodesk.domain.types import (
    CodeOrigin,
    CodeState,
    OperationKind,
    VendorKind,
)
from mangodesk.engine.outbox import enqueue
from mangodesk.services.base import ServiceBase
from mangodesk.services.views import CodeView
from mangodesk.store.models import AccessCode, Booking, Lock, Unit
from mangodesk.vendors.base import Capabilities, LockDetails
from mangodesk.vendors.resolve import adapter_for

MAX_GUEST_NAME = 200


@dataclass(frozen=True)
class PasscodeInput:
    """What the New / Edit passcode dialog collects."""

    valid_from: datetime | None
    valid_to: datetime | None
    code: str | None = None  # None or "" = generate one
    guest_name: str | None = None
    guest_email: str | None = None
    booking_id: int | None = None


class PasscodeService(ServiceBase):
    # ------------------------------------------------------------------ reading

    def list_for_unit(self, unit_id: int, *, include_ended: bool = True) -> list[CodeView]:
        with self.ctx.db.session() as session:
            _unit(session, unit_id)
            query = select(AccessCode).where(AccessCode.unit_id == unit_id)
            if not include_ended:
                query = query.where(AccessCode.state.not_in([CodeState.REVOKED,
                                                             CodeState.EXPIRED]))
            codes = session.scalars(query.order_by(AccessCode.valid_from.desc(),
                                                   AccessCode.id.desc())).all()
            return [code_view(c) for c in codes]

    def get(self, code_id: int) -> CodeView:
        with self.ctx.db.session() as session:
            return code_view(_code(session, code_id))

    def capabilities_for_unit(self, unit_id: int) -> Capabilities:
        with self.ctx.db.session() as session:
            lock = _linked_lock(session, _unit(session, unit_id))
            return self.ctx.vendors.spec(lock.connection.kind).capabilities

    def lock_details(self, unit_id: int) -> LockDetails:
        """The Details button: asks the vendor (blocking) for battery, gateway, group…"""
        with self.ctx.db.session() as session:
            lock = _linked_lock(session, _unit(session, unit_id))
            conn = lock.connection
            if conn.kind == VendorKind.MANUAL:
                return LockDetails(items=(("Lock name", lock.name),))
            unit = _unit(session, unit_id)
            adapter = adapter_for(conn, self.ctx.vendors, self.ctx.secrets,
                                  hotel_timezone=unit.property.timezone)
            vendor_lock_id = lock.vendor_lock_id
        try:
            return adapter.lock_details(vendor_lock_id)
        finally:
            adapter.close()

    # ------------------------------------------------------------------ changing

    def create(self, unit_id: int, data: PasscodeInput) -> CodeView:
        now = self.now()
        with self.ctx.db.transaction() as session:
            unit = _unit(session, unit_id)
            lock = _linked_lock(session, unit)
            caps = self.ctx.vendors.spec(lock.connection.kind).capabilities
            valid_from, valid_to = _check_window(data.valid_from, data.valid_to)
            guest_name = _check_guest(data.guest_name)
            booking = _booking(session, data.booking_id)
            pin = self._choose_pin(session, lock, caps, data.code, valid_from, valid_to, None)
            if caps.mobile_key and not (data.guest_email or (booking and booking.guest_email)):
                raise ValidationError(
                    "A mobile key is sent by email: enter the guest's email address.",
                    field="guest_email",
                )
            manual = lock.connection.kind == VendorKind.MANUAL
            code = AccessCode(
                unit_id=unit.id,
                lock_id=lock.id,
                origin=CodeOrigin.MANUAL,
                booking_id=booking.id if booking else None,
                code=pin,
                valid_from=valid_from,
                valid_to=valid_to,
                guest_name=guest_name,
                state=CodeState.ACTIVE if manual else CodeState.PENDING,
                managed=True,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            if manual:
                code.vendor_ref = f"manual:{lock.vendor_lock_id}"
            session.add(code)
            session.flush()
            if not manual:
                payload = {"guest_email": data.guest_email} if data.guest_email else {}
                enqueue(session, code, OperationKind.CREATE, now, payload)
            self.audit(session, "create_code", "code", code.id,
                       f"New passcode {mask_code(pin)} for {unit.name} "
                       f"({_span(valid_from, valid_to)})",
                       after=_audit_state(code))
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.ctx.services.wake_engine()
        return view

    def edit(self, code_id: int, data: PasscodeInput) -> CodeView:
        now = self.now()
        with self.ctx.db.transaction() as session:
            code = _code(session, code_id)
            if code.state in (CodeState.REVOKED, CodeState.REVOKING, CodeState.EXPIRED):
                raise ValidationError("This code has ended and can no longer be edited.",
                                      fix="Create a new passcode instead.")
            lock = code.lock
            caps = self.ctx.vendors.spec(lock.connection.kind).capabilities
            before = _audit_state(code)
            valid_from, valid_to = _check_window(data.valid_from, data.valid_to)
            new_pin = (data.code or "").strip() or code.code
            if new_pin != code.code:
                if not caps.can_change_pin:
                    raise ValidationError(
                        "This lock provider cannot change the code of an existing passcode.",
                        field="code",
                        fix="Revoke it and create a new passcode with the new code.",
                    )
                new_pin = self._choose_pin(session, lock, caps, new_pin, valid_from, valid_to,
                                           code.id)
            window_changed = (valid_from, valid_to) != (code.valid_from, code.valid_to)
            if window_changed and not caps.can_move_start and valid_from != code.valid_from \
                    and code.state == CodeState.ACTIVE and code.valid_from <= now:
                raise ValidationError("The start of a code already in use cannot be moved.",
                                      field="valid_from")
            code.code = new_pin
            code.valid_from, code.valid_to = valid_from, valid_to
            if data.guest_name is not None:
                code.guest_name = _check_guest(data.guest_name)
            code.updated_at = now
            if code.origin == CodeOrigin.IMPORTED:
                code.origin = CodeOrigin.MANUAL  # staff took it over: now ours to manage
                code.managed = True
            if lock.connection.kind != VendorKind.MANUAL and window_changed:
                enqueue(session, code, OperationKind.UPDATE, now)
            self.audit(session, "edit_code", "code", code.id,
                       f"Edited passcode {mask_code(code.code)} ({_span(valid_from, valid_to)})",
                       before=before, after=_audit_state(code))
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.ctx.services.wake_engine()
        return view

    def revoke(self, code_id: int) -> CodeView:
        """Revoke a code. On Manual locks this only records it: staff must change the
        physical lock themselves (the dialog says so)."""
        now = self.now()
        with self.ctx.db.transaction() as session:
            code = _code(session, code_id)
            if code.state in (CodeState.REVOKED, CodeState.REVOKING):
                return code_view(code)
            before = _audit_state(code)
            if code.lock.connection.kind == VendorKind.MANUAL:
                code.state = CodeState.REVOKED
                code.updated_at = now
            else:
                code.managed = True
                enqueue(session, code, OperationKind.REVOKE, now)
            self.audit(session, "revoke_code", "code", code.id,
                       f"Revoked passcode {mask_code(code.code)}", before=before,
                       after=_audit_state(code))
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.ctx.services.wake_engine()
        return view

    def retry_now(self, code_id: int) -> CodeView:
        """Run a failed or waiting code's operation again at once (the engine's one Retry
        now, :mod:`mangodesk.engine.retry`)."""
        from mangodesk.engine.retry import retry_in_session

        now = self.now()
        with self.ctx.db.transaction() as session:
            code = _code(session, code_id)
            event = retry_in_session(session, code, now, self.ctx.actor)
            view = code_view(code)
        self.ctx.events.publish(event)
        self.changed(subject_id=view.id)
        self.ctx.services.wake_engine()
        return view

    def generate(self, unit_id: int) -> str:
        """A fresh PIN for the New passcode dialog's "Generate" button."""
        with self.ctx.db.session() as session:
            lock = _linked_lock(session, _unit(session, unit_id))
            caps = self.ctx.vendors.spec(lock.connection.kind).capabilities
            if caps.pin_rules is None or caps.vendor_generates_pin:
                raise ValidationError("This lock provider chooses the code itself.",
                                      field="code")
            from mangodesk.domain.pins import generate_pin

            taken = _taken_pins(session, lock.id, None, None, None)
            return generate_pin(caps.pin_rules, taken)

    # ------------------------------------------------------------------ helpers

    def _choose_pin(self, session: Session, lock: Lock, caps: Capabilities, typed: str | None,
                    valid_from: datetime, valid_to: datetime, exclude_id: int | None) -> str | None:
        from mangodesk.domain.pins import generate_pin, pin_problem

        typed = (typed or "").strip()
        rules = caps.pin_rules
        if rules is None or caps.vendor_generates_pin:
            if typed:
                raise ValidationError("This lock provider chooses the code itself; leave the "
                                      "code empty.", field="code")
            return None
        taken = _taken_pins(session, lock.id, valid_from, valid_to, exclude_id)
        if not typed:
            if lock.connection.kind == VendorKind.MANUAL:
                raise ValidationError("Enter the key code that is set on the lock.",
                                      field="code")
            return generate_pin(rules, taken)
        manual = lock.connection.kind == VendorKind.MANUAL
        typed = typed.upper() if manual else typed
        problem = pin_problem(typed, rules, allow_weak=manual)
        if problem:
            raise ValidationError(problem, field="code")
        if typed in taken:
            raise ValidationError(
                f"Another code on {lock.name} is already {mask_code(typed)} for overlapping "
                "dates.", field="code", fix="Choose a different code, or press Generate.")
        return typed


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
    )


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFoundError(f"There is no unit number {unit_id}.",
                            "Pick a unit from the list; it may have been removed in the PMS.")
    return unit


def _linked_lock(session: Session, unit: Unit) -> Lock:
    if unit.link is None:
        raise ValidationError(f"{unit.name} is not linked to a lock.", field="unit",
                              fix="Link it to a lock first (Link).")
    return unit.link.lock


def _code(session: Session, code_id: int) -> AccessCode:
    code = session.get(AccessCode, code_id)
    if code is None:
        raise NotFoundError(f"There is no passcode number {code_id}.")
    return code


def _booking(session: Session, booking_id: int | None) -> Booking | None:
    if booking_id is None:
        return None
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError(f"There is no booking number {booking_id}.")
    return booking


def _check_window(valid_from: datetime | None,
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


def _check_guest(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > MAX_GUEST_NAME:
        raise ValidationError(f"The guest name can be at most {MAX_GUEST_NAME} characters.",
                              field="guest_name")
    return name or None


def _taken_pins(session: Session, lock_id: int, valid_from: datetime | None,
                valid_to: datetime | None, exclude_id: int | None) -> set[str]:
    """PINs on this lock (ours, manual or imported) whose validity overlaps the window."""
    query = select(AccessCode.code).where(
        AccessCode.lock_id == lock_id,
        AccessCode.code.is_not(None),
        AccessCode.state.not_in([CodeState.REVOKED, CodeState.EXPIRED]),
    )
    if valid_from is not None and valid_to is not None:
        query = query.where(AccessCode.valid_from < valid_to, AccessCode.valid_to > valid_from)
    if exclude_id is not None:
        query = query.where(AccessCode.id != exclude_id)
    return {c for c in session.scalars(query) if c}


def _span(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def _audit_state(code: AccessCode) -> dict[str, object]:
    return {
        "code": mask_code(code.code),
        "valid_from": code.valid_from.isoformat(),
        "valid_to": code.valid_to.isoformat(),
        "state": str(code.state),
        "guest": code.guest_name,
    }


__all__ = ["PasscodeInput", "PasscodeService", "code_view"]
