"""Issue 14.14 and 14.15: TTLock asks staff only for username and password (the Open
Platform app belongs to the installation, under Advanced), and every hint points at a
control that exists (Smartair's plain HTTP switch, TTLock's "already hashed" switch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QRadioButton

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.services.wizard import WizardStep
from mangodesk.settings import Settings
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from mangodesk.vendors.registry import VendorRegistry, default_specs
from tests.fakes.hotel import build_hotel
from tests.ui.conftest import close_desk, make_desk


@pytest.fixture
def real_context(tmp_path: Path, secret_store: SecretStore,
                 clock: FixedClock) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                            clock=clock, vendors=VendorRegistry(default_specs()))
    build_hotel(context, clock.now())
    yield context
    context.close()


@pytest.fixture
def real_desk(qtbot: Any, real_context: Context) -> Iterator[Desk]:
    desk = make_desk(qtbot, real_context)
    yield desk
    close_desk(qtbot, desk)


@pytest.fixture
def ttlock() -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator().start()
    yield simulator
    simulator.stop()


def open_credentials(desk: Desk, kind: VendorKind) -> ConnectWizardDialog:
    dialog = desk.window.get_started()
    button = dialog.findChild(QRadioButton, f"provider_{kind}")
    assert button is not None
    button.click()
    dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.CREDENTIALS
    return dialog


def visible_fields(dialog: ConnectWizardDialog) -> list[str]:
    shown = {**dialog.inputs, **dialog.switches}
    return sorted(name for name, widget in shown.items() if widget.isVisible())


def test_staff_type_only_username_and_password_once_the_installation_has_its_app(
        qtbot: Any, real_desk: Desk, ttlock: TTLockSimulator) -> None:
    values = ttlock.connection_values()
    # The IT person's first connection: the Open Platform app is asked for, under Advanced.
    first = open_credentials(real_desk, VendorKind.TTLOCK)
    assert first.advanced_box.isVisible(), "nothing known yet: Advanced opens by itself"
    for name in ("client_id", "client_secret", "api_base"):
        assert first.advanced_box.isAncestorOf(first.inputs[name])
    for name, value in values.items():
        first.inputs[name].setText("")
        qtbot.keyClicks(first.inputs[name], value)
    with qtbot.waitSignal(first.connected, timeout=30_000):
        first.next_button.click()
    first.close()

    # A second account of the same hotel: staff see username and password only.
    ttlock.username, ttlock.password = "annex@hotel.example", "annex-password"
    dialog = open_credentials(real_desk, VendorKind.TTLOCK)
    assert not dialog.advanced_box.isVisible()
    assert visible_fields(dialog) == ["password", "username"]
    qtbot.keyClicks(dialog.inputs["username"], "annex@hotel.example")
    qtbot.keyClicks(dialog.inputs["password"], "annex-password")
    with qtbot.waitSignal(dialog.connected, timeout=30_000):
        dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.DONE, dialog.message.text()
    connections = real_desk.context.services.connections.list()
    assert sorted(c.settings["username"] for c in connections) == [
        "annex@hotel.example", values["username"]]
    dialog.close()


def test_smartair_plain_http_hint_points_at_a_switch_in_the_wizard(
        qtbot: Any, real_desk: Desk) -> None:
    from mangodesk.vendors.smartair.transport import parse_server_address

    with pytest.raises(Exception) as refused:
        parse_server_address("http://10.0.0.5:8080", {})
    fix = str(refused.value)
    assert "“Plain HTTP” under Advanced" in fix
    dialog = open_credentials(real_desk, VendorKind.SMARTAIR)
    switch = dialog.switches["use_http"]
    assert isinstance(switch, QCheckBox) and switch.text().startswith("Plain HTTP")
    assert dialog.advanced_box.isAncestorOf(switch) and not switch.isChecked()
    dialog.advanced_toggle.click()
    switch.click()
    assert dialog.wizard.values["use_http"] == "true"
    assert parse_server_address("http://10.0.0.5:8080", dialog.wizard.values).use_http
    dialog.close()


def test_ttlock_hashed_password_fix_names_a_switch_that_exists(
        qtbot: Any, real_desk: Desk) -> None:
    from mangodesk.vendors import ttlock

    fix = ttlock.ERRCODES[30005].fix or ""
    assert "“The password is already hashed” under Advanced" in fix
    dialog = open_credentials(real_desk, VendorKind.TTLOCK)
    switch = dialog.switches["password_is_md5"]
    assert switch.text().startswith("The password is already hashed")
    assert dialog.advanced_box.isAncestorOf(switch)
    dialog.close()
