"""The Inlet adapter against the Inlet simulator over real loopback sockets: the full
lifecycle, the PIN-capable filter, the 72-hour rule on both sides, and injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.inlet import InletSimulator, start_for_demo
from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    TransientError,
)
from mangodesk.vendors.inlet import InletAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=48)
END = START + timedelta(days=2)
# Short enough that a hung simulator fails the call quickly; long enough for loopback.
TIMEOUT = httpx.Timeout(connect=5.0, read=1.0, write=5.0, pool=5.0)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[InletSimulator]:
    simulator = InletSimulator(clock=clock).start()
    yield simulator
    simulator.stop()


def make_adapter(sim: InletSimulator, clock: FixedClock, token: str | None = None) -> InletAdapter:
    config = ConnectionConfig(
        7, VendorKind.INLET, {"base_url": sim.base_url}, {"api_token": token or sim.token}
    )
    return InletAdapter(config, clock=clock, timeout=TIMEOUT)


@pytest.fixture
def adapter(sim: InletSimulator, clock: FixedClock) -> Iterator[InletAdapter]:
    inlet = make_adapter(sim, clock)
    yield inlet
    inlet.close()


def test_full_lifecycle_connect_list_create_update_revoke(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    report = adapter.test_connection()
    assert report.ok
    assert report.details == {"pin_locks": "7", "hidden_locks": "4"}

    locks = {lock.vendor_lock_id: lock for lock in adapter.list_locks()}
    assert "salto-101" in locks
    assert "dana-studio" not in locks  # mobile-key only
    assert "assa-entrance" not in locks  # auto-unlock only
    assert dict(adapter.lock_details("salto-101").items)["Lock system"] == "Salto KS"

    request = CodeRequest(START, END, guest_name="Ada Berg", label="Mangodesk 17 Berg")
    code = adapter.create_code("salto-101", request)
    assert code.pin and code.pin.isdigit() and len(code.pin) == 6
    stored = sim.grants[code.vendor_ref]
    assert stored.lock_id == "salto-101"
    assert (stored.grant.start, stored.grant.end) == (START, END)
    assert [c.vendor_ref for c in adapter.list_codes("salto-101")] == [code.vendor_ref]

    later = END + timedelta(days=1)
    moved = adapter.update_code("salto-101", code, START, later)
    assert moved.pin == code.pin
    assert sim.grants[code.vendor_ref].grant.end == later

    adapter.revoke_code("salto-101", moved)
    assert code.vendor_ref not in sim.grants
    adapter.revoke_code("salto-101", moved)  # already gone: still success


def test_keypad_symbols_come_back_as_the_pin(adapter: InletAdapter) -> None:
    code = adapter.create_code("2n-gate", CodeRequest(START, END))
    assert code.pin is not None and code.pin.startswith("#") and code.pin.endswith("*")


def test_rejected_token(sim: InletSimulator, clock: FixedClock) -> None:
    inlet = make_adapter(sim, clock, token="wrong-token")
    try:
        report = inlet.test_connection()
        assert not report.ok
        assert "rejected the API token" in report.summary
        with pytest.raises(AuthError):
            inlet.create_code("salto-101", CodeRequest(START, END))
    finally:
        inlet.close()
    assert sim.grants == {}


def test_server_errors_are_transient_and_a_retry_succeeds(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    sim.fail_next(503)
    with pytest.raises(TransientError):
        adapter.create_code("salto-101", CodeRequest(START, END))
    assert sim.grants == {}
    code = adapter.create_code("salto-101", CodeRequest(START, END))
    assert code.vendor_ref in sim.grants


def test_offline_lock_is_transient_until_it_comes_back(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    with pytest.raises(TransientError, match="offline"):
        adapter.create_code("dk-202", CodeRequest(START, END))
    sim.set_online("dk-202", True)
    code = adapter.create_code("dk-202", CodeRequest(START, END))
    sim.set_online("dk-202", False)
    with pytest.raises(TransientError, match="offline"):
        adapter.revoke_code("dk-202", code)
    assert code.vendor_ref in sim.grants


def test_a_move_without_an_answer_is_ambiguous_it_may_have_been_applied(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    code = adapter.create_code("salto-101", CodeRequest(START, END))
    sim.hang_next()
    with pytest.raises(AmbiguousError):
        adapter.update_code("salto-101", code, START, END + timedelta(days=1))
    assert sim.grants[code.vendor_ref].grant.end == END


def test_lost_create_answer_is_ambiguous_and_the_lock_read_back_finds_the_grant(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    sim.hang_next(after_apply=True)
    with pytest.raises(AmbiguousError):
        adapter.create_code("salto-102", CodeRequest(START, END, label="Mangodesk 18 Lund"))
    found = [c for c in adapter.list_codes("salto-102") if c.name == "Mangodesk 18 Lund"]
    assert len(found) == 1
    assert found[0].pin


def test_the_simulator_also_enforces_the_72_hour_rule(
    sim: InletSimulator, clock: FixedClock
) -> None:
    # The adapter's clock runs 10 h ahead of Inlet's, so only the server-side rule can refuse.
    inlet = InletAdapter(
        ConnectionConfig(7, VendorKind.INLET, {"base_url": sim.base_url},
                         {"api_token": sim.token}),
        clock=FixedClock(NOW + timedelta(hours=10)),
        timeout=TIMEOUT,
    )
    try:
        start = NOW + timedelta(hours=75)
        with pytest.raises(PermanentError, match="72 hours"):
            inlet.create_code("salto-101", CodeRequest(start, start + timedelta(days=1)))
    finally:
        inlet.close()
    assert sim.grants == {}


def test_mobile_key_only_lock_is_refused_by_inlet(adapter: InletAdapter) -> None:
    with pytest.raises(PermanentError, match="cannot take PIN codes"):
        adapter.create_code("dana-studio", CodeRequest(START, END))


def test_demo_vendor_connects_with_the_wizard_values() -> None:
    demo = start_for_demo()
    try:
        config = ConnectionConfig(None, demo.kind, demo.settings, demo.values)
        inlet = InletAdapter(config, timeout=TIMEOUT)
        try:
            assert inlet.test_connection().ok
        finally:
            inlet.close()
    finally:
        demo.stop()


def test_token_revoked_after_connecting_is_an_auth_error(
    sim: InletSimulator, adapter: InletAdapter
) -> None:
    code = adapter.create_code("salto-103", CodeRequest(START, END))
    sim.auth_rejected = True
    with pytest.raises(AuthError):
        adapter.revoke_code("salto-103", code)
    assert code.vendor_ref in sim.grants
