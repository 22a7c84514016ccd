"""Secrets at rest: no silent in-memory keyring, and secrets kept apart per profile."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import null as null_backend

from mangodesk.app import build_context
from mangodesk.domain.errors import SecretStoreUnavailable
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.secrets import SERVICE_NAME, MemoryKeyring, SecretStore

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def ttlock_sim() -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator().start()
    yield simulator
    simulator.stop()


def _env_without_keyring(home: Path) -> dict[str, str]:
    """A login with no password store: no D-Bus session, no keyring config, fresh home."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DBUS", "PYTHON_KEYRING", "KEYRING", "MANGODESK_"))
           and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), PYTHONPATH=str(REPO),
               QT_QPA_PLATFORM="offscreen")
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="only a Linux login can be made keyring-less for the test")
def test_the_real_cli_refuses_to_connect_without_a_keyring(
        tmp_path: Path, ttlock_sim: TTLockSimulator) -> None:
    values = ttlock_sim.connection_values()
    data_dir = tmp_path / "desk"
    env = _env_without_keyring(tmp_path / "home")
    env["MANGODESK_PASSWORD"] = values["password"]
    env["MANGODESK_CLIENT_SECRET"] = values["client_secret"]
    args = [sys.executable, "-m", "mangodesk", "--data-dir", str(data_dir), "connect", "ttlock"]
    for name in ("username", "client_id", "api_base"):
        args += ["--set", f"{name}={values[name]}"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode != 0, done.stdout
    assert "no secure password store" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Connected" not in done.stdout
    assert ttlock_sim.request_count == 0  # refused before the vendor heard of it
    assert not (data_dir / "config" / "settings.json").exists()
    database = data_dir / "data" / "mangodesk.sqlite"
    if database.exists():
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT count(*) FROM connection").fetchone() == (0,)
            assert db.execute("SELECT count(*) FROM audit_event").fetchone() == (0,)


def test_the_memory_keyring_is_never_discovered() -> None:
    """Importing Mangodesk must not register a backend keyring could choose by itself."""
    code = ("import mangodesk.store.secrets, mangodesk.demo, keyring.backend as b;"
            "print(sorted(c.__module__ for c in b.KeyringBackend._classes))")
    env = _env_without_keyring(Path("/nonexistent-home"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert "mangodesk" not in done.stdout


def test_a_backend_keyring_does_not_recommend_is_refused() -> None:
    """keyring's null backend (and keyrings.alt's plain files) would lose or expose secrets."""
    previous = keyring.get_keyring()
    keyring.set_keyring(null_backend.Keyring())
    try:
        store = SecretStore()
        assert not store.available()
        with pytest.raises(SecretStoreUnavailable, match="no secure password store"):
            store.set("connection:1:password", "s3cret")
    finally:
        keyring.set_keyring(previous)


# ---------------------------------------------------------------- one profile, one namespace


def test_two_profiles_side_by_side_keep_their_own_secrets(tmp_path: Path) -> None:
    shared = MemoryKeyring()
    real = build_context(Paths.under(tmp_path / "real"), Settings(),
                         secrets=SecretStore(shared), actor="a")
    temp = build_context(Paths.under(tmp_path / "temp"), Settings(),
                         secrets=SecretStore(shared), actor="b")
    try:
        real.secrets.set("connection:1:password", "real-password")
        temp.secrets.set("connection:1:password", "demo-password")
        assert real.secrets.get("connection:1:password") == "real-password"
        assert temp.secrets.get("connection:1:password") == "demo-password"
        temp.secrets.delete("connection:1:password")
        assert real.secrets.get("connection:1:password") == "real-password"
        services = {service for service, _ in shared.names()}
        assert len(services) == 1 and real.secrets.service in services
        assert real.secrets.service != temp.secrets.service
        assert SERVICE_NAME not in services  # nothing under the old shared name
    finally:
        real.close()
        temp.close()


def test_desks_sharing_one_database_share_the_names(tmp_path: Path) -> None:
    shared = MemoryKeyring()
    paths = Paths.under(tmp_path / "desk")
    first = build_context(paths, Settings(), secrets=SecretStore(shared), actor="a")
    second = build_context(paths, Settings(), secrets=SecretStore(shared), actor="b")
    try:
        first.secrets.set("connection:1:password", "shared")
        assert second.secrets.get("connection:1:password") == "shared"
        assert first.secrets.service == second.secrets.service
    finally:
        first.close()
        second.close()


def _database_from_before_namespacing(paths: Paths) -> None:
    """A profile as the previous version left it: schema 0001 and one TTLock connection."""
    from alembic import command

    from mangodesk.store.db import Database, _alembic_config, sqlite_url

    paths.ensure()
    db = Database(sqlite_url(paths.database_file))
    command.upgrade(_alembic_config(db.engine), "0001_initial")
    with sqlite3.connect(paths.database_file) as raw:
        raw.execute("INSERT INTO connection (id, kind, display_name, settings, secret_ref, "
                    "status, created_at) VALUES (1, 'TTLOCK', 'TTLock', '{}', 'connection:1', "
                    "'CONNECTED', '2026-01-01 00:00:00')")
    db.dispose()


@pytest.mark.sqlite_only("a single-desk SQLite profile from before 0004 upgrades itself")
def test_secrets_under_the_old_shared_names_move_into_the_profile(tmp_path: Path) -> None:
    shared = MemoryKeyring()
    shared.set_password(SERVICE_NAME, "connection:1:password", "old-password")
    paths = Paths.under(tmp_path / "real")
    _database_from_before_namespacing(paths)
    fresh = build_context(Paths.under(tmp_path / "temp"), Settings(),
                          secrets=SecretStore(shared), actor="t")
    real = build_context(paths, Settings(), secrets=SecretStore(shared), actor="r")
    try:
        assert fresh.secrets.get("connection:1:password") is None  # a new profile never adopts
        assert real.secrets.get("connection:1:password") == "old-password"
        assert shared.get_password(SERVICE_NAME, "connection:1:password") is None
        assert shared.get_password(real.secrets.service, "connection:1:password") \
            == "old-password"
    finally:
        fresh.close()
        real.close()
