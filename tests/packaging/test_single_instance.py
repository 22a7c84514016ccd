"""One desk per profile: a second launch brings the running desk to the front, hands it its
request (open a unit) and exits 0 without opening the database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from mangodesk.app import Context, DeskOptions, build_context
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk, desk_request, run_gui
from mangodesk.ui.passcodes import PasscodesDialog
from mangodesk.ui.single_instance import InstanceServer, instance_name, send_to_running
from tests.database_switch import child_pythonpath

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def profile(tmp_path: Path) -> Paths:
    return Paths.under(tmp_path / "profile")


@pytest.fixture
def context(profile: Paths, secret_store: SecretStore) -> Iterator[Context]:
    context = build_context(profile, Settings(), secrets=secret_store, actor="tester")
    now = context.clock.now()
    seed_hotel(context, now)
    seed_manual_locks(context, now)
    yield context
    context.close()


@pytest.fixture
def server(qtbot: Any, profile: Paths) -> Iterator[InstanceServer]:
    server = InstanceServer(instance_name(profile))
    assert server.listen()
    yield server
    server.close()


def _second_launch(profile: Paths, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": child_pythonpath(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen(
        [sys.executable, "-m", "mangodesk", "--data-dir", str(profile.data_dir.parent), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_launch_raises_the_desk_and_opens_the_unit(
        qtbot: Any, context: Context, server: InstanceServer, profile: Paths) -> None:
    desk = Desk(context, use_tray=False)
    server.request_received.connect(desk.handle_request)
    desk.start()
    qtbot.waitUntil(lambda: desk.runner.running == 0 and desk.window.model.rowCount() > 0)
    desk.window.hide()  # minimised to the tray
    try:
        with qtbot.waitSignal(server.request_received, timeout=60_000) as received:
            launch = _second_launch(profile, "--unit", "Room 102")
            qtbot.waitUntil(lambda: launch.poll() is not None, timeout=60_000)
        _, errors = launch.communicate(timeout=10)
        assert launch.returncode == 0
        assert errors == ""
        assert received.args == [{"command": "show", "unit": "Room 102"}]
        assert desk.window.isVisible()
        current = desk.window.current_unit()
        assert current is not None and current.name == "Room 102"
        dialogs = [w for w in desk.window.findChildren(PasscodesDialog) if w.isVisible()]
        assert len(dialogs) == 1
    finally:
        for dialog in desk.window.findChildren(PasscodesDialog):
            dialog.close()
        qtbot.waitUntil(lambda: desk.runner.running == 0)
        desk.close()


def test_a_second_launch_naming_no_unit_only_shows_the_desk(
        qtbot: Any, server: InstanceServer, profile: Paths) -> None:
    with qtbot.waitSignal(server.request_received, timeout=60_000) as received:
        launch = _second_launch(profile)
        qtbot.waitUntil(lambda: launch.poll() is not None, timeout=60_000)
    _, errors = launch.communicate(timeout=10)
    assert (launch.returncode, errors) == (0, "")
    assert received.args == [{"command": "show"}]
    assert not profile.database_file.exists()  # it never opened the database


def test_an_unknown_unit_is_said_in_the_status_bar(qtbot: Any, context: Context) -> None:
    desk = Desk(context, use_tray=False)
    desk.start()
    qtbot.waitUntil(lambda: desk.runner.running == 0 and desk.window.model.rowCount() > 0)
    try:
        desk.handle_request({"command": "show", "unit": "Room 999"})
        assert desk.window.statusBar().currentMessage() == "There is no unit called “Room 999”."
    finally:
        desk.close()


def test_nobody_listening_means_this_launch_becomes_the_desk(qtbot: Any,
                                                             profile: Paths) -> None:
    name = instance_name(profile)
    assert send_to_running(name, {"command": "show"}, timeout_ms=300) is False
    stale = QLocalServer()  # a name left behind by a desk that crashed
    assert stale.listen(name)
    stale.close()
    server = InstanceServer(name)
    try:
        assert server.listen()
    finally:
        server.close()


def test_profiles_and_users_do_not_share_a_desk(tmp_path: Path) -> None:
    first = instance_name(Paths.under(tmp_path / "a"))
    assert first == instance_name(Paths.under(tmp_path / "a"))
    assert first != instance_name(Paths.under(tmp_path / "b"))
    assert first.startswith("mangodesk-") and len(first) < 60  # fits a socket path


@pytest.mark.expect_log(r"ignored an unreadable request from another launch", logger="mangodesk.ui")
def test_unreadable_requests_are_ignored(qtbot: Any, server: InstanceServer) -> None:
    received: list[dict[str, Any]] = []
    server.request_received.connect(received.append)
    socket = QLocalSocket()
    socket.connectToServer(server.name)
    assert socket.waitForConnected(1000)
    socket.write(b"[1, 2]\n")
    qtbot.waitUntil(lambda: socket.bytesAvailable() > 0 or socket.waitForReadyRead(10))
    assert bytes(socket.readAll().data()) == b"unreadable\n"
    socket.disconnectFromServer()
    assert received == []


def test_run_gui_hands_over_without_opening_the_database(
        qtbot: Any, server: InstanceServer, profile: Paths,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: the request is sent, and nothing else starts."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def fake_send(name: str, message: dict[str, Any], timeout_ms: int = 0) -> bool:
        sent.append((name, message))
        return True

    monkeypatch.setattr("mangodesk.ui.application.send_to_running", fake_send)
    monkeypatch.setattr("mangodesk.ui.application.build_context",
                        lambda *a, **k: pytest.fail("the second launch opened the database"))
    assert run_gui(profile, Settings(), DeskOptions(unit="Room 101")) == 0
    assert sent == [(server.name, desk_request(DeskOptions(unit="Room 101")))]
