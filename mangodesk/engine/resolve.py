"""Turn a stored connection into a live adapter: settings from the database, secrets from
the keyring. The only place that reads a connection's secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import object_session

from mangodesk.domain.errors import SecretStoreUnavailable
from mangodesk.store.models import Connection, Lock, Property, Unit, UnitLink
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig, VendorAdapter
from mangodesk.vendors.registry import VendorRegistry

log = logging.getLogger(__name__)

# The keyring entry (per connection) where an adapter keeps its sign-in token.
TOKEN_CACHE_FIELD = "token_cache"  # noqa: S105 - the name of a keyring entry, not a secret


def secret_key(connection_id: int, field_name: str) -> str:
    return f"connection:{connection_id}:{field_name}"


class KeyringTokenCache:
    """An adapter's token in the keyring, so the next process (a CLI command, the desk after
    a restart) reuses it instead of signing in again. A keyring that cannot be read or
    written only costs a fresh sign-in."""

    def __init__(self, secrets: SecretStore, key: str) -> None:
        self._secrets = secrets
        self._key = key

    def load(self) -> str | None:
        try:
            return self._secrets.get(self._key)
        except SecretStoreUnavailable:
            return None

    def save(self, value: str) -> None:
        try:
            self._secrets.set(self._key, value)
        except SecretStoreUnavailable as exc:
            log.info("the sign-in token could not be kept in the keyring: %s", exc.message)


def connection_config(connection: Connection, registry: VendorRegistry,
                      secrets: SecretStore, *, hotel_timezone: str | None = None,
                      pace: Callable[[], None] | None = None) -> ConnectionConfig:
    spec = registry.spec(connection.kind)
    resolved: dict[str, str] = {}
    for field in spec.fields:
        if field.secret:
            value = secrets.get(secret_key(connection.id, field.name))
            if value is not None:
                resolved[field.name] = value
    # Secrets an adapter stores for itself (refreshed tokens) use the same key scheme.
    for name in connection.adapter_secret_names or ():
        value = secrets.get(secret_key(connection.id, name))
        if value is not None:
            resolved[name] = value
    return ConnectionConfig(
        connection_id=connection.id,
        kind=connection.kind,
        settings=dict(connection.settings),
        secrets=resolved,
        token_cache=KeyringTokenCache(secrets, secret_key(connection.id, TOKEN_CACHE_FIELD)),
        hotel_timezone=hotel_timezone or hotel_timezone_of(connection),
        pace=pace,
    )


def adapter_for(connection: Connection, registry: VendorRegistry,
                secrets: SecretStore, *, hotel_timezone: str | None = None,
                pace: Callable[[], None] | None = None) -> VendorAdapter:
    return registry.adapter(connection_config(connection, registry, secrets,
                                              hotel_timezone=hotel_timezone, pace=pace))


def hotel_timezone_of(connection: Connection) -> str | None:
    """The zone of the hotel a connection serves, when the database says so unambiguously:
    that of the properties whose units use its locks, else that of the only property. An
    on-site lock server (Smartair) keeps the hotel's local time."""
    session = object_session(connection)
    if session is None or connection.id is None:
        return None
    linked = set(session.scalars(
        select(Property.timezone).distinct()
        .join(Unit, Unit.property_id == Property.id)
        .join(UnitLink, UnitLink.unit_id == Unit.id)
        .join(Lock, Lock.id == UnitLink.lock_id)
        .where(Lock.connection_id == connection.id)))
    zones = linked or set(session.scalars(select(Property.timezone).distinct()))
    return zones.pop() if len(zones) == 1 else None
