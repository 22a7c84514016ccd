"""Issue 14.9: destructive buttons are never the default. Revoke, Remove connection and
Unlink ask, Cancel is their default, and Enter destroys nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.types import CodeOrigin, CodeState
from mangodesk.store.models import AccessCode, Connection, Unit, UnitLink
from mangodesk.ui.application import Desk
from tests.ui.conftest import find_box, idle


def select_unit(desk: Desk, unit_name: str) -> None:
    row = next(r for r in desk.window.model.rows if r.name == unit_name)
    assert desk.window.select_unit(row.id)


def press_enter_on(qtbot: Any, name: str) -> None:
    box = find_box(qtbot, name)
    default = box.defaultButton()
    assert default is not None and default.text() == "Cancel", \
        f"{name}: the default is {default.text() if default else None}"
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible())


def code_state(context: Context, unit_name: str) -> CodeState:
    with context.db.session() as session:
        return CodeState(session.scalars(
            select(AccessCode.state).join(Unit, Unit.id == AccessCode.unit_id)
            .where(Unit.name == unit_name)).one())


def test_revoke_of_a_staff_code_defaults_to_cancel(qtbot: Any, desk: Desk) -> None:
    context = desk.context
    with context.db.transaction() as session:
        code = session.scalars(select(AccessCode).join(Unit, Unit.id == AccessCode.unit_id)
                               .where(Unit.name == "Room 101")).one()
        code.origin = CodeOrigin.MANUAL  # a staff code: the plain Revoke question
        code.booking_id = None
    before = code_state(context, "Room 101")
    select_unit(desk, "Room 101")
    dialog = desk.window.show_passcodes()
    assert dialog is not None
    idle(qtbot, desk.runner)
    default = next(b for b in dialog.findChildren(QPushButton) if b.isDefault())
    assert default.text() == "Close"
    assert not dialog.revoke_button.autoDefault()
    dialog.revoke_selected()
    press_enter_on(qtbot, "confirm_revoke")
    idle(qtbot, desk.runner)
    assert code_state(context, "Room 101") == before


def test_unlink_asks_and_defaults_to_cancel(qtbot: Any, desk: Desk) -> None:
    select_unit(desk, "Room 102")
    desk.window.unlink_unit()
    press_enter_on(qtbot, "confirm_unlink")
    idle(qtbot, desk.runner)
    with desk.context.db.session() as session:
        assert session.scalars(select(UnitLink).join(Unit, Unit.id == UnitLink.unit_id)
                               .where(Unit.name == "Room 102")).one_or_none() is not None


def test_remove_connection_defaults_to_cancel(qtbot: Any, desk: Desk) -> None:
    dialog = desk.window.show_connections()
    idle(qtbot, desk.runner)
    assert not dialog.remove_button.autoDefault()
    dialog.remove_selected()
    press_enter_on(qtbot, "confirm_remove")
    idle(qtbot, desk.runner)
    with desk.context.db.session() as session:
        assert session.scalars(select(Connection)).first() is not None
        assert session.scalars(select(UnitLink)).first() is not None
