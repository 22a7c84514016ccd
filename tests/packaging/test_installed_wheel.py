"""The wheel, installed into a fresh virtualenv outside the checkout, starts and finds every
shipped file through importlib.resources (never through paths relative to the checkout).

The fresh venv gets Mangodesk's wheel only; its dependencies come from the tested venv
through a ``.pth`` line (re-downloading Qt would take minutes and need the network). The
wheel is built with pip's build isolation from local package sources only (``file://``
indexes and find-links directories in pip's configuration), or without isolation when this
venv's setuptools is new enough; with neither, the test is skipped and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path

import pytest

from mangodesk import assets

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _local_pip_sources() -> list[str]:
    """pip options naming only the package sources pip has on this machine."""
    result = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, check=False)
    indexes, links = [], []
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        values = value.strip("'\"").split()
        if key.endswith(("index-url", "extra-index-url")):
            indexes += [v for v in values if v.startswith("file://")]
        elif key.endswith("find-links"):
            links += [v for v in values if Path(v).is_dir()]
    if not indexes and not links:
        return []
    options = (["--index-url", indexes[0]] if indexes else ["--no-index"])
    for extra in indexes[1:]:
        options += ["--extra-index-url", extra]
    for link in dict.fromkeys(links):
        options += ["--find-links", link]
    return options


def _build_wheel(source: Path, out: Path) -> Path:
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
            "-q", "-w", str(out)]
    if int(version("setuptools").split(".")[0]) >= 77:
        command = [*base, "--no-build-isolation", "--no-index", f"{source}{os.sep}"]
    else:
        sources = _local_pip_sources()
        if not sources:
            pytest.skip("cannot build the wheel offline: this venv's setuptools is older than "
                        "77 and pip has no local package source to build with")
        command = [*base, *sources, f"{source}{os.sep}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 and "No matching distribution" in result.stderr:
        pytest.skip(f"pip cannot build the wheel offline: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stderr
    [wheel] = out.glob("mangodesk-*.whl")
    return wheel


@pytest.mark.sqlite_only("packaging only: the PostgreSQL pass's site hook changes the "
                         "child interpreters pip installs into")
def test_installed_wheel_starts_and_finds_every_resource(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mangodesk", source / "mangodesk",
                    ignore=shutil.ignore_patterns("__pycache__"))
    wheel = _build_wheel(source, tmp_path / "wheels")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True)
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site / "tested-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    command = venv / ("Scripts/mangodesk.exe" if os.name == "nt" else "bin/mangodesk")
    run = tmp_path / "elsewhere"
    run.mkdir()
    result = subprocess.run([str(command), "--data-dir", str(run / "profile"), "--version"],
                            capture_output=True, text=True, cwd=run, env=env, timeout=120,
                            check=False)
    assert (result.returncode, result.stderr) == (0, "")
    installed = site / "mangodesk"
    assert f"Installed at {installed}\n" in result.stdout
    assert f"Shipped files: {len(assets.REQUIRED)} of {len(assets.REQUIRED)} found" in \
        result.stdout

    files = json.loads(subprocess.run(
        [str(python), "-c", "import json; from mangodesk import assets; "
         "print(json.dumps([str(assets.resource(n)) for n in assets.REQUIRED]))"],
        capture_output=True, text=True, cwd=run, env=env, check=True).stdout)
    assert all(Path(f).is_relative_to(installed) and Path(f).is_file() for f in files)
    assert (installed / "store" / "migrations" / "versions").is_dir()

    test = subprocess.run([str(command), "--self-test"], capture_output=True, text=True,
                          cwd=run, env=env, timeout=300, check=False)
    assert (test.returncode, test.stderr) == (0, "")
    assert test.stdout.endswith("Mangodesk self-test passed.\n")
