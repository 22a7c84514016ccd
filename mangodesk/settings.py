"""Non-secret settings in a JSON file in the config directory.

A settings file we cannot read is reported with its path and the problem, and is never
overwritten: staff or IT may have edited it by hand and must not lose that.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mangodesk.domain.errors import ConfigError
from mangodesk.paths import make_private_dir

# Files without "settings_version" (version 1) were written with every field, so the engine
# defaults of that time (8 threads, 4 calls per account) are in them though nobody chose
# them: they read as today's defaults. A file of version 2 on keeps whatever it says.
SETTINGS_VERSION = 2
_VERSION_1_DEFAULTS = {"worker_threads": 8, "per_connection_concurrency": 4}


@dataclass
class Settings:
    database_url: str | None = None  # None: SQLite in the data directory
    staff_name: str = ""  # shown in the audit log as "who"
    retry_interval_minutes: float = 5.0
    max_attempts: int = 30
    tick_seconds: float = 30.0
    sync_interval_minutes: float = 5.0
    sync_alert_after_failures: int = 3
    worker_threads: int = 64
    per_connection_concurrency: int = 0  # 0: each lock provider's own limit
    close_to_tray: bool = True
    # Copy door codes to the PMS booking (Beds24 info item) for the PMS's own guest emails.
    write_back_codes: bool = False
    # Keys this version does not know (written by a newer one): written back unchanged on
    # save, so running an older desk against the same file does not lose them.
    unknown_keys: dict[str, Any] = field(default_factory=dict)
    # `mangodesk run` answers GET /health on 127.0.0.1 at this port for monitoring; 0: off.
    health_port: int = 8765
    settings_version: int = SETTINGS_VERSION

    def to_json(self) -> dict[str, Any]:
        known = asdict(self)
        del known["unknown_keys"]
        if not self.per_connection_concurrency:
            # Absent reads as 0 here; desks older than version 2 refuse a 0 and use 4.
            del known["per_connection_concurrency"]
        return {**self.unknown_keys, **known}


_INT_FIELDS = {"max_attempts", "sync_alert_after_failures", "worker_threads",
               "settings_version"}
_FLOAT_FIELDS = {"retry_interval_minutes", "tick_seconds", "sync_interval_minutes"}
_OLD_EMPTY_SECTION = "extra"


def load_settings(path: Path) -> Settings:
    """Read settings; a missing file means defaults. Anything unreadable raises ConfigError."""
    if not path.exists():
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The settings file {path} cannot be read: {exc}.",
            "Check its permissions, or move it away to start with default settings. "
            "Mangodesk did not change it.",
        ) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"The settings file {path} is damaged: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.",
            "Fix that line, or move the file away to start with default settings. "
            "Mangodesk did not change it.",
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"The settings file {path} should hold a JSON object, not {type(raw).__name__}.",
            "Move the file away to start with default settings. Mangodesk did not change it.",
        )
    return _from_mapping(raw, path)


def _from_mapping(raw: dict[str, Any], path: Path) -> Settings:
    known = {f.name for f in fields(Settings)} - {"unknown_keys"}
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    if "settings_version" not in raw:
        raw = {key: value for key, value in raw.items()
               if _VERSION_1_DEFAULTS.get(key, object()) != value}
    for key, value in raw.items():
        if key == _OLD_EMPTY_SECTION and value == {}:
            continue  # an always-empty section older versions wrote: nothing to keep
        if key not in known:
            unknown[key] = value  # written by a newer version: ignored, and kept on save
            continue
        if key in _INT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"The settings file {path} has an invalid value for “{key}”: {value!r}.",
                    "Use a whole number of 1 or more. Mangodesk did not change the file.",
                )
        elif key == "per_connection_concurrency":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(
                    f"The settings file {path} has an invalid value for “{key}”: {value!r}.",
                    "Use a whole number: 0 for each lock provider's own limit, or a lower "
                    "one. Mangodesk did not change the file.",
                )
        elif key in _FLOAT_FIELDS:
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ConfigError(
                    f"The settings file {path} has an invalid value for “{key}”: {value!r}.",
                    "Use a positive number. Mangodesk did not change the file.",
                )
            value = float(value)
        elif key in ("database_url",):
            if value is not None and not isinstance(value, str):
                raise ConfigError(
                    f"The settings file {path} has an invalid database_url.",
                    "Use a text value such as postgresql+psycopg://host/db, or remove it.",
                )
        elif key == "health_port":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
                raise ConfigError(
                    f"The settings file {path} has an invalid value for “health_port”: "
                    f"{value!r}.",
                    "Use a port number from 1 to 65535, or 0 for no health endpoint. "
                    "Mangodesk did not change the file.")
        elif key in ("close_to_tray", "write_back_codes"):
            if not isinstance(value, bool):
                raise ConfigError(
                    f"The settings file {path} has an invalid value for “{key}”.",
                    "Use true or false. Mangodesk did not change the file.",
                )
        elif key == "staff_name" and not isinstance(value, str):
            raise ConfigError(f"The settings file {path} has an invalid staff_name.",
                              "Use a text value.")
        values[key] = value
    return Settings(**values, unknown_keys=unknown)


def save_settings(path: Path, settings: Settings) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file. The temp
    file is created 0600, so the settings are never readable by other users."""
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(settings.to_json(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
