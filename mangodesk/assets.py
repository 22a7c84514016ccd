"""The files the running app ships with (icons, vendor contracts, translations), read through
``importlib.resources`` so they are found the same way in a checkout, an installed wheel and
the one-folder build. Their sources live in the top-level ``resources/`` folder;
``scripts/build_resources.py`` copies what the app needs into ``mangodesk/resources``."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)

# Every file the app reads at run time; the self-test and --version check each is present.
REQUIRED = (
    "icons/mangodesk.svg",
    *(f"icons/mangodesk-{size}.png" for size in ICON_SIZES),
    "smartair/DoorsWebService.wsdl",
    "smartair/DoorsWebService.xsd",
    "smartair/GuestsWebService.wsdl",
    "smartair/GuestsWebService.xsd",
)


def resource(name: str) -> Traversable:
    """One shipped file by its path under ``mangodesk/resources`` (``/``-separated)."""
    node = resources.files("mangodesk").joinpath("resources")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node


def missing() -> list[str]:
    """The required files this installation lacks (empty when it is complete)."""
    return [name for name in REQUIRED if not resource(name).is_file()]


def translations() -> dict[str, Traversable]:
    """Compiled Qt translations shipped, by language code (``mangodesk_nb.qm`` → ``nb``)."""
    folder = resources.files("mangodesk").joinpath("resources", "translations")
    if not folder.is_dir():
        return {}
    found: dict[str, Traversable] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("mangodesk_") and entry.name.endswith(".qm"):
            found[entry.name[len("mangodesk_"):-len(".qm")]] = entry
    return found
