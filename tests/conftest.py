"""Test-wide guards: offscreen Qt, an in-memory keyring, no network beyond loopback, no
unexpected WARNING/ERROR log record (tests/log_guard.py); and the database switch
(``MANGODESK_TEST_DATABASE=postgresql``: every test database on PostgreSQL)."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from mangodesk.domain.clock import FixedClock
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from tests import database_switch, log_guard

# pytest-qt's settings in pyproject.toml; declared here too when the plugin is switched off.
PYTEST_QT_INI = {
    "qt_api": "the Qt binding pytest-qt uses",
    "qt_log_level_fail": "the Qt message level that fails a test",
}


class NetworkAccessError(RuntimeError):
    """Raised when a test tries to reach beyond loopback."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    host = str(host)
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard_address(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise NetworkAccessError(f"test tried to reach {address[0]!r}: tests stay on loopback")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _guard_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _guard_address(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host if not isinstance(host, bytes) else host.decode()):
        raise NetworkAccessError(f"test tried to resolve {host!r}: tests stay on loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """The Qt-free job runs with ``-p no:pytest-qt`` (run-tests): pyproject.toml still sets
    pytest-qt's keys, so they are declared here, or ``--strict-config`` would refuse them."""
    if not pluginmanager.has_plugin("pytest-qt"):
        for name, help_text in PYTEST_QT_INI.items():
            parser.addini(name, f"{help_text} (unused: pytest-qt is switched off)")


def pytest_configure(config: pytest.Config) -> None:
    log_guard.install(config)
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    if database_switch.enabled():
        database_switch.install()
        config.pluginmanager.register(PostgresqlDatabases(), "mangodesk-postgresql")


class PostgresqlDatabases:
    """With the switch on: each test's new databases are dropped after it, the run's remaining
    ones (module fixtures') at its end."""

    @pytest.fixture(autouse=True)
    def _fresh_postgresql_databases(self) -> Iterator[None]:
        before = database_switch.existing()
        yield
        database_switch.close_pools()
        database_switch.drop(database_switch.existing() - before)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'a SQLite file'}")

    def pytest_sessionfinish(self) -> None:
        database_switch.close_pools()
        database_switch.drop(database_switch.existing())
        database_switch.close()

    def pytest_report_header(self) -> str:
        return (f"database: PostgreSQL ({database_switch.admin_dsn()}), a fresh database "
                "for every test database")


class TestProcessKeyring(keyring.backend.KeyringBackend):
    """The test process's keyring: an in-memory store set as keyring's backend explicitly
    (defined here, in the tests, so the app itself never registers a memory backend)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.memory = MemoryKeyring()

    def get_password(self, service: str, username: str) -> str | None:
        return self.memory.get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.memory.set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.memory.delete_password(service, username)

    def names(self) -> list[tuple[str, str]]:
        return self.memory.names()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[TestProcessKeyring]:
    """Every test gets a fresh in-memory keyring; the real OS keyring is never touched."""
    previous = keyring.get_keyring()
    backend = TestProcessKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def secret_store(memory_keyring: TestProcessKeyring) -> SecretStore:
    return SecretStore(memory_keyring)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def profile_dir(tmp_path: Path) -> Path:
    return tmp_path / "profile"
