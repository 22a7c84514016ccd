"""The CLI with hostile or careless input: no traceback, a clear line, nothing changed."""

from __future__ import annotations

import io
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


def run_caught(data_dir: Path, *args: str) -> int:
    """The exit code, whether the command returned it or argparse exited."""
    try:
        return run(data_dir, *args)
    except SystemExit as stop:
        return int(stop.code or 0)


def assert_refused_cleanly(code: int, err: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    assert err.strip(), "a refusal says why"
    assert all(len(line) <= 500 for line in err.splitlines()), err[:600]
    assert "\x1b" not in err and "\x00" not in err
    assert "unexpected error" not in err, err  # a known bad input gets its own words


HUGE = "9" * 30
LONG = "x" * 100_000


@pytest.mark.parametrize("args", [
    ["code-revoke", HUGE],
    ["code-retry", "9223372036854775808"],
    ["code-edit", HUGE, "--to", "2030-01-01"],
    ["locks", HUGE],
    ["connection-rename", HUGE, "Annex"],
    ["link", "Room 104", "--lock", HUGE],
    ["audit", "--limit", HUGE],
    ["audit", "--limit", "-1"],
    ["audit", "--search", LONG],
    ["plan", "--until", "9999-12-31"],
    ["plan", "--until", "9998-12-31"],
    ["code-add", "Room 101", "--from", "9999-12-31", "--to", "9999-12-31"],
    ["code-add", "Room 101", "--from", "0001-01-01", "--to", "2030-01-01"],
    ["code-add", "Room 101", "--from", "2030-01-01T10:00", "--to", "9999-12-31T23:59"],
    ["codes", LONG],
    ["render", LONG],
    ["units", "--json", LONG],
    ["connect", LONG],
    ["connect", "ttlock", "--set", LONG],
    ["connection-rename", "1", "Annex\x1b[31m"],
    ["link", "Room 104", "--manual", "Front\ndoor"],
    ["link", "Room 104", "--manual", "Front\x00door"],
    ["code-add", "Room 101", "--from", "2030-01-01", "--to", "2030-01-03",
     "--guest", "Kari\x07"],
    ["link", "Room\x1b]0;pwned\x07", "--manual", "Door"],
])
def test_hostile_input_is_refused_in_words_and_changes_nothing(
        data_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    before = snapshot(data_dir)
    code = run_caught(data_dir, *args)
    captured = capsys.readouterr()
    assert_refused_cleanly(code, captured.err)
    assert LONG not in captured.out
    assert snapshot(data_dir) == before


def test_a_refused_manual_link_creates_no_connection_lock_or_audit(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 101", "--manual", "Room 101 keypad") == 0
    assert run(data_dir, "code-add", "Room 101", "--from", "2020-05-01", "--to", "2099-05-04",
               "--code", "5821") == 0
    capsys.readouterr()
    before = snapshot(data_dir)
    assert run(data_dir, "link", "Room 101", "--manual", "Another keypad") == 2
    assert "active or upcoming guest code" in capsys.readouterr().err
    assert snapshot(data_dir) == before


def test_prompts_without_a_terminal_refuse_in_words(
        data_dir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    for name in ("MANGODESK_PASSWORD", "MANGODESK_CLIENT_SECRET",
                 "MANGODESK_BEDS24_INVITE_CODE"):
        monkeypatch.delenv(name, raising=False)
    before = snapshot(data_dir)
    code = run_caught(data_dir, "connect", "ttlock", "--set", "username=desk@hotel.test",
                      "--set", "client_id=abc")
    err = capsys.readouterr().err
    assert_refused_cleanly(code, err)
    assert "no terminal to ask for the password" in err
    assert "MANGODESK_PASSWORD" in err
    code = run_caught(data_dir, "pms-connect")
    err = capsys.readouterr().err
    assert_refused_cleanly(code, err)
    assert "MANGODESK_BEDS24_INVITE_CODE" in err
    assert snapshot(data_dir) == before


def test_a_secret_on_the_command_line_is_refused(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(data_dir)
    code = run_caught(data_dir, "connect", "ttlock", "--set", "username=desk@hotel.test",
                      "--set", "password=hunter2-secret")
    err = capsys.readouterr().err
    assert_refused_cleanly(code, err)
    assert "never given on the command line" in err
    assert "hunter2-secret" not in err
    assert snapshot(data_dir) == before


def test_secrets_can_come_from_stdin(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mangodesk.sim.ttlock import TTLockSimulator

    with TTLockSimulator() as sim:
        values = sim.connection_values()
        monkeypatch.setattr("sys.stdin",
                            io.StringIO(f"{values['password']}\n{values['client_secret']}\n"))
        code = main(["--data-dir", str(tmp_path / "desk"), "connect", "ttlock",
                     "--password-stdin", "--set", f"username={values['username']}",
                     "--set", f"client_id={values['client_id']}",
                     "--set", f"api_base={values['api_base']}"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Connected" in out


def test_smartair_doctor_without_a_terminal_says_how_to_give_the_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv("MANGODESK_OPERATOR_PASSWORD", raising=False)
    code = run_caught(tmp_path / "desk", "smartair-doctor", "127.0.0.1", "--operator", "desk")
    err = capsys.readouterr().err
    assert_refused_cleanly(code, err)
    assert "MANGODESK_OPERATOR_PASSWORD" in err
