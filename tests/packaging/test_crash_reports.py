"""An unexpected error in the desk: logged with its traceback, shown in plain words with
"Copy details" and "Open log folder", and the desk keeps running."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication

from mangodesk.paths import Paths
from mangodesk.ui.crash import CrashDialog, CrashReporter


@pytest.fixture
def reporter(qtbot: Any, tmp_path: Path) -> Iterator[CrashReporter]:
    reporter = CrashReporter(Paths.under(tmp_path))
    reporter.install()
    yield reporter
    reporter.uninstall()
    if reporter.dialog is not None:
        reporter.dialog.close()


def _broken_slot() -> None:
    raise ZeroDivisionError("division by zero in the unit grid")


@pytest.mark.qt_no_exception_capture
@pytest.mark.expect_log(
    r"unexpected error in the desk: ZeroDivisionError",
    level="CRITICAL", logger="mangodesk.crash")
def test_an_error_in_a_qt_slot_shows_the_dialog_logs_and_keeps_running(
        qtbot: Any, reporter: CrashReporter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mangodesk.crash")
    later: list[str] = []
    with qtbot.waitSignal(reporter.shown, timeout=5000) as shown:
        QTimer.singleShot(0, _broken_slot)
    QTimer.singleShot(0, lambda: later.append("still running"))
    qtbot.waitUntil(lambda: later == ["still running"])  # the event loop goes on
    dialog = shown.args[0]
    assert isinstance(dialog, CrashDialog) and dialog.isVisible()
    assert "Something went wrong in the desk window" in dialog.message.text()
    assert "Door codes are still being created and removed" in dialog.message.text()
    assert "ZeroDivisionError: division by zero in the unit grid" in dialog.details
    assert "_broken_slot" in dialog.details  # the traceback, for IT
    [record] = caplog.records
    assert record.levelno == logging.CRITICAL and record.exc_info is not None
    assert "_broken_slot" in caplog.text


@pytest.mark.qt_no_exception_capture
@pytest.mark.expect_log(
    r"unexpected error in the desk: ZeroDivisionError",
    level="CRITICAL", logger="mangodesk.crash")
def test_copy_details_and_open_log_folder(qtbot: Any, reporter: CrashReporter,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    with qtbot.waitSignal(reporter.shown, timeout=5000) as shown:
        QTimer.singleShot(0, _broken_slot)
    dialog: CrashDialog = shown.args[0]
    dialog.copy_button.click()
    assert "ZeroDivisionError" in QGuiApplication.clipboard().text()
    assert dialog.copy_button.text() == "Copied"
    dialog.open_logs.click()
    assert opened == [str(reporter.paths.log_dir)]


@pytest.mark.qt_no_exception_capture
@pytest.mark.expect_log(
    r"unexpected error in background thread sync-worker: KeyError",
    level="CRITICAL", logger="mangodesk.crash")
@pytest.mark.expect_log(
    r"unexpected error in the desk: ZeroDivisionError",
    level="CRITICAL", logger="mangodesk.crash")
def test_errors_in_background_threads_reach_the_same_single_dialog(
        qtbot: Any, reporter: CrashReporter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="mangodesk.crash")
    with qtbot.waitSignal(reporter.shown, timeout=5000):
        QTimer.singleShot(0, _broken_slot)

    def broken_worker() -> None:
        raise KeyError("lock-7")

    worker = threading.Thread(target=broken_worker, name="sync-worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: reporter.count == 2)
    assert reporter.dialog is not None
    assert "Where: background thread sync-worker" in reporter.dialog.text.toPlainText()
    assert "KeyError: 'lock-7'" in reporter.dialog.details
    assert len([w for w in QApplication.topLevelWidgets()
                if isinstance(w, CrashDialog) and w.isVisible()]) == 1
    assert "unexpected error in background thread sync-worker" in caplog.text


def test_uninstall_puts_the_previous_hooks_back(tmp_path: Path, qtbot: Any) -> None:
    import sys

    before = (sys.excepthook, threading.excepthook)
    reporter = CrashReporter(Paths.under(tmp_path))
    reporter.install()
    assert sys.excepthook == reporter.handle
    reporter.uninstall()
    assert (sys.excepthook, threading.excepthook) == before
