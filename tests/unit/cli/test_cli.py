"""The headless commands: happy paths with --json, and bad input that writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import AuditAction
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, AuditEvent, UnitLink


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, SystemClock().now())
    context.close()
    return base


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def counts(data_dir: Path) -> tuple[int, int, int]:
    context = build_context(Paths.under(data_dir), Settings())
    with context.db.session() as session:
        result = (session.scalar(select(func.count(AccessCode.id))) or 0,
                  session.scalar(select(func.count(UnitLink.id))) or 0,
                  session.scalar(select(func.count(AuditEvent.id))) or 0)
    context.close()
    return result


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("Mangodesk ")


def test_link_add_list_render_audit(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 103", "--manual", "Room 103 keypad") == 0
    assert run(data_dir, "code-add", "Room 103", "--from", "2030-05-01", "--to", "2030-05-04",
               "--code", "5821", "--guest", "Kari", "--json") == 0
    out = capsys.readouterr().out
    created = json.loads(out[out.index("{"):])
    assert created["state"] == "active" and created["code"] == "5821"
    assert run(data_dir, "codes", "Room 103", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["code"] == "•••1"  # masked unless --show
    assert run(data_dir, "units", "--json") == 0
    units = json.loads(capsys.readouterr().out)
    assert any(u["name"] == "Room 103" and u["lock_name"] == "Room 103 keypad" for u in units)
    assert run(data_dir, "render", "B-1003", "--json") == 0
    rendered = json.loads(capsys.readouterr().out)
    assert rendered == {"booking": "B-1003",
                        "text": "Room 103: No access code for these dates"}
    assert run(data_dir, "audit", "--json") == 0
    audit = json.loads(capsys.readouterr().out)
    assert {AuditAction.UNIT_LINK, AuditAction.CODE_STAFF_CREATE} <= {a["action"] for a in audit}
    assert all("5821" not in a["summary"] for a in audit)
    assert run(data_dir, "audit", "--csv") == 0
    assert capsys.readouterr().out.startswith("when (Europe/Oslo),who,action")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["code-add", "Room 999", "--from", "2030-05-01", "--to", "2030-05-04", "--code", "5821"],
         "no unit “Room 999”"),
        (["code-add", "Room 104", "--from", "2030-05-01", "--to", "2030-05-04", "--code", "5821"],
         "not linked to a lock"),
        (["code-add", "Room 101", "--from", "2030-05-04", "--to", "2030-05-01", "--code", "5821"],
         "Valid To must be after Valid From"),
        (["code-add", "Room 101", "--from", "May 1st", "--to", "2030-05-04", "--code", "5821"],
         "is not a date"),
        (["code-add", "Room 101", "--from", "2030-05-01", "--to", "2030-05-04", "--code", "58"],
         "3 to 12"),
        (["code-edit", "424242", "--to", "2030-05-04"], "no passcode number 424242"),
        (["render", "NOPE"], "no booking “NOPE”"),
        (["render", "B-1001", "--context", "birthday"], "not available in birthday emails"),
        (["unlink", "Room 104"], "not linked"),
        (["connect", "acme"], "is not a lock provider"),
        (["link", "Room 104", "--manual", "   "], "Type a lock name"),
        (["connection-rename", "99", "Annex"], "no lock connection number 99"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert run(data_dir, "link", "Room 101", "--manual", "Room 101 keypad") == 0
    capsys.readouterr()
    before = counts(data_dir)
    assert run(data_dir, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mangodesk: ")
    assert words in lines[0]
    assert counts(data_dir) == before


def test_a_corrupt_settings_file_stops_the_cli_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.under(tmp_path / "desk")
    paths.ensure()
    paths.settings_file.write_text("{oops", encoding="utf-8")
    assert main(["--data-dir", str(tmp_path / "desk"), "units"]) == 1
    err = capsys.readouterr().err
    assert str(paths.settings_file) in err and "damaged" in err
    assert paths.settings_file.read_text(encoding="utf-8") == "{oops"
