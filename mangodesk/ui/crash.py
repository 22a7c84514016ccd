"""An unexpected error in the desk: written to the log with its traceback, then shown in a
dialog that says what happened in plain words, with "Copy details" and "Open log folder".
The desk keeps running (the automation runs in its own threads and is not stopped), so a
fault in one window does not leave the hotel without door codes."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk import __version__
from mangodesk.paths import Paths

log = logging.getLogger("mangodesk.crash")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def details_text(kind: type[BaseException], error: BaseException,
                 tb: TracebackType | None, where: str) -> str:
    """What a support person needs: version, where it happened, the traceback."""
    trace = "".join(traceback.format_exception(kind, error, tb))
    return f"Mangodesk {__version__}, Python {sys.version.split()[0]}\nWhere: {where}\n\n{trace}"


class CrashDialog(QDialog):
    """Tells the receptionist what happened and that door codes keep working."""

    opened_folder = Signal(str)  # the folder handed to the desktop (tests listen)

    def __init__(self, paths: Paths, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crash_dialog")
        self.setWindowTitle("Mangodesk ran into a problem")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.paths = paths
        self.details = details
        layout = QVBoxLayout(self)
        self.message = QLabel(
            "<b>Something went wrong in the desk window.</b><br><br>"
            "The last thing you did may not have finished. Door codes are still being "
            "created and removed in the background, and the desk stays open.<br><br>"
            "The details were saved in the log. If this happens again, click "
            "<i>Copy details</i> and send them to your IT contact.", self)
        self.message.setObjectName("crash_message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.text = QPlainTextEdit(details, self)
        self.text.setObjectName("crash_details")
        self.text.setReadOnly(True)
        self.text.setMinimumHeight(160)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy details", self)
        self.copy_button.setObjectName("copy_details")
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy_details)
        self.open_logs = QPushButton("Open log folder", self)
        self.open_logs.setObjectName("open_log_folder")
        self.open_logs.setAutoDefault(False)
        self.open_logs.clicked.connect(self.open_log_folder)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.open_logs, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")

    def open_log_folder(self) -> None:
        folder = str(self.paths.log_dir)
        self.opened_folder.emit(folder)
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


class CrashReporter(QObject):
    """Catches what nothing else caught — in Qt slots on the main thread (which Qt hands to
    ``sys.excepthook``) and in other threads — logs it and shows one :class:`CrashDialog`
    at a time (a burst of the same fault does not bury the desk in dialogs)."""

    shown = Signal(object)  # the CrashDialog (tests and screenshots listen)
    _from_thread = Signal(str)

    def __init__(self, paths: Paths, parent_window: Callable[[], QWidget | None] = lambda: None,
                 ) -> None:
        super().__init__()
        self.paths = paths
        self.parent_window = parent_window
        self.dialog: CrashDialog | None = None
        self.count = 0
        self._previous_sys: Callable[..., object] | None = None
        self._previous_thread: Callable[[threading.ExceptHookArgs], object] | None = None
        self._from_thread.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous_sys = sys.excepthook
        self._previous_thread = threading.excepthook
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread

    def uninstall(self) -> None:
        if self._previous_sys is not None:
            sys.excepthook = self._previous_sys
        if self._previous_thread is not None:
            threading.excepthook = self._previous_thread
        self._previous_sys = self._previous_thread = None

    def handle(self, kind: type[BaseException], error: BaseException,
               tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            app = QGuiApplication.instance()
            if app is not None:
                app.quit()
            return
        log.critical("unexpected error in the desk: %s", kind.__name__,
                     exc_info=(kind, error, tb))
        self._show(details_text(kind, error, tb, "desk window"))

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        where = f"background thread {args.thread.name if args.thread else '?'}"
        log.critical("unexpected error in %s: %s", where, args.exc_type.__name__,
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        self._from_thread.emit(details_text(args.exc_type, args.exc_value,
                                            args.exc_traceback, where))

    def _show(self, details: str) -> None:
        self.count += 1
        if self.dialog is not None:
            self.dialog.text.appendPlainText("\n" + "-" * 40 + "\n" + details)
            self.dialog.details += "\n" + details
            return
        dialog = CrashDialog(self.paths, details, self.parent_window())
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        self.shown.emit(dialog)

    def _closed(self) -> None:
        self.dialog = None
