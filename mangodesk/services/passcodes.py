"""Passcodes staff create by hand (maintenance, owner stays, friends) and edit or revoke.

On a Manual lock the code is simply recorded (staff set it on the keypad themselves). On an
automated lock the intent is stored with an outbox operation in one transaction and the
engine carries it out with the vendor, with retries.

A booking's code revoked by staff stays revoked: staff either stop codes for the booking (the
planner issues none until they lift it) or ask for a new code at once (the desk is told to
pass the new code on). Editing a booking code's times is an early check-in / late check-out
that is kept on the booking across later PMS syncs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mangodesk.domain.errors import (
    ValidationError,
    mask_code,
)
from mangodesk.domain.stay import zone
from mangodesk.domain.types import (
    ENDED_CODE_STATES,
    ENDING_CODE_STATES,
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    CodeState,
    OperationKind,
    VendorKind,
)
from mangodesk.engine.outbox import OperationPayload, enqueue
from mangodesk.engine.planning import pin_holders
from mangodesk.services.base import ServiceBase
from mangodesk.services.passcode_checks import (
    audit_state,
    check_guest,
    check_takes_codes,
    check_window,
    code_view,
    linked_lock,
    load_booking,
    load_code,
    load_unit,
    scope_words,
    span,
    take_version,
)
from mangodesk.services.units import waiting_retries
from mangodesk.services.views import CodeView
from mangodesk.store.alerts import raise_alert
from mangodesk.store.models import AccessCode, Booking, Lock, Property
from mangodesk.vendors.base import Capabilities, LockDetails


class RevokeDecisionNeeded(ValidationError):
    """Revoking a booking's code: staff must say whether the guest gets a new code."""

    def __init__(self, guest: str | None) -> None:
        super().__init__(
            f"This code belongs to {guest or 'a booking'}: choose whether the booking gets "
            "no more codes, or a new code at once.",
            field="stop_codes",
            fix="Choose “Revoke and stop codes for this booking” or “Revoke and issue a new "
                "code” (CLI: --stop or --reissue).",
        )


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
        with self.db.session() as session:
            load_unit(session, unit_id)
            # What each line shows of its unit, lock, provider and booking, in the one query:
            # every desk reloads the open panel on every change.
            query = select(AccessCode).where(AccessCode.unit_id == unit_id).options(
                joinedload(AccessCode.unit), joinedload(AccessCode.booking),
                joinedload(AccessCode.lock).joinedload(Lock.connection))
            if not include_ended:
                query = query.where(AccessCode.state.not_in(ENDED_CODE_STATES))
            codes = session.scalars(query.order_by(AccessCode.valid_from.desc(),
                                                   AccessCode.id.desc())).all()
            retries = waiting_retries(session, [c.id for c in codes])
            limit = self.deps.settings.max_attempts
            return [replace(code_view(c), next_attempt_at=retries[c.id][0],
                            retry_attempts=retries[c.id][1], max_attempts=limit)
                    if c.id in retries else replace(code_view(c), max_attempts=limit)
                    for c in codes]

    def get(self, code_id: int) -> CodeView:
        with self.db.session() as session:
            return code_view(load_code(session, code_id))

    def lock_details(self, unit_id: int) -> LockDetails:
        """The Details button: asks the vendor (blocking) for battery, gateway, group…"""
        with self.db.session() as session:
            lock = linked_lock(session, load_unit(session, unit_id))
            conn = lock.connection
            if conn.kind == VendorKind.MANUAL:
                return LockDetails(items=(("Lock name", lock.name),))
            connection_id, vendor_lock_id = conn.id, lock.vendor_lock_id
        with self.adapters.use(connection_id) as adapter:
            return adapter.lock_details(vendor_lock_id)

    # ------------------------------------------------------------------ changing

    def create(self, unit_id: int, data: PasscodeInput) -> CodeView:
        now = self.now()
        with self.db.transaction() as session:
            unit = load_unit(session, unit_id)
            lock = linked_lock(session, unit)
            check_takes_codes(lock)
            caps = self.vendors.spec(lock.connection.kind).capabilities
            valid_from, valid_to = check_window(data.valid_from, data.valid_to)
            guest_name = check_guest(data.guest_name)
            booking = load_booking(session, data.booking_id)
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
                enqueue(session, code, OperationKind.CREATE, now,
                        OperationPayload(guest_email=data.guest_email or None))
            self.audit(session, AuditAction.CODE_STAFF_CREATE, AuditSubject.CODE, code.id,
                       f"New passcode {mask_code(pin)} for {unit.name} "
                       f"({span(valid_from, valid_to)})",
                       after=audit_state(code))
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.engine.wake()
        return view

    def edit(self, code_id: int, data: PasscodeInput, *,
             expected_version: int | None = None) -> CodeView:
        """Change a code's PIN, times or guest. ``expected_version`` is the
        :attr:`CodeView.version` the desk showed: if another desk saved a change since, the
        edit is refused (ChangedElsewhereError) rather than silently undoing that change."""
        now = self.now()
        with self.db.transaction() as session:
            take_version(session, code_id, expected_version)
            code = load_code(session, code_id)
            if code.state in ENDING_CODE_STATES:
                raise ValidationError("This code has ended and can no longer be edited.",
                                      fix="Create a new passcode instead.")
            lock = code.lock
            caps = self.vendors.spec(lock.connection.kind).capabilities
            before = audit_state(code)
            valid_from, valid_to = check_window(data.valid_from, data.valid_to)
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
            if code.origin == CodeOrigin.BOOKING and code.booking is not None and window_changed:
                self._keep_staff_times(session, code, code.booking, valid_from, valid_to)
            code.code = new_pin
            code.valid_from, code.valid_to = valid_from, valid_to
            if data.guest_name is not None:
                code.guest_name = check_guest(data.guest_name)
            code.updated_at = now
            if code.origin == CodeOrigin.IMPORTED:
                code.origin = CodeOrigin.MANUAL  # staff took it over: now ours to manage
                code.managed = True
            if lock.connection.kind != VendorKind.MANUAL and window_changed:
                enqueue(session, code, OperationKind.UPDATE, now)
            self.audit(session, AuditAction.CODE_STAFF_EDIT, AuditSubject.CODE, code.id,
                       f"Edited passcode {mask_code(code.code)} ({span(valid_from, valid_to)})",
                       before=before, after=audit_state(code))
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.engine.wake()
        return view

    def revoke(self, code_id: int, *, stop_codes: bool | None = None,
               expected_version: int | None = None) -> CodeView:
        """Revoke a code. On Manual locks this only records it: staff must change the
        physical lock themselves (the dialog says so).

        A booking's code needs ``stop_codes`` decided: True marks the booking "codes
        stopped" (automation issues it nothing until :meth:`resume_codes`); False issues a
        new code with a new PIN at once and raises a notice to tell the guest. Returns the
        revoked code. ``expected_version`` as for :meth:`edit`."""
        now = self.now()
        with self.db.transaction() as session:
            take_version(session, code_id, expected_version)
            code = load_code(session, code_id)
            if code.state in (CodeState.REVOKED, CodeState.REVOKING):
                return code_view(code)
            booking = code.booking if code.origin == CodeOrigin.BOOKING else None
            if booking is not None and stop_codes is None:
                raise RevokeDecisionNeeded(code.guest_name or booking.guest_name)
            if booking is not None and stop_codes is False and \
                    code.lock.connection.kind == VendorKind.MANUAL:
                raise ValidationError(
                    "Mangodesk cannot set a new code on a manual lock.", field="stop_codes",
                    fix="Set a new code on the keypad yourself and add it with New passcode.")
            before = audit_state(code)
            if code.lock.connection.kind == VendorKind.MANUAL:
                code.state = CodeState.REVOKED
                code.updated_at = now
            else:
                code.managed = True
                enqueue(session, code, OperationKind.REVOKE, now)
            summary = f"Revoked passcode {mask_code(code.code)}"
            after = audit_state(code)
            if booking is not None and stop_codes:
                booking.codes_stopped = True
                summary += f" and stopped codes for booking {booking.pms_id}"
                after["decision"] = "stop codes"
            elif booking is not None:
                replacement = self._reissue(session, code, booking, now)
                summary += (f" and issued a new code {mask_code(replacement.code)} "
                            f"for booking {booking.pms_id}")
                after["decision"] = "new code"
                after["new_code_id"] = replacement.id
            self.audit(session, AuditAction.CODE_STAFF_REVOKE, AuditSubject.CODE, code.id,
                       summary, before=before, after=after)
            view = code_view(code)
        self.changed(subject_id=view.id)
        self.engine.wake()
        return view

    def resume_codes(self, booking_id: int) -> None:
        """Lift "codes stopped" on a booking: automation issues its codes again."""
        with self.db.transaction() as session:
            booking = load_booking(session, booking_id)
            assert booking is not None
            if not booking.codes_stopped:
                raise ValidationError(
                    f"Codes are not stopped for booking {booking.pms_id}.",
                    fix="Nothing to do: Mangodesk issues this booking's codes automatically.")
            booking.codes_stopped = False
            self.audit(session, AuditAction.BOOKING_RESUME_CODES, AuditSubject.BOOKING, booking.id,
                       f"Codes resumed for booking {booking.pms_id} "
                       f"({booking.guest_name or 'guest'})",
                       before={"codes_stopped": True}, after={"codes_stopped": False})
        self.changed(subject_id=booking_id)
        self.engine.wake()

    def _reissue(self, session: Session, old: AccessCode, booking: Booking,
                 now: datetime) -> AccessCode:
        """A new code for the same booking, unit and window, never the revoked PIN."""
        lock = old.lock
        caps = self.vendors.spec(lock.connection.kind).capabilities
        pin: str | None = None
        if caps.pin_rules is not None and not caps.vendor_generates_pin and not caps.mobile_key:
            from mangodesk.domain.pins import generate_pin

            taken = {h.pin for h in pin_holders(session, lock.id, old.valid_from, old.valid_to,
                                                scope=caps.pin_scope)}
            pin = generate_pin(caps.pin_rules, taken)
        code = AccessCode(
            unit_id=old.unit_id, lock_id=old.lock_id, origin=CodeOrigin.BOOKING,
            booking_id=booking.id, code=pin, valid_from=old.valid_from, valid_to=old.valid_to,
            guest_name=old.guest_name or booking.guest_name, state=CodeState.PENDING,
            managed=True, attempts=0, created_at=now, updated_at=now,
        )
        session.add(code)
        session.flush()
        enqueue(session, code, OperationKind.CREATE, now, OperationPayload(
            reason="Staff revoked the old code and asked for a new one.",
            replaces_code_id=old.id, guest_email=booking.guest_email or None))
        unit = old.unit.name if old.unit else lock.name
        guest = code.guest_name or "the guest"
        new_code = (f"the new code {mask_code(pin)}" if pin else
                    "a new key (sent by the provider)")
        message = (f"Tell {guest} the new door code for {unit}: {new_code} replaces the "
                   "revoked one.")
        raise_alert(
            session, dedupe_key=f"code:{code.id}:reissued", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="Give the guest the new code once it shows as active in the Passcodes panel.",
            now=now,
        )
        self.audit(session, AuditAction.CODE_REISSUE, AuditSubject.CODE, code.id,
                   f"New passcode {mask_code(pin)} for {guest} on {unit} replaces revoked "
                   f"code {mask_code(old.code)}", after=audit_state(code))
        return code

    def _keep_staff_times(self, session: Session, code: AccessCode, booking: Booking,
                          valid_from: datetime, valid_to: datetime) -> None:
        """An edited booking code is an early check-in / late check-out: store the local times
        on the booking so the planner keeps them, also on new dates from a later sync."""
        prop = session.get(Property, booking.property_id)
        assert prop is not None
        tz = zone(prop.timezone)
        start, end = valid_from.astimezone(tz), valid_to.astimezone(tz)
        if start.date() != booking.arrival or end.date() != booking.departure:
            raise ValidationError(
                f"A guest code keeps the booking's dates ({booking.arrival:%d %b} to "
                f"{booking.departure:%d %b}); only the check-in and check-out times can be "
                "changed here.", field="valid_from",
                fix="Change the dates of the booking in the PMS; the code follows them.")
        checkin, checkout = start.time().replace(tzinfo=None), end.time().replace(tzinfo=None)
        booking.checkin_override = None if checkin == prop.checkin_time else checkin
        booking.checkout_override = None if checkout == prop.checkout_time else checkout

    def retry_now(self, code_id: int) -> CodeView:
        """Run a failed or waiting code's operation again at once (the engine's one Retry
        now, :mod:`mangodesk.engine.retry`)."""
        from mangodesk.engine.retry import retry_in_session

        now = self.now()
        with self.db.transaction() as session:
            code = load_code(session, code_id)
            event = retry_in_session(session, code, now, self.actor)
            view = code_view(code)
        self.events.publish(event)
        self.changed(subject_id=view.id)
        self.engine.wake()
        return view

    def generate(self, unit_id: int) -> str:
        """A fresh PIN for the New passcode dialog's "Generate" button."""
        with self.db.session() as session:
            lock = linked_lock(session, load_unit(session, unit_id))
            caps = self.vendors.spec(lock.connection.kind).capabilities
            if caps.pin_rules is None or caps.vendor_generates_pin:
                raise ValidationError("This lock provider chooses the code itself.",
                                      field="code")
            from mangodesk.domain.pins import generate_pin

            taken = {h.pin for h in pin_holders(session, lock.id, None, None,
                                                scope=caps.pin_scope)}
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
        holders = pin_holders(session, lock.id, valid_from, valid_to, exclude_id,
                              scope=caps.pin_scope)
        taken = {holder.pin for holder in holders}
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
        clash = next((holder for holder in holders if holder.pin == typed), None)
        if clash is not None:
            raise ValidationError(
                f"The code {mask_code(typed)} is already used by {clash.description}; "
                f"{scope_words(caps)}", field="code",
                fix="Choose a different code, or press Generate.")
        return typed


__all__ = ["PasscodeInput", "PasscodeService", "code_view"]
