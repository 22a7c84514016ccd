"""Which providers exist. The composition root builds one and may replace factories (tests)."""

from __future__ import annotations

from collections.abc import Iterable

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import ConnectionConfig, ProviderSpec, VendorAdapter


class VendorRegistry:
    def __init__(self, specs: Iterable[ProviderSpec] = ()) -> None:
        self._specs: dict[VendorKind, ProviderSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ProviderSpec) -> None:
        self._specs[spec.kind] = spec

    def spec(self, kind: VendorKind) -> ProviderSpec:
        try:
            return self._specs[kind]
        except KeyError:
            raise NotFoundError(
                f"The lock provider “{kind}” is not available in this version."
            ) from None

    def specs(self) -> list[ProviderSpec]:
        return list(self._specs.values())

    def adapter(self, config: ConnectionConfig) -> VendorAdapter:
        return self.spec(config.kind).factory(config)


def place_of(registry: VendorRegistry, kind: str, unit_name: str | None,
             lock_name: str) -> str:
    """The unit and lock as staff know them, for alerts: "Double room 104 · TTLock lock
    Room 101" (never a vendor's internal id)."""
    try:
        spec = registry.spec(VendorKind(kind))
        lock = f"{spec.display_name} {spec.lock_noun} {lock_name}"
    except (NotFoundError, ValueError):
        lock = f"lock {lock_name}"
    return f"{unit_name} · {lock}" if unit_name else lock


def default_specs() -> list[ProviderSpec]:
    """Every provider shipped with the app, in the order the wizard offers them (as in the
    product text: Manual, TTLock, Flexipass, Inlet, TESA Smartair)."""
    from mangodesk.vendors.flexipass import FLEXIPASS_SPEC
    from mangodesk.vendors.inlet import INLET_SPEC
    from mangodesk.vendors.manual import MANUAL_SPEC
    from mangodesk.vendors.smartair import SMARTAIR_SPEC
    from mangodesk.vendors.ttlock import TTLOCK_SPEC

    return [MANUAL_SPEC, TTLOCK_SPEC, FLEXIPASS_SPEC, INLET_SPEC, SMARTAIR_SPEC, *plugin_specs()]


PLUGIN_ENV = "MANGODESK_PROVIDER_PLUGINS"


def plugin_specs() -> list[ProviderSpec]:
    """Providers named in MANGODESK_PROVIDER_PLUGINS ("package.module:NAME", comma-separated;
    NAME is a ProviderSpec or a list of them). A hook for test fakes served from another
    process and for partner builds; a plugin replaces a built-in provider of the same kind."""
    import importlib
    import os

    found: list[ProviderSpec] = []
    for entry in filter(None, (part.strip() for part in os.environ.get(PLUGIN_ENV, "").split(","))):
        module_name, _, attribute = entry.partition(":")
        value = getattr(importlib.import_module(module_name), attribute or "SPEC")
        found.extend(value if isinstance(value, list | tuple) else [value])
    return found
