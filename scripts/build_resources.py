#!/usr/bin/env python3
"""Build the app's shipped files from the top-level ``resources/`` sources.

1. Render ``resources/icons/mangodesk.svg`` to PNG sizes, a Windows ``.ico`` and a macOS
   ``.icns`` (PNG-in-container formats, written here so the output does not depend on which
   Qt image plugins are installed).
2. Compile ``resources/translations/*.ts`` to ``.qm`` (with ``pyside6-lrelease``).
3. Copy what the running app reads into ``mangodesk/resources`` (package data).

``--check`` changes nothing and exits 1 if the package data is not what a build would copy
(tests and CI run it so a changed source cannot ship stale).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "resources"
PACKAGE = ROOT / "mangodesk" / "resources"
RENDER_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256,
              b"ic09": 512, b"ic10": 1024}
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_icons() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SOURCES / "icons" / "mangodesk.svg"))
    if not renderer.isValid():
        raise SystemExit("resources/icons/mangodesk.svg is not a valid SVG")
    pngs: dict[int, bytes] = {}
    for size in RENDER_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        pngs[size] = bytes(data.data())
        (SOURCES / "icons" / f"mangodesk-{size}.png").write_bytes(pngs[size])
    (SOURCES / "icons" / "mangodesk.ico").write_bytes(ico(pngs))
    (SOURCES / "icons" / "mangodesk.icns").write_bytes(icns(pngs))
    del app


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows icon holding PNG images (supported since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(ICO_SIZES))
    offset = len(header) + 16 * len(ICO_SIZES)
    entries, blobs = b"", b""
    for size in ICO_SIZES:
        data = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS icon family of PNG-encoded members."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
                    for kind, size in ICNS_TYPES.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def compile_translations() -> list[Path]:
    sources = sorted((SOURCES / "translations").glob("*.ts"))
    if not sources:
        return []
    lrelease = shutil.which("pyside6-lrelease") or str(Path(sys.executable).parent /
                                                        "pyside6-lrelease")
    out = []
    for source in sources:
        target = source.with_suffix(".qm")
        subprocess.run([lrelease, "-silent", str(source), "-qm", str(target)],  # noqa: S603
                       check=True)
        out.append(target)
    return out


def package_files() -> dict[str, Path]:
    """What the running app needs, by its path under ``mangodesk/resources``."""
    files = {"icons/mangodesk.svg": SOURCES / "icons" / "mangodesk.svg"}
    for size in APP_ICON_SIZES:
        files[f"icons/mangodesk-{size}.png"] = SOURCES / "icons" / f"mangodesk-{size}.png"
    for path in sorted((SOURCES / "smartair").iterdir()):
        files[f"smartair/{path.name}"] = path
    for path in sorted((SOURCES / "translations").glob("*.qm")):
        files[f"translations/{path.name}"] = path
    return files


def stale() -> list[str]:
    """Package-data files missing, different from their source, or no longer wanted."""
    wanted = package_files()
    problems = [name for name, source in wanted.items()
                if not (PACKAGE / name).is_file()
                or not filecmp.cmp(source, PACKAGE / name, shallow=False)]
    present = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file()}
    problems += sorted(present - set(wanted))
    return problems


def copy_to_package() -> None:
    if PACKAGE.exists():
        shutil.rmtree(PACKAGE)
    for name, source in package_files().items():
        target = PACKAGE / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check the package data is up to date")
    args = parser.parse_args()
    if args.check:
        problems = stale()
        for name in problems:
            print(f"mangodesk/resources/{name} is out of date; run scripts/build_resources.py",
                  file=sys.stderr)
        return 1 if problems else 0
    render_icons()
    compile_translations()
    copy_to_package()
    print(f"built {len(package_files())} files into {PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
