"""The engine's read-back after a lost answer asks the adapter whether a code on the lock is
ours (VendorAdapter.matches_sent): one rule per vendor, no copy of it in the engine."""

from __future__ import annotations

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import CodeState
from mangodesk.engine.engine import Engine
from mangodesk.vendors.base import SentCode, VendorCode
from tests.fakes.vendor import FakeVendor
from tests.fakes.world import World
from tests.unit.engine.test_engine import ARRIVAL, DEPARTURE


@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(ambiguous, attempt \d+\):",
    logger="mangodesk.engine.settle")
def test_a_lost_create_is_recognised_by_the_adapters_rule(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[VendorCode, SentCode]] = []
    shared_rule = fake.matches_sent

    def recording(candidate: VendorCode, sent: SentCode) -> bool:
        asked.append((candidate, sent))
        return shared_rule(candidate, sent)

    monkeypatch.setattr(fake, "matches_sent", recording)
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.lose_response("create_code")
    engine.tick()  # the code landed, the answer did not
    engine.tick()
    engine_clock.advance(engine.config.retry_interval * 2)
    engine.run_due(engine_clock.now())
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert fake.count("create_code") == 1  # adopted, not created twice
    (candidate, sent) = asked[0]
    assert candidate.pin == code.code
    assert sent.label == f"Mangodesk {code.id}"
    assert {pin for pin, _, _ in sent.attempts} == {code.code}


@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(ambiguous, attempt \d+\):",
    logger="mangodesk.engine.settle")
@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(conflict, attempt \d+\): T",
    logger="mangodesk.engine.settle")
def test_an_adapter_that_says_not_ours_is_believed(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "matches_sent", lambda candidate, sent: False)
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.lose_response("create_code")
    engine.tick()
    engine_clock.advance(engine.config.retry_interval * 2)
    engine.run_due(engine_clock.now())
    assert fake.count("list_codes") >= 1
    assert fake.count("create_code") > 1  # not recognised: never adopted, created again
