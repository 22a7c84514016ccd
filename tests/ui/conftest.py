"""GUI test fixtures: a seeded hotel per test, a desk without a tray, helpers to wait for
background work and for non-blocking dialogs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk
from mangodesk.ui.tasks import TaskRunner
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.hotel import add_manual_locks, build_hotel
from tests.ui.fakes import FakeServer, fake_spec

# The offscreen platform cannot pass size hints on or raise windows; harmless, not ours.
OFFSCREEN_NOISE = r"This plugin does not support (propagateSizeHints|raise)\(\)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def fake_server() -> FakeServer:
    return FakeServer()

@pytest.fixture
def bare_context(tmp_path: Path, secret_store: SecretStore, clock: FixedClock,
                 fake_server: FakeServer) -> Iterator[Context]:
    """A hotel with units and bookings, nothing connected."""
    vendors = VendorRegistry([MANUAL_SPEC, fake_spec(fake_server)])
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                            clock=clock, vendors=vendors, actor="tester")
    build_hotel(context, clock.now())
    yield context
    context.close()

@pytest.fixture
def context(bare_context: Context, clock: FixedClock) -> Context:
    """The hotel with Manual locks on the first three rooms and their guests' codes."""
    add_manual_locks(bare_context, clock.now())
    return bare_context

def make_desk(qtbot: Any, context: Context) -> Desk:
    desk = Desk(context, use_tray=False)
    desk.start()
    qtbot.waitUntil(lambda: desk.window.model.rowCount() > 0 and desk.runner.running == 0)
    return desk

@pytest.fixture
def desk(qtbot: Any, context: Context) -> Iterator[Desk]:
    desk = make_desk(qtbot, context)
    yield desk
    close_desk(qtbot, desk)

@pytest.fixture
def bare_desk(qtbot: Any, bare_context: Context) -> Iterator[Desk]:
    desk = make_desk(qtbot, bare_context)
    yield desk
    close_desk(qtbot, desk)

def close_desk(qtbot: Any, desk: Desk) -> None:
    try:
        qtbot.waitUntil(lambda: desk.runner.running == 0, timeout=40_000)
    finally:
        for widget in QApplication.topLevelWidgets():
            if widget is not desk.window and widget.isVisible():
                widget.close()
        desk.close()

def idle(qtbot: Any, runner: TaskRunner) -> None:
    """Wait until every background task delivered its result on the GUI thread."""
    qtbot.waitUntil(lambda: runner.running == 0)

def find_box(qtbot: Any, name: str) -> QMessageBox:
    """The open (non-blocking) message box called ``name``."""
    found: list[QMessageBox] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible)
    return found[0]

def click_box(qtbot: Any, name: str, button_text: str) -> str:
    """Press a button of the open message box; returns the box's text for assertions."""
    box = find_box(qtbot, name)
    said = f"{box.text()}\n{box.informativeText()}"
    button = next(b for b in box.buttons() if b.text() == button_text)
    button.click()
    return said

def find_widget(qtbot: Any, kind: type[QWidget], name: str, *, timeout: int = 5000) -> Any:
    found: list[QWidget] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, kind) and w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible, timeout=timeout)
    return found[0]

