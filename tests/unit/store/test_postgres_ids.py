"""A number no row can have is "not found", not an unexpected error, on PostgreSQL too: its
INTEGER keys stop at 2**31 - 1, where SQLite's go on (found by the CLI fuzz test on the
PostgreSQL pass: ``mangodesk render 2200000000``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from mangodesk.__main__ import main
from mangodesk.paths import Paths
from mangodesk.settings import Settings, save_settings
from mangodesk.store.db import Database, _alembic_config
from tests.fakes.pg import throwaway_database

BEYOND_INTEGER = str(2**31 + 52_516_352)  # 2200000000


@pytest.fixture
def shared_profile(tmp_path: Path) -> Iterator[Path]:
    with throwaway_database() as url:
        setup = Database(url)
        command.upgrade(_alembic_config(setup.engine), "heads")
        setup.dispose()
        base = tmp_path / "desk"
        save_settings(Paths.under(base).settings_file, Settings(database_url=url))
        yield base


def test_a_booking_number_beyond_integer_is_not_found(
        shared_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(shared_profile), "render", BEYOND_INTEGER]) == 2
    err = capsys.readouterr().err
    assert "There is no booking" in err and "unexpected error" not in err


def test_a_row_number_beyond_integer_is_refused_as_input(
        shared_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["--data-dir", str(shared_profile), "code-revoke", BEYOND_INTEGER])
    assert refused.value.code == 2
    assert "use the number shown in the list" in capsys.readouterr().err
