"""One adapter per lock-provider connection, shared by the engine and the services, and
replaced (the old one closed) when the connection's settings or sign-in change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.app import Context, attach_engine, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import CodeState, VendorKind
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, Lock, Property, Unit
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig, ProviderSpec
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FAKE_CAPABILITIES, FakeVendor

NOW = datetime(2026, 6, 8, 13, 0, tzinfo=UTC)


class CountingFactory:
    """Builds a fresh fake adapter per call and remembers each with the config it got."""

    def __init__(self) -> None:
        self.built: list[tuple[ConnectionConfig, FakeVendor]] = []

    def __call__(self, config: ConnectionConfig) -> FakeVendor:
        vendor = FakeVendor()
        self.built.append((config, vendor))
        return vendor


@pytest.fixture
def factory() -> CountingFactory:
    return CountingFactory()


@pytest.fixture
def context(tmp_path: Path, secret_store: SecretStore,
            factory: CountingFactory) -> Iterator[Context]:
    spec = ProviderSpec(kind=VendorKind.TTLOCK, display_name="Counted locks", fields=(),
                        capabilities=FAKE_CAPABILITIES, factory=factory)
    built = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                          clock=FixedClock(NOW), vendors=VendorRegistry([MANUAL_SPEC, spec]),
                          actor="desk")
    yield built
    built.close()


def _connect(context: Context, factory: CountingFactory) -> int:
    result = context.services.connections.connect(
        VendorKind.TTLOCK, {"api_base": "https://one.example"})
    factory.built.clear()  # the check of the values typed, before there was a connection
    return result.connection.id


def test_a_connection_gets_the_same_adapter_every_time(
        context: Context, factory: CountingFactory) -> None:
    connection_id = _connect(context, factory)
    first = context.adapters.adapter(connection_id)
    assert context.adapters.adapter(connection_id) is first
    context.services.connections.test(connection_id)
    context.services.connections.refresh_locks(connection_id)
    assert [vendor for _, vendor in factory.built] == [first]
    assert first.closed == 0  # services no longer build and close a copy per call


def test_new_settings_replace_the_adapter_and_close_the_old_one(
        context: Context, factory: CountingFactory) -> None:
    connection_id = _connect(context, factory)
    old = context.adapters.adapter(connection_id)
    context.services.connections.update_credentials(
        connection_id, {"api_base": "https://two.example"})
    assert old.closed == 1
    new = context.adapters.adapter(connection_id)
    assert new is not old and new.closed == 0
    config, vendor = factory.built[-1]
    assert vendor is new and config.settings["api_base"] == "https://two.example"


def test_a_removed_connection_closes_its_adapter(
        context: Context, factory: CountingFactory) -> None:
    connection_id = _connect(context, factory)
    adapter = context.adapters.adapter(connection_id)
    context.services.connections.remove(connection_id, revoke_codes=False)
    assert adapter.closed == 1
    assert context.adapters.connection_ids() == []


def test_a_call_in_flight_keeps_its_adapter_until_it_returns(
        context: Context, factory: CountingFactory) -> None:
    connection_id = _connect(context, factory)
    with context.adapters.use(connection_id) as adapter:
        context.adapters.replace(connection_id)  # new password saved meanwhile
        assert adapter.closed == 0
        replacement = context.adapters.adapter(connection_id)
    assert adapter.closed == 1
    assert replacement is not adapter and replacement.closed == 0


def test_closing_the_context_closes_every_adapter(
        tmp_path: Path, secret_store: SecretStore, factory: CountingFactory) -> None:
    spec = ProviderSpec(kind=VendorKind.TTLOCK, display_name="Counted locks", fields=(),
                        capabilities=FAKE_CAPABILITIES, factory=factory)
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                            vendors=VendorRegistry([MANUAL_SPEC, spec]), actor="desk")
    connection_id = _connect(context, factory)
    adapter = context.adapters.adapter(connection_id)
    context.close()
    assert adapter.closed == 1


def test_the_engine_and_the_services_share_one_adapter(
        context: Context, factory: CountingFactory) -> None:
    connection_id = _connect(context, factory)
    vendor = context.adapters.adapter(connection_id)
    vendor.add_existing("lock-1", "1111", name="Housekeeping")
    context.services.connections.refresh_locks(connection_id)
    with context.db.transaction() as s:
        prop = Property(name="Hotel Fjord", timezone="Europe/Oslo", checkin_time=time(15, 0),
                        checkout_time=time(11, 0), lead_minutes=48 * 60,
                        automation_enabled=True)
        s.add(prop)
        s.flush()
        unit = Unit(property_id=prop.id, pms_id="101", name="101")
        s.add(unit)
        s.flush()
        unit_id = unit.id
        lock_id = s.scalars(select(Lock.id).where(Lock.vendor_lock_id == "lock-1")).one()
    context.services.links.link(unit_id, lock_id=lock_id)  # reads the lock's codes
    context.services.passcodes.create(unit_id, PasscodeInput(
        valid_from=NOW, valid_to=NOW + timedelta(days=2), code="246813",
        guest_name="Owner"))
    engine = attach_engine(context)
    assert engine.adapters is context.adapters
    engine.run_due()
    with context.db.session() as s:
        states = {c.code: c.state for c in s.scalars(select(AccessCode))}
    assert states["246813"] == CodeState.ACTIVE
    assert vendor.pins_on("lock-1") == ["1111", "246813"]
    assert [v for _, v in factory.built] == [vendor]  # one adapter, built once
    assert [c.method for c in vendor.calls] == ["list_codes", "create_code"]
