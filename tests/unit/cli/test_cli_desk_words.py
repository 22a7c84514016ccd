"""Issue 14 on the CLI: one word per state (a code valid from tomorrow is "Scheduled" in
`units` and `codes` alike, as on the desk) and `link --lock 99999` says the lock is unknown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import CodeOrigin, CodeState
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, UnitLink
from tests.database_switch import child_pythonpath


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, SystemClock().now())
    context.close()
    return base


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def test_link_to_an_unknown_lock_number_says_the_lock_is_unknown(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 101", "--lock", "99999") != 0
    said = capsys.readouterr()
    assert "There is no lock number 99999" in said.err + said.out
    assert "no longer in the provider" not in said.err + said.out
    assert "Traceback" not in said.err


def test_a_code_valid_from_tomorrow_is_scheduled_in_units_and_codes(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 104", "--manual", "Room 104 keypad") == 0
    context = build_context(Paths.under(data_dir), Settings())
    tomorrow = SystemClock().now() + timedelta(days=1)
    with context.db.transaction() as session:
        link = session.scalars(select(UnitLink)).one()
        session.add(AccessCode(unit_id=link.unit_id, lock_id=link.lock_id,
                               origin=CodeOrigin.MANUAL, code="582913", valid_from=tomorrow,
                               valid_to=tomorrow + timedelta(days=2), guest_name="Ana Ruiz",
                               state=CodeState.ACTIVE, managed=True, attempts=0,
                               created_at=tomorrow, updated_at=tomorrow))
    context.close()
    capsys.readouterr()
    assert run(data_dir, "units") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "Room 104" in x)
    assert "Scheduled" in line
    assert run(data_dir, "codes", "Room 104") == 0
    codes = capsys.readouterr().out
    assert "Scheduled" in codes and "active" not in codes.casefold()


PROBE = """
import contextlib, io, sys
from mangodesk.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
heavy = ("PySide6", "zeep", "httpx", "secretstorage", "mangodesk.engine.engine",
         "mangodesk.pms.beds24", "alembic", "jinja2", "keyring")
print("LOADED", ",".join(m for m in heavy if m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("command", [["units"], ["audit"], ["codes", "Room 101"]])
def test_a_command_that_only_reads_the_database_loads_no_gui_vendor_or_keyring(
        data_dir: Path, command: list[str]) -> None:
    """Issue 14.19: read-only commands start fast because Qt, the vendors' HTTP and SOAP
    clients, the OS keyring, the engine, the PMS client, Alembic (the schema is already
    current) and Jinja2 (no mail is sent) are loaded only when needed (the
    time itself is measured by bench/bench_cli_start.py, not here)."""
    import os
    import subprocess
    import sys

    assert run(data_dir, "link", "Room 101", "--manual", "Room 101 keypad") == 0
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(data_dir), *command],
        cwd=data_dir, env={**os.environ, "PYTHONPATH": child_pythonpath(root)},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = next(line for line in done.stderr.splitlines() if line.startswith("LOADED"))
    assert loaded == "LOADED ", loaded


def test_units_shows_lock_names_whole(data_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    long_name = "Annex second floor Room 101 keypad"
    assert run(data_dir, "link", "Room 101", "--manual", long_name) == 0
    capsys.readouterr()
    assert run(data_dir, "units") == 0
    assert long_name in capsys.readouterr().out
