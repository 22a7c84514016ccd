"""Turn a stored connection into a live adapter: settings from the database, secrets from
the keyring. The only place that reads a connection's secrets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from mangodesk.store.models import Connection, Lock, Property, Unit, UnitLink
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig, VendorAdapter
from mangodesk.vendors.registry import VendorRegistry


def secret_key(connection_id: int, field_name: str) -> str:
    return f"connection:{connection_id}:{field_name}"


def connection_config(connection: Connection, registry: VendorRegistry,
                      secrets: SecretStore, *, hotel_timezone: str | None = None
                      ) -> ConnectionConfig:
    spec = registry.spec(connection.kind)
    resolved: dict[str, str] = {}
    for field in spec.fields:
        if field.secret:
            value = secrets.get(secret_key(connection.id, field.name))
            if value is not None:
                resolved[field.name] = value
    # Secrets an adapter stores for itself (refreshed tokens) use the same key scheme.
    for name in connection.settings.get("_extra_secret_names", []):
        value = secrets.get(secret_key(connection.id, name))
        if value is not None:
            resolved[name] = value
    settings = dict(connection.settings)
    hotel_timezone = hotel_timezone or hotel_timezone_of(connection)
    if hotel_timezone:
        settings["hotel_timezone"] = hotel_timezone  # lets adapters warn about lock clocks
    return ConnectionConfig(
        connection_id=connection.id,
        kind=connection.kind,
        settings=settings,
        secrets=resolved,
    )


def adapter_for(connection: Connection, registry: VendorRegistry,
                secrets: SecretStore, *, hotel_timezone: str | None = None) -> VendorAdapter:
    return registry.adapter(connection_config(connection, registry, secrets,
                                              hotel_timezone=hotel_timezone))


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
