"""#17: the demo's Messages view shows what its local mail server received — a person sees the
check-in email of a demo booking with its door codes — and updates while it is open."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt

from mangodesk.demo import SinkMessage, sink_message
from mangodesk.sim.mail import MailSink, start_for_demo
from mangodesk.ui.demo_messages import DemoMessagesDialog, SinkMessagesModel

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def sink() -> Iterator[MailSink]:
    started = start_for_demo()
    yield started
    started.stop()


def send(sink: MailSink, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = "Hotel Mango <desk@mango.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.send_message(message)


def fetch_from(sink: MailSink) -> Any:
    return lambda after: [sink_message(at, m) for at, m in sink.entries(after)]


def test_the_model_passes_qt_model_checks(qtmodeltester: Any) -> None:
    model = SinkMessagesModel(OSLO)
    model.append([SinkMessage("ana@example.com", "Your stay", datetime(2026, 6, 10, 9, 0,
                                                                        tzinfo=UTC),
                              "desk@mango.example", "Room 101: 4821")])
    qtmodeltester.check(model, force_py=True)
    assert model.index(0, 2).data() == "10 Jun 11:00:00"  # hotel time, zone in the header
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Received (Europe/Oslo)"


def test_received_messages_appear_live_and_the_selected_one_is_readable(
    qtbot: Any, sink: MailSink
) -> None:
    dialog = DemoMessagesDialog(fetch_from(sink), OSLO)
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.model.rowCount() == 0 and dialog.empty.isVisible()
    send(sink, "Ana Ruiz <ana@example.com>", "Your stay at Hotel Mango",
         "Dear Ana,\n\nYour door codes:\nRoom 101: 4821\n")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=5000)
    assert not dialog.empty.isVisible()
    assert dialog.model.index(0, 0).data() == "Ana Ruiz <ana@example.com>"
    assert dialog.model.index(0, 1).data() == "Your stay at Hotel Mango"
    # The first message is selected and shown as the guest reads it.
    assert "Room 101: 4821" in dialog.body.toPlainText()
    assert "Subject: Your stay at Hotel Mango" in dialog.body.toPlainText()
    send(sink, "lars@example.com", "Your stay at Hotel Mango", "Room 102: 5307\n")
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=5000)
    assert "Room 101: 4821" in dialog.body.toPlainText()  # the selection stayed put
    dialog.table.selectRow(1)
    assert "Room 102: 5307" in dialog.body.toPlainText()
    dialog.reject()
    assert not dialog.timer.isActive()


def test_the_demo_menu_opens_the_check_in_email_with_its_codes(
    qtbot: Any, tmp_path: Path
) -> None:
    from mangodesk.app import attach_engine
    from mangodesk.demo import DemoPowers, start_demo
    from mangodesk.domain.template import NO_CODE_TEXT
    from mangodesk.paths import Paths
    from mangodesk.settings import Settings
    from mangodesk.ui.application import Desk
    from tests.ui.conftest import close_desk, find_widget

    demo = start_demo(Paths.under(tmp_path / "demo"), Settings())
    try:
        desk = Desk(demo.context, use_tray=False, demo=DemoPowers(demo))
        desk.start()
        qtbot.waitUntil(lambda: desk.window.model.rowCount() > 0 and desk.runner.running == 0)
        menu = desk.window.demo_menu
        action = next(a for a in menu.menu.actions()
                      if a.objectName() == "demo_messages_action")
        assert action.isEnabled()
        action.trigger()
        dialog = find_widget(qtbot, DemoMessagesDialog, "demo_messages")
        assert dialog.isVisible()
        engine = attach_engine(demo.context)
        engine.plan_and_enqueue()
        engine.run_due()
        demo.context.services.comms.deliver()
        qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=5000)

        def with_codes() -> str | None:
            # Selecting a row shows its text; a guest of a unit with a lock has codes in it.
            for row in range(dialog.model.rowCount()):
                dialog.table.selectRow(row)
                text = dialog.body.toPlainText()
                codes = text.split("Your door codes:")[1].split("See you soon")[0]
                if ": " in codes and NO_CODE_TEXT not in codes:
                    return text
            return None

        text = with_codes()
        assert text is not None, [m.body for m in dialog.model.rows]
        assert "Subject: Your stay at Hotel Mango" in text
        dialog.reject()
        close_desk(qtbot, desk)
    finally:
        demo.context.close()
