"""The profile is for the desk's own login only: folders 0700, files 0600 on POSIX."""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
from pathlib import Path

import pytest

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.cli.runtime import setup_logging
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import SystemClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings, save_settings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(base: Path) -> None:
    found = list(base.rglob("*"))
    assert found
    for path in [base, *found]:
        if path.is_dir():
            assert mode(path) == 0o700, f"{path} is {oct(mode(path))}"
        else:
            assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"


@pytest.mark.expect_log(r"a line for the log", logger="mangodesk.test")
@pytest.mark.sqlite_only("the SQLite file and its -wal/-shm files are private")
def test_a_new_profile_is_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual desktop umask, which made everything 0644/0755
    try:
        base = tmp_path / "desk"
        paths = Paths.under(base)
        handler = setup_logging(paths)
        try:
            context = build_context(paths, Settings(), actor="setup")
            seed_hotel(context, SystemClock().now())
            save_settings(paths.settings_file, context.settings)
            logging.getLogger("mangodesk.test").warning("a line for the log")
            database = paths.database_file
            assert database.with_name(database.name + "-wal").exists()
            assert_private(base)
            context.close()
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()
    finally:
        os.umask(old_umask)
    assert_private(base)


def test_the_cli_tightens_files_an_older_version_left_readable(tmp_path: Path) -> None:
    base = tmp_path / "desk"
    paths = Paths.under(base)
    context = build_context(paths, Settings(), actor="setup")
    context.close()
    save_settings(paths.settings_file, Settings())
    for folder in (base, paths.config_dir, paths.data_dir, paths.log_dir):
        folder.chmod(0o755)
    for path in (paths.database_file, paths.settings_file):
        path.chmod(0o644)
    paths.log_file.write_text("old\n", encoding="utf-8")
    paths.log_file.chmod(0o644)
    assert main(["--data-dir", str(base), "units"]) == 0
    for path in (paths.config_dir, paths.data_dir, paths.log_dir):
        assert mode(path) == 0o700
    for path in (paths.database_file, paths.settings_file, paths.log_file):
        assert mode(path) == 0o600


@pytest.mark.expect_log(r"after the rollover", logger="mangodesk.test")
def test_a_rotated_log_stays_private(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "desk")
    handler = setup_logging(paths)
    try:
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()
        logging.getLogger("mangodesk.test").warning("after the rollover")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    logs = sorted(paths.log_dir.iterdir())
    assert len(logs) == 2
    assert all(mode(p) == 0o600 for p in logs)
