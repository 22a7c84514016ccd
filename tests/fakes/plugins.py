"""Installed distributions made for a test: a ``*.dist-info`` folder with ``METADATA`` and
``entry_points.txt`` is all ``importlib.metadata`` needs to list a package's entry points
once the folder that holds it is on ``sys.path``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mangodesk.vendors.registry import ENTRY_POINT_GROUP

# Holds the distribution that offers tests.fakes.http_vendor:SPEC (it replaces TTLock) to
# a mangodesk process started with this folder on PYTHONPATH (the crash tests).
FAKE_HTTP_VENDOR_SITE = Path(__file__).resolve().parent / "provider_site"


def write_distribution(site: Path, name: str, entry_points: Mapping[str, str],
                       group: str = ENTRY_POINT_GROUP) -> Path:
    """Write distribution ``name`` 1.0 under ``site`` with ``entry_points`` (name → value)
    in ``group``; returns its dist-info folder."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    lines = [f"[{group}]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return info
