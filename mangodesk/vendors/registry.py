"""Which providers exist. The composition root builds one and may replace factories (tests)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import ConnectionConfig, ProviderSpec, VendorAdapter

# Where each shipped provider lives, in the order the wizard offers them. A registry built
# with ``lazy`` imports a provider's module only when that provider is asked for, so a CLI
# command that talks to no lock starts without the HTTP and SOAP clients.
BUILT_IN: dict[VendorKind, tuple[str, str]] = {
    VendorKind.MANUAL: ("mangodesk.vendors.manual", "MANUAL_SPEC"),
    VendorKind.TTLOCK: ("mangodesk.vendors.ttlock", "TTLOCK_SPEC"),
    VendorKind.FLEXIPASS: ("mangodesk.vendors.flexipass", "FLEXIPASS_SPEC"),
    VendorKind.INLET: ("mangodesk.vendors.inlet", "INLET_SPEC"),
    VendorKind.SMARTAIR: ("mangodesk.vendors.smartair", "SMARTAIR_SPEC"),
}


class VendorRegistry:
    def __init__(self, specs: Iterable[ProviderSpec] = (), *,
                 lazy: Mapping[VendorKind, tuple[str, str]] | None = None) -> None:
        self._specs: dict[VendorKind, ProviderSpec] = {}
        self._lazy: dict[VendorKind, tuple[str, str]] = dict(lazy or {})
        self._order: list[VendorKind] = list(self._lazy)
        for spec in specs:
            self.register(spec)

    def register(self, spec: ProviderSpec) -> None:
        """Add a provider; one of the same kind (built in or not) is replaced in place."""
        self._specs[spec.kind] = spec
        self._lazy.pop(spec.kind, None)
        if spec.kind not in self._order:
            self._order.append(spec.kind)

    def spec(self, kind: VendorKind) -> ProviderSpec:
        if kind in self._lazy:
            self._load(kind)
        try:
            return self._specs[kind]
        except KeyError:
            raise NotFoundError(
                f"The lock provider “{kind}” is not available in this version."
            ) from None

    def specs(self) -> list[ProviderSpec]:
        for kind in list(self._lazy):
            self._load(kind)
        return [self._specs[kind] for kind in self._order]

    def adapter(self, config: ConnectionConfig) -> VendorAdapter:
        return self.spec(config.kind).factory(config)

    def _load(self, kind: VendorKind) -> None:
        module_name, attribute = self._lazy.pop(kind)
        spec = getattr(importlib.import_module(module_name), attribute)
        self._specs[kind] = spec


def default_registry() -> VendorRegistry:
    """The shipped providers (loaded on first use) and any plugins, as :func:`default_specs`
    lists them."""
    registry = VendorRegistry(lazy=BUILT_IN)
    for spec in plugin_specs():
        registry.register(spec)
    return registry


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
