"""Mail benchmark: 2,000 due guest messages rendered (templates, door codes) and handed to a
loopback SMTP server through the durable outbox, against a bare ``smtplib`` loop sending the
same messages on one connection with no database at all. Prints ``ratio X.XX (target 1.5)``.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_mail.py``
"""

from __future__ import annotations

import smtplib
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from mangodesk.app import build_context
from mangodesk.comms.smtp import SmtpSettings, build_message
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.template import TemplateContext
from mangodesk.paths import Paths
from mangodesk.services.comms import TemplateInput
from mangodesk.settings import Settings
from mangodesk.store.models import Booking, MailMessage
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from tests.integration.comms import smtp_server
from tests.integration.comms.smtp_server import Handler

MESSAGES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
BODY = ("Dear {{guest_name}},\n\nwelcome to {{property_name}}. You arrive {{arrival}} and "
        "leave {{departure}} ({{unit_names}}).\n\nYour door codes:\n"
        "{{smart_lock_access_codes}}\n\nSee you soon!\n")


def main() -> None:
    handler = Handler()
    controller = smtp_server.start_plain(handler)
    port = int(controller.port)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(NOW)
        ctx = build_context(Paths.under(Path(tmp) / "p"), Settings(), clock=clock,
                            secrets=SecretStore(MemoryKeyring()), actor="bench")
        seed_hotel(ctx, NOW)
        seed_manual_locks(ctx, NOW)
        settings = SmtpSettings(host="127.0.0.1", port=port, security="none",
                                from_address="desk@hotel.example", from_name="Hotel Mango")
        ctx.services.comms.save_smtp_settings(settings)
        ctx.services.comms.save_template(TemplateInput(
            name="Codes", context=TemplateContext.MANUAL, subject="Welcome {{guest_name}}",
            body=BODY))
        with ctx.db.transaction() as session:
            booking_ids = list(session.scalars(select(Booking.id).where(
                Booking.status == "confirmed")))
            template_id = ctx.services.comms.template("Codes").id
            session.add_all(MailMessage(
                booking_id=booking_ids[n % len(booking_ids)], template_id=template_id,
                dedupe_key=f"bench:{n}", message_id=f"<{uuid.uuid4().hex}@bench>",
                status="queued", due_at=NOW, next_attempt_at=NOW, attempts=0,
                created_by="bench", created_at=NOW, updated_at=NOW) for n in range(MESSAGES))
        started = time.perf_counter()
        counts = ctx.services.comms.deliver()
        ours = time.perf_counter() - started
        assert counts["sent"] == MESSAGES, counts
        assert len(handler.received) == MESSAGES
        with ctx.db.session() as session:
            rendered = [(r.to_address or "", r.subject or "", r.body or "", r.message_id)
                        for r in session.scalars(select(MailMessage))]
        ctx.close()
    # The bare loop: the same rendered texts made into messages and sent on one connection.
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as bare:
        for to, subject, body, message_id in rendered:
            message = build_message(settings, to=to, to_name=None, subject=subject,
                                    body=body, message_id=message_id)
            bare.sendmail(settings.from_address, [to], message.as_bytes())
    baseline = time.perf_counter() - started
    controller.stop()
    print(f"outbox: {MESSAGES} messages in {ours:.2f} s; bare smtplib loop: {baseline:.2f} s")
    print(f"ratio {ours / baseline:.2f} (target 1.5)")


if __name__ == "__main__":
    main()
