"""The core runs without Qt, as DESIGN promises: every module outside mangodesk.ui, and every
test module of the Qt-free test packages (the job run-tests runs with ``-p no:pytest-qt``),
imports without loading PySide6. import-linter checks the source; this checks what really loads
(a lazy import inside a function body is not caught here, only at module level). Alembic's
migration scripts are left out: they run only inside Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The test packages of the Qt-free job (run-tests names the same list).
QT_FREE_TEST_PACKAGES = ("app", "cli", "comms", "domain", "engine", "pms", "services", "store",
                         "vendors")

IMPORT_ALL = """
import importlib, pkgutil, sys
from pathlib import Path

import mangodesk

names = []
for info in pkgutil.walk_packages(mangodesk.__path__, "mangodesk."):
    if info.name.startswith(("mangodesk.ui", "mangodesk.__main__", "mangodesk.store.migrations")):
        continue
    names.append(info.name)
for package in sys.argv[1:]:
    for path in sorted(Path("tests/unit", package).glob("*.py")):
        names.append(".".join(path.with_suffix("").parts))
for name in names:
    importlib.import_module(name)
    if "PySide6" in sys.modules:
        sys.exit(f"importing {name} loaded PySide6")
print(len(names), "modules")
"""


def test_the_core_and_its_tests_import_without_pyside6() -> None:
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL, *QT_FREE_TEST_PACKAGES],
                            cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) > 100  # the walk found the packages and the tests
