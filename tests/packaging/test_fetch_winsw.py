"""packaging/windows/fetch_winsw.py: the Windows service wrapper is one pinned WinSW release,
used only when its SHA-256 is the pinned one (checked here on local files, no network)."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "packaging" / "windows"


def _fetch_winsw() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_winsw", WINDOWS / "fetch_winsw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_file_with_another_checksum_is_refused_and_nothing_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch = _fetch_winsw()
    impostor = tmp_path / "WinSW-x64.exe"
    impostor.write_bytes(b"MZ not the pinned WinSW")
    target = tmp_path / "out" / "WinSW-x64.exe"
    target.parent.mkdir()
    target.write_bytes(b"a wrong copy from an earlier build")

    assert fetch.main(["--from", str(impostor), "--target", str(target)]) == 1

    message = capsys.readouterr().err
    assert f"is not WinSW {fetch.VERSION}" in message
    assert hashlib.sha256(impostor.read_bytes()).hexdigest() in message
    assert fetch.SHA256 in message
    assert list(target.parent.iterdir()) == []  # neither the impostor nor the stale copy


def test_a_file_with_the_pinned_checksum_is_put_in_place(tmp_path: Path) -> None:
    fetch = _fetch_winsw()
    wrapper = tmp_path / "download"
    wrapper.write_bytes(b"stands in for the release asset")
    target = tmp_path / "WinSW-x64.exe"

    fetch.install_verified(wrapper, target, hashlib.sha256(wrapper.read_bytes()).hexdigest())

    assert target.read_bytes() == wrapper.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WinSW-x64.exe", "download"]


def test_the_pin_is_one_exact_release_and_the_installer_names_the_script() -> None:
    fetch = _fetch_winsw()
    assert re.fullmatch(r"\d+\.\d+\.\d+", fetch.VERSION)
    assert fetch.URL.startswith("https://github.com/winsw/winsw/releases/download/")
    assert fetch.URL.endswith(f"/v{fetch.VERSION}/WinSW-x64.exe")
    assert re.fullmatch(r"[0-9a-f]{64}", fetch.SHA256)
    iss = (WINDOWS / "mangodesk.iss").read_text(encoding="utf-8")
    assert "packaging\\windows\\fetch_winsw.py" in iss
