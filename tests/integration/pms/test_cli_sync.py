"""``mangodesk pms-connect``, ``sync`` and ``sync-status`` end to end against the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mangodesk.cli import main
from mangodesk.cli.sync import INVITE_CODE_ENV
from mangodesk.sim.beds24 import Beds24Simulator


@pytest.fixture
def sim() -> Iterator[Beds24Simulator]:
    """On the real clock, like the CLI's context."""
    with Beds24Simulator(rooms=6, page_size=20) as simulator:
        yield simulator


def run(profile: Path, *args: str) -> int:
    return main(["--data-dir", str(profile), *args])


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
def test_connect_sync_and_status(
    sim: Beds24Simulator, profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(profile_dir, "sync-status") == 0
    assert "not connected" in capsys.readouterr().out
    assert run(profile_dir, "sync") == 1
    assert "not connected to Beds24" in capsys.readouterr().err

    code = sim.create_invite_code()
    with pytest.MonkeyPatch.context() as env:
        env.setenv(INVITE_CODE_ENV, code)
        assert run(profile_dir, "pms-connect", "--base-url", sim.base_url) == 0
    out = capsys.readouterr().out
    assert "Connected to Beds24: Hotel Mango" in out and "Europe/Berlin" in out

    assert run(profile_dir, "sync") == 0
    captured = capsys.readouterr()
    assert "Full sync finished" in captured.out
    assert "Reading all bookings: page 1" in captured.err and ", done" in captured.err

    assert run(profile_dir, "sync", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["full"] is False

    sim.fail_next("/bookings", 503)
    assert run(profile_dir, "sync") == 1
    assert "HTTP 503" in capsys.readouterr().out

    assert run(profile_dir, "sync-status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["configured"] is True
    assert status["consecutive_failures"] == 1 and "HTTP 503" in status["last_error"]
    assert status["bookings"] > 0 and status["units_active"] > 0
    assert code not in json.dumps(status)


def test_a_bad_invite_code_is_one_clear_line(
    sim: Beds24Simulator, profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(INVITE_CODE_ENV, "typo")
        assert run(profile_dir, "pms-connect", "--base-url", sim.base_url) == 1
    err = capsys.readouterr().err
    assert err.startswith("mangodesk: Beds24 did not accept this invite code")
    assert err.count("\n") == 1


def test_a_connect_stopped_after_the_invite_code_finishes_without_a_new_code(
    sim: Beds24Simulator, profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = sim.create_invite_code(("bookings", "bookings-personal", "properties"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv(INVITE_CODE_ENV, code)
        assert run(profile_dir, "pms-connect", "--base-url", sim.base_url) == 1
    err = capsys.readouterr().err
    assert "--timezone" in err and "without an invite code" in err
    assert run(profile_dir, "pms-connect", "--finish", "--timezone", "Europe/Berlin",
               "--base-url", sim.base_url) == 0
    assert "Connected to Beds24: Hotel Mango" in capsys.readouterr().out
    assert run(profile_dir, "sync") == 0


def test_a_bad_info_item_code_is_refused_before_anything_is_created(
    profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(profile_dir, "pms-connect", "--info-item-code", "LOCK PIN;drop") == 1
    assert "cannot be a Beds24 info item code" in capsys.readouterr().err
    assert not profile_dir.exists() or not any(profile_dir.rglob("*.db"))


def test_ctrl_c_during_a_sync_is_one_calm_line(
    sim: Beds24Simulator, profile_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mangodesk.pms.sync import SyncEngine

    monkeypatch.setenv(INVITE_CODE_ENV, sim.create_invite_code())
    assert run(profile_dir, "pms-connect", "--base-url", sim.base_url) == 0

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SyncEngine, "run_once", interrupted)
    capsys.readouterr()
    assert run(profile_dir, "sync") == 130
    err = capsys.readouterr().err
    assert "Sync stopped" in err and "Traceback" not in err


def test_an_invite_code_on_the_command_line_is_refused_and_nothing_is_written(
    sim: Beds24Simulator, profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = sim.create_invite_code()
    assert run(profile_dir, "pms-connect", "--invite-code", code,
               "--base-url", sim.base_url) == 1
    err = capsys.readouterr().err
    assert "command line" in err and INVITE_CODE_ENV in err and code not in err
    assert not profile_dir.exists() or not any(profile_dir.rglob("*.sqlite"))
    with pytest.MonkeyPatch.context() as env:  # the code was not spent: it still works
        env.setenv(INVITE_CODE_ENV, code)
        assert run(profile_dir, "pms-connect", "--base-url", sim.base_url) == 0
