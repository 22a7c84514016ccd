"""The GUI thread is never blocked by a slow vendor: while a lock server takes about five
seconds to answer, the event loop keeps turning and the window keeps working."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog

from mangodesk.app import Context
from mangodesk.domain.types import VendorKind
from mangodesk.ui.application import Desk
from mangodesk.ui.tasks import TaskRunner
from tests.ui.conftest import find_widget, idle
from tests.ui.fakes import FakeServer

TICK_MS = 100
TICKS_WHILE_BLOCKED = 50  # 50 × 100 ms: the vendor call is held for about five seconds


def test_the_event_loop_turns_while_a_vendor_call_takes_five_seconds(
        qtbot: Any, desk: Desk, context: Context, fake_server: FakeServer) -> None:
    """The fake lock server holds lock_details until the GUI thread's timer has fired 50
    times. If the call ran on the GUI thread the timer could never fire: the call would
    time out after 30 s with zero ticks and the test would fail, not hang."""
    result = context.services.connections.connect(VendorKind.TTLOCK,
                                                  {"username": "d", "password": "secret"})
    room = next(r for r in context.services.units.list_units() if r.name == "Room 104")
    context.services.links.link(room.id, lock_id=result.locks[0].id)
    desk.window.refresh()
    idle(qtbot, desk.runner)
    assert desk.window.select_unit(room.id)

    gate = threading.Event()
    fake_server.details_gate = gate
    ticks: list[bool] = []  # per tick: was the vendor call still in progress?
    timer = QTimer()
    timer.setInterval(TICK_MS)

    def tick() -> None:
        ticks.append(not gate.is_set() and desk.runner.running > 0)
        if len(ticks) == TICKS_WHILE_BLOCKED:
            gate.set()

    timer.timeout.connect(tick)
    timer.start()
    try:
        desk.window.details_action.trigger()
        assert desk.runner.running == 1  # handed to a worker, returned at once
        assert not desk.window.busy_bar.isHidden()  # the desk sees something is going on
        desk.window.search.setText("Room")  # and can go on working meanwhile
        assert desk.window.proxy.rowCount() > 0
        # Generous: the call is held for ~5 s by design; 40 s only matters if it hangs.
        details = find_widget(qtbot, QDialog, "lock_details", timeout=40_000)
        waited = len(ticks)
    finally:
        timer.stop()
        gate.set()
    assert waited >= TICKS_WHILE_BLOCKED
    assert all(ticks[:TICKS_WHILE_BLOCKED - 1])  # the call was in flight at every tick
    assert fake_server.calls.count("lock_details") == 1
    details.close()


@pytest.mark.expect_log(
    r"background task “Working…” failed unexpectedly",
    level="ERROR", logger="mangodesk.ui")
def test_results_arrive_on_the_gui_thread_and_failures_are_delivered(qtbot: Any) -> None:
    runner = TaskRunner()
    gui_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []

    def boom() -> int:
        raise ValueError("no")

    runner.run(lambda: threading.get_ident(), lambda worker: seen.append(("ok", worker)))
    runner.run(boom, lambda _: seen.append(("ok", 0)),
               lambda error: seen.append((str(error), threading.get_ident())))
    qtbot.waitUntil(lambda: runner.running == 0)
    assert sorted(s[0] for s in seen) == ["no", "ok"]
    worker = next(value for label, value in seen if label == "ok")
    assert worker != gui_thread  # the work ran elsewhere…
    assert next(value for label, value in seen if label == "no") == gui_thread  # …callbacks here
    runner.shutdown()


def test_a_result_for_a_closed_dialog_is_dropped(qtbot: Any) -> None:
    runner = TaskRunner()
    dialog = QDialog()
    gate = threading.Event()
    delivered: list[int] = []
    runner.run(lambda: gate.wait(5) and 1, delivered.append, owner=dialog)
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not _alive(dialog))
    gate.set()
    qtbot.waitUntil(lambda: runner.running == 0)
    assert delivered == []
    runner.shutdown()


def _alive(widget: QDialog) -> bool:
    import shiboken6

    return bool(shiboken6.isValid(widget))
