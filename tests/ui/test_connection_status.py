"""Issue 14, item 2: the Smart Locks dialog shows the last real outcome of a connection:
OK, unreachable since HH:MM, sign-in needed (with Sign in again), paused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mangodesk.domain.types import ConnectionStatus, VendorKind
from mangodesk.services.views import ConnectionView
from mangodesk.store.models import Connection
from mangodesk.ui.application import Desk
from mangodesk.ui.connections_dialog import (
    CheckOutcome,
    ConnectionsDialog,
    classify,
    status_words,
)
from mangodesk.vendors.base import ConnectionReport, ReportStep, TransientError
from tests.ui.conftest import idle
from tests.ui.fakes import FakeServer


def open_on_ttlock(qtbot: Any, desk: Desk) -> ConnectionsDialog:
    dialog = desk.window.show_connections()
    idle(qtbot, desk.runner)
    row = next(n for n, c in enumerate(dialog.model.items) if c.kind == VendorKind.TTLOCK)
    dialog.table.selectRow(row)
    return dialog


def status_cell(dialog: ConnectionsDialog) -> str:
    row = next(n for n, c in enumerate(dialog.model.items) if c.kind == VendorKind.TTLOCK)
    return str(dialog.model.index(row, 3).data())


def test_a_refused_password_in_test_shows_sign_in_needed_with_sign_in_again(
        qtbot: Any, desk: Desk, fake_server: FakeServer) -> None:
    desk.context.services.connections.connect(VendorKind.TTLOCK,
                                              {"username": "u", "password": "secret"})
    dialog = open_on_ttlock(qtbot, desk)
    assert status_cell(dialog) == "OK"
    dialog.test_button.click()
    idle(qtbot, desk.runner)
    assert status_cell(dialog).startswith("OK (tested ")
    fake_server.password = "changed-in-the-app"
    dialog.test_button.click()
    idle(qtbot, desk.runner)
    assert status_cell(dialog) == "Sign-in needed", "not “Connected” after a refused password"
    assert dialog.reauth_button.isDefault() and dialog.reauth_button.isEnabled()
    assert "Sign in again" in dialog.report.text()
    dialog.close()


def test_the_engines_sign_in_failure_is_shown_from_the_database(
        qtbot: Any, desk: Desk) -> None:
    view = desk.context.services.connections.connect(
        VendorKind.TTLOCK, {"username": "u", "password": "secret"}).connection
    with desk.context.db.transaction() as session:
        conn = session.get(Connection, view.id)
        assert conn is not None
        conn.status = ConnectionStatus.NEEDS_ATTENTION
        conn.status_message = "Sign-in needed: TTLock did not accept the password."
    dialog = open_on_ttlock(qtbot, desk)
    assert status_cell(dialog) == "Sign-in needed"
    assert dialog.reauth_button.isDefault()
    dialog.close()


def test_paused_automation_shows_paused(qtbot: Any, desk: Desk) -> None:
    desk.context.services.connections.connect(VendorKind.TTLOCK,
                                              {"username": "u", "password": "secret"})
    dialog = ConnectionsDialog(desk.context, desk.runner, desk.window, paused=True)
    dialog.open()
    idle(qtbot, desk.runner)
    assert status_cell(dialog) == "Paused"
    dialog.close()


def view(status: ConnectionStatus = ConnectionStatus.CONNECTED) -> ConnectionView:
    return ConnectionView(1, VendorKind.TTLOCK, "TTLock", "TTLock", status, None, True, 3, {})


def test_unreachable_since_the_first_failed_test_in_hotel_time() -> None:
    first = datetime(2026, 1, 20, 21, 5, tzinfo=UTC)
    ok, sign_in, words = classify(None, TransientError("The lock server did not answer."))
    assert (ok, sign_in) == (False, False)
    outcome = CheckOutcome(ok, sign_in, words, first.replace(minute=30), first)
    text, _, tip = status_words(view(), outcome, False, ZoneInfo("Europe/Oslo"))
    assert text == "Unreachable since 22:05" and "did not answer" in tip
    report = ConnectionReport(False, "TTLock did not accept the username or password.",
                              (ReportStep("Sign in", False, "The password was refused."),))
    assert classify(report, None)[:2] == (False, True)
