"""``mangodesk --minimized`` (what autostart runs): only the tray icon when there is a tray;
never an invisible desk when there is none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mangodesk.app import Context, build_context
from mangodesk.cli import build_parser
from mangodesk.demo import seed_hotel
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk
from tests.packaging.conftest import OFFSCREEN_NOISE


@pytest.fixture
def context(tmp_path: Path, secret_store: SecretStore) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store)
    seed_hotel(context, context.clock.now())
    yield context
    context.close()


def test_minimized_without_a_tray_still_shows_the_window(qtbot: Any, context: Context) -> None:
    desk = Desk(context, use_tray=False)
    try:
        desk.start(minimized=True)
        assert desk.window.isVisible()
        qtbot.waitUntil(lambda: desk.runner.running == 0)
    finally:
        desk.close()


@pytest.mark.qt_log_ignore(  # the offscreen platform has no real tray to attach to
    rf"{OFFSCREEN_NOISE}|No such signal QPlatformNativeInterface::systemTrayWindowChanged")
def test_minimized_with_a_tray_shows_only_the_tray(qtbot: Any, context: Context,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mangodesk.ui.application.tray_available", lambda: True)
    desk = Desk(context, use_tray=True)
    try:
        desk.start(minimized=True)
        assert desk.tray is not None and not desk.window.isVisible()
        qtbot.waitUntil(lambda: desk.runner.running == 0)
        desk.handle_request({"command": "show"})  # the menu entry clicked again
        assert desk.window.isVisible()
    finally:
        desk.close()


def test_the_command_line_knows_minimized_and_unit() -> None:
    args = build_parser().parse_args(["--minimized", "--unit", "Room 101"])
    assert (args.minimized, args.open_unit, args.command) == (True, "Room 101", None)
