"""Guest communications for staff and automation: templates, the SMTP server, scheduling
messages into the mail outbox, sending it, and the sent log."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mangodesk.comms import outbox
from mangodesk.comms.outbox import Prepared
from mangodesk.comms.schedule import ON_STATUS, SCHEDULED, due_at
from mangodesk.comms.smtp import (
    PASSWORD_KEY,
    Diagnosis,
    SmtpSender,
    SmtpSettings,
    build_message,
    diagnose,
    new_message_id,
)
from mangodesk.comms.templates import ACCESS_CODES, check_template, render
from mangodesk.domain.errors import NotFoundError, ValidationError, mask_code
from mangodesk.domain.stay import stay_window, zone
from mangodesk.domain.template import NO_CODE_TEXT, TemplateContext, render_access_codes
from mangodesk.domain.types import (
    AuditAction,
    AuditSubject,
    BookingStatus,
    MailStatus,
)
from mangodesk.services.base import ServiceBase, ServiceDeps
from mangodesk.services.comms_parts import (
    MessageView,
    TemplateInput,
    TemplateView,
    enqueue,
    find_template,
    lead_minutes,
    message_view,
    preload,
    template_view,
    text_digest,
)
from mangodesk.services.messages import MessageService
from mangodesk.store.models import (
    Booking,
    MailMessage,
    MailSettings,
    MessageTemplate,
    MessageTemplateVersion,
    Property,
)


class CommsService(ServiceBase):
    def __init__(self, deps: ServiceDeps, messages: MessageService) -> None:
        super().__init__(deps)
        self.code_messages = messages
        self._delivering = threading.Lock()

    # The SMTP settings of the delivery run under way (read once per run, not per message).
    _settings_now: SmtpSettings | None = None
    _connected_now: bool | None = None
    _recovered = False

    def booking_id(self, ref: str) -> int:
        """A booking by its PMS number (as the desk shows it), else by Mangodesk's own id."""
        with self.db.session() as session:
            found = session.scalars(select(Booking.id).where(Booking.pms_id == ref)).first()
            if found is None and ref.isdigit():
                found = session.scalars(select(Booking.id).where(Booking.id == int(ref))).first()
        if found is None:
            raise NotFoundError(f"There is no booking {ref!r}.",
                                "Use the booking number from the PMS, as the desk shows it.")
        return int(found)

    # ------------------------------------------------------------------ settings

    def smtp_settings(self) -> SmtpSettings:
        with self.db.session() as session:
            row = session.get(MailSettings, 1)
            return SmtpSettings.from_json(dict(row.settings) if row else {})

    def save_smtp_settings(self, settings: SmtpSettings, password: str | None = None) -> None:
        settings.validate()
        if password is not None:
            self.secrets.set(PASSWORD_KEY, password)
        with self.db.transaction() as session:
            row = session.get(MailSettings, 1)
            if row is None:
                session.add(MailSettings(id=1, settings=settings.to_json()))
            else:
                row.settings = settings.to_json()
            self.audit(session, AuditAction.MAIL_SETTINGS, AuditSubject.MAIL, None,
                       f"Mail server set to {settings.host}:{settings.port} "
                       f"({settings.security}), sender {settings.from_address}")

    def _password(self) -> str | None:
        return self.secrets.get(PASSWORD_KEY)

    def test_smtp(self, recipient: str | None) -> Diagnosis:
        settings = self.smtp_settings()
        settings.validate()

        def send_test(sender: SmtpSender) -> None:
            assert recipient is not None
            sender.send(build_message(
                settings, to=recipient, to_name=None, subject="Mangodesk test message",
                body="This test message shows that Mangodesk can send guest emails through "
                "this mail server.", message_id=new_message_id(settings)), recipient)

        return diagnose(settings, self._password() if settings.username else None,
                        test_recipient=recipient,
                        send_test=send_test if recipient else None)

    # ------------------------------------------------------------------ templates

    def save_template(self, data: TemplateInput) -> int:
        """Create or update a template (by name) and its version in ``data.language``."""
        name = data.name.strip()
        if not name:
            raise ValidationError("A template needs a name.", field="name")
        check_template(data.subject, data.body, data.context)
        if data.context in SCHEDULED and data.send_at_local is None and data.offset_minutes < 0 \
                and data.context == TemplateContext.SCHEDULED_CHECKIN:
            raise ValidationError("A check-in message is sent before check-in.",
                                  field="offset_minutes")
        now = self.now()
        with self.db.transaction() as session:
            template = session.scalars(
                select(MessageTemplate).where(MessageTemplate.name == name)).first()
            if template is None:
                template = MessageTemplate(name=name, created_at=now)
                session.add(template)
            template.context = data.context
            template.offset_minutes = data.offset_minutes
            template.send_at_local = data.send_at_local
            template.hold_for_codes = data.hold_for_codes
            template.hold_latest_hours = data.hold_latest_hours
            template.resend_on_code_change = data.resend_on_code_change
            template.active = True
            template.updated_at = now
            session.flush()
            version = session.scalars(select(MessageTemplateVersion).where(
                MessageTemplateVersion.template_id == template.id,
                MessageTemplateVersion.language == data.language)).first()
            if version is None:
                version = MessageTemplateVersion(template_id=template.id,
                                                 language=data.language)
                session.add(version)
            version.subject = data.subject
            version.body = data.body
            self.audit(session, AuditAction.TEMPLATE_SAVE, AuditSubject.TEMPLATE, template.id,
                       f"Template {name} ({data.language}) saved")
            return template.id

    def templates(self) -> list[TemplateView]:
        with self.db.session() as session:
            lead = lead_minutes(session)
            return [template_view(t, lead) for t in session.scalars(
                select(MessageTemplate).where(MessageTemplate.active)
                .order_by(MessageTemplate.name))]

    def template(self, name: str) -> TemplateView:
        with self.db.session() as session:
            found = find_template(session, name)
            return template_view(found, lead_minutes(session))




    # ------------------------------------------------------------------ scheduling

    def plan(self) -> int:
        """Put every message that automation owes a booking into the outbox (once each).
        Returns how many were added."""
        now = self.now()
        added = 0
        with self.db.transaction() as session:
            templates = list(session.scalars(select(MessageTemplate).where(
                MessageTemplate.active)))
            if not templates:
                return 0
            bookings = list(session.scalars(select(Booking).where(
                Booking.departure >= (now - timedelta(days=1)).date(),
                Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.TENTATIVE,
                                    BookingStatus.CHECKED_IN)))))
            for template in templates:
                for booking in bookings:
                    due = self._due(session, template, template.context, booking)
                    if due is None or due < template.created_at:
                        continue
                    key = f"t{template.id}:b{booking.id}"
                    added += enqueue(session, booking.id, template.id, key, due, now)
                    if template.resend_on_code_change:
                        added += self._resend_if_codes_changed(session, template, booking,
                                                               key, now)
        if added:
            self.changed()
        return added

    def _due(self, session: Session, template: MessageTemplate, context: TemplateContext,
             booking: Booking) -> datetime | None:
        prop = session.get(Property, booking.property_id)
        assert prop is not None
        if context in ON_STATUS:
            wanted = (BookingStatus.CONFIRMED if context == TemplateContext.BOOKING_CONFIRMED
                      else BookingStatus.TENTATIVE)
            if booking.status != wanted or booking.pms_modified_at is None:
                return None
            return booking.pms_modified_at
        if context not in SCHEDULED or booking.status == BookingStatus.TENTATIVE:
            return None  # a stay not yet confirmed gets no check-in or checkout message
        window = stay_window(booking.arrival, booking.departure, prop.timezone,
                             arrival_time=booking.checkin_override,
                             departure_time=booking.checkout_override,
                             default_checkin=prop.checkin_time,
                             default_checkout=prop.checkout_time)
        anchor = (window.check_in_at if context == TemplateContext.SCHEDULED_CHECKIN
                  else window.check_out_at)
        return due_at(anchor=anchor, offset_minutes=template.offset_minutes,
                      send_at_local=template.send_at_local, zone_name=prop.timezone)


    def _resend_if_codes_changed(self, session: Session, template: MessageTemplate,
                                 booking: Booking, key: str, now: datetime) -> int:
        last = session.scalars(select(MailMessage).where(
            MailMessage.template_id == template.id, MailMessage.booking_id == booking.id,
            MailMessage.status == MailStatus.SENT).order_by(MailMessage.id.desc())).first()
        if last is None or last.codes_digest is None:
            return 0
        codes = self._codes_text(booking.id, template.context)
        digest = text_digest(codes)
        if digest == last.codes_digest or NO_CODE_TEXT in codes:
            return 0
        return enqueue(session, booking.id, template.id, f"{key}:codes:{digest[:16]}",
                       now, now)

    def _codes_text(self, booking_id: int, context: TemplateContext) -> str:
        keys, connected = self.code_messages.unit_keys(booking_id)
        return render_access_codes(keys, provider_connected=connected, context=context)

    # ------------------------------------------------------------------ sending

    def send_manual(self, booking_id: int, template_name: str, *, dry_run: bool = False
                    ) -> MessageView:
        """Queue ``template_name`` for a booking now (or only render it with dry_run)."""
        now = self.now()
        if dry_run:
            return self._dry_run(booking_id, template_name, now)
        with self.db.transaction() as session:
            template = find_template(session, template_name)
            booking = session.get(Booking, booking_id)
            if booking is None:
                raise NotFoundError(f"There is no booking number {booking_id}.")
            key = f"manual:{uuid.uuid4().hex}"
            enqueue(session, booking_id, template.id, key, now, now,
                    created_by=self.actor)
            self.audit(session, AuditAction.BOOKING_QUEUE_MESSAGE, AuditSubject.BOOKING, booking_id,
                       f"Message {template.name} queued for booking {booking.pms_id}")
            row = session.scalars(select(MailMessage).where(
                MailMessage.dedupe_key == key)).one()
            view = message_view(row, template.name)
        self.engine.wake()
        return view

    def schedule_now(self, booking_id: int, template_name: str) -> None:
        """Queue a template for a booking as the automation would (held until the codes
        exist when the template says so), due now."""
        now = self.now()
        with self.db.transaction() as session:
            template = find_template(session, template_name)
            enqueue(session, booking_id, template.id,
                    f"t{template.id}:b{booking_id}", now, now)
        self.engine.wake()

    def _dry_run(self, booking_id: int, template_name: str, now: datetime) -> MessageView:
        """Render the message as it would go out now; nothing is queued or changed."""
        with self.db.session() as session:
            template = find_template(session, template_name)
            if session.get(Booking, booking_id) is None:
                raise NotFoundError(f"There is no booking number {booking_id}.")
            probe = MailMessage(booking_id=booking_id, template_id=template.id,
                                dedupe_key="dry-run", message_id="<dry-run>",
                                status=MailStatus.QUEUED, due_at=now, next_attempt_at=now,
                                attempts=0, created_by=self.actor, created_at=now,
                                updated_at=now)
            prepared = self._prepare(session, probe, now, manual=True)
            session.rollback()
        if prepared.outcome in ("skip", "fail"):
            raise ValidationError(f"This message would not be sent: {prepared.reason}.")
        return MessageView(0, booking_id, template_name, prepared.to, prepared.subject,
                           "dry-run", now, None, "", prepared.body_masked, None)

    def resend(self, message_id: int) -> MessageView:
        """Send a logged message again, with today's codes."""
        with self.db.session() as session:
            row = session.get(MailMessage, message_id)
            if row is None or row.booking_id is None or row.template_id is None:
                raise NotFoundError(f"There is no message number {message_id} to send again.")
            template = session.get(MessageTemplate, row.template_id)
            assert template is not None
            booking_id, name = row.booking_id, template.name
        return self.send_manual(booking_id, name)

    def deliver(self) -> dict[str, int]:
        """Send everything due now through the hotel's mail server."""
        # One delivery at a time in this process (the engine's job, a Send again click).
        with self._delivering:
            if not self._recovered:
                outbox.recover(self.db, self.now())
                self._recovered = True
            settings = self.smtp_settings()
            if not settings.host:
                return {}
            password = self._password() if settings.username else None
            self._settings_now = settings
            try:
                return outbox.deliver_due(self.db, settings, password, self.now,
                                          self._prepare_due, preload=preload)
            finally:
                self._settings_now = None
                self._connected_now = None

    def run_scheduled(self) -> None:
        """The engine's periodic job: plan, then send (nothing at all until a mail server
        is set up)."""
        if not self.smtp_settings().host:
            return
        self.plan()
        self.deliver()


    def _prepare_due(self, session: Session, message: MailMessage, now: datetime) -> Prepared:
        return self._prepare(session, message, now, manual=message.created_by != "automation")

    def _prepare(self, session: Session, message: MailMessage, now: datetime, *,
                 manual: bool) -> Prepared:
        booking = session.get(Booking, message.booking_id) if message.booking_id else None
        template = session.get(MessageTemplate, message.template_id) \
            if message.template_id else None
        if booking is None or template is None:
            return Prepared(outcome="fail", reason="its booking or template no longer exists")
        cancelled = booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW) \
            or booking.missing_from_pms_since is not None
        if cancelled and template.context != TemplateContext.CANCELLATION:
            return Prepared(outcome="skip", reason="the booking was cancelled before the "
                            "message was due")
        if not booking.guest_email:
            return Prepared(outcome="fail", reason=f"booking {booking.pms_id} has no guest "
                            "email address")
        prop = session.get(Property, booking.property_id)
        assert prop is not None
        context = template.context
        default_language = (self._settings_now or self.smtp_settings()).default_language
        versions = {v.language: v for v in template.versions}
        version = (versions.get(booking.language or "") or versions.get(default_language)
                   or next(iter(versions.values()), None))
        if version is None:
            return Prepared(outcome="fail", reason=f"template {template.name} has no text")
        messages = self.code_messages
        if self._settings_now is not None and self._connected_now is None:
            self._connected_now = messages.provider_connected(session)  # once per run
        keys, connected = messages.unit_keys_in(session, booking.id,
                                                connected=self._connected_now)
        window = stay_window(booking.arrival, booking.departure, prop.timezone,
                             arrival_time=booking.checkin_override,
                             departure_time=booking.checkout_override,
                             default_checkin=prop.checkin_time,
                             default_checkout=prop.checkout_time)
        codes = ""
        masked = ""
        if context.allows_access_codes:
            codes = render_access_codes(keys, provider_connected=connected, context=context)
            masked = render_access_codes(
                [k.__class__(k.unit_name, k.sort_order, k.unit_id, k.has_lock,
                             mask_code(k.code) if k.code else None, k.mobile_key_sent_to)
                 for k in keys], provider_connected=connected, context=context)
        if (template.hold_for_codes and not manual and NO_CODE_TEXT in codes
                and ACCESS_CODES in version.body):
            latest = window.check_in_at - timedelta(hours=template.hold_latest_hours)
            if now < latest:
                return Prepared(outcome="hold", hold_until=min(latest,
                                                               now + timedelta(minutes=2)),
                                reason="Waiting until every room's door code exists (sent "
                                f"by {latest:%Y-%m-%d %H:%M} UTC at the latest).")
        tz = zone(prop.timezone)
        values = {
            "guest_name": booking.guest_name or "",
            "booking_number": booking.pms_id,
            "arrival": f"{window.check_in_at.astimezone(tz):%Y-%m-%d %H:%M}",
            "departure": f"{window.check_out_at.astimezone(tz):%Y-%m-%d %H:%M}",
            "unit_names": ", ".join(sorted(bu.unit.name for bu in booking.units)),
            "property_name": prop.name,
        }
        try:
            subject = render(version.subject, values).strip()
            body = render(version.body, {**values, ACCESS_CODES: codes}) \
                if context.allows_access_codes else render(version.body, values)
            body_masked = render(version.body, {**values, ACCESS_CODES: masked}) \
                if masked != codes else body
        except ValidationError as exc:
            return Prepared(outcome="fail", reason=exc.message)
        return Prepared(to=booking.guest_email, to_name=booking.guest_name, subject=subject,
                        body=body, body_masked=body_masked, language=version.language,
                        codes_digest=text_digest(codes) if codes else None)

    # ------------------------------------------------------------------ the sent log

    def messages(self, booking_id: int | None = None) -> list[MessageView]:
        with self.db.session() as session:
            query = select(MailMessage).order_by(MailMessage.id.desc())
            if booking_id is not None:
                query = query.where(MailMessage.booking_id == booking_id)
            names = {t.id: t.name for t in session.scalars(select(MessageTemplate))}
            return [message_view(m, names.get(m.template_id or 0))
                    for m in session.scalars(query.limit(1000))]


__all__ = ["CommsService", "MessageView", "TemplateInput", "TemplateView"]
