"""The log guard fails a test on an undeclared WARNING/ERROR record and on a stale declaration;
it is run here on a small suite in a separate pytest process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFTEST = """
from tests import log_guard

def pytest_configure(config):
    log_guard.install(config)
"""

SUITE = '''
import logging
import threading

import pytest

log = logging.getLogger("mangodesk.engine.calls")


def test_info_passes():
    log.info("claimed 3 operations")


def test_undeclared_warning_fails():
    log.warning("lock 7 did not answer")


def test_undeclared_error_from_a_worker_thread_fails():
    worker = threading.Thread(target=lambda: log.error("worker gave up"))
    worker.start()
    worker.join()


@pytest.mark.expect_log(r"did not answer", level="WARNING", logger="mangodesk.engine")
def test_declared_warning_passes():
    log.warning("lock 7 did not answer")


@pytest.mark.expect_log(r"did not answer", level="WARNING")
def test_a_declaration_covers_its_level_only():
    log.error("lock 7 did not answer")


@pytest.mark.expect_log(r"did not answer", logger="mangodesk.pms")
def test_a_declaration_covers_its_logger_only():
    log.warning("lock 7 did not answer")


@pytest.mark.expect_log(r"did not answer")
def test_a_declaration_never_logged_fails():
    log.info("all fine")


@pytest.mark.expect_log(r"did not answer", optional=True)
def test_an_optional_declaration_may_stay_unmet():
    pass


@pytest.fixture
def noisy_teardown():
    yield
    log.warning("closing left a lease behind")


def test_a_record_in_teardown_fails(noisy_teardown):
    pass
'''


def test_the_guard_fails_exactly_the_tests_with_undeclared_or_unmet_records(
        tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_suite.py").write_text(SUITE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:pytest-qt", "-p", "no:cacheprovider",
         "-rA", "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False)
    outcomes = set(re.findall(r"^(PASSED|FAILED|ERROR) test_suite\.py::(\w+)", result.stdout,
                              flags=re.MULTILINE))
    assert outcomes == {
        ("PASSED", "test_info_passes"),
        ("FAILED", "test_undeclared_warning_fails"),
        ("FAILED", "test_undeclared_error_from_a_worker_thread_fails"),
        ("PASSED", "test_declared_warning_passes"),
        ("FAILED", "test_a_declaration_covers_its_level_only"),
        ("FAILED", "test_a_declaration_covers_its_logger_only"),
        # a declaration never met, and a record in teardown, fail the teardown (pytest: ERROR)
        ("PASSED", "test_a_declaration_never_logged_fails"),
        ("ERROR", "test_a_declaration_never_logged_fails"),
        ("PASSED", "test_an_optional_declaration_may_stay_unmet"),
        ("PASSED", "test_a_record_in_teardown_fails"),
        ("ERROR", "test_a_record_in_teardown_fails"),
    }, result.stdout
    assert "unexpected log record during call: WARNING mangodesk.engine.calls: lock 7 did " \
           "not answer" in result.stdout
    assert "declared but never logged: WARNING matching 'did not answer'" in result.stdout
