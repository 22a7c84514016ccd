"""Where Mangodesk keeps its files. Computed once in ``main()`` and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Mangodesk"
APP_AUTHOR = "Mangodesk"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "mangodesk.sqlite"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "mangodesk.log"

    @classmethod
    def for_user(cls) -> Paths:
        """The platform's per-user locations (AppData, Application Support, XDG)."""
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
        )

    @classmethod
    def under(cls, base: Path) -> Paths:
        """Everything below one directory: ``--data-dir`` and throwaway profiles."""
        return cls(config_dir=base / "config", data_dir=base / "data", log_dir=base / "logs")

    def ensure(self) -> None:
        for directory in (self.config_dir, self.data_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
