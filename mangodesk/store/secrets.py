"""Passwords and tokens live in the OS keyring (Credential Manager, Keychain, Secret Service).

There is deliberately no plaintext fallback: on a computer without a keyring we say so and
explain the fix instead of writing secrets to a file.
"""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail as fail_backend

from mangodesk.domain.errors import SecretStoreUnavailable

SERVICE_NAME = "Mangodesk"

NO_BACKEND_MESSAGE = (
    "This computer has no secure password store, so Mangodesk cannot keep lock passwords "
    "and tokens safely."
)
NO_BACKEND_FIX = (
    "On Windows and macOS this is built in; on Linux install and unlock a keyring "
    "(for example GNOME Keyring or KWallet, run inside a desktop session). Mangodesk never "
    "stores passwords in plain files instead."
)


class SecretStore:
    """Get, set and delete secrets under ``key`` names like ``connection:3:password``."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()

    @property
    def backend_name(self) -> str:
        return type(self._backend).__module__ + "." + type(self._backend).__qualname__

    def available(self) -> bool:
        return not isinstance(self._backend, fail_backend.Keyring)

    def _check(self) -> None:
        if not self.available():
            raise SecretStoreUnavailable(NO_BACKEND_MESSAGE, NO_BACKEND_FIX)

    def get(self, key: str) -> str | None:
        self._check()
        try:
            return self._backend.get_password(SERVICE_NAME, key)
        except keyring.errors.KeyringLocked as exc:
            raise SecretStoreUnavailable(
                "The password store is locked.", "Unlock it (log in again) and retry."
            ) from exc
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password store could not be read ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc

    def set(self, key: str, value: str) -> None:
        self._check()
        try:
            self._backend.set_password(SERVICE_NAME, key, value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password could not be saved ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc

    def delete(self, key: str) -> None:
        self._check()
        try:
            self._backend.delete_password(SERVICE_NAME, key)
        except keyring.errors.PasswordDeleteError:
            return
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password could not be removed ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-process keyring for tests and the throwaway demo profile. Never persisted."""

    priority = 0

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self._values:
            raise keyring.errors.PasswordDeleteError(username)
        del self._values[(service, username)]
