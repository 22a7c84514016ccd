"""Linking units to locks: one lock per unit, unlink and re-link at any time.

Linking to a vendor lock imports the codes already on it as "imported" codes: shown, avoided
when generating new PINs, never changed by automation. Manual locks are typed names.

A lock already linked to another unit is only linked again when staff confirm it is shared
(both units' guests get codes on that door). Re-linking reads the new lock first and swaps the
link in one transaction, so a vendor that cannot be reached leaves the unit as it was.

Every link, re-link and unlink moves the unit's ``link_version``. A desk passes the version it
showed (:attr:`UnitRow.link_version`): if another desk changed the unit's link since, the
change is refused rather than undoing the other desk's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mangodesk.domain.errors import (
    ChangedElsewhereError,
    NotFoundError,
    ValidationError,
    mask_code,
)
from mangodesk.domain.types import (
    CURRENT_CODE_STATES,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    CodeState,
    OperationKind,
    VendorKind,
)
from mangodesk.engine.outbox import enqueue
from mangodesk.services.base import ServiceBase
from mangodesk.services.passcode_checks import load_unit
from mangodesk.services.versions import move_version
from mangodesk.store.models import AccessCode, Connection, Lock, Unit, UnitLink
from mangodesk.vendors.base import VendorCode

# Imported codes without a known validity are treated as valid for ever (they may be
# permanent codes on the lock); these bounds keep the column non-null and portable.
OPEN_START = datetime(2000, 1, 1, tzinfo=UTC)
OPEN_END = datetime(2100, 1, 1, tzinfo=UTC)


class LinkDecisionNeeded(ValidationError):
    """Unlinking would leave live guest codes behind: staff must choose revoke or keep."""

    def __init__(self, unit_name: str, live_codes: int) -> None:
        super().__init__(
            f"{unit_name} has {live_codes} active or upcoming guest code(s).",
            field="codes",
            fix="Choose whether to revoke them on the lock, or keep them and stop managing them.",
        )
        self.live_codes = live_codes


class SharedLockNeedsConfirmation(ValidationError):
    """The lock already opens another unit: staff must confirm both units share it."""

    def __init__(self, lock_name: str, other_units: tuple[str, ...]) -> None:
        others = " and ".join(other_units)
        super().__init__(
            f"{lock_name} already opens {others}; both units' guests will get codes on this "
            "door.",
            field="lock",
            fix="Confirm that the door is shared (CLI: --shared), or choose another lock.",
        )
        self.lock_name = lock_name
        self.other_units = other_units


class LinkService(ServiceBase):
    def link(
        self,
        unit_id: int,
        *,
        lock_id: int | None = None,
        manual_lock_name: str | None = None,
        revoke_codes: bool | None = None,
        shared: bool = False,
        expected_version: int | None = None,
    ) -> int:
        """Link a unit to a stored vendor lock, or to a Manual lock by name. Returns the lock
        id. Re-linking a unit with live codes needs ``revoke_codes`` decided; a lock that
        already opens another unit needs ``shared``. ``expected_version`` is the
        :attr:`UnitRow.link_version` the desk showed (ChangedElsewhereError if it moved)."""
        if (lock_id is None) == (manual_lock_name is None):
            raise ValidationError("Choose a lock, or type a lock name for a manual lock.",
                                  field="lock")
        with self.db.session() as session:
            unit = load_unit(session, unit_id)
            unit_name = unit.name
            if expected_version is not None and unit.link_version != expected_version:
                raise _link_changed(unit_name)  # before any lock is made or asked for
            current = unit.link.lock_id if unit.link else None
            if manual_lock_name is not None and current is not None and revoke_codes is None:
                # Refuse before the Manual connection and lock are created, not after.
                same = (unit.link is not None
                        and unit.link.lock.connection.kind == VendorKind.MANUAL
                        and unit.link.lock.vendor_lock_id == " ".join(manual_lock_name.split()))
                live = _live_managed_codes(session, unit.id, current, self.now())
                if live and not same:
                    raise LinkDecisionNeeded(unit.name, len(live))
        if manual_lock_name is not None:
            lock_id = self._manual_lock(manual_lock_name)
        assert lock_id is not None
        if current == lock_id:
            return lock_id
        now = self.now()
        with self.db.session() as session:
            lock = session.get(Lock, lock_id)
            if lock is None:
                raise NotFoundError(
                    f"There is no lock number {lock_id}.",
                    "Pick a lock from the list of locks (the first column is its number).",
                )
            if not lock.present:
                raise NotFoundError(
                    "That lock is no longer in the provider's list.",
                    "Refresh the lock list and pick the lock again.",
                )
            if not lock.manageable:
                raise ValidationError(
                    f"{lock.name} cannot take codes from Mangodesk: "
                    f"{lock.unmanageable_reason or 'the provider does not allow it'}.",
                    field="lock", fix="Choose another lock for this unit.")
            others = _other_units(session, unit_id, lock_id)
            if others and not shared:
                raise SharedLockNeedsConfirmation(lock.name, others)
            if current is not None:
                live = _live_managed_codes(session, unit_id, current, now)
                if live and revoke_codes is None:
                    raise LinkDecisionNeeded(load_unit(session, unit_id).name, len(live))
            conn = lock.connection
            imported = self._fetch_existing(conn, lock)  # may fail: nothing changed yet
        try:
            summary = self._swap_link(unit_id, current, lock_id, revoke_codes, others,
                                      imported, now, expected_version)
        except (IntegrityError, StaleDataError):  # another desk's link landed first
            summary = None
        if summary is None:
            raise _link_changed(unit_name)
        self.changed()
        self._wake()
        return lock_id

    def _swap_link(self, unit_id: int, current: int | None, lock_id: int,
                   revoke_codes: bool | None, others: tuple[str, ...],
                   imported: list[VendorCode], now: datetime,
                   expected_version: int | None) -> str | None:
        """Replace the unit's link in one transaction, if it is still the one the decision
        was made on (``current``, and ``expected_version`` if given); None when another desk
        changed it meanwhile."""
        with self.db.transaction() as session:
            if not _take_link_version(session, unit_id, expected_version):
                return None
            unit = load_unit(session, unit_id)
            if (unit.link.lock_id if unit.link else None) != current:
                return None
            released = ""
            if unit.link is not None:
                released = self._unlink_in(session, unit, revoke_codes, now)
                session.flush()
            lock = session.get(Lock, lock_id)
            assert lock is not None
            session.add(UnitLink(unit_id=unit.id, lock_id=lock.id, linked_at=now,
                                 linked_by=self.actor))
            count = self._import_codes(session, unit, lock, imported)
            summary = f"Linked {unit.name} to {lock.name}"
            if others:
                summary += f" (shared with {', '.join(others)})"
            if count:
                summary += f" and imported {count} existing code(s)"
            summary += released
            self.audit(session, AuditAction.UNIT_LINK, AuditSubject.UNIT, unit.id, summary,
                       after={"lock": lock.name, "imported": count,
                              "shared_with": list(others)})
        return summary

    def unlink(self, unit_id: int, *, revoke_codes: bool | None = None,
               expected_version: int | None = None) -> int:
        """Unlink a unit. Live codes we manage are revoked (``revoke_codes=True``) or kept on
        the lock and no longer managed (``False``); with codes and no decision, refuse.
        Returns how many codes were revoked or released. ``expected_version`` as for
        :meth:`link`."""
        now = self.now()
        with self.db.transaction() as session:
            if not _take_link_version(session, unit_id, expected_version):
                raise _link_changed(load_unit(session, unit_id).name)
            unit = load_unit(session, unit_id)
            link = unit.link
            if link is None:
                raise ValidationError(f"{unit.name} is not linked to a lock.", field="unit")
            count = len(_live_managed_codes(session, unit.id, link.lock_id, now))
            lock_name = link.lock.name
            released = self._unlink_in(session, unit, revoke_codes, now)
            self.audit(session, AuditAction.UNIT_UNLINK, AuditSubject.UNIT, unit.id,
                       f"Unlinked {unit.name} from {lock_name}{released}")
        self.changed()
        self._wake()
        return count

    @staticmethod
    def _unlink_in(session: Session, unit: Unit, revoke_codes: bool | None,
                   now: datetime) -> str:
        """Remove the unit's link and revoke or release its live codes, in the caller's
        transaction. Returns the audit wording for the codes."""
        link = unit.link
        assert link is not None
        live = _live_managed_codes(session, unit.id, link.lock_id, now)
        if live and revoke_codes is None:
            raise LinkDecisionNeeded(unit.name, len(live))
        manual = link.lock.connection.kind == VendorKind.MANUAL
        for code in live:
            if revoke_codes and not manual:
                enqueue(session, code, OperationKind.REVOKE, now)
            elif revoke_codes:
                code.state = CodeState.REVOKED
                code.updated_at = now
            else:
                code.managed = False
                code.updated_at = now
        session.delete(link)
        unit.link = None
        what = "revoked" if revoke_codes else "kept unmanaged"
        return f"; {len(live)} code(s) {what}" if live else ""

    # ------------------------------------------------------------------ helpers

    def _manual_lock(self, name: str) -> int:
        name = " ".join(name.split())
        if not name:
            raise ValidationError("Type a lock name, for example “Front Door”.", field="lock")
        if len(name) > 100:
            raise ValidationError("A lock name can be at most 100 characters.", field="lock")
        from mangodesk.services.connections import ConnectionService

        connection_id = ConnectionService(self.deps).ensure_manual().id
        with self.db.transaction() as session:
            lock = session.scalars(
                select(Lock).where(Lock.connection_id == connection_id,
                                   Lock.vendor_lock_id == name)
            ).first()
            if lock is None:
                lock = Lock(connection_id=connection_id, vendor_lock_id=name, name=name,
                            attributes={}, manageable=True, serial_key=f"manual:{name}",
                            present=True, refreshed_at=self.now())
                session.add(lock)
                session.flush()
            lock.present = True
            return lock.id

    def _fetch_existing(self, conn: Connection, lock: Lock) -> list[VendorCode]:
        if conn.kind == VendorKind.MANUAL:
            return []
        with self.adapters.use(conn.id) as adapter:
            return adapter.list_codes(lock.vendor_lock_id)

    def _import_codes(self, session: Session, unit: Unit, lock: Lock,
                      codes: list[VendorCode]) -> int:
        now = self.now()
        known_refs = set(
            session.scalars(
                select(AccessCode.vendor_ref).where(AccessCode.lock_id == lock.id,
                                                    AccessCode.vendor_ref.is_not(None))
            )
        )
        count = 0
        for vendor_code in codes:
            if vendor_code.vendor_ref in known_refs:
                continue
            valid_to = vendor_code.valid_to or OPEN_END
            if valid_to <= now:
                continue
            session.add(AccessCode(
                unit_id=unit.id,
                lock_id=lock.id,
                origin=CodeOrigin.IMPORTED,
                code=vendor_code.pin,
                vendor_ref=vendor_code.vendor_ref,
                mobile_key_sent_to=vendor_code.mobile_key_sent_to,
                valid_from=vendor_code.valid_from or OPEN_START,
                valid_to=valid_to,
                guest_name=vendor_code.name,
                state=CodeState.ACTIVE,
                managed=False,
                attempts=0,
                created_at=now,
                updated_at=now,
            ))
            self.audit(session, AuditAction.CODE_IMPORT, AuditSubject.CODE, None,
                       f"Imported code {mask_code(vendor_code.pin)} from {lock.name}")
            count += 1
        return count

    def _wake(self) -> None:
        self.engine.wake()


def _take_link_version(session: Session, unit_id: int, expected: int | None) -> bool:
    """Move the unit's link version first thing in the transaction, only from the version
    the desk saw (see :mod:`mangodesk.services.versions`); False if it moved meanwhile."""
    if move_version(session, Unit.id, Unit.link_version, unit_id, expected):
        return True
    load_unit(session, unit_id)  # a unit that is gone says so
    return False


def _link_changed(unit_name: str) -> ChangedElsewhereError:
    return ChangedElsewhereError(
        f"The lock of {unit_name} was changed at another desk — reload and try again.",
        f"Look at {unit_name} again to see which lock it has now, then change it again "
        "if it is still needed.")


def _other_units(session: Session, unit_id: int, lock_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(
        select(Unit.name).join(UnitLink, UnitLink.unit_id == Unit.id)
        .where(UnitLink.lock_id == lock_id, Unit.id != unit_id).order_by(Unit.name)
    ))


def _live_managed_codes(session: Session, unit_id: int, lock_id: int,
                        now: datetime) -> list[AccessCode]:
    return list(session.scalars(
        select(AccessCode).where(
            AccessCode.unit_id == unit_id,
            AccessCode.lock_id == lock_id,
            AccessCode.managed.is_(True),
            AccessCode.origin != CodeOrigin.IMPORTED,
            AccessCode.state.in_(CURRENT_CODE_STATES),
            AccessCode.valid_to > now,
        )
    ))
