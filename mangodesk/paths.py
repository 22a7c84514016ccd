"""Where Mangodesk keeps its files. Computed once in ``main()`` and passed down.

The database holds every PIN and the guests' names, emails and phones, so everything here is
for the desk's own login only: on POSIX folders are 0700 and files 0600 (also files an older
version left readable); on Windows each folder gets an ACL for the current user alone
(``icacls /inheritance:r /grant:r <user>:(OI)(CI)F``), which the per-user AppData folders
already have by default and a ``--data-dir`` elsewhere would not.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Mangodesk"
APP_AUTHOR = "Mangodesk"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


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
        """Create the folders for this user only, and take back files an older version left
        readable to others."""
        for directory in (self.config_dir, self.data_dir, self.log_dir):
            make_private_dir(directory)
        for path in self.private_files():
            if path.exists():
                restrict_file(path)

    def private_files(self) -> list[Path]:
        """Every file of the profile that exists or may: settings, database, logs."""
        files = [self.settings_file, self.database_file]
        files += [self.database_file.with_name(self.database_file.name + suffix)
                  for suffix in SQLITE_SIDE_FILES]
        files.append(self.log_file)
        if self.log_dir.is_dir():
            files += sorted(self.log_dir.glob(self.log_file.name + ".*"))
        return files


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) readable by this user only."""
    missing = []
    parent = directory
    while not parent.exists():
        missing.append(parent)
        if parent.parent == parent:
            break
        parent = parent.parent
    directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    for created in missing:
        _restrict_dir(created)
    _restrict_dir(directory)


def _restrict_dir(directory: Path) -> None:
    if os.name == "nt":
        _windows_user_only(directory)
    else:
        os.chmod(directory, PRIVATE_DIR_MODE)


def restrict_file(path: Path) -> None:
    """Make an existing file readable and writable by its owner only (POSIX); on Windows
    the file inherits its folder's user-only ACL."""
    if os.name != "nt":
        os.chmod(path, PRIVATE_FILE_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then tighten it), so a library
    that opens it afterwards (SQLite) never makes it readable to others."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError:
        restrict_file(path)
    else:
        os.close(fd)
        restrict_file(path)  # a umask can only remove bits, but be explicit


def _windows_user_only(directory: Path) -> None:
    """Replace inherited permissions with full control for the current user only."""
    user = os.environ.get("USERNAME")
    icacls = shutil.which("icacls")
    if not user or icacls is None:
        log.warning("could not restrict %s to the current user (no icacls or USERNAME)",
                    directory)
        return
    done = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
        [icacls, str(directory), "/inheritance:r", "/grant:r", f"{user}:(OI)(CI)F"],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log.warning("could not restrict %s to the current user: %s", directory,
                    done.stderr.strip() or done.stdout.strip())
