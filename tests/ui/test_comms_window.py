"""The Communications window: templates with the Variables button, the sent log with the
masked message and Send again, and the mail server's test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.comms.templates import VARIABLES
from mangodesk.domain.template import TemplateContext
from mangodesk.services.comms import TemplateInput
from mangodesk.store.models import Booking
from mangodesk.ui.application import Desk
from tests.integration.comms import smtp_server
from tests.integration.comms.smtp_server import Handler
from tests.ui.conftest import idle


@pytest.fixture
def sink() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    controller = smtp_server.start_plain(handler)
    yield handler, int(controller.port)
    controller.stop()


def test_variables_button_lists_every_variable_and_inserts_it(qtbot: Any, desk: Desk) -> None:
    window = desk.window.show_guest_messages()
    tab = window.templates
    actions = [a for a in tab.variables_menu.actions() if a.data()]
    assert [a.data() for a in actions] == [v.placeholder for v in VARIABLES]
    sections = [a.text() for a in tab.variables_menu.actions() if a.isSeparator()]
    assert "Smart Locks" in sections
    codes = next(a for a in actions if a.data() == "{{smart_lock_access_codes}}")
    tab.body.setPlainText("Your codes:\n")
    tab.body.moveCursor(tab.body.textCursor().MoveOperation.End)
    codes.trigger()
    assert tab.body.toPlainText() == "Your codes:\n{{smart_lock_access_codes}}"
    window.close()


def test_unknown_variable_refused_in_the_editor(qtbot: Any, desk: Desk) -> None:
    window = desk.window.show_guest_messages()
    tab = window.templates
    tab.name.setText("Welcome")
    tab.subject.setText("Hi")
    tab.body.setPlainText("Dear {{guest}}")
    tab.save.click()
    assert "{{guest}}" in tab.status.text() and "{{guest_name}}" in tab.status.text()
    assert desk.context.services.comms.templates() == []
    tab.body.setPlainText("Dear {{guest_name}}\n{{smart_lock_access_codes}}")
    tab.kind.setCurrentIndex(tab.kind.findData(TemplateContext.SCHEDULED_CHECKIN.value))
    tab.days.setValue(5)
    tab.save.click()
    assert [t.name for t in desk.context.services.comms.templates()] == ["Welcome"]
    assert "earlier than door codes are made" in tab.status.text()
    window.close()


def test_sent_log_masks_codes_and_sends_again(qtbot: Any, desk: Desk,
                                              sink: tuple[Handler, int]) -> None:
    handler, port = sink
    context: Context = desk.context
    window = desk.window.show_guest_messages()
    server = window.mail_server
    server.host.setText("127.0.0.1")
    server.port.setValue(port)
    server.security.setCurrentIndex(server.security.findData("none"))
    server.from_address.setText("desk@hotel.example")
    server.test_to.setText("it@hotel.example")
    server.test.click()
    idle(qtbot, desk.runner)
    assert "OK   Sender" in server.report.toPlainText()
    assert "ready for guest emails" in server.report.toPlainText()
    context.services.comms.save_template(TemplateInput(
        name="Codes", context=TemplateContext.MANUAL, subject="Codes",
        body="{{smart_lock_access_codes}}"))
    with context.db.session() as session:
        booking_id = session.scalars(select(Booking.id).where(Booking.pms_id == "B-1003")).one()
    context.services.comms.send_manual(booking_id, "Codes")
    context.services.comms.deliver()
    window.tabs.setCurrentWidget(window.sent_log)
    log = window.sent_log
    assert log.table.rowCount() == 1
    log.table.setCurrentCell(0, 0)
    assert log.body.toPlainText() == "Room 103: •••7"
    log.resend.click()
    idle(qtbot, desk.runner)
    assert log.table.rowCount() == 2
    assert [m.get_content().strip() for m in handler.received[1:]] == ["Room 103: 5307"] * 2
    window.close()
