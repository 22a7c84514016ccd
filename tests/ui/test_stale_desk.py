"""Issue #18 at the desk: revoking a passcode or unlinking a unit from a view another desk
changed since says so ("changed after you opened it") and writes nothing (the desk passes the
versions it showed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mangodesk.domain.types import CodeState
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.ui.application import Desk
from tests.ui.conftest import click_box, idle
from tests.ui.test_desk import open_passcodes, select, unit_id


def test_revoking_a_code_another_desk_changed_since_it_was_shown_is_refused(
        qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    dialog.table.selectRow(0)
    shown = dialog.model.codes[0]
    desk.context.services.passcodes.edit(  # the back office moves the check-out meanwhile
        shown.id, PasscodeInput(shown.valid_from, shown.valid_to + timedelta(hours=2),
                                code=shown.code), expected_version=shown.version)
    dialog.revoke_button.click()
    click_box(qtbot, "confirm_revoke", "Revoke")
    idle(qtbot, desk.runner)
    assert dialog.error_line.text().startswith("This passcode was changed after you opened it")
    assert desk.context.services.passcodes.get(shown.id).state == CodeState.ACTIVE


def test_unlinking_a_unit_another_desk_relinked_since_it_was_shown_is_refused(
        qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 103")
    target = unit_id(desk.context, "Room 103")
    links = desk.context.services.links
    links.unlink(target, revoke_codes=False)  # the back office re-links it meanwhile
    links.link(target, manual_lock_name="Side Door")
    desk.window.unlink_unit()
    click_box(qtbot, "confirm_unlink", "Unlink")
    said = click_box(qtbot, "error", "OK")
    assert "The lock of Room 103 was changed at another desk" in said
    idle(qtbot, desk.runner)
    assert desk.context.services.units.unit(target).lock_name == "Side Door"
