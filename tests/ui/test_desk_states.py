"""Issue 14.4 and 14.5 on the desk: one word per state in the grid and the Passcodes panel
(a code valid from tomorrow is "Scheduled" in both; a row's state is the state of the code it
shows), and a code waiting to retry says when and which attempt, is listed under "Needs
attention", and Retry now works on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.types import CodeState, OperationKind, OperationStatus
from mangodesk.store.models import AccessCode, Operation, Unit
from mangodesk.ui.application import Desk
from mangodesk.ui.passcodes import PasscodesDialog
from mangodesk.ui.unit_model import Column, UnitFilter
from tests.ui.conftest import idle


def code_of(context: Context, unit_name: str) -> int:
    with context.db.session() as session:
        return int(session.scalars(select(AccessCode.id).join(Unit, Unit.id == AccessCode.unit_id)
                                   .where(Unit.name == unit_name)).one())


def grid_cell(desk: Desk, unit_name: str, column: int) -> str:
    model = desk.window.model
    row = next(i for i, r in enumerate(model.rows) if r.name == unit_name)
    return str(model.index(row, column).data())


def open_passcodes(qtbot: Any, desk: Desk, unit_name: str) -> PasscodesDialog:
    row = next(r for r in desk.window.model.rows if r.name == unit_name)
    assert desk.window.select_unit(row.id)
    dialog = desk.window.show_passcodes()
    assert dialog is not None
    idle(qtbot, desk.runner)
    return dialog


def reload_grid(qtbot: Any, desk: Desk) -> None:
    with qtbot.waitSignal(desk.window.units_loaded):
        desk.window.refresh()
    idle(qtbot, desk.runner)


def test_a_code_on_the_lock_from_tomorrow_is_scheduled_in_grid_and_passcodes(
        qtbot: Any, desk: Desk) -> None:
    context = desk.context
    code_id = code_of(context, "Room 103")
    now = context.clock.now()
    with context.db.transaction() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None
        code.state = CodeState.ACTIVE  # on the lock already, for a window from tomorrow
        code.valid_from = now + timedelta(days=1)
        code.valid_to = now + timedelta(days=3)
        code.updated_at = now
    reload_grid(qtbot, desk)
    assert grid_cell(desk, "Room 103", Column.STATE) == "Scheduled"
    dialog = open_passcodes(qtbot, desk, "Room 103")
    assert dialog.model.index(0, 4).data() == "Scheduled"
    colour = dialog.model.index(0, 4).data(Qt.ItemDataRole.ForegroundRole).color().name()
    grid_colour = desk.window.model.index(
        next(i for i, r in enumerate(desk.window.model.rows) if r.name == "Room 103"),
        Column.STATE).data(Qt.ItemDataRole.ForegroundRole).color().name()
    assert colour == grid_colour


def test_a_rows_state_is_the_state_of_the_code_it_shows(qtbot: Any, desk: Desk) -> None:
    context = desk.context
    code_id = code_of(context, "Room 101")
    now = context.clock.now()
    with context.db.transaction() as session:
        old = session.get(AccessCode, code_id)
        assert old is not None
        # An earlier guest's code on its way off the lock beside the current guest's code.
        session.add(AccessCode(unit_id=old.unit_id, lock_id=old.lock_id, origin=old.origin,
                               code="999111", valid_from=now - timedelta(days=3),
                               valid_to=now + timedelta(hours=1), guest_name="Earlier guest",
                               state=CodeState.REVOKING, managed=True, attempts=0,
                               created_at=now, updated_at=now))
    reload_grid(qtbot, desk)
    row = next(r for r in desk.window.model.rows if r.name == "Room 101")
    assert row.code == old.code
    shown = grid_cell(desk, "Room 101", Column.STATE)
    assert shown != "Pending" and shown != "Revoking", shown


def make_retrying(context: Context, unit_name: str, attempts: int) -> Any:
    code_id = code_of(context, unit_name)
    now = context.clock.now()
    next_try = now + timedelta(minutes=7)
    with context.db.transaction() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None
        code.state = CodeState.PENDING
        code.attempts = attempts
        code.last_error = "The lock provider did not answer in time."
        code.updated_at = now
        session.add(Operation(access_code_id=code_id, kind=OperationKind.CREATE,
                              status=OperationStatus.QUEUED, payload={}, attempts=attempts,
                              next_attempt_at=next_try, last_error_class="transient",
                              last_error="timeout", created_at=now, updated_at=now))
    return next_try


def test_a_code_waiting_to_retry_says_when_is_listed_and_retry_now_works(
        qtbot: Any, desk: Desk) -> None:
    context = desk.context
    next_try = make_retrying(context, "Room 102", attempts=3)
    reload_grid(qtbot, desk)
    hotel_time = next_try.astimezone(ZoneInfo("Europe/Oslo")).strftime("%H:%M")
    expected = f"Retrying — next try {hotel_time} (attempt 4 of 30)"
    assert grid_cell(desk, "Room 102", Column.STATE) == expected

    window = desk.window
    window.set_filter(UnitFilter.ATTENTION)
    listed = [window.proxy.index(r, Column.UNIT).data() for r in range(window.proxy.rowCount())]
    assert "Room 102" in listed
    window.set_filter(UnitFilter.ALL)

    dialog = open_passcodes(qtbot, desk, "Room 102")
    assert dialog.model.index(0, 4).data() == expected
    assert dialog.retry_button.isEnabled()
    dialog.retry_button.click()
    idle(qtbot, desk.runner)
    with context.db.session() as session:
        operation = session.scalars(select(Operation)).one()
        assert operation.attempts == 0
        assert operation.next_attempt_at <= context.clock.now()
    qtbot.waitUntil(lambda: dialog.model.index(0, 4).data() == "Pending")
