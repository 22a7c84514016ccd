"""A test fails on an unexpected WARNING or ERROR log record, as it already does on a Python
warning or a Qt warning: a log line staff or IT would read as trouble is either a bug or
something the test means to cause.

A test that means to cause one declares it, once per kind of record::

    @pytest.mark.expect_log(r"could not reach", level="WARNING", logger="mangodesk.engine")

``match`` is a regular expression searched in the formatted message; ``level`` is the record's
level name (default WARNING); ``logger`` matches that logger and its children (default: any).
A declaration that no record meets fails the test too, so declarations cannot go stale; pass
``optional=True`` only where the record depends on timing the test does not control.

The shape follows qutebrowser's tests/helpers/logfail.py, with one difference: the failure is
not raised inside the logging call (that would change what the code under test does, and would
kill a worker thread instead of failing the test); records are collected and the test's report
fails after each phase (setup, call, teardown).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Generator
from dataclasses import dataclass

import pytest

GUARDED_LEVEL = logging.WARNING
MARKER = "expect_log"
MARKER_HELP = (f"{MARKER}(match, level='WARNING', logger='', optional=False): this test expects "
               "a log record at WARNING or above whose message matches the regular expression")


@dataclass(frozen=True)
class ExpectedLog:
    """One declared kind of record."""

    match: re.Pattern[str]
    level: int
    logger: str
    optional: bool

    @classmethod
    def from_marker(cls, marker: pytest.Mark) -> ExpectedLog:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{MARKER} takes one regular expression: {marker!r}")
        level_name = str(marker.kwargs.get("level", "WARNING")).upper()
        level = logging.getLevelName(level_name)
        if not isinstance(level, int) or level < GUARDED_LEVEL:
            raise pytest.UsageError(f"{MARKER}: level must be WARNING, ERROR or CRITICAL, "
                                    f"not {level_name!r}")
        unknown = set(marker.kwargs) - {"level", "logger", "optional"}
        if unknown:
            raise pytest.UsageError(f"{MARKER}: unknown argument(s) {sorted(unknown)}")
        return cls(re.compile(marker.args[0]), level, str(marker.kwargs.get("logger", "")),
                   bool(marker.kwargs.get("optional", False)))

    def meets(self, record: logging.LogRecord) -> bool:
        in_logger = (not self.logger or record.name == self.logger
                     or record.name.startswith(self.logger + "."))
        return (record.levelno == self.level and in_logger
                and self.match.search(record.getMessage()) is not None)

    def describe(self) -> str:
        where = f" from {self.logger}" if self.logger else ""
        return f"{logging.getLevelName(self.level)}{where} matching {self.match.pattern!r}"


class RecordCollector(logging.Handler):
    """Keeps every record at the guarded level or above, from any thread."""

    def __init__(self) -> None:
        super().__init__(GUARDED_LEVEL)
        self.records: list[logging.LogRecord] = []
        self._records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._records_lock:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        with self._records_lock:
            taken, self.records = self.records, []
        return taken


def describe_record(record: logging.LogRecord) -> str:
    text = f"{record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        text += f"  [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
    return text


class LogGuard:
    """The pytest plugin: one collector on the root logger per test."""

    def __init__(self) -> None:
        self.collector = RecordCollector()
        self.expected: list[ExpectedLog] = []
        self.met: set[int] = set()
        self.call_passed = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.expected = [ExpectedLog.from_marker(m) for m in item.iter_markers(MARKER)]
        self.met = set()
        self.call_passed = False
        self.collector.take()
        logging.getLogger().addHandler(self.collector)
        return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        finally:
            logging.getLogger().removeHandler(self.collector)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
            self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        unexpected = [record for record in self.collector.take() if not self._declared(record)]
        problems = [f"unexpected log record during {call.when}: {describe_record(record)}"
                    for record in unexpected]
        if call.when == "call":
            self.call_passed = report.passed and not problems
        if call.when == "teardown" and self.call_passed:
            problems += [f"declared but never logged: {expected.describe()}"
                         for index, expected in enumerate(self.expected)
                         if index not in self.met and not expected.optional]
        if problems:
            advice = ("Fix the code that logged it, or declare it on the test with "
                      f"@pytest.mark.{MARKER}(...) (tests/log_guard.py).")
            report.sections.append(("log guard", "\n".join([*problems, advice])))
            if report.passed:
                report.outcome = "failed"
                report.longrepr = "\n".join(["Log guard:", *problems, advice])
        return report

    def _declared(self, record: logging.LogRecord) -> bool:
        for index, expected in enumerate(self.expected):
            if expected.meets(record):
                self.met.add(index)
                return True
        return False


def install(config: pytest.Config) -> None:
    """Register the marker and the guard (called from tests/conftest.py)."""
    config.addinivalue_line("markers", MARKER_HELP)
    config.pluginmanager.register(LogGuard(), "mangodesk-log-guard")
