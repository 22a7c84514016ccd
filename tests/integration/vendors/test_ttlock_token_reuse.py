"""TTLock's access token is kept in the keyring between processes (issue #13 item 8): a CLI
command after another reuses it instead of signing in again, a lock-list refresh of 130 locks
costs no sign-in, and a kept token is dropped for another account or once TTLock refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.engine.resolve import TOKEN_CACHE_FIELD, adapter_for, secret_key
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.models import Connection
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.base import AuthError, ConnectionConfig
from mangodesk.vendors.registry import VendorRegistry
from mangodesk.vendors.ttlock import TTLOCK_SPEC, TTLockAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CONNECTION_ID = 4


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator(clock).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def secrets(sim: TTLockSimulator) -> SecretStore:
    store = SecretStore(MemoryKeyring())
    store.set(secret_key(CONNECTION_ID, "password"), sim.password)
    store.set(secret_key(CONNECTION_ID, "client_secret"), sim.client_secret)
    return store


def connection(sim: TTLockSimulator, username: str | None = None) -> Connection:
    return Connection(id=CONNECTION_ID, kind=VendorKind.TTLOCK, display_name="TTLock",
                      settings={"username": username or sim.username,
                                "client_id": sim.client_id, "api_base": sim.base_url})


def registry(clock: FixedClock) -> VendorRegistry:
    """The shipped TTLock provider, on the test's clock (the simulator checks ``date``)."""
    spec = TTLOCK_SPEC
    return VendorRegistry([type(spec)(
        kind=spec.kind, display_name=spec.display_name, fields=spec.fields,
        capabilities=spec.capabilities, lock_noun=spec.lock_noun,
        factory=lambda config: TTLockAdapter(config, clock=clock),
    )])


def sign_ins(sim: TTLockSimulator) -> int:
    return sim.paths_called().count("/oauth2/token")


def test_a_second_command_reuses_the_token_kept_in_the_keyring(
    sim: TTLockSimulator, secrets: SecretStore, clock: FixedClock
) -> None:
    vendors = registry(clock)
    for _command in range(3):  # three CLI commands, each a new process with a new adapter
        adapter = adapter_for(connection(sim), vendors, secrets)
        try:
            adapter.list_codes("21318606")
        finally:
            adapter.close()
    assert sign_ins(sim) == 1
    kept = secrets.get(secret_key(CONNECTION_ID, TOKEN_CACHE_FIELD))
    assert kept is not None and sim.password not in kept


def test_refreshing_130_locks_signs_in_at_most_once_across_commands(
    sim: TTLockSimulator, secrets: SecretStore, clock: FixedClock
) -> None:
    lobby = next(iter(sim.gateways))
    for index in range(130 - len(sim.locks)):
        sim.add_lock(30_000_000 + index, f"Room {200 + index}", gateways={lobby: -60})
    vendors = registry(clock)
    first = adapter_for(connection(sim), vendors, secrets)
    assert len(first.list_locks()) == 130
    first.close()
    calls_before = len(sim.paths_called())
    second = adapter_for(connection(sim), vendors, secrets)
    assert len(second.list_locks()) == 130
    second.close()
    assert sign_ins(sim) == 1
    assert "/oauth2/token" not in sim.paths_called()[calls_before:]


def test_a_kept_token_of_another_account_is_not_used(
    sim: TTLockSimulator, secrets: SecretStore, clock: FixedClock
) -> None:
    vendors = registry(clock)
    adapter = adapter_for(connection(sim), vendors, secrets)
    adapter.list_codes("21318606")
    adapter.close()
    other = adapter_for(connection(sim, username="someone-else@example.com"), vendors, secrets)
    try:
        with pytest.raises(AuthError):  # the other account's (wrong) password is used
            other.list_codes("21318606")
    finally:
        other.close()
    assert sign_ins(sim) == 2  # it had to sign in itself, the kept token was not borrowed


def test_an_expired_kept_token_is_refreshed_and_the_new_one_kept(
    sim: TTLockSimulator, secrets: SecretStore, clock: FixedClock
) -> None:
    vendors = registry(clock)
    adapter = adapter_for(connection(sim), vendors, secrets)
    adapter.list_codes("21318606")
    adapter.close()
    first = json.loads(secrets.get(secret_key(CONNECTION_ID, TOKEN_CACHE_FIELD)) or "{}")
    sim.expire_tokens()
    clock.advance(timedelta(minutes=1))
    again = adapter_for(connection(sim), vendors, secrets)
    assert again.list_codes("21318606") is not None
    again.close()
    second = json.loads(secrets.get(secret_key(CONNECTION_ID, TOKEN_CACHE_FIELD)) or "{}")
    assert second["access"] != first["access"]
    refreshes = [r for r in sim.requests
                 if r.path == "/oauth2/token" and r.params.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1 and sign_ins(sim) == 2


def test_a_computer_without_a_keyring_only_costs_a_fresh_sign_in(
    sim: TTLockSimulator, clock: FixedClock
) -> None:
    from keyring.backends import fail

    from mangodesk.engine.resolve import KeyringTokenCache

    cache = KeyringTokenCache(SecretStore(fail.Keyring()), "connection:4:token_cache")
    assert cache.load() is None
    cache.save("{}")  # nothing raised: the token just is not kept
    config = ConnectionConfig(CONNECTION_ID, VendorKind.TTLOCK,
                              {"username": sim.username, "client_id": sim.client_id,
                               "api_base": sim.base_url},
                              {"password": sim.password, "client_secret": sim.client_secret},
                              token_cache=cache)
    adapter = TTLockAdapter(config, clock=clock)
    try:
        assert adapter.list_codes("21318606") is not None
    finally:
        adapter.close()
    assert sign_ins(sim) == 1
