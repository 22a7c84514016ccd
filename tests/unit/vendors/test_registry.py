"""Lock providers are found the standard way: the shipped ones from the registry's own list,
others from installed packages' ``mangodesk.providers`` entry points. Each test installs
made-up distributions (a ``*.dist-info`` folder on ``sys.path``), as pip would."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import mangodesk.vendors.registry as registry_module
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.registry import (
    BUILT_IN,
    VendorRegistry,
    default_registry,
    plugin_specs,
)
from tests.fakes import http_vendor
from tests.fakes.plugins import write_distribution

SHIPPED_ORDER = list(BUILT_IN)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for made-up installed packages (and their modules)."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("made_up_"):
            del sys.modules[name]


def test_an_installed_plugin_replaces_the_shipped_provider_of_its_kind(site: Path) -> None:
    write_distribution(site, "acme_locks", {"acme": "tests.fakes.http_vendor:SPEC"})

    registry = default_registry()

    assert registry.spec(VendorKind.TTLOCK) is http_vendor.SPEC
    assert [spec.kind for spec in registry.specs()] == SHIPPED_ORDER  # same place in the list


def test_a_plugin_may_name_a_list_of_providers(site: Path) -> None:
    (site / "made_up_pair.py").write_text(
        "from tests.fakes.http_vendor import SPEC\nSPECS = [SPEC]\n", encoding="utf-8")
    write_distribution(site, "pair_locks", {"pair": "made_up_pair:SPECS"})

    assert plugin_specs() == [http_vendor.SPEC]


@pytest.mark.expect_log(
    r"The lock provider plug\-in “missing” \(made_up_module_that_is_not_instal",
    level="ERROR", logger="mangodesk.vendors.registry")
@pytest.mark.expect_log(
    r"The lock provider plug\-in “crashing” \(made_up_crashing:SPEC\) could not",
    level="ERROR", logger="mangodesk.vendors.registry")
@pytest.mark.expect_log(
    r"The lock provider plug\-in “wrong” \(made_up_not_a_spec:SPEC\) does not n",
    level="ERROR", logger="mangodesk.vendors.registry")
def test_a_broken_plugin_is_logged_with_what_to_do_and_the_rest_still_load(
        site: Path, caplog: pytest.LogCaptureFixture) -> None:
    (site / "made_up_crashing.py").write_text(
        "raise RuntimeError('acme driver needs a newer firmware table')\n", encoding="utf-8")
    (site / "made_up_not_a_spec.py").write_text("SPEC = 'a string'\n", encoding="utf-8")
    write_distribution(site, "broken_locks", {
        "missing": "made_up_module_that_is_not_installed:SPEC",
        "crashing": "made_up_crashing:SPEC",
        "wrong": "made_up_not_a_spec:SPEC",
    })
    write_distribution(site, "good_locks", {"good": "tests.fakes.http_vendor:SPEC"})

    with caplog.at_level(logging.ERROR, logger="mangodesk.vendors.registry"):
        registry = default_registry()
        kinds = [spec.kind for spec in registry.specs()]

    assert kinds == SHIPPED_ORDER
    assert registry.spec(VendorKind.TTLOCK) is http_vendor.SPEC  # the good plug-in
    assert registry.spec(VendorKind.MANUAL).display_name  # the shipped ones
    messages = {record.getMessage() for record in caplog.records}
    assert len(messages) == 3
    for name, why in [("missing", "ModuleNotFoundError"),
                      ("crashing", "acme driver needs a newer firmware table"),
                      ("wrong", "does not name a lock provider")]:
        said = next(m for m in messages if f"“{name}”" in m)
        assert why in said
        assert "The other lock providers still work" in said
        assert "“broken_locks”" in said  # the package to update or remove


def test_entry_points_of_the_shipped_providers_are_not_loaded_twice(site: Path) -> None:
    """Once mangodesk itself is installed with its entry points, discovery sees them too;
    they stay the registry's lazily loaded built-ins."""
    write_distribution(site, "mangodesk_copy", {
        kind.value: f"{module}:{attribute}" for kind, (module, attribute) in BUILT_IN.items()})

    assert plugin_specs() == []


def test_the_shipped_providers_need_no_installed_metadata(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "entry_points", lambda **_: [])

    registry = default_registry()

    assert [spec.kind for spec in registry.specs()] == SHIPPED_ORDER
    assert registry.spec(VendorKind.SMARTAIR).display_name == "TESA Smartair"


def test_plugins_are_looked_for_once_at_the_first_question(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the registry scans nothing (a CLI command that asks no provider stays
    quick); the first question scans once."""
    scans: list[str] = []

    def entry_points(*, group: str) -> list[object]:
        scans.append(group)
        return []

    monkeypatch.setattr(registry_module, "entry_points", entry_points)

    registry = default_registry()
    assert scans == []
    registry.spec(VendorKind.MANUAL)
    registry.specs()
    assert scans == ["mangodesk.providers"]


def test_a_provider_registered_by_the_composition_root_wins_over_a_plugin(site: Path) -> None:
    write_distribution(site, "acme_locks", {"acme": "tests.fakes.http_vendor:SPEC"})
    registry = VendorRegistry(lazy=BUILT_IN, plugins=plugin_specs)
    from mangodesk.vendors.ttlock import TTLOCK_SPEC

    registry.register(TTLOCK_SPEC)

    assert registry.spec(VendorKind.TTLOCK) is TTLOCK_SPEC


def test_the_old_environment_variable_imports_nothing(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MANGODESK_PROVIDER_PLUGINS used to import any module it named; it is not read."""
    marker = site / "imported.txt"
    (site / "made_up_env_plugin.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "from tests.fakes.http_vendor import SPEC\n", encoding="utf-8")
    monkeypatch.setenv("MANGODESK_PROVIDER_PLUGINS", "made_up_env_plugin:SPEC")

    registry = default_registry()
    specs = registry.specs()

    assert not marker.exists()
    assert "made_up_env_plugin" not in sys.modules
    assert http_vendor.SPEC not in specs
    assert plugin_specs() == []
