"""packaging/constraints.txt pins the venv the tests run in; a build refuses a venv that
differs, naming each difference."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _check_pins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_pins", ROOT / "scripts" / "check_pins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tested_venv_matches_the_pins() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_pins.py")],
                            capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (0, "")


def test_pins_name_the_versions_that_matter_and_not_mangodesk() -> None:
    lines = [line.lower() for line in
             (ROOT / "packaging" / "constraints.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    names = {line.partition("==")[0].replace("_", "-") for line in lines}
    assert {"pyside6-essentials", "sqlalchemy", "alembic", "httpx", "zeep",
            "pyinstaller"} <= names
    assert all("==" in line for line in lines)
    assert not [name for name in names if name.startswith("mangodesk")]


def test_a_different_version_is_named(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pinned\nSQLAlchemy==1.0.0\nno-such-package==1.2\n")
    assert _check_pins().differences(constraints)[0].startswith("SQLAlchemy: pinned 1.0.0, "
                                                                "installed 2.")
    assert _check_pins().differences(constraints)[1] == ("no-such-package: pinned 1.2, "
                                                         "installed nothing")
