"""Killed in the middle of a burst of due messages, restarted: every guest got each message
exactly once (the outbox records "handed over" before the final "." of each message)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from mangodesk.app import build_context
from mangodesk.comms.smtp import SmtpSettings
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.template import TemplateContext
from mangodesk.paths import Paths
from mangodesk.services.comms import TemplateInput
from mangodesk.settings import Settings
from mangodesk.store.models import Booking, MailMessage
from mangodesk.store.secrets import SecretStore
from tests.database_switch import child_pythonpath
from tests.integration.comms import smtp_server
from tests.integration.comms.conftest import NOW
from tests.integration.comms.smtp_server import Handler

BURST = 200
DELIVER = """
import sys
from pathlib import Path
from mangodesk.app import build_context
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import MemoryKeyring, SecretStore
ctx = build_context(Paths.under(Path(sys.argv[1])), Settings(),
                    secrets=SecretStore(MemoryKeyring()), actor="automation")
print(ctx.services.comms.deliver(), flush=True)
ctx.close()
"""


def deliver_process(profile: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=child_pythonpath(Path(__file__).resolve().parents[3]))
    return subprocess.Popen([sys.executable, "-c", DELIVER, str(profile)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_during_a_burst_then_restart_sends_each_exactly_once(
        tmp_path: Path, secret_store: SecretStore) -> None:
    handler = Handler(confirm_delay=0.01)
    controller = smtp_server.start_plain(handler)
    profile = tmp_path / "profile"
    try:
        ctx = build_context(Paths.under(profile), Settings(), secrets=secret_store,
                            clock=FixedClock(NOW), actor="Anna")
        seed_hotel(ctx, NOW)
        comms = ctx.services.comms
        comms.save_smtp_settings(SmtpSettings(
            host="127.0.0.1", port=int(controller.port), security="none",
            from_address="desk@hotel-mango.example", timeout=5))
        comms.save_template(TemplateInput(name="Note", context=TemplateContext.MANUAL,
                                          subject="Note", body="Dear {{guest_name}}"))
        with ctx.db.session() as session:
            booking_id = session.scalars(select(Booking.id).where(
                Booking.pms_id == "B-1003")).one()
        for _ in range(BURST):
            comms.send_manual(booking_id, "Note")
        ctx.close()

        first = deliver_process(profile)
        deadline = time.monotonic() + 60
        while len(handler.received) < BURST // 3 and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        killed_at = len(handler.received)
        assert 0 < killed_at < BURST

        second = deliver_process(profile)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()

        ids = Counter(m["Message-ID"] for m in handler.received)
        assert len(ids) == BURST
        assert set(ids.values()) == {1}
        check = build_context(Paths.under(profile), Settings(), secrets=secret_store,
                              clock=FixedClock(NOW), actor="Anna")
        with check.db.session() as session:
            sent = session.scalar(select(func.count(MailMessage.id)).where(
                MailMessage.status == "sent"))
            logged = set(session.scalars(select(MailMessage.message_id)))
        check.close()
        assert sent == BURST
        assert logged == set(ids)
    finally:
        controller.stop()
