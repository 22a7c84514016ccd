"""Turn a stored connection into a live adapter: settings from the database, secrets from
the keyring. The only place that reads a connection's secrets."""

from __future__ import annotations

from mangodesk.store.models import Connection
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
