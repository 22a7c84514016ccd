"""Messages the automation owes bookings: when they are due, what they say, and what is not
sent (a cancelled stay), with the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.stay import local_instant
from mangodesk.domain.template import NO_CODE_TEXT, TemplateContext
from mangodesk.domain.types import BookingStatus
from mangodesk.services.comms import TemplateInput
from mangodesk.store.models import Booking, MailMessage, Unit
from tests.integration.comms.conftest import NOW, pinned_settings
from tests.integration.comms.smtp_server import PASSWORD, Handler

CODES = "Hello {{guest_name}}\n{{smart_lock_access_codes}}\n"


def booking(ctx: Context, ref: str) -> Booking:
    with ctx.db.session() as session:
        found = session.scalars(select(Booking).where(Booking.pms_id == ref)).one()
        return found


def checkin_template(ctx: Context, **options: object) -> None:
    ctx.services.comms.save_template(TemplateInput(
        name="Check-in", context=TemplateContext.SCHEDULED_CHECKIN, subject="Your codes",
        body=CODES, offset_minutes=1440, send_at_local=time(10, 0), **options))  # type: ignore[arg-type]


@pytest.fixture
def mail(ctx: Context, starttls_server: tuple[str, int, bytes]) -> Context:
    ctx.services.comms.save_smtp_settings(pinned_settings(starttls_server), PASSWORD)
    return ctx


def test_the_email_carries_the_codes_exactly_as_the_variable_renders_them(
        mail: Context, handler: Handler) -> None:
    checkin_template(mail)
    b1003 = booking(mail, "B-1003")
    expected = mail.services.messages.render_access_codes(
        b1003.id, TemplateContext.SCHEDULED_CHECKIN)
    assert expected == "Room 103: 5307"
    preview = mail.services.comms.send_manual(b1003.id, "Check-in", dry_run=True)
    assert preview.body_masked is not None and "Room 103: •••7" in preview.body_masked
    mail.services.comms.send_manual(b1003.id, "Check-in")
    mail.services.comms.deliver()
    [received] = handler.received
    # On the wire lines end in CRLF, as SMTP requires.
    assert received.get_content() == f"Hello {b1003.guest_name}\r\n{expected}\r\n"
    [logged] = mail.services.comms.messages(b1003.id)
    assert logged.body_masked is not None and "5307" not in logged.body_masked


def test_scheduled_day_before_at_ten_hotel_time_and_cancelled_is_not_sent(
        mail: Context, handler: Handler, mail_clock: FixedClock) -> None:
    mail_clock.set(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))  # before today's 10:00 message
    checkin_template(mail)
    assert mail.services.comms.plan() >= 1
    b1003, b1007 = booking(mail, "B-1003"), booking(mail, "B-1007")
    with mail.db.session() as session:
        rows = {m.booking_id: m for m in session.scalars(select(MailMessage))}
    # B-1003 arrives tomorrow: due today at 10:00 Oslo time (CEST, UTC+2) = 08:00 UTC.
    assert rows[b1003.id].due_at == local_instant(b1003.arrival - timedelta(days=1),
                                                  time(10, 0), "Europe/Oslo")
    assert rows[b1003.id].due_at == datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    assert b1007.id not in rows  # cancelled already: nothing planned
    # B-1006 arrives in a week; cancel it before its message is due.
    b1006 = booking(mail, "B-1006")
    assert b1006.id in rows
    with mail.db.transaction() as session:
        found = session.get(Booking, b1006.id)
        assert found is not None
        found.status = BookingStatus.CANCELLED
    mail_clock.set(rows[b1006.id].due_at + timedelta(minutes=1))
    mail.services.comms.deliver()
    recipients = [m["To"].addresses[0].addr_spec for m in handler.received]
    assert b1006.guest_email not in recipients
    assert b1003.guest_email in recipients
    status = {m.booking_id: m.status for m in mail.services.comms.messages()}
    assert status[b1006.id] == "skipped"
    assert recipients.count(b1003.guest_email) == 1
    assert mail.services.comms.plan() == 0  # planned once, never again


def test_hold_until_codes_then_send_at_the_latest(
        mail: Context, handler: Handler, mail_clock: FixedClock) -> None:
    b1004 = booking(mail, "B-1004")
    with mail.db.session() as session:
        unit = session.scalars(select(Unit).where(Unit.name == "Double room 1")).one()
    mail.services.links.link(unit.id, manual_lock_name="Double room 1 keypad")
    mail_clock.set(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    checkin_template(mail, hold_for_codes=True, hold_latest_hours=2)
    mail.services.comms.plan()
    mail_clock.set(NOW + timedelta(hours=1))  # B-1004's message was due at 08:00 UTC

    def to_b1004() -> list[EmailMessage]:
        return [m for m in handler.received
                if m["To"].addresses[0].addr_spec == b1004.guest_email]

    mail.services.comms.deliver()
    assert to_b1004() == []  # held: the code does not exist yet
    check_in = local_instant(b1004.arrival, time(15, 0), "Europe/Oslo")
    mail_clock.set(check_in - timedelta(hours=2))
    mail.services.comms.deliver()
    [received] = to_b1004()
    assert f"Double room 1: {NO_CODE_TEXT}" in received.get_content()


def test_the_guests_language_with_fallback(mail: Context, handler: Handler) -> None:
    mail.services.comms.save_template(TemplateInput(
        name="Hi", context=TemplateContext.MANUAL, subject="Hello", body="Hello {{guest_name}}"))
    mail.services.comms.save_template(TemplateInput(
        name="Hi", context=TemplateContext.MANUAL, subject="Hallo", body="Hallo {{guest_name}}",
        language="de"))
    b1002, b1003 = booking(mail, "B-1002"), booking(mail, "B-1003")
    with mail.db.transaction() as session:
        for booking_id, language in ((b1002.id, "de"), (b1003.id, "fr")):
            found = session.get(Booking, booking_id)
            assert found is not None
            found.language = language
    mail.services.comms.send_manual(b1002.id, "Hi")
    mail.services.comms.send_manual(b1003.id, "Hi")
    mail.services.comms.deliver()
    subjects = {m["To"].addresses[0].addr_spec: m["Subject"] for m in handler.received}
    assert subjects == {b1002.guest_email: "Hallo", b1003.guest_email: "Hello"}


def test_send_again_when_the_code_changes(mail: Context, handler: Handler,
                                          mail_clock: FixedClock) -> None:
    from mangodesk.store.models import AccessCode

    b1003 = booking(mail, "B-1003")
    mail_clock.set(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    checkin_template(mail, resend_on_code_change=True)
    mail.services.comms.plan()
    mail_clock.set(datetime(2026, 6, 10, 8, 1, tzinfo=UTC))
    mail.services.comms.deliver()

    def to_b1003() -> list[str]:
        return [m.get_content() for m in handler.received
                if m["To"].addresses[0].addr_spec == b1003.guest_email]

    [first] = to_b1003()
    assert "Room 103: 5307" in first
    assert mail.services.comms.plan() == 0  # codes unchanged: nothing new
    with mail.db.transaction() as session:
        code = session.scalars(select(AccessCode).where(AccessCode.code == "5307")).one()
        code.code = "9911"
    assert mail.services.comms.plan() == 1
    mail.services.comms.deliver()
    assert len(to_b1003()) == 2
    assert "Room 103: 9911" in to_b1003()[1]


def test_no_guest_email_fails_once_with_an_alert(mail: Context, handler: Handler) -> None:
    from mangodesk.store.models import Alert

    b1003 = booking(mail, "B-1003")
    with mail.db.transaction() as session:
        found = session.get(Booking, b1003.id)
        assert found is not None
        found.guest_email = None
    checkin_template(mail)
    mail.services.comms.send_manual(b1003.id, "Check-in")
    mail.services.comms.deliver()
    [logged] = mail.services.comms.messages(b1003.id)
    assert logged.status == "failed" and "no guest email" in (logged.last_error or "")
    with mail.db.session() as session:
        assert len(list(session.scalars(select(Alert).where(Alert.subject_kind == "message")))) == 1
    assert handler.received == []


def test_a_cancellation_message_reaches_a_cancelled_booking(mail: Context,
                                                            handler: Handler) -> None:
    mail.services.comms.save_template(TemplateInput(
        name="Cancelled", context=TemplateContext.CANCELLATION, subject="Booking cancelled",
        body="Dear {{guest_name}}, booking {{booking_number}} is cancelled."))
    b1007 = booking(mail, "B-1007")  # cancelled in the demo data
    mail.services.comms.send_manual(b1007.id, "Cancelled")
    mail.services.comms.deliver()
    [received] = handler.received
    assert "booking B-1007 is cancelled" in received.get_content()


def test_a_tentative_booking_gets_no_check_in_message(mail: Context,
                                                      mail_clock: FixedClock) -> None:
    mail_clock.set(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    ctx = mail
    ctx.services.comms.save_template(TemplateInput(
        name="Soon", context=TemplateContext.SCHEDULED_CHECKIN, subject="Soon", body="Hi",
        offset_minutes=1440))
    ctx.services.comms.plan()
    planned = {m.booking_id for m in ctx.services.comms.messages()}
    assert booking(ctx, "B-1009").id not in planned  # tentative, arrives in 12 days
    assert booking(ctx, "B-1006").id in planned
