"""``mangodesk plan`` and ``mangodesk run --stop`` through the real command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mangodesk.cli import main
from mangodesk.paths import Paths
from mangodesk.store.db import sqlite_url
from tests.fakes.world import make_world


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    base = tmp_path / "profile"
    paths = Paths.under(base)
    paths.ensure()
    world = make_world(tmp_path, timezone="UTC", url=sqlite_url(paths.database_file))
    world.add_room("101")
    today = datetime.now(UTC).date()
    world.add_booking(today + timedelta(days=5), today + timedelta(days=7), "101",
                      guest="Ada Smith")
    with world.db.transaction() as s:
        from mangodesk.store.models import Property

        prop = s.get(Property, world.property_id)
        assert prop is not None
        prop.automation_enabled = False  # the dry run is for before switching it on
    world.db.dispose()
    return base


def test_plan_prints_what_would_happen(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    until = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    assert main(["--data-dir", str(profile), "plan", "--until", until]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "Ada Smith" in line]
    assert len(lines) == 2
    assert " create " in lines[0] and " expire " in lines[1]
    assert main(["--data-dir", str(profile), "plan", "--until", until, "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert [s["kind"] for s in steps] == ["create", "expire"]


def test_plan_before_the_codes_are_due_says_so(profile: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    until = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert main(["--data-dir", str(profile), "plan", "--until", until]) == 0
    assert capsys.readouterr().out.strip() == f"Nothing to do until {until}."


def test_plan_rejects_a_bad_date(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(profile), "plan", "--until", "next week"])
    assert exc.value.code == 2
    assert "write it as YYYY-MM-DD" in capsys.readouterr().err


def test_run_stop_leaves_a_stop_file(profile: Path) -> None:
    assert main(["--data-dir", str(profile), "run", "--stop"]) == 0
    assert (Paths.under(profile).data_dir / "service.stop").exists()


def test_code_retry_runs_a_code_waiting_for_its_next_try_now(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mangodesk.domain.types import CodeOrigin, CodeState, OperationKind, OperationStatus
    from mangodesk.store.models import AccessCode, Operation

    base = tmp_path / "retry-profile"
    paths = Paths.under(base)
    paths.ensure()
    world = make_world(tmp_path, timezone="UTC", url=sqlite_url(paths.database_file))
    world.add_room("101")
    now = datetime.now(UTC)
    with world.db.transaction() as s:
        code = AccessCode(unit_id=world.units["101"], lock_id=world.locks["101"],
                          origin=CodeOrigin.MANUAL, code="135790", valid_from=now,
                          valid_to=now + timedelta(days=1), state=CodeState.PENDING,
                          attempts=4, last_error="The gateway is busy.", created_at=now,
                          updated_at=now)
        s.add(code)
        s.flush()
        code_id = code.id
        s.add(Operation(access_code_id=code.id, kind=OperationKind.CREATE,
                        status=OperationStatus.QUEUED, attempts=4, payload={},
                        next_attempt_at=now + timedelta(minutes=5), created_at=now,
                        updated_at=now))
    assert main(["--data-dir", str(base), "code-retry", str(code_id)]) == 0
    assert "queued again" in capsys.readouterr().out
    (operation,) = world.operations()
    assert operation.status == OperationStatus.QUEUED and operation.attempts == 0
    assert operation.next_attempt_at <= datetime.now(UTC)
    world.db.dispose()
