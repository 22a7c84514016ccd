"""Issue 14 on the desk window: alerts name unit and provider first and open the unit,
the activity log reads as sentences in hotel time (items 3, 6, 7)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
)
from mangodesk.store import alerts, audit
from mangodesk.store.models import AccessCode, Unit
from mangodesk.ui.application import Desk
from mangodesk.ui.passcodes import PasscodesDialog
from tests.ui.conftest import idle


def code_of(context: Context, unit_name: str) -> int:
    with context.db.session() as session:
        return int(session.scalars(select(AccessCode.id).join(Unit, Unit.id == AccessCode.unit_id)
                                   .where(Unit.name == unit_name)).one())


LONG = ("The door code of Ana Ruiz on Room 101 keypad could not be created after 30 "
        "attempts. The lock provider did not answer in time; the gateway may be offline or "
        "out of range of the lock, or the internet connection at the property may be down.")


def raise_code_alert(context: Context, code_id: int) -> None:
    with context.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key=f"code:{code_id}", severity=AlertSeverity.ERROR,
                           subject_kind=AlertSubject.CODE, subject_id=code_id, message=LONG,
                           fix="Check the gateway, then press Retry now.",
                           now=context.clock.now())


def test_an_alert_names_unit_and_provider_first_wraps_and_opens_the_unit(
        qtbot: Any, desk: Desk) -> None:
    shown: list[str] = []
    desk.window.presenter = type("R", (), {"present": lambda _s, t, m, sev: shown.append(m)})()
    raise_code_alert(desk.context, code_of(desk.context, "Room 102"))
    desk.context.events.publish(Event(EventKind.ALERT_RAISED))
    qtbot.waitUntil(lambda: bool(shown))
    assert shown[0].startswith("Room 102 · Manual lock Room 102 keypad — The door code")
    desk.window.show_alerts()
    idle(qtbot, desk.runner)
    panel = desk.window.alerts_panel
    assert panel.model.rowCount() == 1
    assert panel.model.index(0, 2).data() == "Room 102 · Manual lock Room 102 keypad"
    panel.table.resizeRowsToContents()
    assert panel.table.rowHeight(0) > 40, "a long message wraps onto more lines"
    rect = panel.table.visualRect(panel.model.index(0, 3))
    with qtbot.waitSignal(panel.table.doubleClicked):
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    qtbot.waitUntil(lambda: any(isinstance(w, PasscodesDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    assert desk.window.current_unit() is not None
    assert desk.window.current_unit().name == "Room 102"  # type: ignore[union-attr]


def test_activity_shows_sentences_in_hotel_time_with_the_zone_named(
        qtbot: Any, desk: Desk) -> None:
    context = desk.context
    code_id = code_of(context, "Room 101")
    with context.db.transaction() as session:
        audit.record(session, actor=audit.AUTOMATION, action=AuditAction.CODE_CREATE,
                     subject_kind=AuditSubject.CODE, subject_id=code_id, now=context.clock.now(),
                     summary="Code •••••5 created on the lock Room 101 keypad after 2 "
                             "attempt(s).")
    window = desk.window
    window.tabs.setCurrentWidget(window.activity_panel)
    idle(qtbot, desk.runner)
    model = window.activity_panel.model
    assert model.headerData(0, Qt.Orientation.Horizontal) == "When (Europe/Oslo)"
    texts = [model.index(r, 2).data() for r in range(model.rowCount())]
    sentence = next(t for t in texts if "created on" in t)
    assert sentence.startswith("Code •••••5 created on Manual lock Room 101 keypad for Room 101")
    assert sentence.endswith("after 2 attempts")
    assert not any("code.create" in t or "  " in t for t in texts)
    at = context.clock.now().astimezone(window.activity_panel.zone)
    assert model.index(0, 0).data() == f"{at.day} {at:%b %H:%M}"


def test_a_connection_alert_opens_the_smart_locks_dialog(qtbot: Any, desk: Desk) -> None:
    from mangodesk.ui.connections_dialog import ConnectionsDialog

    conn = desk.context.services.connections.list()[0]
    with desk.context.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key=f"connection:{conn.id}:sign-in",
                           severity=AlertSeverity.ERROR, subject_kind=AlertSubject.CONNECTION,
                           subject_id=conn.id, message="Sign-in needed.", fix=None,
                           now=desk.context.clock.now())
    desk.window.show_alerts()
    idle(qtbot, desk.runner)
    panel = desk.window.alerts_panel
    assert panel.model.index(0, 2).data() == "Manual"
    panel.open_alert(panel.model.index(0, 3))
    qtbot.waitUntil(lambda: any(isinstance(w, ConnectionsDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))


def test_a_lock_alert_names_the_unit_linked_to_it(qtbot: Any, desk: Desk) -> None:
    with desk.context.db.session() as session:
        code = session.get(AccessCode, code_of(desk.context, "Room 103"))
        assert code is not None
        lock_id = code.lock_id
    with desk.context.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key="lock", severity=AlertSeverity.WARNING,
                           subject_kind=AlertSubject.LOCK, subject_id=lock_id,
                           message="The battery is low.", fix=None,
                           now=desk.context.clock.now())
    desk.window.show_alerts()
    idle(qtbot, desk.runner)
    panel = desk.window.alerts_panel
    assert panel.model.index(0, 2).data() == "Room 103 · Manual lock Room 103 keypad"
    panel.open_alert(panel.model.index(0, 3))
    qtbot.waitUntil(lambda: any(isinstance(w, PasscodesDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    assert desk.window.current_unit().name == "Room 103"  # type: ignore[union-attr]


def test_the_grid_says_which_zone_its_validity_times_are_in(desk: Desk) -> None:
    from mangodesk.ui.unit_model import Column

    header = desk.window.model.headerData(Column.CODE, Qt.Orientation.Horizontal)
    assert header == "Code and validity (Europe/Oslo)"
