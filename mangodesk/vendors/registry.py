"""Which providers exist. The composition root builds one and may replace factories (tests).

Providers shipped with the app are listed in :data:`BUILT_IN` and need nothing installed.
Other providers come from installed packages the standard way: an entry point in the
``mangodesk.providers`` group naming a :class:`ProviderSpec` (or a list of them), e.g. in
the plug-in's ``pyproject.toml``::

    [project.entry-points."mangodesk.providers"]
    acme = "acme_locks.mangodesk:ACME_SPEC"

A plug-in that cannot be loaded is logged with what to do and left out; the rest still load.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import ConnectionConfig, ProviderSpec, VendorAdapter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mangodesk.providers"

# Where each shipped provider lives, in the order the wizard offers them. A registry built
# with ``lazy`` imports a provider's module only when that provider is asked for, so a CLI
# command that talks to no lock starts without the HTTP and SOAP clients. pyproject.toml
# declares the same places as entry points; discovery skips those (they are known here
# whether or not the installed metadata is current).
BUILT_IN: dict[VendorKind, tuple[str, str]] = {
    VendorKind.MANUAL: ("mangodesk.vendors.manual", "MANUAL_SPEC"),
    VendorKind.TTLOCK: ("mangodesk.vendors.ttlock", "TTLOCK_SPEC"),
    VendorKind.FLEXIPASS: ("mangodesk.vendors.flexipass", "FLEXIPASS_SPEC"),
    VendorKind.INLET: ("mangodesk.vendors.inlet", "INLET_SPEC"),
    VendorKind.SMARTAIR: ("mangodesk.vendors.smartair", "SMARTAIR_SPEC"),
}


class VendorRegistry:
    def __init__(self, specs: Iterable[ProviderSpec] = (), *,
                 lazy: Mapping[VendorKind, tuple[str, str]] | None = None,
                 plugins: Callable[[], Iterable[ProviderSpec]] | None = None) -> None:
        """``plugins`` finds further providers; it runs once, at the first question, and a
        provider it finds replaces one of the same kind."""
        self._specs: dict[VendorKind, ProviderSpec] = {}
        self._lazy: dict[VendorKind, tuple[str, str]] = dict(lazy or {})
        self._order: list[VendorKind] = list(self._lazy)
        self._plugins: Callable[[], Iterable[ProviderSpec]] | None = None
        for spec in specs:
            self.register(spec)
        self._plugins = plugins

    def register(self, spec: ProviderSpec) -> None:
        """Add a provider; one of the same kind (built in, plug-in or not) is replaced in
        place."""
        self._discover()
        self._specs[spec.kind] = spec
        self._lazy.pop(spec.kind, None)
        if spec.kind not in self._order:
            self._order.append(spec.kind)

    def spec(self, kind: VendorKind) -> ProviderSpec:
        self._discover()
        if kind in self._lazy:
            self._load(kind)
        try:
            return self._specs[kind]
        except KeyError:
            raise NotFoundError(
                f"The lock provider “{kind}” is not available in this version."
            ) from None

    def specs(self) -> list[ProviderSpec]:
        self._discover()
        for kind in list(self._lazy):
            self._load(kind)
        return [self._specs[kind] for kind in self._order]

    def adapter(self, config: ConnectionConfig) -> VendorAdapter:
        return self.spec(config.kind).factory(config)

    def _discover(self) -> None:
        plugins, self._plugins = self._plugins, None
        for spec in plugins() if plugins is not None else ():
            self.register(spec)

    def _load(self, kind: VendorKind) -> None:
        module_name, attribute = self._lazy.pop(kind)
        spec = getattr(importlib.import_module(module_name), attribute)
        self._specs[kind] = spec


def default_registry() -> VendorRegistry:
    """The shipped providers (loaded on first use) and any installed plug-ins."""
    return VendorRegistry(lazy=BUILT_IN, plugins=plugin_specs)


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
    product text: Manual, TTLock, Flexipass, Inlet, TESA Smartair), then installed plug-ins."""
    from mangodesk.vendors.flexipass import FLEXIPASS_SPEC
    from mangodesk.vendors.inlet import INLET_SPEC
    from mangodesk.vendors.manual import MANUAL_SPEC
    from mangodesk.vendors.smartair import SMARTAIR_SPEC
    from mangodesk.vendors.ttlock import TTLOCK_SPEC

    return [MANUAL_SPEC, TTLOCK_SPEC, FLEXIPASS_SPEC, INLET_SPEC, SMARTAIR_SPEC, *plugin_specs()]


def plugin_specs() -> list[ProviderSpec]:
    """Providers from installed packages' ``mangodesk.providers`` entry points (the shipped
    ones excepted: they are in :data:`BUILT_IN`). A plug-in replaces a built-in provider of
    the same kind. One that fails to load is logged and left out."""
    shipped = {f"{module}:{attribute}" for module, attribute in BUILT_IN.values()}
    found: list[ProviderSpec] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.value.replace(" ", "") in shipped:
            continue
        found.extend(_load_plugin(entry))
    return found


def _load_plugin(entry: EntryPoint) -> list[ProviderSpec]:
    package = entry.dist.name if entry.dist is not None else "an unknown package"
    fix = (f"The other lock providers still work. Update or uninstall the package "
           f"“{package}”, then start Mangodesk again.")
    try:
        value = entry.load()
    except Exception as exc:
        log.error("The lock provider plug-in “%s” (%s) could not be loaded: %s: %s. %s",
                  entry.name, entry.value, type(exc).__name__, exc, fix, exc_info=True)
        return []
    specs = list(value) if isinstance(value, list | tuple) else [value]
    if not specs or not all(isinstance(spec, ProviderSpec) for spec in specs):
        log.error("The lock provider plug-in “%s” (%s) does not name a lock provider (a "
                  "ProviderSpec or a list of them). %s", entry.name, entry.value, fix)
        return []
    return specs
