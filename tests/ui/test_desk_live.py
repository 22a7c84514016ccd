"""Issue 14.1: every open view follows the database within a second — changes made by the
engine on its own thread and changes made by another process on the same database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.types import CodeState, ConnectionStatus
from mangodesk.engine.planning import code_event
from mangodesk.store.models import AccessCode, Unit
from mangodesk.ui.application import Desk
from mangodesk.ui.passcodes import PasscodesDialog
from tests.ui.conftest import idle

WITHIN_A_SECOND = 1000


def code_of(context: Context, unit_name: str) -> int:
    with context.db.session() as session:
        return int(session.scalars(select(AccessCode.id).join(Unit, Unit.id == AccessCode.unit_id)
                                   .where(Unit.name == unit_name)).one())


def set_state(context: Context, code_id: int, state: CodeState) -> None:
    with context.db.transaction() as session:
        code = session.get(AccessCode, code_id)
        assert code is not None
        code.state = state
        code.updated_at = context.clock.now()


def open_passcodes(qtbot: Any, desk: Desk, unit_name: str) -> PasscodesDialog:
    row = next(r for r in desk.window.model.rows if r.name == unit_name)
    assert desk.window.select_unit(row.id)
    dialog = desk.window.show_passcodes()
    assert dialog is not None
    idle(qtbot, desk.runner)
    return dialog


def state_shown(dialog: PasscodesDialog) -> str:
    return str(dialog.model.index(0, 4).data())


def grid_state(desk: Desk, unit_name: str) -> str:
    rows = desk.window.model.rows
    row = next(i for i, r in enumerate(rows) if r.name == unit_name)
    column = next(c for c in range(desk.window.model.columnCount())
                  if desk.window.model.headerData(c, _horizontal()) == "State")
    return str(desk.window.model.index(row, column).data())


def _horizontal() -> Any:
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def test_passcodes_panel_follows_a_change_the_engine_makes_on_its_thread(
        qtbot: Any, desk: Desk) -> None:
    context = desk.context
    code_id = code_of(context, "Room 101")
    set_state(context, code_id, CodeState.REVOKING)
    dialog = open_passcodes(qtbot, desk, "Room 101")
    assert state_shown(dialog) == "Revoking"

    def engine_gives_up() -> None:  # as the engine does: commit, then publish the event
        set_state(context, code_id, CodeState.FAILED)
        with context.db.session() as session:
            code = session.get(AccessCode, code_id)
            assert code is not None
            event = code_event(code)
        context.events.publish(event)

    worker = threading.Thread(target=engine_gives_up)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: state_shown(dialog) == "Needs attention", timeout=WITHIN_A_SECOND)
    assert dialog.retry_button.isEnabled()


def run_other_process(context: Context, script: str) -> None:
    """Another process on the same database (the always-on service, a CLI): it publishes
    nothing this desk can hear."""
    path = context.db.engine.url.database
    code = textwrap.dedent(f"""
        import sqlite3
        db = sqlite3.connect({path!r}, timeout=30)
        {script}
        db.commit()
        db.close()
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.sqlite_only("another process writes the SQLite file with sqlite3")
def test_every_open_view_follows_another_process_on_the_same_database(
        qtbot: Any, desk: Desk) -> None:
    context = desk.context
    code_id = code_of(context, "Room 102")
    dialog = open_passcodes(qtbot, desk, "Room 102")
    before = state_shown(dialog)
    assert before in ("Active", "Scheduled")
    run_other_process(context, f"db.execute(\"UPDATE access_code SET state='revoking', "
                               f"updated_at='2099-01-01 00:00:00' WHERE id={code_id}\")")
    qtbot.waitUntil(lambda: state_shown(dialog) == "Revoking", timeout=WITHIN_A_SECOND)
    qtbot.waitUntil(lambda: grid_state(desk, "Room 102") == "Revoking",
                    timeout=WITHIN_A_SECOND)

    run_other_process(context, f"db.execute(\"UPDATE access_code SET state='failed', "
                               f"updated_at='2099-01-01 00:00:01' WHERE id={code_id}\")")
    qtbot.waitUntil(lambda: state_shown(dialog) == "Needs attention", timeout=WITHIN_A_SECOND)

    window = desk.window
    window.tabs.setCurrentWidget(window.alerts_panel)
    idle(qtbot, desk.runner)
    assert window.alerts_panel.model.rowCount() == 0
    run_other_process(context, """db.execute(
        "INSERT INTO alert (severity, subject_kind, subject_id, dedupe_key, message, raised_at)"
        " VALUES ('error', 'code', 1, 'other-process', 'Raised by the service', "
        "'2026-01-01 00:00:00')")""")
    qtbot.waitUntil(lambda: window.alerts_panel.model.rowCount() == 1,
                    timeout=WITHIN_A_SECOND)

    window.tabs.setCurrentWidget(window.activity_panel)
    idle(qtbot, desk.runner)
    entries = window.activity_panel.model.rowCount()
    run_other_process(context, """db.execute(
        "INSERT INTO audit_event (at, actor, action, subject_kind, subject_id, summary)"
        " VALUES ('2026-01-01 00:00:00', 'service', 'code.create', 'code', 1, "
        "'Written by the service')")""")
    qtbot.waitUntil(lambda: window.activity_panel.model.rowCount() == entries + 1,
                    timeout=WITHIN_A_SECOND)


@pytest.mark.sqlite_only("another process writes the SQLite file with sqlite3")
def test_smart_locks_dialog_follows_another_process(qtbot: Any, desk: Desk) -> None:
    dialog = desk.window.show_connections()
    idle(qtbot, desk.runner)
    first = dialog.model.items[0]
    assert first.status == ConnectionStatus.CONNECTED
    run_other_process(desk.context, f"""db.execute(
        "UPDATE connection SET status='needs_attention', status_message='Sign-in refused' "
        "WHERE id={first.id}")""")
    qtbot.waitUntil(lambda: dialog.model.items[0].status == ConnectionStatus.NEEDS_ATTENTION,
                    timeout=WITHIN_A_SECOND)
