"""``mangodesk --self-test``: a throwaway demo hotel proves an installation works."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mangodesk import assets
from mangodesk.ui.self_test import run_self_test

ROOT = Path(__file__).resolve().parents[2]


def _leftover_profiles() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("mangodesk-self-test-*")}


@pytest.mark.expect_log(
    r"does not support propagateSizeHints",
    logger="mangodesk.qt", optional=True)
def test_self_test_creates_and_revokes_a_code_and_cleans_up(qtbot: object) -> None:
    before = _leftover_profiles()
    out, err = io.StringIO(), io.StringIO()
    assert run_self_test(out, err) == 0
    assert err.getvalue() == ""
    lines = out.getvalue().splitlines()
    assert lines[-1] == "Mangodesk self-test passed."
    assert any(line.startswith("ok   create and revoke a code: created and revoked a code on")
               for line in lines)
    assert any(line.startswith("ok   demo hotel: connected ") and "ttlock" in line
               for line in lines)
    assert _leftover_profiles() == before


@pytest.mark.expect_log(r"self-test step 'shipped", level="ERROR", logger="mangodesk.ui")
def test_a_failing_step_is_named_on_stderr(qtbot: object,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assets, "REQUIRED", (*assets.REQUIRED, "icons/gone.svg"))
    out, err = io.StringIO(), io.StringIO()
    assert run_self_test(out, err) == 1
    assert err.getvalue() == ("mangodesk: self-test failed at “shipped files”: missing "
                              "shipped files: icons/gone.svg\n")
    assert "passed" not in out.getvalue()


def test_the_command_exits_0_with_nothing_on_stderr() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "mangodesk", "--self-test"], env=env,
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=tempfile.gettempdir())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("Mangodesk self-test passed.\n")
