"""Errors that carry a message a receptionist can act on.

Every error raised to the GUI or CLI says what is wrong and, where possible, what to do.
Messages never contain secrets; codes are masked with :func:`mask_code`.
"""

from __future__ import annotations


class MangodeskError(Exception):
    """Base error: ``message`` says what is wrong, ``fix`` what to do about it."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} {self.fix}" if self.fix else self.message


class ProviderError(MangodeskError):
    """A call to a lock provider or the PMS failed: the service outside, not the input."""


class ValidationError(MangodeskError):
    """Input that cannot be accepted; ``field`` names the input so a dialog can show it there."""

    def __init__(self, message: str, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, fix)
        self.field = field


class ChangedElsewhereError(MangodeskError):
    """Another desk saved a change to the same thing since this desk showed it."""


class NotFoundError(MangodeskError):
    """A unit, lock, code or booking that does not exist (any more)."""


class ConfigError(MangodeskError):
    """A settings file, database or environment the app cannot work with."""


class SecretStoreUnavailable(MangodeskError):
    """No secure place to keep passwords and tokens on this computer."""


def mask_code(code: str | None) -> str:
    """Show only the last digit or character of a code, for logs and the audit trail."""
    if not code:
        return ""
    if len(code) <= 2:
        return "•" * len(code)
    return "•" * (len(code) - 1) + code[-1]
