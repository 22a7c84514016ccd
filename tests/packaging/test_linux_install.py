"""packaging/linux/install.sh on a built folder: menu entry, icon, autostart in the tray, and
an uninstall that keeps the hotel's data unless --purge is given."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ID = "no.mangodesk.Mangodesk"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the Linux installer script")


def _built_folder(tmp_path: Path) -> Path:
    """What build-linux.sh leaves in dist/mangodesk, with a stand-in executable."""
    folder = tmp_path / "dist" / "mangodesk"
    folder.mkdir(parents=True)
    exe = folder / "mangodesk"
    exe.write_text("#!/bin/sh\necho stand-in\n")
    exe.chmod(0o755)
    for source in (ROOT / "resources" / "linux").iterdir():
        shutil.copy(source, folder)
    shutil.copy(ROOT / "resources" / "icons" / "mangodesk-256.png", folder / f"{ID}.png")
    shutil.copy(ROOT / "packaging" / "linux" / "install.sh", folder)
    return folder


def _run(folder: Path, home: Path, *args: str) -> str:
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    result = subprocess.run(["bash", str(folder / "install.sh"), *args], env=env,
                            capture_output=True, text=True, check=True)
    assert result.stderr == ""
    return result.stdout


def test_install_autostart_and_uninstall_keeping_data(tmp_path: Path) -> None:
    folder, home = _built_folder(tmp_path), tmp_path / "home"
    home.mkdir()
    _run(folder, home, "--autostart")
    lib = home / ".local" / "lib" / "mangodesk"
    entry = (home / ".local/share/applications" / f"{ID}.desktop").read_text()
    assert f"Exec={lib}/mangodesk %U" in entry
    assert (home / ".local/share/icons/hicolor/256x256/apps" / f"{ID}.png").is_file()
    autostart = (home / ".config/autostart" / f"{ID}.desktop").read_text()
    assert f"Exec={lib}/mangodesk --minimized\n" in autostart
    assert (home / ".local/bin/mangodesk").resolve() == (lib / "mangodesk").resolve()

    data = home / ".local/share/Mangodesk"
    data.mkdir()
    (data / "mangodesk.sqlite").write_text("the hotel's bookings")
    said = _run(folder, home, "--uninstall")
    assert "the hotel's data and logs were kept" in said
    assert not lib.exists() and not (home / ".config/autostart" / f"{ID}.desktop").exists()
    assert (data / "mangodesk.sqlite").read_text() == "the hotel's bookings"

    _run(folder, home)
    assert "its data were removed" in _run(folder, home, "--uninstall", "--purge")
    assert not data.exists()
