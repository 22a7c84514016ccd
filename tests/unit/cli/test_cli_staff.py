"""The CLI's side of issue #11: code-revoke asks --stop or --reissue for a booking's code,
code-resume lifts the stop, and link refuses a lock of another unit without --shared."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import (
    AuditAction,
    CodeOrigin,
    CodeState,
)
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, AuditEvent, Booking, UnitLink


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, SystemClock().now())
    context.close()
    return base


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def booking_code(data_dir: Path) -> int:
    """A code automation issued for booking B-1001 in Room 101 (linked to a keypad)."""
    assert run(data_dir, "link", "Room 101", "--manual", "Room 101 keypad") == 0
    context = build_context(Paths.under(data_dir), Settings())
    now = SystemClock().now()
    with context.db.transaction() as session:
        booking = session.scalars(select(Booking).where(Booking.pms_id == "B-1001")).one()
        link = session.scalars(select(UnitLink)).one()
        code = AccessCode(unit_id=link.unit_id, lock_id=link.lock_id, origin=CodeOrigin.BOOKING,
                          booking_id=booking.id, code="582913", valid_from=now,
                          valid_to=now + timedelta(days=1), guest_name=booking.guest_name,
                          state=CodeState.ACTIVE, managed=True, attempts=0, created_at=now,
                          updated_at=now)
        session.add(code)
        session.flush()
        code_id = code.id
    context.close()
    return code_id


def state(data_dir: Path) -> tuple[bool, list[str]]:
    context = build_context(Paths.under(data_dir), Settings())
    with context.db.session() as session:
        booking = session.scalars(select(Booking).where(Booking.pms_id == "B-1001")).one()
        result = (booking.codes_stopped,
                  [str(c.state) for c in session.scalars(select(AccessCode))])
    context.close()
    return result


def test_code_revoke_of_a_booking_code_is_refused_without_stop_or_reissue(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code_id = booking_code(data_dir)
    capsys.readouterr()
    assert run(data_dir, "code-revoke", str(code_id)) == 2
    err = capsys.readouterr().err
    assert "choose whether" in err and "--stop" in err
    assert state(data_dir) == (False, ["active"])


def test_code_revoke_stop_then_code_resume(data_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code_id = booking_code(data_dir)
    assert run(data_dir, "code-revoke", str(code_id), "--stop") == 0
    assert "code-resume B-1001" in capsys.readouterr().out
    assert state(data_dir) == (True, ["revoked"])
    assert run(data_dir, "code-resume", "B-1001", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"booking": "B-1001", "codes_stopped": False}
    assert state(data_dir) == (False, ["revoked"])
    context = build_context(Paths.under(data_dir), Settings())
    with context.db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    context.close()
    assert AuditAction.BOOKING_RESUME_CODES in actions


def test_link_refuses_a_lock_of_another_unit_without_shared(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "link", "Room 101", "--manual", "Front Door") == 0
    capsys.readouterr()
    assert run(data_dir, "link", "Room 102", "--manual", "Front Door") == 2
    err = capsys.readouterr().err
    assert "Front Door already opens Room 101" in err and "--shared" in err
    assert run(data_dir, "link", "Room 102", "--manual", "Front Door", "--shared") == 0
    capsys.readouterr()
    assert run(data_dir, "units") == 0
    assert "shared with Room 101" in capsys.readouterr().out
