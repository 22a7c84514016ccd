"""Mail benchmark: 2,000 due guest messages rendered (templates, door codes) and handed to a
loopback SMTP server through the durable outbox, against a bare ``smtplib`` loop sending the
same messages on one connection with no database at all, in alternating rounds. Prints each
round's wall and CPU times and the median ``ratio X.XX`` (target 1.5).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_mail.py [MESSAGES [ROUNDS]]``
"""

from __future__ import annotations

import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from mangodesk.app import Context, build_context
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


ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def queue(ctx: Context, round_number: int) -> None:
    with ctx.db.transaction() as session:
        booking_ids = list(session.scalars(select(Booking.id).where(
            Booking.status == "confirmed")))
        template_id = ctx.services.comms.template("Codes").id
        session.add_all(MailMessage(
            booking_id=booking_ids[n % len(booking_ids)], template_id=template_id,
            dedupe_key=f"bench:{round_number}:{n}", message_id=f"<{uuid.uuid4().hex}@bench>",
            status="queued", due_at=NOW, next_attempt_at=NOW, attempts=0,
            created_by="bench", created_at=NOW, updated_at=NOW) for n in range(MESSAGES))


def deliver_into(ctx: Context, counts: dict[str, int]) -> None:
    counts.update(ctx.services.comms.deliver())


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``work`` (CPU of this process: the loopback SMTP server's
    thread included, for both sides alike; less moved by other programs than wall time)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    handler = Handler()
    controller = smtp_server.start_plain(handler)
    port = int(controller.port)
    ratios: list[tuple[float, float]] = []
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
        # Rounds alternate the outbox and the bare loop so a change in the machine's load
        # hits both alike; the median ratio is the figure.
        for round_number in range(ROUNDS):
            queue(ctx, round_number)
            handler.received.clear()
            counts: dict[str, int] = {}
            ours = timed(partial(deliver_into, ctx, counts))
            assert counts["sent"] == MESSAGES, counts
            assert len(handler.received) == MESSAGES
            with ctx.db.session() as session:
                rendered = [(r.to_address or "", r.subject or "", r.body or "", r.message_id)
                            for r in session.scalars(select(MailMessage).where(
                                MailMessage.dedupe_key.like(f"bench:{round_number}:%")))]

            def bare_loop(rendered: list[tuple[str, str, str, str]] = rendered) -> None:
                # The same rendered texts made into messages and sent on one connection.
                with smtplib.SMTP("127.0.0.1", port) as bare:
                    for to, subject, body, message_id in rendered:
                        message = build_message(settings, to=to, to_name=None,
                                                subject=subject, body=body,
                                                message_id=message_id)
                        bare.sendmail(settings.from_address, [to], message.as_bytes())

            bare = timed(bare_loop)
            ratios.append((ours[0] / bare[0], ours[1] / bare[1]))
            print(f"round {round_number + 1}: outbox {MESSAGES} messages in {ours[0]:.2f} s "
                  f"(cpu {ours[1]:.2f} s); bare smtplib loop {bare[0]:.2f} s "
                  f"(cpu {bare[1]:.2f} s); ratio wall {ratios[-1][0]:.2f} "
                  f"cpu {ratios[-1][1]:.2f}")
        ctx.close()
    controller.stop()
    print(f"ratio {statistics.median(r for r, _ in ratios):.2f} wall, "
          f"{statistics.median(c for _, c in ratios):.2f} cpu (median of {ROUNDS} rounds; "
          "target 1.5)")


if __name__ == "__main__":
    main()
