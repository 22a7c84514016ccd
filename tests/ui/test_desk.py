"""The desk window and its flows, driven as staff would: link, unlink with the revoke
question, passcodes with invalid input, retry now, details, alerts, communications, log."""

from __future__ import annotations

import csv
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QLabel

from mangodesk.app import Context
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    CodeOrigin,
    CodeState,
    OperationKind,
    OperationStatus,
    VendorKind,
)
from mangodesk.store import alerts
from mangodesk.store.models import AccessCode, Operation
from mangodesk.ui.application import Desk
from mangodesk.ui.linking import LinkDialog
from mangodesk.ui.main_window import MainWindow
from mangodesk.ui.passcodes import PasscodeEditor, PasscodesDialog
from mangodesk.ui.unit_model import Column, UnitFilter
from mangodesk.vendors.base import VendorCode
from tests.ui.conftest import click_box, find_widget, idle
from tests.ui.fakes import FakeServer


def unit_id(context: Context, name: str) -> int:
    return next(r.id for r in context.services.units.list_units() if r.name == name)


def select(desk: Desk, name: str) -> None:
    assert desk.window.select_unit(unit_id(desk.context, name))


def grid_names(window: MainWindow) -> list[str]:
    return [window.proxy.index(r, Column.UNIT).data() for r in range(window.proxy.rowCount())]


def cell(window: MainWindow, name: str, column: int) -> str:
    row = grid_names(window).index(name)
    return str(window.proxy.index(row, column).data())


def connect_fake(context: Context, link_unit: str | None = None) -> int:
    """Connect the fake provider; optionally link a unit to its first lock."""
    result = context.services.connections.connect(VendorKind.TTLOCK,
                                                  {"username": "desk", "password": "secret"})
    lock = result.locks[0]
    if link_unit is not None:
        context.services.links.link(unit_id(context, link_unit), lock_id=lock.id)
    return lock.id


def refreshed(qtbot: Any, desk: Desk) -> None:
    desk.window.refresh()
    idle(qtbot, desk.runner)


# --------------------------------------------------------------------------- main window


def test_the_grid_shows_each_unit_with_lock_code_arrival_and_state(desk: Desk) -> None:
    window = desk.window
    assert window.model.rowCount() == 13
    assert cell(window, "Room 101", Column.LOCK) == "Room 101 keypad"
    assert cell(window, "Room 101", Column.PROVIDER) == "Manual"
    assert cell(window, "Room 101", Column.CODE).startswith("482915")
    assert cell(window, "Room 101", Column.STATE) == "Active"
    assert cell(window, "Room 104", Column.STATE) == "Not linked"
    assert cell(window, "Room 102", Column.ARRIVAL).startswith("Today")
    assert window.count_label.text() == "13 units"
    assert window.codes_label.text() == "All codes sent"
    assert window.sync_label.text() == "Not synced with the PMS yet"
    assert window.engine_label.text() == "Automation: off on this desk · service not running"
    assert window.setup_banner.isHidden()


def test_search_as_you_type_and_filters(qtbot: Any, desk: Desk) -> None:
    window = desk.window
    qtbot.keyClicks(window.search, "sofia")
    assert grid_names(window) == ["Room 103"]
    assert window.count_label.text() == "1 of 13 units shown"
    window.search.clear()
    window.filter_actions[UnitFilter.UNLINKED].trigger()
    assert "Room 101" not in grid_names(window) and "Room 104" in grid_names(window)
    assert window.filter_buttons.checkedButton().text() == "Not linked"
    window.filter_actions[UnitFilter.ARRIVING_TODAY].trigger()
    assert set(grid_names(window)) == {"Room 102", "Dorm 6 · Bed A"}
    window.filter_actions[UnitFilter.ARRIVING_TOMORROW].trigger()
    assert set(grid_names(window)) == {"Room 103", "Double room 1", "Room Marta"}
    window.filter_actions[UnitFilter.ATTENTION].trigger()
    assert grid_names(window) == []
    window.filter_actions[UnitFilter.ALL].trigger()
    assert len(grid_names(window)) == 13


def test_every_action_has_a_keyboard_shortcut(desk: Desk) -> None:
    actions = [a for a in desk.window.actions() if a.text()]
    assert len(actions) >= 20
    missing = [a.text() for a in actions if a.shortcut().isEmpty()]
    assert missing == []
    shortcuts = [a.shortcut().toString() for a in actions]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"


def test_without_a_connection_the_window_offers_get_started(bare_desk: Desk) -> None:
    assert not bare_desk.window.setup_banner.isHidden()
    assert cell(bare_desk.window, "Room 101", Column.STATE) == "Not linked"


def test_actions_follow_the_selected_unit(desk: Desk) -> None:
    window = desk.window
    select(desk, "Room 104")
    assert window.link_action.isEnabled() and not window.passcodes_action.isEnabled()
    select(desk, "Room 101")
    assert window.passcodes_action.isEnabled() and window.unlink_action.isEnabled()


# --------------------------------------------------------------------------- linking


def test_link_a_manual_lock_by_typing_its_name(qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 104")
    dialog = desk.window.link_unit()
    assert isinstance(dialog, LinkDialog)
    assert dialog.is_manual() and dialog.lock_name.isVisibleTo(dialog)
    dialog.link_button.click()
    assert dialog.form.error_text("lock") == "Type a lock name, for example “Front Door”."
    qtbot.keyClicks(dialog.lock_name, "Gate")
    with qtbot.waitSignal(dialog.linked):
        dialog.link_button.click()
    idle(qtbot, desk.runner)
    refreshed(qtbot, desk)
    assert cell(desk.window, "Room 104", Column.LOCK) == "Gate"


def test_link_a_vendor_lock_from_the_list_imports_its_codes(
        qtbot: Any, desk: Desk, fake_server: FakeServer) -> None:
    fake_server.codes["L2"] = [VendorCode("ref-9", "135790", name="Cleaner")]
    connect_fake(desk.context)
    select(desk, "Room 104")
    dialog = desk.window.link_unit()
    assert dialog is not None
    dialog.connection_box.setCurrentIndex(dialog.connection_box.findText("TTLock (desk)"))
    assert not dialog.is_manual()
    labels = [dialog.lock_model.item(r).text() for r in range(dialog.lock_model.rowCount())]
    assert labels[2].startswith("Old lock  — no gateway")
    assert not dialog.lock_model.item(2).isEnabled()  # cannot be picked
    dialog.lock_box.setCurrentIndex(1)
    with qtbot.waitSignal(dialog.linked):
        dialog.link_button.click()
    assert "list_codes" in fake_server.calls  # imported on link, in the background
    codes = desk.context.services.passcodes.list_for_unit(unit_id(desk.context, "Room 104"))
    assert [(c.code, c.origin) for c in codes] == [("135790", CodeOrigin.IMPORTED)]


def test_refresh_lock_list_runs_in_the_background(qtbot: Any, desk: Desk,
                                                  fake_server: FakeServer) -> None:
    connect_fake(desk.context)
    select(desk, "Room 104")
    dialog = desk.window.link_unit()
    assert dialog is not None
    dialog.connection_box.setCurrentIndex(dialog.connection_box.findText("TTLock (desk)"))
    fake_server.locks = fake_server.locks[:1]
    dialog.refresh_button.click()
    assert not dialog.progress.isHidden()  # shown while the provider answers
    idle(qtbot, desk.runner)
    assert dialog.lock_model.rowCount() == 1
    assert dialog.progress.isHidden()


def test_unlink_with_live_codes_asks_and_keeps_them(qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 101")
    desk.window.unlink_action.trigger()
    click_box(qtbot, "confirm_unlink", "Unlink")
    said = click_box(qtbot, "revoke_or_keep", "Keep codes")
    assert "Room 101 has 1 active or upcoming guest code." in said
    assert "You'll need to change the physical lock code separately" in said  # Manual
    idle(qtbot, desk.runner)
    refreshed(qtbot, desk)
    assert cell(desk.window, "Room 101", Column.STATE) == "Not linked"
    code = desk.context.services.passcodes.list_for_unit(unit_id(desk.context, "Room 101"))[0]
    assert code.state == CodeState.ACTIVE and not code.managed


def test_unlink_with_live_codes_can_revoke_them(qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 102")
    desk.window.unlink_unit()
    click_box(qtbot, "confirm_unlink", "Unlink")
    click_box(qtbot, "revoke_or_keep", "Revoke codes")
    idle(qtbot, desk.runner)
    code = desk.context.services.passcodes.list_for_unit(unit_id(desk.context, "Room 102"))[0]
    assert code.state == CodeState.REVOKED


def test_unlink_cancelled_at_the_question_changes_nothing(qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 101")
    desk.window.unlink_unit()
    click_box(qtbot, "confirm_unlink", "Unlink")
    click_box(qtbot, "revoke_or_keep", "Cancel")
    idle(qtbot, desk.runner)
    assert desk.context.services.units.unit(unit_id(desk.context, "Room 101")).lock_id


# --------------------------------------------------------------------------- passcodes


def open_passcodes(qtbot: Any, desk: Desk, name: str) -> PasscodesDialog:
    select(desk, name)
    dialog = desk.window.show_passcodes()
    assert dialog is not None
    idle(qtbot, desk.runner)
    return dialog


def new_editor(qtbot: Any, dialog: PasscodesDialog) -> PasscodeEditor:
    dialog.new_button.click()
    editor = dialog.editor
    assert editor is not None and editor.isVisible()
    return editor


def test_passcodes_panel_lists_codes_with_validity_guest_origin_and_state(
        qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    model = dialog.model
    assert model.rowCount() == 1
    values = [model.index(0, c).data() for c in range(model.columnCount())]
    assert values[0] == "482915"
    assert values[2].startswith("Ingrid Berg")
    assert values[3] == "Created by staff"
    assert values[4] == "Active"
    assert "keypad yourself" in dialog.findChild(QLabel, "lock_line").text()


def test_new_passcode_refuses_bad_input_next_to_the_field(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 103")
    editor = new_editor(qtbot, dialog)
    editor.save_button.click()
    assert editor.form.error_text("code") == "Enter the key code that is set on the lock."
    qtbot.keyClicks(editor.code_edit, "12")
    editor.to_edit.setDateTime(editor.from_edit.dateTime().addSecs(-3600))
    editor.save_button.click()
    assert "3 to 12" in editor.form.error_text("code")
    assert editor.form.error_text("valid_to") == "Valid To must be after Valid From."
    assert len(desk.context.services.passcodes.list_for_unit(dialog.unit.id)) == 1  # nothing sent
    editor.code_edit.setText("8675")
    editor.to_edit.setDateTime(editor.from_edit.dateTime().addDays(2))
    qtbot.keyClicks(editor.guest_edit, "Plumber")
    with qtbot.waitSignal(editor.saved):
        editor.save_button.click()
    idle(qtbot, desk.runner)
    codes = [(m.code, m.guest_name) for m in dialog.model.codes]
    assert ("8675", "Plumber") in codes


def test_the_service_reason_is_shown_next_to_its_field(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    editor = new_editor(qtbot, dialog)
    editor.code_edit.setText("482915")  # the current guest's code on the same lock
    editor.save_button.click()
    qtbot.waitUntil(lambda: bool(editor.form.error_text("code")))
    assert "already" in editor.form.error_text("code")
    assert "482915" in editor.form.error_text("code")  # the code staff typed (#14.16)


def test_generate_fills_in_a_code_the_lock_accepts(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    editor = new_editor(qtbot, dialog)
    editor.generate_button.click()
    qtbot.waitUntil(lambda: bool(editor.code_edit.text()))
    assert len(editor.code_edit.text()) == 6


def test_edit_moves_the_dates(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    dialog.table.selectRow(0)
    dialog.edit_button.click()
    editor = dialog.editor
    assert editor is not None and editor.code_edit.text() == "482915"
    before = dialog.model.codes[0].valid_to
    editor.to_edit.setDateTime(editor.to_edit.dateTime().addDays(1))
    with qtbot.waitSignal(editor.saved):
        editor.save_button.click()
    idle(qtbot, desk.runner)
    assert dialog.model.codes[0].valid_to == before + timedelta(days=1)


def test_revoke_on_a_manual_lock_says_to_change_the_lock_by_hand(qtbot: Any,
                                                                 desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    dialog.table.selectRow(0)
    dialog.revoke_button.click()
    said = click_box(qtbot, "confirm_revoke", "Revoke")
    assert "change the physical lock code separately" in said
    idle(qtbot, desk.runner)
    assert dialog.model.codes[0].state == CodeState.REVOKED
    assert not dialog.revoke_button.isEnabled()


def test_revoke_on_a_vendor_lock_says_the_lock_forgets_it(qtbot: Any, desk: Desk) -> None:
    connect_fake(desk.context, link_unit="Room 104")
    refreshed(qtbot, desk)
    dialog = open_passcodes(qtbot, desk, "Room 104")
    editor = new_editor(qtbot, dialog)
    with qtbot.waitSignal(editor.saved):
        editor.save_button.click()  # empty code: the service generates one
    idle(qtbot, desk.runner)
    dialog.table.selectRow(0)
    assert dialog.model.codes[0].state == CodeState.PENDING
    dialog.revoke_button.click()
    said = click_box(qtbot, "confirm_revoke", "Cancel")
    assert "removed from the lock" in said and "by hand" not in said
    idle(qtbot, desk.runner)
    assert dialog.model.codes[0].state == CodeState.PENDING


def test_retry_now_requeues_a_failed_code(qtbot: Any, desk: Desk, clock: Any) -> None:
    connect_fake(desk.context, link_unit="Room 104")
    target = unit_id(desk.context, "Room 104")
    now = clock.now()
    with desk.context.db.transaction() as session:
        from mangodesk.store.models import Unit

        unit = session.get(Unit, target)
        assert unit is not None and unit.link is not None
        code = AccessCode(unit_id=target, lock_id=unit.link.lock_id, origin=CodeOrigin.MANUAL,
                          code="246810", valid_from=now, valid_to=now + timedelta(days=1),
                          state=CodeState.FAILED, managed=True, attempts=30,
                          last_error="The lock server did not answer.",
                          created_at=now, updated_at=now)
        session.add(code)
        session.flush()
        session.add(Operation(access_code_id=code.id, kind=OperationKind.CREATE,
                              status=OperationStatus.FAILED, attempts=30, next_attempt_at=now,
                              created_at=now, updated_at=now, payload={}))
    refreshed(qtbot, desk)
    assert cell(desk.window, "Room 104", Column.STATE) == "Needs attention"
    desk.window.filter_actions[UnitFilter.ATTENTION].trigger()
    assert grid_names(desk.window) == ["Room 104"]
    dialog = open_passcodes(qtbot, desk, "Room 104")
    dialog.table.selectRow(0)
    assert dialog.model.index(0, 6).data() == "The lock server did not answer."
    assert dialog.model.index(0, 5).data() == "30"
    assert dialog.retry_button.isEnabled()
    dialog.retry_button.click()
    idle(qtbot, desk.runner)
    assert dialog.model.codes[0].state == CodeState.PENDING
    assert dialog.model.codes[0].attempts == 0


def test_details_ask_the_provider_in_the_background(qtbot: Any, desk: Desk) -> None:
    connect_fake(desk.context, link_unit="Room 104")
    refreshed(qtbot, desk)
    select(desk, "Room 104")
    desk.window.details_action.trigger()
    details = find_widget(qtbot, QDialog, "lock_details")
    texts = [label.text() for label in details.findChildren(QLabel)]
    assert "80 %" in texts and "Battery:" in texts
    assert any("Battery low soon." in t for t in texts)


# --------------------------------------------------------------------------- alerts


def raise_alert(context: Context, message: str, severity: AlertSeverity) -> None:
    with context.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key=message, severity=severity,
                           subject_kind=AlertSubject.CODE, subject_id=None, message=message,
                           fix="Check the gateway.", now=context.clock.now())


def publish_from_worker(context: Context, event: Event) -> None:
    worker = threading.Thread(target=context.events.publish, args=(event,))
    worker.start()
    worker.join()


class Recorder:
    def __init__(self) -> None:
        self.shown: list[tuple[str, str, AlertSeverity]] = []

    def present(self, title: str, message: str, severity: AlertSeverity) -> None:
        self.shown.append((title, message, severity))


def test_a_new_alert_reaches_the_presenter_once(qtbot: Any, desk: Desk) -> None:
    recorder = Recorder()
    desk.window.presenter = recorder
    raise_alert(desk.context, "Revoke failed for Room 101.", AlertSeverity.CRITICAL)
    publish_from_worker(desk.context, Event(EventKind.ALERT_RAISED))  # as the engine does
    qtbot.waitUntil(lambda: bool(recorder.shown))
    idle(qtbot, desk.runner)
    title, message, severity = recorder.shown[0]
    assert severity == AlertSeverity.CRITICAL and "urgent" in title
    assert message == "Revoke failed for Room 101. Check the gateway."
    publish_from_worker(desk.context, Event(EventKind.ALERT_RAISED))
    idle(qtbot, desk.runner)
    assert len(recorder.shown) == 1  # not again for the same alert
    assert desk.window.tabs.tabText(1) == "Alerts (1)"


def test_without_a_tray_alerts_show_in_the_window_and_can_be_acknowledged(
        qtbot: Any, desk: Desk) -> None:
    assert desk.tray is None
    raise_alert(desk.context, "Lock Room 102 keypad is offline.", AlertSeverity.ERROR)
    publish_from_worker(desk.context, Event(EventKind.ALERT_RAISED))
    qtbot.waitUntil(lambda: bool(desk.window.message_bar.text))
    assert "Lock Room 102 keypad is offline." in desk.window.message_bar.text
    desk.window.message_bar.open_button.click()
    panel = desk.window.alerts_panel
    assert desk.window.tabs.currentWidget() is panel
    idle(qtbot, desk.runner)
    assert panel.model.rowCount() == 1
    panel.ack_button.click()
    idle(qtbot, desk.runner)
    assert panel.model.rowCount() == 0
    assert desk.context.services.alerts.open_count() == 0


def test_alerts_open_at_start_are_summarised(qtbot: Any, context: Context) -> None:
    from tests.ui.conftest import close_desk, make_desk

    raise_alert(context, "Sync keeps failing.", AlertSeverity.WARNING)
    raise_alert(context, "Revoke failed.", AlertSeverity.CRITICAL)
    desk = make_desk(qtbot, context)
    try:
        qtbot.waitUntil(lambda: bool(desk.window.message_bar.text))
        assert "2 open alerts" in desk.window.message_bar.text
    finally:
        close_desk(qtbot, desk)


def test_fallback_presenter_prefers_the_tray_when_it_works() -> None:
    from mangodesk.ui.notify import FallbackPresenter

    tray, window = Recorder(), Recorder()
    tray_works = [True]
    presenter = FallbackPresenter([(lambda: tray_works[0], tray), (lambda: True, window)])
    presenter.present("t", "m", AlertSeverity.ERROR)
    tray_works[0] = False
    presenter.present("t2", "m2", AlertSeverity.ERROR)
    assert [s[0] for s in tray.shown] == ["t"]
    assert [s[0] for s in window.shown] == ["t2"]


def test_tray_menu_opens_pauses_and_quits(qtbot: Any, context: Context) -> None:
    desk = Desk(context, use_tray=True)
    try:
        assert desk.tray is not None
        actions = {a.text(): a for a in desk.tray.menu.actions() if a.text()}
        assert list(actions) == ["Open Mangodesk", "Pause automation", "Quit"]
        with qtbot.waitSignal(desk.tray.open_requested):
            actions["Open Mangodesk"].trigger()
        with qtbot.waitSignal(desk.window.quit_requested):
            actions["Quit"].trigger()
            click_box(qtbot, "quit_question", "Quit")
        with qtbot.waitSignal(desk.tray.pause_toggled):
            actions["Pause automation"].trigger()
    finally:
        desk.close()


def test_closing_the_window_keeps_running_in_the_tray(qtbot: Any, desk: Desk) -> None:
    recorder = Recorder()
    desk.window.presenter = recorder
    desk.window.tray_visible = lambda: True
    with qtbot.assertNotEmitted(desk.window.quit_requested):
        desk.window.close()
    assert desk.window.isHidden()
    assert recorder.shown[0][0] == "Mangodesk is still running"
    desk.window.show_window()
    desk.context.settings.close_to_tray = False
    with qtbot.waitSignal(desk.window.quit_requested):
        desk.window.close()
        click_box(qtbot, "quit_question", "Quit")


def test_without_a_tray_closing_quits(qtbot: Any, desk: Desk) -> None:
    with qtbot.waitSignal(desk.window.quit_requested):
        desk.window.close()
        click_box(qtbot, "quit_question", "Quit")


# --------------------------------------------------------------------------- comms and log


def test_communications_preview_renders_and_copies(qtbot: Any, desk: Desk) -> None:
    desk.context.services.links.link(unit_id(desk.context, "Apartment Sol"),
                                     manual_lock_name="Sol lockbox")
    dialog = desk.window.show_communications()
    qtbot.waitUntil(lambda: dialog.booking_box.count() > 0)
    index = next(i for i in range(dialog.booking_box.count())
                 if dialog.booking_box.itemText(i).startswith("B-1001"))
    dialog.booking_box.setCurrentIndex(index)
    qtbot.waitUntil(lambda: dialog.preview.toPlainText() == "Room 101: 482915")
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == "Room 101: 482915"
    index = next(i for i in range(dialog.booking_box.count())
                 if dialog.booking_box.itemText(i).startswith("B-1005"))
    dialog.booking_box.setCurrentIndex(index)
    qtbot.waitUntil(lambda: dialog.preview.toPlainText()
                    == "Apartment Sol: No access code for these dates")
    birthday = next(i for i in range(dialog.context_box.count())
                    if dialog.context_box.itemText(i).startswith("Birthday"))
    dialog.context_box.setCurrentIndex(birthday)
    qtbot.waitUntil(lambda: not dialog.problem.isHidden())
    assert "not available in birthday emails" in dialog.problem.text()
    assert "cancellation emails" in dialog.findChild(QLabel, "where").text()
    dialog.close()


def test_activity_log_filters_and_exports_csv(qtbot: Any, desk: Desk, tmp_path: Path) -> None:
    window = desk.window
    window.tabs.setCurrentWidget(window.activity_panel)
    panel = window.activity_panel
    idle(qtbot, desk.runner)
    assert panel.model.rowCount() >= 3  # the three links of the seeded hotel
    qtbot.keyClicks(panel.search, "Room 102")
    idle(qtbot, desk.runner)
    assert panel.model.rowCount() == 1
    target = tmp_path / "log.csv"
    panel.export_to(str(target))
    idle(qtbot, desk.runner)
    rows = list(csv.reader(target.read_text(encoding="utf-8").splitlines()))
    assert rows[0][0] == "when (Europe/Oslo)" and len(rows) == 2
    assert "Room 102" in rows[1][5]
    panel.who.setCurrentIndex(2)  # automation only
    idle(qtbot, desk.runner)
    assert panel.model.rowCount() == 0


def test_no_dialog_is_left_modal_and_blocking(qtbot: Any, desk: Desk) -> None:
    """Dialogs open with open(): the test goes on while they are shown."""
    select(desk, "Room 101")
    dialog = desk.window.show_passcodes()
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    assert QApplication.activeModalWidget() in (None, dialog)
    dialog.close()
