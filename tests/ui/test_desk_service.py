"""The desk's status bar says whether the always-on service runs and who leads the automation,
from the heartbeats every running Mangodesk keeps in the shared database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mangodesk.store.models import ServiceProcess
from mangodesk.ui.application import Desk
from tests.ui.conftest import idle


def _heartbeat(desk: Desk, holder: str, kind: str, *, leading: bool) -> None:
    now = desk.context.clock.now()
    with desk.context.db.transaction() as session:
        session.add(ServiceProcess(holder=holder, kind=kind, host=holder.split(":")[0], pid=7,
                                   version="1.0", started_at=now - timedelta(hours=2),
                                   seen_at=now, last_tick_at=now, leading=leading))


def _refreshed_label(qtbot: Any, desk: Desk) -> str:
    desk.window.refresh()
    idle(qtbot, desk.runner)
    return str(desk.window.engine_label.text())


def test_the_status_bar_names_the_service_that_leads(qtbot: Any, desk: Desk) -> None:
    assert _refreshed_label(qtbot, desk) == "Automation: off on this desk · service not running"
    _heartbeat(desk, "night-pc:1", "service", leading=True)
    assert _refreshed_label(qtbot, desk) == ("Automation: off on this desk · "
                                             "led by the service on night-pc")


def test_the_status_bar_says_when_another_desk_leads_without_a_service(
        qtbot: Any, desk: Desk) -> None:
    _heartbeat(desk, "back-office:2", "desk", leading=True)
    assert _refreshed_label(qtbot, desk) == ("Automation: off on this desk · "
                                             "led by a desk on back-office; "
                                             "service not running")
