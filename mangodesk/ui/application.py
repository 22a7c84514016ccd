"""Starting the desk application: the QApplication, the context (or the demo's), the engine
when it exists, the main window and the tray. Called by ``mangodesk`` without a command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from mangodesk.app import Context, build_context
from mangodesk.demo import DemoPowers
from mangodesk.paths import Paths
from mangodesk.services.changes import ChangeCounter
from mangodesk.settings import Settings
from mangodesk.sim.base import DemoVendor
from mangodesk.ui.engine_control import EngineControl, start_engine
from mangodesk.ui.events import EventRelay
from mangodesk.ui.main_window import MainWindow
from mangodesk.ui.notify import AlertPresenter, FallbackPresenter, Tray, app_icon, tray_available
from mangodesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

qt_log = logging.getLogger("mangodesk.qt")


def log_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's own warnings (a broken connection, a missing platform plugin) go to our log with
    where Qt raised them, instead of a console nobody sees."""
    where = ""
    if context is not None and context.file:
        where = f" ({context.file}:{context.line}, {context.function})"
    qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "Qt: %s%s", message, where)


def install_qt_message_logging() -> Callable[[], None]:
    """Send Qt's messages to the log; returns what puts the previous handler back."""
    previous = qInstallMessageHandler(log_qt_message)

    def restore() -> None:
        qInstallMessageHandler(previous)

    return restore


def make_qapplication(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Mangodesk")
    app.setOrganizationName("Mangodesk")
    app.setApplicationDisplayName("Mangodesk")
    app.setWindowIcon(app_icon())
    return app


class Desk:
    """The running desk for one context: window, tray, background runner, event relay.

    Built from injected parts so tests can make one per test; ``use_tray`` is False in
    tests and where the desktop has no tray (alerts then show in the window).
    """

    def __init__(self, context: Context, *, engine: EngineControl | None = None,
                 use_tray: bool | None = None, demo: DemoPowers | None = None) -> None:
        self.context = context
        self.runner = TaskRunner()
        self.relay = EventRelay(context.events)
        self.engine = engine or EngineControl(None)
        self.window = MainWindow(context, self.runner, self.relay, self.engine)
        if demo is not None:
            self.window.add_demo_menu(demo)
        self.tray: Tray | None = None
        if use_tray if use_tray is not None else tray_available():
            self.tray = Tray()
            self.tray.open_requested.connect(self.window.show_window)
            self.tray.quit_requested.connect(self.window.quit)
            self.tray.pause_toggled.connect(self.window.set_paused)
            self.window.paused_changed.connect(self.tray.set_paused)
            self.window.alerts_panel.count_changed.connect(self.tray.set_alert_count)
            tray = self.tray
            self.window.tray_visible = lambda: tray.icon.isVisible()
        presenters: list[tuple[Callable[[], bool], AlertPresenter]] = []
        if self.tray is not None:
            tray = self.tray
            presenters.append((lambda: tray_available() and tray.icon.isVisible()
                               and tray.icon.supportsMessages(), tray))
        presenters.append((lambda: True, self.window))
        self.window.presenter = FallbackPresenter(presenters)
        self.window.quit_requested.connect(self._quit)

    def start(self) -> None:
        if self.tray is not None:
            if tray_available():  # the menu is still built, so pausing stays in sync
                self.tray.show()
            self.tray.set_paused(self.engine.paused)
        self.window.show()
        self.window.refresh()
        # Changes by another process on the same database show within a second.
        self.relay.watch(ChangeCounter(self.context.db.engine))

    def _quit(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def close(self) -> None:
        self.relay.detach()
        self.runner.shutdown()
        if self.tray is not None:
            self.tray.hide()
        self.window.quit_requested.disconnect(self._quit)
        self.window._quitting = True
        self.window.close()
        self.window.deleteLater()


def run_gui(paths: Paths, settings: Settings, *, demo: bool = False) -> int:
    """Open the desk window and run until the user quits. Returns the exit code."""
    restore_qt_messages = install_qt_message_logging()
    cleanup: list[Callable[[], None]] = []
    app = make_qapplication()
    app.setQuitOnLastWindowClosed(False)  # the tray keeps running; quit is explicit
    powers: DemoPowers | None = None
    demo_vendors: list[DemoVendor] | None = None
    if demo:
        from mangodesk.demo import start_demo

        running_demo = start_demo(paths, settings)
        context = running_demo.context
        powers = DemoPowers(running_demo)
        demo_vendors = running_demo.vendors
    else:
        context = build_context(paths, settings)
    cleanup.append(context.close)
    try:
        engine = start_engine(context)
        cleanup.append(engine.close)
        desk = Desk(context, engine=engine, demo=powers)
        if demo_vendors is not None:
            desk.window.set_demo(demo_vendors)
        cleanup.insert(0, desk.close)
        desk.start()
        return int(app.exec())
    finally:
        for step in cleanup:
            try:
                step()
            except Exception:
                log.exception("closing the desk failed")
        restore_qt_messages()
