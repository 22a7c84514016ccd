"""Connecting lock providers: validate credentials with the vendor, keep secrets in the
keyring and settings in the database, and keep each connection's lock list."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mangodesk.domain.errors import NotFoundError, ValidationError
from mangodesk.domain.types import (
    LIVE_CODE_STATES,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    ConnectionStatus,
    VendorKind,
)
from mangodesk.engine.resolve import TOKEN_CACHE_FIELD, secret_key
from mangodesk.services.base import ServiceBase
from mangodesk.services.connection_rules import (
    IDENTITY_FIELDS,
    ConnectError,
    ConnectResult,
    DuplicateConnection,
    default_name,
    lock_view,
    refuse_control_characters,
    same_value,
    sign_in_alert_key,
)
from mangodesk.services.views import ConnectionView, LockView
from mangodesk.store.alerts import clear_alert
from mangodesk.store.models import AccessCode, Connection, Lock, Unit, UnitLink
from mangodesk.vendors.base import (
    ConnectionConfig,
    ConnectionReport,
    LockInfo,
    ProviderSpec,
    VendorError,
)


class ConnectionService(ServiceBase):
    # ------------------------------------------------------------------ reading

    def list(self) -> builtins.list[ConnectionView]:
        with self.db.session() as session:
            counts: dict[int, int] = {
                connection_id: count
                for connection_id, count in session.execute(
                    select(Lock.connection_id, func.count(Lock.id))
                    .where(Lock.present.is_(True))
                    .group_by(Lock.connection_id)
                )
            }
            return [
                self._view(conn, counts.get(conn.id, 0))
                for conn in session.scalars(select(Connection).order_by(Connection.id))
            ]

    def get(self, connection_id: int) -> ConnectionView:
        with self.db.session() as session:
            conn = self._load(session, connection_id)
            count = session.scalar(
                select(func.count(Lock.id)).where(Lock.connection_id == conn.id)
            )
            return self._view(conn, count or 0)

    def any_connected(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(func.count(Connection.id))) != 0

    def manual_connection_id(self) -> int | None:
        with self.db.session() as session:
            return session.scalar(
                select(Connection.id).where(Connection.kind == VendorKind.MANUAL).limit(1)
            )

    def locks(self, connection_id: int) -> builtins.list[LockView]:
        with self.db.session() as session:
            conn = self._load(session, connection_id)
            linked: dict[int, list[str]] = {}
            for lock_id, unit_name in session.execute(
                select(UnitLink.lock_id, Unit.name)
                .join(Unit, Unit.id == UnitLink.unit_id)
                .join(Lock, Lock.id == UnitLink.lock_id)
                .where(Lock.connection_id == connection_id)
            ):
                linked.setdefault(lock_id, []).append(unit_name)
            return [
                lock_view(lock, conn, tuple(linked.get(lock.id, ())))
                for lock in session.scalars(
                    select(Lock)
                    .where(Lock.connection_id == connection_id, Lock.present.is_(True))
                    .order_by(Lock.name)
                )
            ]

    # ------------------------------------------------------------------ connecting

    def connect(
        self, kind: VendorKind, values: Mapping[str, str], display_name: str | None = None
    ) -> ConnectResult:
        """Validate with the vendor, then store the connection and its lock list."""
        spec = self.vendors.spec(kind)
        if display_name is not None:
            refuse_control_characters(display_name)
            if len(display_name) > 200:
                raise ValidationError("A connection name can be at most 200 characters.",
                                      field="display_name")
        if any(field.secret for field in spec.fields):
            self.secrets.require()  # before the vendor hears of it, not after
        config = self._config_from_values(spec, None, values)
        self.refuse_duplicate(kind, {**{k: str(v) for k, v in config.settings.items()},
                                     **config.secrets})
        adapter = spec.factory(config)
        try:
            report = adapter.test_connection()
            if not report.ok:
                raise ConnectError(report)
            infos = adapter.list_locks() if kind != VendorKind.MANUAL else []
        except VendorError as exc:
            raise ConnectError(
                ConnectionReport(ok=False, summary=exc.message, steps=())
            ) from exc
        finally:
            adapter.close()
        now = self.now()
        with self.db.transaction() as session:
            conn = Connection(
                kind=kind,
                display_name=display_name or default_name(spec, config),
                settings=dict(config.settings),
                status=ConnectionStatus.CONNECTED,
                status_message=report.summary,
                created_at=now,
            )
            session.add(conn)
            session.flush()
            conn.secret_ref = f"connection:{conn.id}"
            self._store_secrets(spec, conn.id, values)
            self._upsert_locks(session, conn, infos)
            self.audit(session, AuditAction.CONNECTION_CONNECT, AuditSubject.CONNECTION, conn.id,
                       f"Connected {spec.display_name} “{conn.display_name}”")
            session.flush()
            view = self._view(conn, len(infos))
            locks = [lock_view(lock, conn) for lock in conn.locks]
        self.changed()
        return ConnectResult(view, report, locks)

    def find_duplicate(self, kind: VendorKind,
                       values: Mapping[str, str]) -> ConnectionView | None:
        """The connection already made for the same account or server, if any."""
        fields = IDENTITY_FIELDS.get(kind)
        if fields is None:
            return None
        spec = self.vendors.spec(kind)
        defaults = {f.name: f.default for f in spec.fields}
        fields = tuple(name for name in fields if name in defaults)
        if not fields and kind != VendorKind.MANUAL:
            return None
        secret = {f.name for f in spec.fields if f.secret}
        wanted = {name: (values.get(name) or defaults.get(name) or "") for name in fields}
        if any(not value for value in wanted.values()):
            return None  # not enough to tell; the vendor check decides
        for existing in self.list():
            if existing.kind != kind or existing.status == ConnectionStatus.DISCONNECTED:
                continue
            same = True
            for name, value in wanted.items():
                if name in secret:
                    stored = self.secrets.get(secret_key(existing.id, name)) \
                        if self.secrets.available() else None
                else:
                    stored = str(existing.settings.get(name) or defaults.get(name) or "")
                if not stored or not same_value(name, value, stored):
                    same = False
                    break
            if same:
                return existing
        return None

    def installation_values(self, kind: VendorKind) -> dict[str, str]:
        """The advanced settings this installation already uses for ``kind`` (those of its
        newest connection, secrets from the keyring): a second account, or staff signing in,
        types only their own username and password. Switches are never carried over."""
        spec = self.vendors.spec(kind)
        advanced = [f for f in spec.fields if f.advanced and not f.switch]
        if not advanced:
            return {}
        with self.db.session() as session:
            newest = session.scalars(
                select(Connection).where(Connection.kind == kind,
                                         Connection.status != ConnectionStatus.DISCONNECTED)
                .order_by(Connection.id.desc())).first()
            if newest is None:
                return {}
            connection_id, settings = newest.id, dict(newest.settings)
        values: dict[str, str] = {}
        for field in advanced:
            if field.secret:
                value = (self.secrets.get(secret_key(connection_id, field.name))
                         if self.secrets.available() else None)
            else:
                value = str(settings.get(field.name) or "")
            if value:
                values[field.name] = value
        return values

    def refuse_duplicate(self, kind: VendorKind, values: Mapping[str, str]) -> None:
        """Raise :class:`DuplicateConnection` when this account or server is connected."""
        existing = self.find_duplicate(kind, values)
        if existing is None:
            return
        name = existing.display_name
        if kind == VendorKind.MANUAL:
            raise DuplicateConnection(
                existing, f"Manual locks are already set up (“{name}”); there is only one "
                "Manual connection.",
                "Close this window and link each unit to its keypad with Link.")
        provider = self.vendors.spec(kind).display_name
        what = "server" if kind == VendorKind.SMARTAIR else "account"
        raise DuplicateConnection(
            existing, f"This {provider} {what} is already connected as “{name}”.",
            f"Press “Sign in again” to update the sign-in of “{name}” instead.")

    def ensure_manual(self) -> ConnectionView:
        """Manual needs no credentials; there is at most one Manual connection."""
        existing = self.manual_connection_id()
        if existing is not None:
            return self.get(existing)
        return self.connect(VendorKind.MANUAL, {}, "Manual").connection

    def update_credentials(self, connection_id: int, values: Mapping[str, str]) -> ConnectionReport:
        """Re-authenticate: check the new values with the vendor, then replace the old ones."""
        with self.db.session() as session:
            conn = self._load(session, connection_id)
            spec = self.vendors.spec(conn.kind)
            merged = {**{k: str(v) for k, v in conn.settings.items()}, **values}
            config = self._config_from_values(spec, conn.id, merged, keep_secrets=True)
        adapter = spec.factory(config)
        try:
            report = adapter.test_connection()
        finally:
            adapter.close()
        if not report.ok:
            raise ConnectError(report)
        with self.db.transaction() as session:
            conn = self._load(session, connection_id)
            conn.settings = dict(config.settings)
            conn.status = ConnectionStatus.CONNECTED
            conn.status_message = report.summary
            self._store_secrets(spec, conn.id, values)
            clear_alert(session, sign_in_alert_key(conn.id), self.now())
            self.audit(session, AuditAction.CONNECTION_RECONNECT, AuditSubject.CONNECTION, conn.id,
                       f"Updated the sign-in of “{conn.display_name}”")
        self._replace_running_adapter(connection_id)
        self.changed()
        return report

    def _replace_running_adapter(self, connection_id: int) -> None:
        """The adapter built with the old settings or password is replaced (for the engine
        and every service alike), and a running engine works through the waiting operations
        at once, not after a restart."""
        self.adapters.replace(connection_id)
        self.engine.wake()

    def rename(self, connection_id: int, display_name: str) -> ConnectionView:
        """The name staff see for a connection, e.g. "TTLock – annex building"."""
        refuse_control_characters(display_name)
        name = " ".join(display_name.split())
        if not name:
            raise ValidationError("Enter a name for this connection.", field="display_name")
        if len(name) > 200:
            raise ValidationError("A connection name can be at most 200 characters.",
                                  field="display_name")
        with self.db.transaction() as session:
            conn = self._load(session, connection_id)
            before = conn.display_name
            conn.display_name = name
            self.audit(session, AuditAction.CONNECTION_RENAME, AuditSubject.CONNECTION, conn.id,
                       f"Renamed connection “{before}” to “{name}”",
                       before={"name": before}, after={"name": name})
        self.changed()
        return self.get(connection_id)

    def test(self, connection_id: int) -> ConnectionReport:
        with self.db.session() as session:
            self._load(session, connection_id)
        with self.adapters.use(connection_id) as adapter:
            return adapter.test_connection()

    def refresh_locks(self, connection_id: int) -> builtins.list[LockView]:
        """Fetch the lock inventory from the vendor (blocking) and store it."""
        with self.db.session() as session:
            conn = self._load(session, connection_id)
            if conn.kind == VendorKind.MANUAL:
                return self.locks(connection_id)
        with self.adapters.use(connection_id) as adapter:
            infos = adapter.list_locks()
        with self.db.transaction() as session:
            conn = self._load(session, connection_id)
            self._upsert_locks(session, conn, infos)
        self.changed()
        return self.locks(connection_id)

    def remove(self, connection_id: int, *, revoke_codes: bool) -> int:
        """Remove a connection. Its units are unlinked; with ``revoke_codes`` its live codes are
        revoked first (the removal waits until the vendor confirmed), otherwise they stay on
        the locks untouched and Mangodesk stops managing them. Returns the codes affected."""
        from mangodesk.services.links import LinkService

        links = LinkService(self.deps)
        with self.db.session() as session:
            self._load(session, connection_id)
            unit_ids = list(
                session.scalars(
                    select(UnitLink.unit_id)
                    .join(Lock, Lock.id == UnitLink.lock_id)
                    .where(Lock.connection_id == connection_id)
                )
            )
        affected = 0
        for unit_id in unit_ids:
            affected += links.unlink(unit_id, revoke_codes=revoke_codes)
        with self.db.transaction() as session:
            conn = self._load(session, connection_id)
            live = session.scalars(
                select(AccessCode)
                .join(Lock, Lock.id == AccessCode.lock_id)
                .where(Lock.connection_id == connection_id,
                       AccessCode.state.in_(LIVE_CODE_STATES))
            ).all()
            if revoke_codes and any(
                c.origin != CodeOrigin.IMPORTED and c.managed for c in live
            ):
                conn.status = ConnectionStatus.DISCONNECTED
                conn.status_message = "Removing: waiting for codes to be revoked."
                self.audit(session, AuditAction.CONNECTION_DISCONNECT, AuditSubject.CONNECTION,
                           conn.id,
                           f"Disconnecting “{conn.display_name}” after its codes are revoked")
                return affected
            spec = self.vendors.spec(conn.kind)
            for field in spec.fields:
                if field.secret:
                    self.secrets.delete(secret_key(conn.id, field.name))
            self.secrets.delete(secret_key(conn.id, TOKEN_CACHE_FIELD))
            for code in session.scalars(
                select(AccessCode).join(Lock, Lock.id == AccessCode.lock_id)
                .where(Lock.connection_id == connection_id)
            ):
                code.managed = False
            conn.status = ConnectionStatus.DISCONNECTED
            conn.status_message = "Removed by staff."
            for lock in conn.locks:
                lock.present = False
            self.audit(session, AuditAction.CONNECTION_DISCONNECT, AuditSubject.CONNECTION, conn.id,
                       f"Removed “{conn.display_name}”")
        self._replace_running_adapter(connection_id)
        self.changed()
        return affected

    # ------------------------------------------------------------------ helpers

    def _load(self, session: Session, connection_id: int) -> Connection:
        conn = session.get(Connection, connection_id)
        if conn is None:
            raise NotFoundError(f"There is no lock connection number {connection_id}.")
        return conn

    def _view(self, conn: Connection, lock_count: int) -> ConnectionView:
        spec = self.vendors.spec(conn.kind)
        return ConnectionView(
            id=conn.id,
            kind=conn.kind,
            display_name=conn.display_name,
            provider_name=spec.display_name,
            status=conn.status,
            status_message=conn.status_message,
            automated=spec.capabilities.automated,
            lock_count=lock_count,
            settings={k: v for k, v in conn.settings.items() if not k.startswith("_")},
        )

    def _config_from_values(
        self,
        spec: ProviderSpec,
        connection_id: int | None,
        values: Mapping[str, str],
        *,
        keep_secrets: bool = False,
    ) -> ConnectionConfig:
        settings: dict[str, object] = {}
        secrets: dict[str, str] = {}
        known = {f.name: f for f in spec.fields}
        for field in spec.fields:
            value = (values.get(field.name) or "").strip() if not field.secret else (
                values.get(field.name) or ""
            )
            if not value and keep_secrets and field.secret and connection_id is not None:
                value = self.secrets.get(secret_key(connection_id, field.name)) or ""
            if not value and field.default:
                value = field.default
            if field.required and not value:
                raise ValidationError(f"{field.label} is required.", field=field.name)
            if field.secret:
                if value:
                    secrets[field.name] = value
            else:
                settings[field.name] = value
        for name, value in values.items():  # extra non-secret settings (e.g. a pinned cert)
            if name not in known:
                settings[name] = value
        return ConnectionConfig(connection_id, spec.kind, settings, secrets)

    def _store_secrets(self, spec: ProviderSpec, connection_id: int,
                       values: Mapping[str, str]) -> None:
        for field in spec.fields:
            if field.secret and values.get(field.name):
                self.secrets.set(secret_key(connection_id, field.name), values[field.name])

    def _upsert_locks(
        self, session: Session, conn: Connection, infos: builtins.list[LockInfo]
    ) -> None:
        now = self.now()
        existing = {lock.vendor_lock_id: lock for lock in conn.locks}
        seen = set()
        for info in infos:
            seen.add(info.vendor_lock_id)
            lock = existing.get(info.vendor_lock_id)
            if lock is None:
                lock = Lock(connection=conn, vendor_lock_id=info.vendor_lock_id)
                session.add(lock)
            lock.name = info.name
            lock.attributes = dict(info.attributes)
            lock.manageable = info.manageable
            lock.unmanageable_reason = info.unmanageable_reason
            lock.codes_not_automatic_reason = info.codes_not_automatic_reason
            lock.serial_key = info.serial_key or f"{conn.id}:{info.vendor_lock_id}"
            lock.present = True
            lock.refreshed_at = now
        for vendor_id, lock in existing.items():
            if vendor_id not in seen and conn.kind != VendorKind.MANUAL:
                lock.present = False  # kept: links and history still point at it


__all__ = [
    "ConnectError",
    "ConnectResult",
    "ConnectionService",
    "DuplicateConnection",
    "lock_view",
    "sign_in_alert_key",
]
