"""Migrations, SQLite pragmas, refusing a newer database, settings files, the secret store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import keyring
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from keyring.backends import fail

from mangodesk.domain.errors import ConfigError, SecretStoreUnavailable
from mangodesk.settings import Settings, load_settings, save_settings
from mangodesk.store.db import SCHEMA_HEAD, Database, schema_heads, sqlite_url
from mangodesk.store.models import Base
from mangodesk.store.secrets import SecretStore


def test_empty_database_migrates_to_head_and_matches_the_models(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    db.migrate()
    assert db.current_revisions() and db.current_revisions() <= db.known_revisions()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    db.migrate()  # a second start is a no-op
    db.dispose()


@pytest.mark.sqlite_only("a SQLite profile upgrades itself; a server only by db upgrade")
def test_the_schema_head_constant_is_alembics_head(tmp_path: Path) -> None:
    """A start compares the database's revision with SCHEMA_HEAD in plain SQL and loads
    Alembic only when they differ: a new migration must move the constant with it."""
    assert schema_heads() == [SCHEMA_HEAD]
    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    assert db.current_revisions() == set()
    db.migrate()
    assert db.current_revisions() == {SCHEMA_HEAD}
    db.dispose()


@pytest.mark.sqlite_only("a SQLite profile upgrades itself; a server only by db upgrade")
def test_a_database_one_migration_behind_is_still_upgraded(tmp_path: Path) -> None:
    from alembic import command

    from mangodesk.store.db import _alembic_config

    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    db.migrate()
    command.downgrade(_alembic_config(db.engine), "-1")
    assert db.current_revisions() != {SCHEMA_HEAD}
    db.migrate()
    assert db.current_revisions() == {SCHEMA_HEAD}
    db.dispose()


@pytest.mark.sqlite_only("SQLite pragmas")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "m.sqlite"))
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


@pytest.mark.sqlite_only("edits and compares the SQLite file")
def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    db = Database(sqlite_url(path))
    db.migrate()
    db.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    before = path.read_bytes()
    db = Database(sqlite_url(path))
    with pytest.raises(ConfigError, match="newer version of Mangodesk") as caught:
        db.migrate()
    assert "Nothing was changed" in str(caught.value)
    db.dispose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9999_from_the_future",)]
    assert len(path.read_bytes()) == len(before)


@pytest.mark.sqlite_only("a damaged SQLite file")
def test_a_damaged_database_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    db = Database(sqlite_url(path))
    with pytest.raises(ConfigError, match="cannot be opened"):
        db.migrate()
    db.dispose()


# ---------------------------------------------------------------- settings


def test_missing_settings_file_means_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "settings.json") == Settings()


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings(staff_name="Anna", retry_interval_minutes=2))
    assert load_settings(path).staff_name == "Anna"
    assert load_settings(path).retry_interval_minutes == 2.0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"staff_name": "Anna",', "is damaged"),
        ("[1, 2]", "should hold a JSON object"),
        ('{"max_attempts": "thirty"}', "invalid value for “max_attempts”"),
        ('{"retry_interval_minutes": -5}', "invalid value"),
        ('{"close_to_tray": "yes"}', "close_to_tray"),
        ('{"write_back_codes": 1}', "write_back_codes"),
    ],
)
def test_a_bad_settings_file_names_the_file_and_is_not_overwritten(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)
    assert path.read_text(encoding="utf-8") == content


def test_unreadable_settings_bytes(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(path)


def test_unknown_keys_from_a_newer_version_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"staff_name": "Bo", "future_option": 1}), encoding="utf-8")
    assert load_settings(path).staff_name == "Bo"


def test_unknown_keys_from_a_newer_version_are_kept_on_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    newer = {"staff_name": "Bo", "future_option": 1, "future_section": {"a": [1, 2]}}
    path.write_text(json.dumps(newer), encoding="utf-8")
    settings = load_settings(path)
    settings.staff_name = "Anna"
    save_settings(path, settings)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["future_option"] == 1 and saved["future_section"] == {"a": [1, 2]}
    assert saved["staff_name"] == "Anna"
    assert load_settings(path) == settings


def test_the_empty_section_older_versions_wrote_is_not_carried_along(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"staff_name": "Bo", "extra": {}}), encoding="utf-8")
    save_settings(path, load_settings(path))
    assert "extra" not in json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- secrets


def test_secret_store_round_trip(secret_store: SecretStore) -> None:
    secret_store.set("connection:1:password", "s3cret")
    assert secret_store.get("connection:1:password") == "s3cret"
    secret_store.delete("connection:1:password")
    secret_store.delete("connection:1:password")  # deleting twice is fine
    assert secret_store.get("connection:1:password") is None


def test_no_keyring_backend_is_explained_not_bypassed(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    store = SecretStore()
    assert not store.available()
    with pytest.raises(SecretStoreUnavailable) as caught:
        store.set("connection:1:password", "s3cret")
    message = str(caught.value)
    assert "no secure password store" in message
    assert "GNOME Keyring" in message and "never stores passwords in plain files" in message
    assert "s3cret" not in message
    assert list(tmp_path.iterdir()) == []
