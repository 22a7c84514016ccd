"""``mangodesk --version``: every version a support call needs, and the shipped files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion

from mangodesk import assets
from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.db import schema_heads
from mangodesk.store.secrets import MemoryKeyring, SecretStore


def test_version_names_qt_pyside_sqlalchemy_and_the_schema(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--data-dir", str(tmp_path), "--version"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("Mangodesk 0.1.0\n")
    assert f"Qt {qVersion()}\n" in out
    assert f"PySide6 {pyside_version}\n" in out
    assert f"SQLAlchemy {sqlalchemy.__version__}\n" in out
    assert re.search(r"^Database schema 0\d{3}_\w+$", out, re.M)
    assert f"Database schema {schema_heads()[0]}\n" in out
    assert f"Shipped files: {len(assets.REQUIRED)} of {len(assets.REQUIRED)} found" in out
    assert "This profile's database" not in out  # none created yet, and none created now
    assert not (tmp_path / "data").exists()


@pytest.mark.sqlite_only("--version reads the SQLite file's revision without opening a database")
def test_version_shows_the_profiles_database_revision(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    context = build_context(Paths.under(tmp_path), Settings(),
                            secrets=SecretStore(MemoryKeyring()))
    context.close()
    assert main(["--data-dir", str(tmp_path), "--version"]) == 0
    out = capsys.readouterr().out
    assert f"This profile's database: schema {schema_heads()[0]}" in out


def test_an_incomplete_installation_says_what_is_missing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setattr(assets, "REQUIRED", (*assets.REQUIRED, "smartair/Gone.wsdl"))
    assert main(["--data-dir", str(tmp_path), "--version"]) == 1
    out, err = capsys.readouterr()
    assert "Mangodesk 0.1.0" in out
    assert err == ("mangodesk: This installation is incomplete; missing: smartair/Gone.wsdl. "
                   "Install Mangodesk again.\n")
