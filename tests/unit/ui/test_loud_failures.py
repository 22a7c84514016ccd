"""Unexpected exceptions outside the engine are loud: logged with their traceback."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType

from mangodesk.cli import runtime
from mangodesk.ui.tasks import TaskRunner


class Boom(RuntimeError):
    pass


def _blow_up() -> None:
    raise Boom("deeply nested reply")


@pytest.mark.expect_log(
    r"unexpected error in thread sync-worker: Boom",
    level="CRITICAL", logger="mangodesk")
@pytest.mark.expect_log(r"unexpected error: Boom", level="CRITICAL", logger="mangodesk")
def test_uncaught_exceptions_in_any_thread_are_logged_with_traceback(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sys, "excepthook", lambda *args: None)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    restore = runtime.install_exception_logging()
    try:
        assert sys.excepthook is not sys.__excepthook__
        try:
            _blow_up()
        except Boom as error:
            sys.excepthook(Boom, error, error.__traceback__)
        worker = threading.Thread(target=_blow_up, name="sync-worker")
        worker.start()
        worker.join()
    finally:
        restore()
    records = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(records) == 2
    assert all(r.exc_info and r.exc_info[0] is Boom for r in records)
    assert "sync-worker" in records[1].getMessage()
    assert "_blow_up" in caplog.text  # the traceback itself


@pytest.mark.expect_log(
    r"the command alerts failed unexpectedly",
    level="ERROR", logger="mangodesk.cli")
def test_the_cli_logs_an_unexpected_failure_and_prints_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from mangodesk.__main__ import main
    from mangodesk.cli import core

    def broken(args: object, make_context: object) -> int:
        _blow_up()
        return 0

    monkeypatch.setattr(core, "cmd_alerts", broken)
    assert main(["--data-dir", str(tmp_path / "desk"), "alerts"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "send it to your IT contact" in err
    log_text = (tmp_path / "desk" / "logs" / "mangodesk.log").read_text(encoding="utf-8")
    assert "Traceback" in log_text and "_blow_up" in log_text


@pytest.mark.expect_log(r"Qt: QObject::connect: bad", logger="mangodesk.qt")
def test_qt_messages_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from mangodesk.ui.application import install_qt_message_logging, log_qt_message

    restore = install_qt_message_logging()
    try:
        log_qt_message(QtMsgType.QtWarningMsg, QMessageLogContext(), "QObject::connect: bad")
    finally:
        restore()
    assert any(r.levelno == logging.WARNING and "QObject::connect: bad" in r.getMessage()
               for r in caplog.records)


@pytest.mark.expect_log(r"background task “Refreshing", level="ERROR", logger="mangodesk.ui")
def test_a_failed_desk_task_logs_its_traceback(
        qtbot: object, caplog: pytest.LogCaptureFixture) -> None:
    runner = TaskRunner()
    failures: list[Exception] = []
    try:
        runner.run(_blow_up, lambda _: None, failures.append, label="Refreshing locks")
        qtbot.waitUntil(lambda: bool(failures), timeout=5000)  # type: ignore[attr-defined]
    finally:
        runner.shutdown()
    record = next(r for r in caplog.records if "Refreshing locks" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is Boom
