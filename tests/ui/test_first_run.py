"""Issue 14, item 13: a new hotel starts from the window alone, against the Beds24
simulator: connect Beds24 → first sync with progress and counts → lock provider → link;
then Sync now with the last result in the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.beds24 import Beds24Simulator, start_for_demo
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk
from mangodesk.ui.first_run import Beds24Dialog, Stage
from mangodesk.ui.linking import LinkDialog
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from tests.ui.conftest import close_desk, idle, make_desk


@pytest.fixture
def fresh_context(tmp_path: Path, secret_store: SecretStore,
                  clock: FixedClock) -> Iterator[Context]:
    """A real profile on its first start: nothing in it at all."""
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                            clock=clock, vendors=VendorRegistry([MANUAL_SPEC]))
    yield context
    context.close()


@pytest.fixture
def beds24(clock: FixedClock) -> Iterator[tuple[Beds24Simulator, dict[str, Any]]]:
    simulator, values = start_for_demo(clock.now().date(), rooms=6, clock=clock)
    yield simulator, values
    simulator.stop()


def open_dialog(qtbot: Any, kind: type[Any]) -> Any:
    found: list[Any] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, kind) and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible)
    return found[0]


def test_a_new_hotel_is_led_from_beds24_to_linked_units(
        qtbot: Any, fresh_context: Context,
        beds24: tuple[Beds24Simulator, dict[str, Any]]) -> None:
    _, values = beds24
    desk = make_desk_fresh(qtbot, fresh_context)
    try:
        window = desk.window
        banner = window.first_run_banner
        assert banner.isVisible() and banner.stage == Stage.PMS
        assert "Connect Beds24" in banner.button.text()
        assert window.setup_banner.isHidden()  # one step at a time
        banner.button.click()
        dialog = open_dialog(qtbot, Beds24Dialog)
        scopes = dialog.findChild(type(dialog.message), "scopes").text()
        assert "bookings-personal" in scopes and "properties" in scopes
        dialog.connect_button.click()  # nothing typed: said in words, nothing sent
        assert "Paste the invite code" in dialog.message.text()
        dialog.advanced.setChecked(True)
        dialog.server.setText(values["base_url"])
        dialog.invite.setText(values["invite_code"])
        seen: list[int] = []
        dialog._progress.moved.connect(lambda _pages, bookings: seen.append(bookings))
        with qtbot.waitSignal(dialog.synced, timeout=30_000) as synced:
            dialog.connect_button.click()
        result = synced.args[0]
        assert result.ok and result.bookings > 0
        assert seen and seen[-1] == result.bookings  # the counts moved while it ran
        assert dialog.counts.text().startswith(f"First sync done: {result.bookings} booking")
        units = dialog.report.units
        assert dialog.message.text().startswith("Connected: ")
        assert f"({units} units" in dialog.message.text()
        assert dialog.next_button.isVisible()
        qtbot.waitUntil(lambda: window.model.rowCount() == units)
        qtbot.waitUntil(lambda: window.setup_banner.isVisible())  # step 3: a lock provider
        assert banner.isHidden()
        dialog.next_button.click()
        wizard = open_dialog(qtbot, ConnectWizardDialog)
        manual = next(b for b in wizard.provider_group.buttons()
                      if b.objectName() == f"provider_{VendorKind.MANUAL}")
        manual.click()
        with qtbot.waitSignal(wizard.connected):
            wizard.next_button.click()
        wizard.next_button.click()  # Finish
        qtbot.waitUntil(lambda: banner.isVisible() and banner.stage == Stage.LINK)
        assert window.setup_banner.isHidden()
        banner.button.click()
        link = open_dialog(qtbot, LinkDialog)
        link.close()
        # Sync now, and the last sync's result in the status bar.
        window.sync_now_action.trigger()
        qtbot.waitUntil(lambda: "booking" in window.sync_label.text()
                        and window.sync_label.text().startswith("Synced"), timeout=30_000)
        assert "read (" in window.sync_label.text()
        idle(qtbot, desk.runner)
    finally:
        close_desk(qtbot, desk)


def make_desk_fresh(qtbot: Any, context: Context) -> Desk:
    """make_desk waits for rows; a fresh profile has none, so wait for the first load."""
    desk = Desk(context, use_tray=False)
    with qtbot.waitSignal(desk.window.units_loaded):
        desk.start()
    idle(qtbot, desk.runner)
    return desk


def test_a_seeded_hotel_does_not_see_the_first_run_banner(qtbot: Any, context: Context) -> None:
    desk = make_desk(qtbot, context)
    try:
        assert desk.window.first_run_banner.isHidden()
    finally:
        close_desk(qtbot, desk)
