"""The always-on service for real: ``mangodesk run`` in its own process answers the health
endpoint on 127.0.0.1, ``mangodesk status`` names it as the leader, a second ``run`` on the same
database stands by, and after ``run --stop`` monitoring sees critical."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mangodesk.__main__ import main
from mangodesk.paths import Paths

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


def start_run(base: Path, log: Path, port: int) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mangodesk", "--data-dir", str(base), "run",
             "--health-port", str(port)],
            cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)


def health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def wait_for(check: Any, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out; service log:\n{log.read_text(errors='replace')}")


@pytest.mark.slow
def test_the_service_is_seen_running_leading_and_then_stopped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "service"
    paths = Paths.under(base)
    paths.ensure()
    paths.settings_file.write_text(json.dumps({"tick_seconds": 1}), encoding="utf-8")
    log = tmp_path / "run.log"
    first_port, second_port = free_port(), free_port()
    first = start_run(base, log, first_port)
    second: subprocess.Popen[bytes] | None = None
    try:
        _code, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
            health(first_port)), 60, log)
        assert body["status"] == "ok" and body["leader"]["kind"] == "service"
        assert body["leader"]["pid"] == first.pid
        assert body["leader"]["health_url"] == f"http://127.0.0.1:{first_port}/health"
        # A second service on the same database stands by.
        second = start_run(base, log, second_port)
        # Both rows present, and the leader's row stamped "leading" (its heartbeat writes that
        # right after it takes the lead: under load, a moment after the lease).
        wait_for(lambda: (lambda processes: len(processes) == 2 and any(
            p["leading"] for p in processes))(health(second_port)[1]["processes"]), 60, log)
        assert main(["--data-dir", str(base), "status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["leader"]["pid"] == first.pid
        assert sorted(p["leading"] for p in status["processes"]) == [False, True]
        assert main(["--data-dir", str(base), "status"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("Status: OK") and "Standing by: the service on" in out
        assert urllib.request.urlopen(
            f"http://127.0.0.1:{first_port}/health").headers["Content-Type"] \
            == "application/json"
    finally:
        if second is not None:
            second.terminate()  # SIGTERM: a clean stop, like systemctl stop
            second.wait(timeout=60)
        assert main(["--data-dir", str(base), "run", "--stop"]) == 0
        for process in (first,):
            if process is not None:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    assert first.returncode == 0, log.read_text(errors="replace")
    assert second is not None and second.returncode == 0
    capsys.readouterr()
    assert main(["--data-dir", str(base), "status", "--json"]) == 2
    after = json.loads(capsys.readouterr().out)
    assert after["status"] == "critical" and after["processes"] == []
    assert "Health endpoint for monitoring" in log.read_text(errors="replace")
