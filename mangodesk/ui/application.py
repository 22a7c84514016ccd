"""Starting the desk application: the QApplication, the context (or the demo's), the engine
when it exists, the main window and the tray. Called by ``mangodesk`` without a command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QApplication

from mangodesk.app import Context, build_context
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.ui.events import EventRelay
from mangodesk.ui.main_window import MainWindow
from mangodesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


def make_qapplication(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Mangodesk")
    app.setOrganizationName("Mangodesk")
    app.setApplicationDisplayName("Mangodesk")
    return app


class Desk:
    """The running desk: window, background runner and event relay for one context."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.runner = TaskRunner()
        self.relay = EventRelay(context.events)
        self.window = MainWindow(context, self.runner, self.relay)

    def start(self) -> None:
        self.window.show()
        self.window.refresh()

    def close(self) -> None:
        self.relay.detach()
        self.runner.shutdown()
        self.window.close()
        self.window.deleteLater()


def run_gui(paths: Paths, settings: Settings, *, demo: bool = False) -> int:
    """Open the desk window and run until the user quits. Returns the exit code."""
    app = make_qapplication()
    cleanup: list[Callable[[], None]] = []
    if demo:
        from mangodesk.demo import start_demo

        context = start_demo(paths, settings).context
    else:
        context = build_context(paths, settings)
    cleanup.append(context.close)
    desk = Desk(context)
    cleanup.insert(0, desk.close)
    try:
        desk.start()
        return int(app.exec())
    finally:
        for step in cleanup:
            try:
                step()
            except Exception:
                log.exception("closing the desk failed")
