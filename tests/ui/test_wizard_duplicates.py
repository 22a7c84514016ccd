"""Issue 14.8: no duplicate connections by accident. The same account added again is
detected before anything is sent and the wizard offers "Sign in again" on the existing
connection; Manual is one connection."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QRadioButton

from mangodesk.domain.types import VendorKind
from mangodesk.services.wizard import WizardStep
from mangodesk.ui.application import Desk
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from tests.ui.conftest import idle
from tests.ui.fakes import FakeServer


def choose(dialog: ConnectWizardDialog, kind: VendorKind) -> None:
    button = dialog.findChild(QRadioButton, f"provider_{kind}")
    assert button is not None
    button.click()


def test_the_same_account_again_offers_sign_in_again_on_the_existing_one(
        qtbot: Any, bare_desk: Desk, fake_server: FakeServer) -> None:
    connections = bare_desk.context.services.connections
    first = connections.connect(VendorKind.TTLOCK, {"username": "desk@hotel",
                                                    "password": "secret"}, "Main building")
    fake_server.calls.clear()
    dialog = bare_desk.window.get_started()
    choose(dialog, VendorKind.TTLOCK)
    dialog.next_button.click()
    qtbot.keyClicks(dialog.inputs["username"], " Desk@Hotel ")
    qtbot.keyClicks(dialog.inputs["password"], "new-secret")
    dialog.next_button.click()
    idle(qtbot, bare_desk.runner)
    assert "already connected as “Main building”" in dialog.message.text()
    assert fake_server.calls == []  # refused before the provider heard of it
    assert [c.id for c in connections.list()] == [first.connection.id]
    assert dialog.sign_in_again_button.isVisible()
    dialog.sign_in_again_button.click()
    assert dialog.wizard.existing is not None
    assert dialog.wizard.existing.id == first.connection.id
    assert "Sign in again" in dialog.windowTitle()
    fake_server.password = "new-secret"
    with qtbot.waitSignal(dialog.connected):
        dialog.next_button.click()
    assert dialog.wizard.step == WizardStep.DONE
    assert [c.id for c in connections.list()] == [first.connection.id]
    dialog.close()


def test_another_account_of_the_same_provider_is_welcome(
        bare_desk: Desk) -> None:
    connections = bare_desk.context.services.connections
    connections.connect(VendorKind.TTLOCK, {"username": "desk@hotel", "password": "secret"})
    connections.connect(VendorKind.TTLOCK, {"username": "annex@hotel", "password": "secret"})
    assert len(connections.list()) == 2


def test_manual_is_one_connection(qtbot: Any, bare_desk: Desk) -> None:
    connections = bare_desk.context.services.connections
    connections.ensure_manual()
    dialog = bare_desk.window.get_started()
    choose(dialog, VendorKind.MANUAL)
    dialog.next_button.click()
    idle(qtbot, bare_desk.runner)
    assert "only one Manual connection" in dialog.message.text()
    assert not dialog.sign_in_again_button.isVisible()
    assert [c.kind for c in connections.list()] == [VendorKind.MANUAL]
    from mangodesk.services.connections import DuplicateConnection

    with pytest.raises(DuplicateConnection):
        connections.connect(VendorKind.MANUAL, {}, "Manual 2")
    dialog.close()
