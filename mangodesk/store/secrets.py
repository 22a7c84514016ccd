"""Passwords and tokens live in the OS keyring (Credential Manager, Keychain, Secret Service).

There is deliberately no plaintext fallback: on a computer without a keyring we say so and
explain the fix instead of writing secrets to a file.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Protocol

from mangodesk.domain.errors import SecretStoreUnavailable

SERVICE_NAME = "Mangodesk"
# The lowest keyring priority keyring itself calls "recommended": below it are the plain-file
# and null backends of keyrings.alt, and the "fail" keyring used when nothing is installed.
RECOMMENDED_PRIORITY = 1
# Backends that lose secrets or keep them in plain files: refused even when named explicitly.
UNSAFE_BACKENDS = ("keyring.backends.null.", "keyring.backends.fail.", "keyrings.alt.")

NO_BACKEND_MESSAGE = (
    "This computer has no secure password store, so Mangodesk cannot keep lock passwords "
    "and tokens safely."
)
NO_BACKEND_FIX = (
    "On Windows and macOS this is built in; on Linux install and unlock a keyring "
    "(for example GNOME Keyring or KWallet, run inside a desktop session). Mangodesk never "
    "stores passwords in plain files instead."
)


def _keyring() -> ModuleType:
    """The keyring package, imported on first use: importing it costs a read-only CLI
    command a tenth of its start (it loads its backends' entry points)."""
    import keyring

    return keyring


def _errors() -> ModuleType:
    import keyring.errors

    return keyring.errors


class KeyringLike(Protocol):
    """What SecretStore needs of a keyring backend (keyring's backends and MemoryKeyring)."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class SecretStore:
    """Get, set and delete secrets under ``key`` names like ``connection:3:password``.

    A store bound to a database (:meth:`scoped`) keeps its names under that database's own
    identity, so a demo or throwaway profile can never read or overwrite a real profile's
    secrets; desks sharing one database share the names. The unscoped store is for secrets
    that exist before a database is open (the PostgreSQL password).
    """

    def __init__(self, backend: KeyringLike | None = None, *, namespace: str | None = None,
                 adopt_legacy: bool = False) -> None:
        self._explicit = backend is not None
        self._given: KeyringLike | None = backend
        self.namespace = namespace
        self._adopt_legacy = adopt_legacy

    @property
    def _backend(self) -> KeyringLike:
        """The OS keyring is looked up on first use: a command that reads no secret (most
        CLI commands) starts without asking the desktop for it."""
        if self._given is None:
            self._given = _keyring().get_keyring()
        return self._given

    def scoped(self, namespace: str, *, adopt_legacy: bool = False) -> SecretStore:
        """The same password store, with names kept under ``namespace`` (a database's id).
        With ``adopt_legacy`` a secret still stored under its old, shared name is moved
        under the namespace the first time it is read."""
        store = SecretStore(self._given, namespace=namespace, adopt_legacy=adopt_legacy)
        store._explicit = self._explicit
        return store

    @property
    def service(self) -> str:
        """The keyring service name secrets are stored under."""
        return f"{SERVICE_NAME}/{self.namespace}" if self.namespace else SERVICE_NAME

    @property
    def backend_name(self) -> str:
        return type(self._backend).__module__ + "." + type(self._backend).__qualname__

    def available(self) -> bool:
        """A backend given explicitly (the tests, the demo) is used as given; a discovered
        one must be one keyring recommends, or one the IT person named in keyring's own
        ``PYTHON_KEYRING_BACKEND`` setting — never the null, "fail" or plain-file ones."""
        if type(self._backend).__module__ == "keyring.backends.fail":
            return False  # keyring's "fail" keyring: nothing installed
        if self._explicit or isinstance(self._backend, MemoryKeyring):
            return True
        if self.backend_name.startswith(UNSAFE_BACKENDS):
            return False
        if os.environ.get("PYTHON_KEYRING_BACKEND") == self.backend_name:
            return True
        try:
            priority = float(self._backend.priority)  # type: ignore[attr-defined]
        except Exception:
            return False
        return priority >= RECOMMENDED_PRIORITY

    def require(self) -> None:
        """Refuse, with the fix in words, when there is nowhere safe to keep a secret."""
        if not self.available():
            raise SecretStoreUnavailable(NO_BACKEND_MESSAGE, NO_BACKEND_FIX)

    def get(self, key: str) -> str | None:
        self.require()
        value = self._read(self.service, key)
        if value is None and self._adopt_legacy and self.namespace:
            value = self._read(SERVICE_NAME, key)
            if value is not None:
                self.set(key, value)
                self._remove(SERVICE_NAME, key)
        return value

    def _read(self, service: str, key: str) -> str | None:
        errors = _errors()
        try:
            return self._backend.get_password(service, key)
        except errors.KeyringLocked as exc:
            raise SecretStoreUnavailable(
                "The password store is locked.", "Unlock it (log in again) and retry."
            ) from exc
        except errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password store could not be read ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc

    def set(self, key: str, value: str) -> None:
        self.require()
        errors = _errors()
        try:
            self._backend.set_password(self.service, key, value)
        except errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password could not be saved ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc

    def delete(self, key: str) -> None:
        self.require()
        self._remove(self.service, key)
        if self._adopt_legacy and self.namespace:
            self._remove(SERVICE_NAME, key)

    def _remove(self, service: str, key: str) -> None:
        errors = _errors()
        try:
            self._backend.delete_password(service, key)
        except errors.PasswordDeleteError:
            return
        except errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                f"The password could not be removed ({type(exc).__name__}).", NO_BACKEND_FIX
            ) from exc


class MemoryKeyring:
    """An in-process password store for tests and the throwaway demo profile. Never persisted.

    Deliberately not a ``keyring.backend.KeyringBackend`` subclass: keyring registers every
    subclass the moment it is defined and may then pick it as "the" backend on a computer
    without one, which would let ``connect`` report success and forget the password on exit.
    It is used only where it is passed in explicitly.
    """

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self._values:
            raise _errors().PasswordDeleteError(username)
        del self._values[(service, username)]

    def names(self) -> list[tuple[str, str]]:
        """Every (service, name) pair stored, for tests that compare profiles."""
        return sorted(self._values)
