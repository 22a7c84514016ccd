"""The CLI with hostile or careless input: no traceback, a clear line, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import SystemClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import (
    AccessCode,
    AuditEvent,
    Connection,
    Lock,
    Operation,
    Unit,
    UnitLink,
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, SystemClock().now())
    context.close()
    return base


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def snapshot(data_dir: Path) -> tuple[int, ...]:
    """Row counts of everything a command could change."""
    context = build_context(Paths.under(data_dir), Settings())
    with context.db.session() as session:
        result = tuple(session.scalar(select(func.count()).select_from(model)) or 0
                       for model in (AccessCode, UnitLink, AuditEvent, Connection, Lock,
                                     Operation, Unit))
    context.close()
    return result


def test_units_json_masks_pins_unless_show(data_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 103", "--manual", "Room 103 keypad") == 0
    assert run(data_dir, "code-add", "Room 103", "--from", "2020-05-01", "--to", "2099-05-04",
               "--code", "5821") == 0
    capsys.readouterr()
    assert run(data_dir, "units", "--json") == 0
    out = capsys.readouterr().out
    assert "5821" not in out
    room = next(u for u in json.loads(out) if u["name"] == "Room 103")
    assert room["code"] == "•••1"
    assert run(data_dir, "units") == 0
    assert "5821" not in capsys.readouterr().out
    assert run(data_dir, "units", "--json", "--show") == 0
    room = next(u for u in json.loads(capsys.readouterr().out) if u["name"] == "Room 103")
    assert room["code"] == "5821"
