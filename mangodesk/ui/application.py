"""Starting the desk application: the QApplication, the context (or the demo's), the engine
when it exists, the main window and the tray. Called by ``mangodesk`` without a command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QLocale,
    QMessageLogContext,
    QtMsgType,
    QTranslator,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication

from mangodesk import assets
from mangodesk.app import Context, DeskOptions, build_context, settle_long_lived_objects
from mangodesk.demo import DemoPowers
from mangodesk.paths import Paths
from mangodesk.services.changes import ChangeCounter
from mangodesk.settings import Settings
from mangodesk.sim.base import DemoVendor
from mangodesk.ui.crash import CrashReporter
from mangodesk.ui.engine_control import EngineControl, start_engine
from mangodesk.ui.events import EventRelay
from mangodesk.ui.main_window import MainWindow
from mangodesk.ui.notify import AlertPresenter, FallbackPresenter, Tray, app_icon, tray_available
from mangodesk.ui.single_instance import InstanceServer, instance_name, send_to_running
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
    _install_translation(app)
    return app


_LOADED_TRANSLATIONS: list[bytes] = []


def _install_translation(app: QApplication) -> None:
    """The shipped translation for the system's language, when there is one."""
    shipped = assets.translations()
    language = QLocale.system().name().split("_")[0]
    source = shipped.get(QLocale.system().name()) or shipped.get(language)
    if source is None:
        return
    data = source.read_bytes()
    translator = QTranslator(app)
    if translator.load(data):
        _LOADED_TRANSLATIONS.append(data)  # Qt reads from these bytes; they must stay alive
        app.installTranslator(translator)


def qt_versions() -> list[str]:
    """The Qt libraries actually loaded, for ``mangodesk --version``."""
    import PySide6
    from PySide6.QtCore import qVersion

    return [f"Qt {qVersion()}", f"PySide6 {PySide6.__version__}"]


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

    def start(self, *, minimized: bool = False) -> None:
        """Show the desk; ``minimized`` (autostart) leaves only the tray icon, when there is
        a tray to come back from."""
        tray_shown = False
        if self.tray is not None:
            if tray_available():  # the menu is still built, so pausing stays in sync
                self.tray.show()
                tray_shown = True
            self.tray.set_paused(self.engine.paused)
        if not (minimized and tray_shown):
            self.window.show()
        self.window.refresh()
        # Changes by another process on the same database show within a second.
        self.relay.watch(ChangeCounter(self.context.db.engine))

    def handle_request(self, request: dict[str, Any]) -> None:
        """A later launch of this profile asked for something: come to the front, and open
        the unit it named."""
        self.window.show_window()
        self.window.raise_()
        self.window.activateWindow()
        unit = request.get("unit")
        if isinstance(unit, str) and unit.strip():
            self.open_unit_named(unit.strip())

    def open_unit_named(self, name: str) -> None:
        rows = [row for row in self.context.services.units.list_units(include_inactive=True)
                if row.name.casefold() == name.casefold()]
        if len(rows) != 1:
            self.window.statusBar().showMessage(
                f"There is no unit called “{name[:80]}”." if not rows
                else f"Several units are called “{name[:80]}”.", 10_000)
            return
        self.window.select_unit(rows[0].id)
        self.window.open_unit_passcodes(rows[0].id)

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


def desk_request(options: DeskOptions) -> dict[str, Any]:
    """What this launch asks of the desk (sent to an already running one)."""
    request: dict[str, Any] = {"command": "show"}
    if options.unit:
        request["unit"] = options.unit
    return request


def run_gui(paths: Paths, settings: Settings, options: DeskOptions | None = None) -> int:
    """Open the desk window and run until the user quits. Returns the exit code. When this
    profile's desk is already running, hand it this launch's request and exit 0."""
    options = options or DeskOptions()
    restore_qt_messages = install_qt_message_logging()
    cleanup: list[Callable[[], None]] = []
    app = make_qapplication()
    app.setQuitOnLastWindowClosed(False)  # the tray keeps running; quit is explicit
    name = instance_name(paths)
    if send_to_running(name, desk_request(options)):
        log.info("Mangodesk is already running for this profile; brought it to the front")
        restore_qt_messages()
        return 0
    server = InstanceServer(name)
    server.listen()
    cleanup.append(server.close)
    demo = options.demo
    powers: DemoPowers | None = None
    demo_vendors: list[DemoVendor] | None = None
    try:
        if demo:
            from mangodesk.demo import start_demo

            running_demo = start_demo(paths, settings)
            context = running_demo.context
            powers = DemoPowers(running_demo)
            demo_vendors = running_demo.vendors
        else:
            context = build_context(paths, settings)
    except BaseException:
        server.close()  # the next launch must not find a desk that never opened
        restore_qt_messages()
        raise
    cleanup.append(context.close)
    try:
        engine = start_engine(context)
        cleanup.append(engine.close)
        desk = Desk(context, engine=engine, demo=powers)
        settle_long_lived_objects()
        if demo_vendors is not None:
            desk.window.set_demo(demo_vendors)
        cleanup.insert(0, desk.close)
        server.request_received.connect(desk.handle_request)
        reporter = CrashReporter(paths, lambda: desk.window)
        reporter.install()
        cleanup.insert(0, reporter.uninstall)
        desk.start(minimized=options.minimized)
        if options.unit:
            desk.open_unit_named(options.unit)
        return int(app.exec())
    finally:
        for step in cleanup:
            try:
                step()
            except Exception:
                log.exception("closing the desk failed")
        restore_qt_messages()
