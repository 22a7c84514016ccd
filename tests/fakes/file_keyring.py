"""A keyring kept in a JSON file, for tests that run the real service in another process
and must hand it a connection's password (the in-memory keyring dies with the test process).

Chosen only explicitly: ``PYTHON_KEYRING_BACKEND=tests.fakes.file_keyring.FileKeyring`` with
``MANGODESK_TEST_KEYRING=<path>`` in the child, or ``FileKeyring(path)`` in the test. Its
priority keeps keyring's discovery from ever choosing it by itself.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import keyring.backend
import keyring.errors

PATH_VARIABLE = "MANGODESK_TEST_KEYRING"


class FileKeyring(keyring.backend.KeyringBackend):
    priority = -10  # never picked by discovery

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._path = path  # else from the environment, when used (discovery builds us too)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self._path is not None:
            return self._path
        named = os.environ.get(PATH_VARIABLE)
        if not named:
            raise keyring.errors.KeyringError(f"{PATH_VARIABLE} names no file")
        return Path(named)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, values: dict[str, str]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(values), encoding="utf-8")
        temporary.replace(self.path)

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._read().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            values = self._read()
            values[f"{service}\n{username}"] = password
            self._write(values)

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            values = self._read()
            if values.pop(f"{service}\n{username}", None) is None:
                raise keyring.errors.PasswordDeleteError(username)
            self._write(values)
