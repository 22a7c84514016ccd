"""Issue 14.16: the passcode dialog does not jump. One fixed, word-wrapped error area (a
two-line reason is never clipped, the buttons never move), a read-only Code field that
looks read-only, date fields that take typed digits and roll over month ends with the arrow
keys, and a duplicate-code error naming the code typed and the code it clashes with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDateTimeEdit

from mangodesk.domain.errors import ValidationError
from mangodesk.domain.types import VendorKind
from mangodesk.ui.application import Desk
from mangodesk.ui.passcodes import PasscodeEditor, PasscodesDialog
from mangodesk.vendors.base import Capabilities
from tests.ui.conftest import idle

UTC_WALL = QTimeZone(QTimeZone.Initialization.UTC)


def open_passcodes(qtbot: Any, desk: Desk, unit_name: str) -> PasscodesDialog:
    row = next(r for r in desk.window.model.rows if r.name == unit_name)
    assert desk.window.select_unit(row.id)
    dialog = desk.window.show_passcodes()
    assert dialog is not None
    idle(qtbot, desk.runner)
    return dialog


def new_editor(qtbot: Any, dialog: PasscodesDialog) -> PasscodeEditor:
    dialog.new_button.click()
    editor = dialog.editor
    assert editor is not None
    qtbot.waitUntil(editor.isVisible)
    return editor


def test_reasons_appear_in_a_fixed_area_and_nothing_moves(qtbot: Any, desk: Desk) -> None:
    editor = new_editor(qtbot, open_passcodes(qtbot, desk, "Room 103"))
    editor.resize(600, editor.height())
    qtbot.wait(10)
    area_height = editor.error_area.height()
    buttons_at = editor.buttons.mapTo(editor, editor.buttons.rect().topLeft()).y()
    code_at = editor.code_edit.mapTo(editor, editor.code_edit.rect().topLeft()).y()
    editor.save_button.click()  # no code typed on a keypad: refused here, nothing sent
    assert editor.form.error_text("code") == "Enter the key code that is set on the lock."
    assert "Code: Enter the key code" in editor.form_error.text()
    long = ("The lock provider did not answer in time; the gateway may be offline or out of "
            "range of the lock, or the internet connection at the property may be down. "
            "Mangodesk keeps trying.")
    editor.show_error(ValidationError(long))
    qtbot.wait(10)
    assert editor.error_area.height() == area_height
    assert editor.buttons.mapTo(editor, editor.buttons.rect().topLeft()).y() == buttons_at
    assert editor.code_edit.mapTo(editor, editor.code_edit.rect().topLeft()).y() == code_at
    label = editor.form_error
    assert label.wordWrap() and long in label.text()
    # Nothing is cut: the label is as tall as its wrapped text; the area scrolls if needed.
    assert label.height() >= label.heightForWidth(label.width())
    assert editor.error_area.verticalScrollBar().maximum() >= 0
    editor.reject()


def test_a_duplicate_code_names_the_code_typed_and_its_holder(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    holder = dialog.model.codes[0]
    editor = new_editor(qtbot, dialog)
    qtbot.keyClicks(editor.code_edit, holder.code or "")
    editor.save_button.click()
    qtbot.waitUntil(lambda: bool(editor.form.error_text("code")))
    said = editor.form_error.text()
    assert f"The code {holder.code} is already used by {holder.guest_name}'s code" in said
    editor.reject()


def test_the_read_only_code_field_looks_read_only(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    code = dialog.model.codes[0]
    caps = Capabilities(automated=True, can_change_pin=False, pin_rules=dialog.caps.pin_rules)
    unit = dialog.unit
    editor = PasscodeEditor(desk.context, desk.runner, unit, caps, dialog.zone, code, dialog)
    editor.open()
    assert editor.code_edit.isReadOnly()
    editable = PasscodeEditor(desk.context, desk.runner, unit, dialog.caps, dialog.zone, None,
                              dialog)
    base = QPalette.ColorRole.Base
    assert editor.code_edit.palette().color(base) != editable.code_edit.palette().color(base)
    assert editor.code_edit.palette().color(base) == editor.palette().color(
        QPalette.ColorRole.Window)
    assert not editor.code_edit.hasFrame()
    editor.reject()
    editable.deleteLater()
    assert unit.provider == VendorKind.MANUAL


def set_wall(edit: QDateTimeEdit, moment: datetime) -> None:
    edit.setDateTime(QDateTime(QDate(moment.year, moment.month, moment.day),
                               QTime(moment.hour, moment.minute), UTC_WALL))


def wall(edit: QDateTimeEdit) -> str:
    return edit.dateTime().toString("yyyy-MM-dd HH:mm")


def test_dates_take_typed_digits_and_roll_over_month_ends(qtbot: Any, desk: Desk) -> None:
    editor = new_editor(qtbot, open_passcodes(qtbot, desk, "Room 103"))
    edit = editor.from_edit
    set_wall(edit, datetime(2026, 3, 10, 15, 0))
    edit.setFocus()
    edit.setSelectedSection(QDateTimeEdit.Section.DaySection)  # as Tab into the field does
    qtbot.keyClicks(edit, "250420261430")  # day, month, year, hour, minute: digits only
    assert wall(edit) == "2026-04-25 14:30"

    set_wall(edit, datetime(2026, 3, 31, 15, 0))
    edit.setCurrentSection(QDateTimeEdit.Section.DaySection)
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert wall(edit) == "2026-04-01 15:00"
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    assert wall(edit) == "2026-03-31 15:00"

    set_wall(edit, datetime(2026, 12, 31, 23, 30))
    edit.setCurrentSection(QDateTimeEdit.Section.MinuteSection)
    for _ in range(30):
        qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert wall(edit) == "2027-01-01 00:00"
    editor.reject()
