"""Smart Locks connections (test, refresh, sign in again, remove with its explanation),
pausing automation, and the keyboard path into a unit."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt

from mangodesk.app import Context
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import ConnectionStatus, VendorKind
from mangodesk.ui.application import Desk
from mangodesk.ui.connections_dialog import ConnectionsDialog
from mangodesk.ui.engine_control import EngineControl
from mangodesk.ui.linking import LinkDialog
from mangodesk.ui.passcodes import PasscodesDialog
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from tests.ui.conftest import click_box, close_desk, idle, make_desk
from tests.ui.fakes import FakeServer


def open_connections(qtbot: Any, desk: Desk) -> ConnectionsDialog:
    dialog = desk.window.show_connections()
    idle(qtbot, desk.runner)
    return dialog


def select_kind(dialog: ConnectionsDialog, kind: VendorKind) -> None:
    row = next(n for n, c in enumerate(dialog.model.items) if c.kind == kind)
    dialog.table.selectRow(row)


def test_connections_are_listed_tested_and_refreshed(qtbot: Any, desk: Desk,
                                                     fake_server: FakeServer) -> None:
    desk.context.services.connections.connect(VendorKind.TTLOCK,
                                              {"username": "u", "password": "secret"})
    dialog = open_connections(qtbot, desk)
    assert [(c.kind, c.lock_count) for c in dialog.model.items] == \
        [(VendorKind.MANUAL, 3), (VendorKind.TTLOCK, 3)]
    select_kind(dialog, VendorKind.MANUAL)
    assert not dialog.test_button.isEnabled()  # nothing to test on Manual
    select_kind(dialog, VendorKind.TTLOCK)
    dialog.test_button.click()
    idle(qtbot, desk.runner)
    assert dialog.report.text().startswith("Connected to TTLock")
    fake_server.password = "changed-in-the-app"
    dialog.test_button.click()
    idle(qtbot, desk.runner)
    assert "did not accept" in dialog.report.text()
    assert "Check the password in the TTLock app." in dialog.report.text()
    fake_server.locks = fake_server.locks[:2]
    dialog.refresh_button.click()
    idle(qtbot, desk.runner)
    assert dialog.report.text() == "2 locks in the list."
    dialog.close()


def test_removing_a_connection_explains_the_codes_and_keeps_them(qtbot: Any,
                                                                 desk: Desk) -> None:
    dialog = open_connections(qtbot, desk)
    select_kind(dialog, VendorKind.MANUAL)
    dialog.remove_button.click()
    said = click_box(qtbot, "confirm_remove", "Keep codes")
    assert "Its units are unlinked." in said
    assert "keep working until they end" in said
    assert "change the physical codes yourself" in said  # Manual: by hand
    idle(qtbot, desk.runner)
    assert dialog.model.rowCount() == 0
    statuses = [c.status for c in desk.context.services.connections.list()]
    assert statuses == [ConnectionStatus.DISCONNECTED]
    assert all(r.lock_id is None for r in desk.context.services.units.list_units())
    dialog.close()


def test_sign_in_again_opens_the_wizard_for_that_connection(qtbot: Any, desk: Desk) -> None:
    desk.context.services.connections.connect(VendorKind.TTLOCK,
                                              {"username": "u", "password": "secret"})
    dialog = open_connections(qtbot, desk)
    select_kind(dialog, VendorKind.TTLOCK)
    dialog.reauth_button.click()
    wizard = dialog.findChild(ConnectWizardDialog, "wizard")
    assert wizard is not None and wizard.wizard.existing is not None
    assert wizard.inputs["username"].text() == "u"
    wizard.close()
    dialog.close()


class FakeEngine:
    def __init__(self) -> None:
        self.paused = False
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def wake(self) -> None:
        return None


def test_pause_automation_from_the_window_and_the_tray(qtbot: Any, context: Context) -> None:
    engine = FakeEngine()
    desk = Desk(context, engine=EngineControl(engine), use_tray=True)
    desk.start()
    try:
        idle(qtbot, desk.runner)
        window = desk.window
        assert window.engine_label.text() == "Automation: on · service not running"
        window.pause_action.trigger()
        assert engine.paused
        assert window.engine_label.text() == "Automation: paused · service not running"
        assert desk.tray is not None and desk.tray.pause_action.isChecked()
        desk.tray.pause_action.trigger()  # resume from the tray menu
        assert not engine.paused and not window.pause_action.isChecked()
    finally:
        idle(qtbot, desk.runner)
        desk.close()


def test_enter_on_a_unit_opens_its_passcodes_or_link(qtbot: Any, context: Context) -> None:
    desk = make_desk(qtbot, context)
    try:
        window = desk.window
        linked = next(r for r in window.model.rows if r.name == "Room 101")
        window.select_unit(linked.id)
        window.table.setFocus()
        qtbot.keyClick(window.table, Qt.Key.Key_Return)
        dialog = window.findChild(PasscodesDialog, "passcodes")
        assert dialog is not None and dialog.isVisible()
        idle(qtbot, desk.runner)
        dialog.close()
        unlinked = next(r for r in window.model.rows if r.name == "Room 104")
        window.select_unit(unlinked.id)
        qtbot.keyClick(window.table, Qt.Key.Key_Return)
        link = window.findChild(LinkDialog, "link")
        assert link is not None and link.isVisible() and link.unit.id == unlinked.id
    finally:
        close_desk(qtbot, desk)


def test_a_long_pms_sync_shows_progress_in_the_status_bar(qtbot: Any, desk: Desk) -> None:
    def publish(event: Event) -> None:
        worker = threading.Thread(target=desk.context.events.publish, args=(event,))
        worker.start()
        worker.join()

    window = desk.window
    publish(Event(EventKind.SYNC_PROGRESS, data={"pages": 3, "bookings": 300,
                                                 "has_more": True, "full": True,
                                                 "expected_pages": 40,
                                                 "remaining_seconds": 1555.0}))
    qtbot.waitUntil(lambda: not window.sync_bar.isHidden())
    assert window.sync_label.text() == (
        "Reading all bookings: page 3 of about 40, 300 bookings, about 25 min 55 s left…")
    publish(Event(EventKind.SYNC_FINISHED, data={"ok": True}))
    qtbot.waitUntil(window.sync_bar.isHidden)
    idle(qtbot, desk.runner)


def _rename_box() -> Any:
    from PySide6.QtWidgets import QApplication, QInputDialog

    return next(w for w in QApplication.topLevelWidgets()
                if isinstance(w, QInputDialog) and w.objectName() == "rename_connection"
                and w.isVisible())


def test_renaming_a_connection(qtbot: Any, desk: Desk) -> None:
    dialog = open_connections(qtbot, desk)
    select_kind(dialog, VendorKind.MANUAL)
    dialog.rename_button.click()
    box = _rename_box()
    assert box.textValue() == "Manual"
    box.setTextValue("Keypads, main building")
    box.accept()
    idle(qtbot, desk.runner)
    assert [c.display_name for c in dialog.model.items] == ["Keypads, main building"]
    dialog.rename_button.click()
    empty = _rename_box()
    empty.setTextValue("   ")
    empty.accept()
    idle(qtbot, desk.runner)
    assert "Enter a name" in dialog.report.text()
    assert [c.display_name for c in dialog.model.items] == ["Keypads, main building"]
    dialog.close()
