"""The demo's local mail sink: after the engine issues codes, the check-in email of an
arriving guest reaches the sink with the codes, and the sent log shows it masked."""

from __future__ import annotations

from pathlib import Path

from mangodesk.app import attach_engine
from mangodesk.demo import start_demo
from mangodesk.domain.template import NO_CODE_TEXT
from mangodesk.paths import Paths
from mangodesk.settings import Settings


def test_demo_sends_the_check_in_email_with_codes_to_its_sink(tmp_path: Path) -> None:
    demo = start_demo(Paths.under(tmp_path), Settings())
    context = demo.context
    try:
        assert demo.mail is not None
        comms = context.services.comms
        assert [t.name for t in comms.templates()] == ["Check-in"]
        queued = comms.messages()
        assert queued and {m.status for m in queued} == {"queued"}
        engine = attach_engine(context)
        engine.plan_and_enqueue()
        engine.run_due()
        comms.deliver()
        received = demo.mail.messages()
        assert received, "the sink received check-in emails"
        with_codes = [m for m in received if "Your door codes:" in m.get_content()
                      and ": " in m.get_content().split("Your door codes:")[1]
                      and NO_CODE_TEXT not in m.get_content()]
        assert with_codes, [m.get_content() for m in received]
        sent = [m for m in comms.messages() if m.status == "sent"]
        assert len(sent) == len(received)
    finally:
        context.close()
