"""The Get Started wizard in the window: Manual, a provider that refuses input, and every
provider simulator that exists, connected over loopback as an installer would."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

from mangodesk.app import Context, build_context
from mangodesk.demo import DEMO_VENDOR_MODULES
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.services.wizard import PINNED_FIELD, WizardStep
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.ui.application import Desk
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from mangodesk.vendors.registry import VendorRegistry, default_specs
from tests.fakes.hotel import build_hotel
from tests.ui.conftest import close_desk, idle, make_desk
from tests.ui.fakes import FakeServer


def open_wizard(desk: Desk) -> ConnectWizardDialog:
    dialog = desk.window.get_started()
    assert dialog.isVisible() and dialog.wizard.step == WizardStep.PROVIDER
    return dialog


def choose(dialog: ConnectWizardDialog, kind: VendorKind) -> None:
    button = dialog.findChild(type(dialog.provider_group.buttons()[0]), f"provider_{kind}")
    assert button is not None, f"{kind} is not offered"
    button.click()


def test_manual_connects_with_one_click_after_choosing_it(qtbot: Any, bare_desk: Desk) -> None:
    dialog = open_wizard(bare_desk)
    assert not dialog.next_button.isEnabled()  # nothing chosen yet
    choose(dialog, VendorKind.MANUAL)
    assert dialog.next_button.text() == "Connect"  # Manual asks for nothing
    with qtbot.waitSignal(dialog.connected):
        dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.DONE
    assert "type a lock name" in dialog.findChild(QLabel, "next_steps").text()
    dialog.next_button.click()  # Finish
    assert not dialog.isVisible()
    assert [c.kind for c in bare_desk.context.services.connections.list()] == \
        [VendorKind.MANUAL]


def test_a_provider_asks_its_fields_and_explains_a_refusal(
        qtbot: Any, bare_desk: Desk, fake_server: FakeServer) -> None:
    dialog = open_wizard(bare_desk)
    choose(dialog, VendorKind.TTLOCK)
    dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.CREDENTIALS
    assert set(dialog.inputs) == {"username", "password"}
    dialog.next_button.click()  # Connect with nothing typed
    assert dialog.form is not None
    assert dialog.form.error_text("username") == "Enter the username."
    assert dialog.form.error_text("password") == "Enter the password."
    assert fake_server.calls == []  # nothing was sent
    qtbot.keyClicks(dialog.inputs["username"], "desk@hotel")
    assert dialog.form.error_text("username") == ""  # typing clears the reason
    qtbot.keyClicks(dialog.inputs["password"], "wrong")
    dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.CONNECTING
    assert dialog.progress.isVisible()  # a progress indicator while the provider answers
    idle(qtbot, bare_desk.runner)
    assert dialog.wizard.step == WizardStep.CREDENTIALS
    assert "did not accept" in dialog.message.text()
    steps = dialog.credentials_page.findChild(type(dialog.credentials_page), "report_steps")
    assert steps is not None and "Check the password" in " ".join(
        label.text() for label in steps.findChildren(QLabel))
    assert dialog.inputs["username"].text() == "desk@hotel"  # kept for the next try
    dialog.inputs["password"].setText("")
    qtbot.keyClicks(dialog.inputs["password"], "secret")
    with qtbot.waitSignal(dialog.connected):
        dialog.next_button.click()
    assert "3 locks found" in dialog.findChild(QLabel, "next_steps").text()
    stored = bare_desk.context.services.connections.list()
    assert stored[0].settings == {"username": "desk@hotel"}  # the password is in the keyring
    dialog.close()


def test_sign_in_again_keeps_the_password_when_left_empty(
        qtbot: Any, bare_desk: Desk, fake_server: FakeServer) -> None:
    view = bare_desk.context.services.connections.connect(
        VendorKind.TTLOCK, {"username": "desk", "password": "secret"}).connection
    dialog = ConnectWizardDialog(bare_desk.context, bare_desk.runner, existing=view,
                                 parent=bare_desk.window)
    dialog.open()
    assert dialog.wizard.step == WizardStep.CREDENTIALS
    assert not dialog.back_button.isEnabled()
    assert dialog.inputs["username"].text() == "desk"
    assert dialog.inputs["password"].placeholderText() == "unchanged"
    with qtbot.waitSignal(dialog.connected):
        dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.DONE
    dialog.close()


# --------------------------------------------------------------------------- real providers


@pytest.fixture
def real_context(tmp_path: Path, secret_store: SecretStore,
                 clock: FixedClock) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                            clock=clock, vendors=VendorRegistry(default_specs()))
    build_hotel(context, clock.now())
    yield context
    context.close()


def simulator_modules() -> list[str]:
    available = []
    for name in DEMO_VENDOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "start_for_demo"):
            available.append(name)
    return available


def test_the_wizard_offers_every_registered_provider(qtbot: Any, real_context: Context) -> None:
    desk = make_desk(qtbot, real_context)
    try:
        dialog = open_wizard(desk)
        offered = [b.objectName() for b in dialog.provider_group.buttons()]
        assert offered == [f"provider_{s.kind}" for s in real_context.vendors.specs()]
        for spec in real_context.vendors.specs():
            choose(dialog, spec.kind)
            if not spec.fields:
                continue
            dialog.next_button.click()
            shown = {**dialog.inputs, **dialog.switches}  # exactly its fields
            assert sorted(shown) == sorted(f.name for f in spec.fields)
            # What the installation's IT person sets stays under Advanced.
            for field in spec.fields:
                inside = dialog.advanced_box.isAncestorOf(shown[field.name])
                assert inside == field.advanced, field.name
            dialog.back_button.click()
        dialog.close()
    finally:
        close_desk(qtbot, desk)


@pytest.mark.parametrize("module_name", simulator_modules())
def test_connect_each_provider_against_its_simulator(qtbot: Any, real_context: Context,
                                                     module_name: str) -> None:
    vendor = importlib.import_module(module_name).start_for_demo()
    desk = make_desk(qtbot, real_context)
    try:
        dialog = open_wizard(desk)
        choose(dialog, vendor.kind)
        dialog.next_button.click()
        for name, value in vendor.values.items():
            if name in dialog.inputs:
                dialog.inputs[name].setText("")
                qtbot.keyClicks(dialog.inputs[name], value)
            else:
                dialog.wizard.values[name] = value
        # The simulator's loopback address stands in for the vendor's own server address;
        # a pinned certificate is left out so the wizard has to ask for it.
        for name, value in vendor.settings.items():
            if name != PINNED_FIELD:
                dialog.wizard.values[name] = value
        dialog.next_button.click()
        qtbot.waitUntil(lambda: dialog.wizard.step != WizardStep.CONNECTING, timeout=30_000)
        asked_certificate = dialog.wizard.step == WizardStep.CERTIFICATE
        if asked_certificate:
            shown = dialog.fingerprint.text()
            assert shown and shown.replace("\n", ":") == dialog.wizard.fingerprint
            assert dialog.next_button.text() == "Accept and connect"
            dialog.next_button.click()
            qtbot.waitUntil(lambda: dialog.wizard.step != WizardStep.CONNECTING,
                            timeout=30_000)
        assert dialog.wizard.step == WizardStep.DONE, dialog.message.text()
        assert asked_certificate == (PINNED_FIELD in vendor.settings)
        connections = real_context.services.connections.list()
        assert [c.kind for c in connections] == [vendor.kind]
        assert real_context.services.connections.locks(connections[0].id)
        dialog.close()
    finally:
        close_desk(qtbot, desk)
        vendor.stop()
