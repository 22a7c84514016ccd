"""Issue #18: a passcode saved at two desks is kept once. The passcode form saves with the
version it showed; when another desk saved the code meanwhile, the form says so in words
and the other desk's change stays."""

from __future__ import annotations

from typing import Any

from mangodesk.services.passcodes import PasscodeInput
from mangodesk.ui.application import Desk
from mangodesk.ui.passcodes import PasscodeEditor
from tests.ui.test_passcode_form import open_passcodes


def test_saving_a_passcode_another_desk_changed_says_reload_and_keeps_its_change(
        qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    shown = dialog.model.codes[0]
    editor = PasscodeEditor(desk.context, desk.runner, dialog.unit, dialog.caps, dialog.zone,
                            shown, dialog)
    editor.open()
    qtbot.waitUntil(editor.isVisible)
    # The back office (another desk on this database) renames the guest meanwhile.
    desk.context.services.passcodes.edit(shown.id, PasscodeInput(
        shown.valid_from, shown.valid_to, guest_name="Back Office Guest"))
    editor.guest_edit.setText("Reception Guest")
    editor.save_button.click()
    qtbot.waitUntil(lambda: "changed after you opened it" in editor.form_error.text())
    said = editor.form_error.text()
    assert ("This passcode was changed after you opened it, at another desk or by the "
            "automation — reload and try again.") in said
    assert "open it again" in said
    assert editor.isVisible()  # nothing was saved: the form stays open with what was typed
    assert desk.context.services.passcodes.get(shown.id).guest_name == "Back Office Guest"
    editor.reject()
