"""What the connection service answers and refuses with: its errors and result, which fields
name one account or server (a second connection to it is a duplicate), the name rules and the
lock view."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from mangodesk.domain.errors import ValidationError
from mangodesk.domain.types import (
    VendorKind,
)
from mangodesk.services.views import ConnectionView, LockView
from mangodesk.store.models import Connection, Lock
from mangodesk.vendors.base import (
    ConnectionConfig,
    ConnectionReport,
    ProviderSpec,
)


def sign_in_alert_key(connection_id: int) -> str:
    """The one alert a rejected sign-in raises for a connection (shared with the engine)."""
    return f"connection:{connection_id}:sign-in"


class ConnectError(ValidationError):
    """The provider did not accept the connection; ``report`` says why, step by step."""

    def __init__(self, report: ConnectionReport) -> None:
        failing = next((s for s in report.steps if not s.ok), None)
        super().__init__(report.summary, fix=failing.fix if failing else None)
        self.report = report


class DuplicateConnection(ValidationError):
    """The account or server is already connected: sign in again on ``existing`` instead
    of adding a second connection that would fight over the same locks."""

    def __init__(self, existing: ConnectionView, message: str, fix: str) -> None:
        super().__init__(message, fix=fix)
        self.existing = existing


# What names one account or server per provider: adding it again is a duplicate. Secret
# fields (an API token) are compared with the ones kept in the keyring.
IDENTITY_FIELDS: dict[VendorKind, tuple[str, ...]] = {
    VendorKind.TTLOCK: ("username", "api_base"),
    VendorKind.FLEXIPASS: ("username",),
    VendorKind.SMARTAIR: ("server_address",),
    VendorKind.INLET: ("api_token",),
    VendorKind.MANUAL: (),  # Manual is one connection
}


def same_value(field: str, left: str, right: str) -> bool:
    """Addresses and user names compare without case, scheme or trailing slash."""
    if field == "api_token":
        return left == right
    def plain(value: str) -> str:
        value = value.strip().casefold().rstrip("/")
        for scheme in ("https://", "http://"):
            value = value.removeprefix(scheme)
        return value
    return plain(left) == plain(right)


@dataclass(frozen=True)
class ConnectResult:
    connection: ConnectionView
    report: ConnectionReport
    locks: list[LockView]


def refuse_control_characters(name: str) -> None:
    """A name is shown in lists, logs and terminals: no line breaks or escape sequences."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch != "\u200d" for ch in name):
        raise ValidationError(
            "A connection name cannot contain control characters (such as a line break or a "
            "terminal escape).", field="display_name", fix="Type it as plain text.")


def lock_view(lock: Lock, conn: Connection, linked: tuple[str, ...] = ()) -> LockView:
    return LockView(
        id=lock.id,
        connection_id=conn.id,
        connection_name=conn.display_name,
        kind=conn.kind,
        vendor_lock_id=lock.vendor_lock_id,
        name=lock.name,
        manageable=lock.manageable,
        unmanageable_reason=lock.unmanageable_reason,
        attributes=dict(lock.attributes),
        codes_not_automatic_reason=lock.codes_not_automatic_reason,
        linked_unit_names=linked,
    )


def default_name(spec: ProviderSpec, config: ConnectionConfig) -> str:
    for key in ("username", "server_address", "server"):
        value = config.settings.get(key)
        if value:
            return f"{spec.display_name} ({value})"
    return spec.display_name
