"""The engine's knobs as a settings file gives them: a file written before the vendors'
own limits (it holds the old defaults, 8 threads and 4 calls per account, because every
field was written) reads as today's defaults; a value a hotel chose stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mangodesk.domain.errors import ConfigError
from mangodesk.engine.config import EngineConfig
from mangodesk.settings import Settings, load_settings, save_settings

OLD_FILE = {  # as version 1 wrote it: every field, no settings_version
    "close_to_tray": True, "database_url": None, "health_port": 8765, "max_attempts": 30,
    "per_connection_concurrency": 4, "retry_interval_minutes": 5.0, "staff_name": "Anna",
    "sync_alert_after_failures": 3, "sync_interval_minutes": 5.0, "tick_seconds": 30.0,
    "worker_threads": 8, "write_back_codes": False,
}


def written(tmp_path: Path, values: dict[str, object]) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def test_a_file_with_the_old_defaults_reads_as_todays_defaults(tmp_path: Path) -> None:
    assert (Settings().worker_threads, Settings().per_connection_concurrency) != (8, 4)
    settings = load_settings(written(tmp_path, OLD_FILE))
    assert (settings.worker_threads, settings.per_connection_concurrency) == (
        Settings().worker_threads, Settings().per_connection_concurrency)
    assert settings.staff_name == "Anna"
    config = EngineConfig.from_settings(settings)
    assert config.worker_threads == EngineConfig().worker_threads
    assert config.per_connection_concurrency == EngineConfig().per_connection_concurrency


def test_an_old_file_keeps_a_hotels_own_values(tmp_path: Path) -> None:
    chosen = {**OLD_FILE, "worker_threads": 12, "per_connection_concurrency": 2}
    settings = load_settings(written(tmp_path, chosen))
    assert (settings.worker_threads, settings.per_connection_concurrency) == (12, 2)


def test_a_choice_saved_now_survives_even_if_it_equals_an_old_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings(worker_threads=8, per_connection_concurrency=4))
    settings = load_settings(path)
    assert (settings.worker_threads, settings.per_connection_concurrency) == (8, 4)


def test_todays_defaults_round_trip_without_a_zero_older_desks_refuse(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings())
    assert "per_connection_concurrency" not in json.loads(path.read_text(encoding="utf-8"))
    assert load_settings(path) == Settings()


def test_a_negative_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="per_connection_concurrency"):
        load_settings(written(tmp_path, {"per_connection_concurrency": -1}))
