"""What guest communications read and write besides the service's steps: the template and
message views, finding a template, queueing a message once (by its dedupe key), loading a
batch for sending."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.template import NO_CODE_TEXT, TemplateContext
from mangodesk.domain.types import (
    MailStatus,
)
from mangodesk.store.models import (
    Booking,
    BookingUnit,
    MailMessage,
    MailSettings,
    MessageTemplate,
    Property,
    Unit,
)


@dataclass
class TemplateInput:
    name: str
    context: TemplateContext
    subject: str
    body: str
    language: str = "en"
    offset_minutes: int = 0
    send_at_local: time | None = None
    hold_for_codes: bool = False
    hold_latest_hours: int = 0
    resend_on_code_change: bool = False


@dataclass
class TemplateView:
    id: int
    name: str
    context: str
    offset_minutes: int
    send_at_local: time | None
    hold_for_codes: bool
    hold_latest_hours: int
    resend_on_code_change: bool
    languages: dict[str, tuple[str, str]]
    warning: str | None


@dataclass
class MessageView:
    id: int
    booking_id: int | None
    template: str | None
    to: str | None
    subject: str | None
    status: str
    due_at: datetime
    sent_at: datetime | None
    message_id: str
    body_masked: str | None
    last_error: str | None


def find_template(session: Session, name: str) -> MessageTemplate:
    found = session.scalars(select(MessageTemplate).where(
        MessageTemplate.name == name)).first()
    if found is None:
        names = ", ".join(session.scalars(select(MessageTemplate.name))) or "none yet"
        raise NotFoundError(f"There is no message template called {name!r} "
                            f"(templates: {names}).")
    return found


def lead_minutes(session: Session) -> int:
    lead = session.scalar(select(Property.lead_minutes).limit(1))
    return int(lead) if lead is not None else 48 * 60


def template_view(t: MessageTemplate, lead_minutes: int) -> TemplateView:
    warning = None
    uses_codes = any("smart_lock_access_codes" in v.body for v in t.versions)
    if (t.context == TemplateContext.SCHEDULED_CHECKIN and uses_codes
            and t.offset_minutes > lead_minutes and not t.hold_for_codes):
        warning = (f"This message goes out earlier than door codes are made "
                   f"({lead_minutes // 60} h before check-in): guests would read "
                   f"\"{NO_CODE_TEXT}\". Send it later or hold it until the codes exist.")
    return TemplateView(
        id=t.id, name=t.name, context=t.context, offset_minutes=t.offset_minutes,
        send_at_local=t.send_at_local, hold_for_codes=t.hold_for_codes,
        hold_latest_hours=t.hold_latest_hours,
        resend_on_code_change=t.resend_on_code_change,
        languages={v.language: (v.subject, v.body) for v in t.versions},
        warning=warning)


def enqueue(session: Session, booking_id: int | None, template_id: int | None, key: str,
            due: datetime, now: datetime, created_by: str = "automation",
            message_id: str | None = None) -> int:
    existing = session.scalars(select(MailMessage).where(
        MailMessage.dedupe_key == key)).first()
    if existing is not None:
        if existing.status == MailStatus.QUEUED and existing.attempts == 0 \
                and existing.due_at != due:
            existing.due_at = due  # the stay moved: so does its message
            existing.next_attempt_at = due
            existing.updated_at = now
        return 0
    session.add(MailMessage(
        booking_id=booking_id, template_id=template_id, dedupe_key=key,
        message_id=message_id or new_outbox_message_id(session),
        status=MailStatus.QUEUED, due_at=due, next_attempt_at=due, attempts=0,
        created_by=created_by, created_at=now, updated_at=now))
    session.flush()
    return 1


def preload(session: Session, messages: list[MailMessage]) -> list[object]:
    """Bookings with their rooms and locks, and templates with their versions, for a
    whole batch in a handful of queries (the caller keeps the returned objects alive
    so the session's identity map serves every later lookup)."""
    booking_ids = {m.booking_id for m in messages if m.booking_id is not None}
    template_ids = {m.template_id for m in messages if m.template_id is not None}
    loaded: list[object] = list(session.scalars(
        select(Booking).where(Booking.id.in_(booking_ids)).options(
            selectinload(Booking.units).selectinload(BookingUnit.unit)
            .selectinload(Unit.link))))
    loaded += session.scalars(select(MessageTemplate).where(
        MessageTemplate.id.in_(template_ids)).options(
        selectinload(MessageTemplate.versions)))
    loaded += session.scalars(select(Property))
    return loaded


def new_outbox_message_id(session: Session) -> str:
    """A Message-ID in the sender's own domain (as mail servers and spam filters expect),
    made when the message is queued so every try carries the same one."""
    row = session.get(MailSettings, 1)
    sender = str((row.settings if row else {}).get("from_address", ""))
    domain = sender.rpartition("@")[2].strip() or "mangodesk.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def message_view(row: MailMessage, template: str | None) -> MessageView:
    return MessageView(row.id, row.booking_id, template, row.to_address, row.subject,
                       row.status, row.due_at, row.sent_at, row.message_id, row.body_masked,
                       row.last_error)
