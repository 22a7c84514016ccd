"""The tables of DESIGN.md as typed SQLAlchemy 2.0 models.

Portable across SQLite and PostgreSQL: no dialect-specific types, named constraints, and every
instant stored as naive UTC through :class:`UtcDateTime` so both dialects agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mangodesk.domain.template import TemplateContext
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    BookingStatus,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    MailStatus,
    OperationKind,
    OperationStatus,
    UnitKind,
    VendorKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC. Naive input is a bug."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; use an aware UTC instant")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class StrEnumColumn(TypeDecorator[StrEnum]):
    """A string enum stored as its value in a plain string column (portable, and adding a
    member needs no ALTER TYPE), loaded back as the enum member.

    A value this version does not know (written by a newer one: a provider it does not ship)
    loads as the plain string, as before, so the row still opens and callers that look the
    value up (``VendorKind(kind)``) decide what to do with it."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int = 20) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length
        self._members: dict[str, StrEnum] = {member.value: member for member in enum_cls}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else self._members.get(value, value)


def _enum(enum_cls: type[StrEnum], length: int = 20) -> StrEnumColumn:
    return StrEnumColumn(enum_cls, length)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Property(Base):
    __tablename__ = "property"

    id: Mapped[int] = mapped_column(primary_key=True)
    pms_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    checkin_time: Mapped[time] = mapped_column(Time, default=time(15, 0))
    checkout_time: Mapped[time] = mapped_column(Time, default=time(11, 0))
    lead_minutes: Mapped[int] = mapped_column(Integer, default=48 * 60)
    automation_enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    units: Mapped[list[Unit]] = relationship(back_populates="property")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("property_id", "pms_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    pms_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind), default=UnitKind.ROOM)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Moves with every link, re-link or unlink: a desk changing the lock of a unit another
    # desk re-linked since it was shown is refused instead of silently undoing that change.
    link_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    property: Mapped[Property] = relationship(back_populates="units")
    link: Mapped[UnitLink | None] = relationship(back_populates="unit", uselist=False)


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        UniqueConstraint("property_id", "pms_id"),
        Index("ix_booking_status_arrival", "status", "arrival"),
        # A planning pass reads the bookings near their stay from this index alone.
        Index("ix_booking_stay", "departure", "arrival", "status"),
        # The sync matches bookings by PMS number alone (the unique key starts with the
        # property): without this, each page's lookup scans the table (N^1.5 full loads).
        Index("ix_booking_pms_id", "pms_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"))
    pms_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus))
    arrival: Mapped[date] = mapped_column(Date)
    departure: Mapped[date] = mapped_column(Date)
    arrival_time: Mapped[time | None] = mapped_column(Time)
    departure_time: Mapped[time | None] = mapped_column(Time)
    guest_name: Mapped[str | None] = mapped_column(String(200))
    guest_email: Mapped[str | None] = mapped_column(String(320))
    guest_phone: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    pms_modified_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    # Staff revoked the guest's code and chose "stop codes": automation issues none until lifted.
    codes_stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    # Early check-in / late check-out set by staff (local wall times); kept across PMS syncs
    # and applied to whatever dates the PMS sends next. None: the property's times.
    checkin_override: Mapped[time | None] = mapped_column(Time)
    checkout_override: Mapped[time | None] = mapped_column(Time)
    # The guest's free-text arrival time as the PMS has it ("around 18:30"): for staff only.
    arrival_note: Mapped[str | None] = mapped_column(String(200))
    # The PMS's own booking numbers merged into this row (a booking group: every room),
    # written ",101,102," so any member number finds the group.
    pms_member_ids: Mapped[str | None] = mapped_column(Text)
    # Set when a full load no longer returned the booking (deleted in the PMS). Planner: no
    # NEW code for such a booking; an existing code is never revoked for it (staff decide).
    missing_from_pms_since: Mapped[datetime | None]
    # The guest's language as the PMS gives it ("de", "en"): picks a message version.
    language: Mapped[str | None] = mapped_column(String(16))

    units: Mapped[list[BookingUnit]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )


class BookingUnit(Base):
    __tablename__ = "booking_unit"

    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True, index=True)

    booking: Mapped[Booking] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class Connection(Base):
    __tablename__ = "connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[VendorKind] = mapped_column(_enum(VendorKind))
    display_name: Mapped[str] = mapped_column(String(200))
    # Non-secret settings only (server address, username, region, pinned fingerprint).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Key of this connection's secrets in the OS keyring; the secrets themselves never here.
    secret_ref: Mapped[str | None] = mapped_column(String(200))
    # Names of keyring entries an adapter keeps for itself beyond its spec's secret fields
    # (same key scheme); they are handed to the adapter with the others.
    adapter_secret_names: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[ConnectionStatus] = mapped_column(
        _enum(ConnectionStatus), default=ConnectionStatus.CONNECTED
    )
    status_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    locks: Mapped[list[Lock]] = relationship(back_populates="connection")


class Lock(Base):
    __tablename__ = "lock"
    __table_args__ = (UniqueConstraint("connection_id", "vendor_lock_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id"), index=True)
    vendor_lock_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manageable: Mapped[bool] = mapped_column(Boolean, default=True)
    unmanageable_reason: Mapped[str | None] = mapped_column(Text)
    # Linkable, but Mangodesk never sends it codes (TTLock without a gateway): shown on the unit.
    codes_not_automatic_reason: Mapped[str | None] = mapped_column(Text)
    serial_key: Mapped[str | None] = mapped_column(String(200))
    present: Mapped[bool] = mapped_column(Boolean, default=True)  # still in the vendor's list
    refreshed_at: Mapped[datetime | None]

    connection: Mapped[Connection] = relationship(back_populates="locks")


class UnitLink(Base):
    __tablename__ = "unit_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    lock_id: Mapped[int] = mapped_column(ForeignKey("lock.id"), index=True)
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(100))

    unit: Mapped[Unit] = relationship(back_populates="link")
    lock: Mapped[Lock] = relationship()


class AccessCode(Base):
    __tablename__ = "access_code"
    __table_args__ = (
        Index("ix_access_code_lock_state", "lock_id", "state"),
        Index("ix_access_code_booking_unit", "booking_id", "unit_id"),
        Index("ix_access_code_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    lock_id: Mapped[int] = mapped_column(ForeignKey("lock.id"))
    origin: Mapped[CodeOrigin] = mapped_column(_enum(CodeOrigin))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"))
    code: Mapped[str | None] = mapped_column(String(32))  # None for a mobile key
    vendor_ref: Mapped[str | None] = mapped_column(String(200))
    mobile_key_sent_to: Mapped[str | None] = mapped_column(String(320))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    guest_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[CodeState] = mapped_column(_enum(CodeState))
    # False once staff chose "keep the code but stop managing it" (e.g. on unlink).
    managed: Mapped[bool] = mapped_column(Boolean, default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The window the vendor holds now (set on every confirmed create, update or adoption):
    # an update sends it as the old window, so a start-only move is not mistaken for none.
    vendor_valid_from: Mapped[datetime | None]
    vendor_valid_to: Mapped[datetime | None]
    # Every (PIN, window) sent in a create, recorded before the call: after a lost reply a
    # code on the lock is ours only if it matches one of these (or our ref or label).
    sent_windows: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Moves with every staff edit or revoke: a desk saving over a code another desk changed
    # since it was shown is refused instead of silently undoing that change.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    unit: Mapped[Unit | None] = relationship()
    lock: Mapped[Lock] = relationship()
    booking: Mapped[Booking | None] = relationship()


class PlanChange(Base):
    """The planner's change cursor: one row per change to what it reads, written by database
    triggers (migration 0012_plan) so every writer is caught. A row names a booking, a unit
    or a lock whose bookings must be planned again; a row naming none of them asks for a full
    pass. The planning pass deletes the rows it read in its own transaction."""

    __tablename__ = "plan_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    lock_id: Mapped[int | None] = mapped_column(Integer)


class PlanDue(Base):
    """The next instant at which time alone can change a booking's plan (its code's issue
    time, its check-out, a code's end), written by the planner: a tick plans the bookings
    that came due since the last one instead of every booking."""

    __tablename__ = "plan_due"

    booking_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    due_at: Mapped[datetime] = mapped_column(index=True)


class Operation(Base):
    """The outbox: written in the same transaction as the intent, before any vendor call."""

    __tablename__ = "operation"
    __table_args__ = (Index("ix_operation_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    access_code_id: Mapped[int] = mapped_column(ForeignKey("access_code.id"), index=True)
    kind: Mapped[OperationKind] = mapped_column(_enum(OperationKind))
    status: Mapped[OperationStatus] = mapped_column(
        _enum(OperationStatus), default=OperationStatus.QUEUED
    )
    # Parameters of the call (target window, PIN attempts) that are not secret.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error_class: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The engine (lease holder) that marked it running: a process that takes the lease over
    # re-queues only operations a dead holder left running, never a live leader's.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    access_code: Mapped[AccessCode] = relationship()


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_open", "acknowledged_at", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[AlertSeverity] = mapped_column(_enum(AlertSeverity))
    subject_kind: Mapped[AlertSubject] = mapped_column(_enum(AlertSubject))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # Identifies "the same problem" so it is raised once, not once per retry.
    dedupe_key: Mapped[str] = mapped_column(String(200), index=True)
    message: Mapped[str] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))  # staff user name or "automation"
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction, 50))
    subject_kind: Mapped[AuditSubject] = mapped_column(_enum(AuditSubject, 30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SyncState(Base):
    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. "beds24"
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cursor: Mapped[str | None] = mapped_column(String(200))
    # The newest code change already written back to the PMS (write-back resumes after it).
    write_back_cursor: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    bookings_seen: Mapped[int] = mapped_column(Integer, default=0)


class EngineLease(Base):
    """Which process runs the engine when several desks share one database."""

    __tablename__ = "engine_lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class ServiceProcess(Base):
    """A running Mangodesk process that runs the automation (the always-on service or a
    desk), seen by every other desk and by ``mangodesk status``: its heartbeat says it is
    alive, ``leading`` whether it is the one planning and calling the lock providers."""

    __tablename__ = "service_process"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "service" or "desk"
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    last_tick_at: Mapped[datetime | None]
    leading: Mapped[bool] = mapped_column(Boolean, default=False)
    health_url: Mapped[str | None] = mapped_column(String(200))
    stopped_at: Mapped[datetime | None]


class DatabaseIdentity(Base):
    """The database's own identity, created with it: the keyring names of this profile's
    secrets live under ``uuid``, so profiles never share secrets but desks sharing one
    database do."""

    __tablename__ = "database_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime]
    # True for a database that existed before secrets were namespaced: its secrets may
    # still sit under the old shared names and are moved under ``uuid`` when first read.
    adopts_legacy_secrets: Mapped[bool] = mapped_column(Boolean, default=False)


class MessageTemplate(Base):
    """A guest message: when it is sent (context and schedule) and its options; the words
    live in one version per language."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    context: Mapped[TemplateContext] = mapped_column(_enum(TemplateContext, 30))
    # Scheduled contexts: how long before check-in / check-out (negative: after), and the
    # local time of day it goes out (None: exactly offset before the check-in/out instant).
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    send_at_local: Mapped[time | None] = mapped_column(Time)
    hold_for_codes: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_latest_hours: Mapped[int] = mapped_column(Integer, default=0)
    resend_on_code_change: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    versions: Mapped[list[MessageTemplateVersion]] = relationship(
        back_populates="template", cascade="all, delete-orphan"
    )


class MessageTemplateVersion(Base):
    __tablename__ = "message_template_version"
    __table_args__ = (UniqueConstraint("template_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_template.id"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

    template: Mapped[MessageTemplate] = relationship(back_populates="versions")


class MailMessage(Base):
    """The mail outbox and sent log: written before the SMTP call, with the Message-ID it
    will carry, so a restart never sends one message twice."""

    __tablename__ = "mail_message"
    __table_args__ = (
        Index("ix_mail_message_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("message_template.id"))
    # What produced it ("sched:<template>:<booking>", "manual:<uuid>"): one row per trigger.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus))
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    to_address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    # The body as sent, and with every door code masked for lists and logs. The body is
    # loaded only when read: the desk role of a shared database may not read it.
    body: Mapped[str | None] = mapped_column(Text, deferred=True)
    body_masked: Mapped[str | None] = mapped_column(Text)
    # A digest of the access codes the message carried (send-again-on-change compares it).
    codes_digest: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(100), default="automation")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MailSettings(Base):
    """The hotel's SMTP server and sender (one row); the password is in the keyring."""

    __tablename__ = "mail_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
