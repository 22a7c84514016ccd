"""The typed operation payload reads what older versions wrote into ``Operation.payload``."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from mangodesk.domain.types import AlertSeverity, CodeState, OperationKind, OperationStatus
from mangodesk.engine.engine import Engine
from mangodesk.engine.outbox import OperationPayload
from mangodesk.store.models import Operation
from mangodesk.vendors.base import CodeRequest, PermanentError
from tests.fakes.vendor import FakeVendor
from tests.fakes.world import World

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)

# Payloads exactly as the engine, the planner and the services wrote them before the type.
WRITTEN_BEFORE = [
    ({"reason": "booking B1 arrives", "replaces_code_id": 7},
     OperationPayload(reason="booking B1 arrives", replaces_code_id=7)),
    ({"reason": "cancelled", "guest_must_not_enter": True, "ends_stay": True},
     OperationPayload(reason="cancelled", guest_must_not_enter=True, ends_stay=True)),
    ({"reason": "moved", "guest_must_not_enter": False},
     OperationPayload(reason="moved")),
    ({"cleanup": True}, OperationPayload(cleanup=True)),
    ({"guest_email": "owner@example.org", "check_lock_first": True, "pin_conflicts": 3},
     OperationPayload(guest_email="owner@example.org", check_lock_first=True,
                      pin_conflicts=3)),
    ({"reason": "the code was deleted outside Mangodesk", "replaces_deleted": True},
     OperationPayload(reason="the code was deleted outside Mangodesk",
                      replaces_deleted=True)),
    ({}, OperationPayload()),
]


@pytest.mark.parametrize(("raw", "expected"), WRITTEN_BEFORE)
def test_payloads_written_before_read_back(raw: dict[str, object],
                                           expected: OperationPayload) -> None:
    assert OperationPayload.from_json(raw) == expected


def test_unknown_keys_and_odd_values_fall_back_to_defaults() -> None:
    raw = {"sent": [["1234", "2026-06-08T13:00:00+00:00", "2026-06-12T09:00:00+00:00"]],
           "pin_conflicts": "many", "replaces_code_id": True, "guest_email": "",
           "reason": 5, "from_a_newer_version": {"x": 1}}
    assert OperationPayload.from_json(raw) == OperationPayload()
    assert OperationPayload.from_json(None) == OperationPayload()


def test_only_what_differs_from_the_defaults_is_stored() -> None:
    assert OperationPayload().to_json() == {}
    assert OperationPayload(cleanup=True, pin_conflicts=2).to_json() == {
        "cleanup": True, "pin_conflicts": 2}


@given(st.builds(OperationPayload,
                 reason=st.none() | st.text(min_size=1),
                 replaces_code_id=st.none() | st.integers(min_value=1),
                 pin_conflicts=st.integers(min_value=0, max_value=100),
                 guest_email=st.none() | st.emails()))
def test_to_json_then_from_json_is_the_same_payload(payload: OperationPayload) -> None:
    assert OperationPayload.from_json(payload.to_json()) == payload


def _queued_from_before(world: World, kind: OperationKind, raw: dict[str, object]) -> None:
    """Rewrite the code's open operation as an older version left it in the database."""
    with world.db.transaction() as s:
        operation = s.scalars(select(Operation).where(
            Operation.status == OperationStatus.QUEUED)).one()
        operation.kind = kind
        operation.payload = raw


def test_an_old_row_asking_for_a_read_back_adopts_the_code_on_the_lock(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.plan_and_enqueue()
    code = world.code()
    # The create went out before the upgrade; its answer was lost.
    fake.create_code("lock-101", CodeRequest(code.valid_from, code.valid_to, pin=code.code,
                                             label=f"Mangodesk {code.id}"))
    _queued_from_before(world, OperationKind.CREATE, {
        "reason": "booking B1 arrives", "check_lock_first": True, "pin_conflicts": 1,
        "retired_key": "left by an older version"})
    engine.run_due()
    assert world.code().state == CodeState.ACTIVE
    assert fake.count("create_code") == 1 and fake.count("list_codes") == 1


@pytest.mark.expect_log(
    r"operation \d+ \(revoke\) for code \d+ •+\d+ failed \(permanent, attempt \d+\):",
    logger="mangodesk.engine.settle")
def test_an_old_critical_revoke_still_raises_a_critical_alert(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    with world.db.transaction() as s:  # a cancelled booking's revoke, queued before
        operation = s.scalars(select(Operation)).one()
        s.add(Operation(access_code_id=operation.access_code_id, kind=OperationKind.REVOKE,
                        status=OperationStatus.QUEUED, attempts=0,
                        next_attempt_at=operation.next_attempt_at,
                        created_at=operation.created_at, updated_at=operation.updated_at,
                        payload={"reason": "cancelled", "guest_must_not_enter": True}))
    fake.fail("revoke_code", PermanentError("The lock is offline."))
    engine.run_due()
    (alert,) = [a for a in world.alerts() if a.cleared_at is None]
    assert alert.severity == AlertSeverity.CRITICAL
