"""The shipped files: built from resources/ into package data, readable through
importlib.resources, and valid in their formats."""

from __future__ import annotations

import configparser
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mangodesk import assets

ROOT = Path(__file__).resolve().parents[2]


def test_package_data_is_what_the_resource_build_copies() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_resources.py"),
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_required_file_is_shipped_and_readable() -> None:
    assert assets.missing() == []
    for name in assets.REQUIRED:
        assert assets.resource(name).read_bytes(), name


def test_missing_shipped_files_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "REQUIRED", (*assets.REQUIRED, "icons/gone.png"))
    assert assets.missing() == ["icons/gone.png"]


def test_icon_sizes_are_real_pngs_of_their_size() -> None:
    for size in assets.ICON_SIZES:
        data = assets.resource(f"icons/mangodesk-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (size, size)


def test_windows_and_macos_icons_hold_every_size() -> None:
    ico = (ROOT / "resources" / "icons" / "mangodesk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 6
    sides = set()
    for index in range(count):
        side, _, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * index: 22 + 16 * index])
        assert ico[offset:offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + length <= len(ico)
        sides.add(side or 256)
    assert {16, 32, 48, 256} <= sides
    icns = (ROOT / "resources" / "icons" / "mangodesk.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    members, position = set(), 8
    while position < len(icns):
        members.add(icns[position:position + 4])
        position += struct.unpack(">I", icns[position + 4:position + 8])[0]
    assert {b"ic07", b"ic08", b"ic09", b"ic10"} <= members


def test_desktop_entry_and_appstream_metadata_agree() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(ROOT / "resources" / "linux" / "no.mangodesk.Mangodesk.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "mangodesk"
    assert desktop["Icon"] == "no.mangodesk.Mangodesk"
    meta = ET.parse(ROOT / "resources" / "linux" / "no.mangodesk.Mangodesk.metainfo.xml")  # noqa: S314 (our own file)
    component = meta.getroot()
    assert component.findtext("id") == "no.mangodesk.Mangodesk"
    assert component.findtext("launchable") == "no.mangodesk.Mangodesk.desktop"
    assert component.findtext("provides/binary") == "mangodesk"


def test_the_app_icon_comes_from_the_shipped_files(qtbot: object) -> None:
    from mangodesk.ui.notify import app_icon

    icon = app_icon()
    assert {s.width() for s in icon.availableSizes()} == set(assets.ICON_SIZES)
    with_alerts = app_icon(alerts=2).pixmap(64, 64).toImage()
    plain = icon.pixmap(64, 64).toImage()
    assert with_alerts != plain  # the red dot


def test_a_shipped_translation_for_the_system_language_is_used(
        qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QCoreApplication, QLocale
    from PySide6.QtWidgets import QApplication

    from mangodesk.ui import application

    source = tmp_path / "mangodesk_xx.ts"
    source.write_text(
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1">'
        "<context><name>MainWindow</name><message><source>Units</source>"
        "<translation>Enheter</translation></message></context></TS>")
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    subprocess.run([str(lrelease), "-silent", str(source), "-qm",
                    str(tmp_path / "mangodesk_xx.qm")], check=True)
    language = QLocale.system().name()
    monkeypatch.setattr(assets, "translations",
                        lambda: {language: tmp_path / "mangodesk_xx.qm"})
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = QCoreApplication.translate("MainWindow", "Units")
    application._install_translation(app)
    try:
        assert (before, QCoreApplication.translate("MainWindow", "Units")) == ("Units",
                                                                              "Enheter")
    finally:
        for translator in app.findChildren(application.QTranslator):
            app.removeTranslator(translator)
            translator.deleteLater()
