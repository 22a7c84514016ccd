"""Smart Locks: the connected providers, with Get Started, Sign in again, Test, Refresh
locks and Remove (which explains what happens to the codes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.types import ConnectionStatus, VendorKind
from mangodesk.services.views import ConnectionView, LockView
from mangodesk.sim.base import DemoVendor
from mangodesk.ui.forms import ERROR_COLOUR, ask, plain_message
from mangodesk.ui.panels import ITEM_ROLE, ListModel
from mangodesk.ui.tasks import TaskRunner
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from mangodesk.vendors.base import AuthError, ConnectionReport

HEADERS = ("Name", "Provider", "Locks", "Status")
RED, AMBER, GREEN = "#a32020", "#8a5a00", "#1d6b36"
SIGN_IN_PREFIX = "Sign-in needed"  # what the engine writes on an AuthError (contract 8)
SIGN_IN_WORDS = ("password", "username", "token", "did not accept", "credential",
                 "sign in again", "unauthor", "not authorised", "not authorized", "log in")


@dataclass(frozen=True)
class CheckOutcome:
    """The result of this dialog's own Test: the freshest truth about a connection."""

    ok: bool
    sign_in: bool  # the provider refused the sign-in (not merely unreachable)
    message: str
    at: datetime
    failing_since: datetime | None  # first failed test in a row


def classify(report: ConnectionReport | None, error: Exception | None) -> tuple[bool, bool, str]:
    """(ok, sign-in needed, words) from a Test's report or its exception."""
    if error is not None:
        return False, isinstance(error, AuthError), plain_message(error)
    assert report is not None
    if report.ok:
        return True, False, report.summary
    failing = next((step for step in report.steps if not step.ok), None)
    words = " ".join(part for part in (report.summary, failing.message if failing else "",
                                       failing.fix or "" if failing else "") if part)
    lowered = words.casefold()
    return False, any(word in lowered for word in SIGN_IN_WORDS), words


def status_words(item: ConnectionView, outcome: CheckOutcome | None, paused: bool,
                 zone: ZoneInfo) -> tuple[str, str, str]:
    """(text, colour, tooltip) for the Status column: the last real outcome wins."""
    stored = item.status_message or ""
    if item.status == ConnectionStatus.DISCONNECTED:
        return "Removed", "#5c5c5c", stored
    if outcome is not None and not outcome.ok:
        if outcome.sign_in:
            return "Sign-in needed", RED, f"{outcome.message} Press “Sign in again”."
        since = (outcome.failing_since or outcome.at).astimezone(zone)
        return f"Unreachable since {since:%H:%M}", RED, outcome.message
    if item.status == ConnectionStatus.NEEDS_ATTENTION and outcome is None:
        if stored.startswith(SIGN_IN_PREFIX):
            return "Sign-in needed", RED, f"{stored} Press “Sign in again”."
        return "Needs attention", RED, stored
    if paused:
        return "Paused", AMBER, "Automation is paused: nothing is sent to the locks."
    if outcome is not None:
        return f"OK (tested {outcome.at.astimezone(zone):%H:%M})", GREEN, outcome.message
    return "OK", GREEN, stored


class ConnectionModel(ListModel):
    headers = HEADERS

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[int, CheckOutcome] = {}
        self.paused = False

    def status_of(self, item: ConnectionView) -> tuple[str, str, str]:
        return status_words(item, self.outcomes.get(item.id), self.paused, self.zone)

    def cell(self, item: ConnectionView, column: int, role: int) -> Any:
        status, colour, tip = self.status_of(item)
        if role == Qt.ItemDataRole.DisplayRole:
            return [item.display_name, item.provider_name, str(item.lock_count), status][column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return tip or None
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return QBrush(QColor(colour))
        return None

    def needs_sign_in(self, item: ConnectionView) -> bool:
        return self.status_of(item)[0] == "Sign-in needed"

    def record_test(self, connection_id: int, ok: bool, sign_in: bool, message: str,
                    now: datetime) -> None:
        before = self.outcomes.get(connection_id)
        since = None if ok else (before.failing_since if before and not before.ok
                                 and before.failing_since else now)
        self.outcomes[connection_id] = CheckOutcome(ok, sign_in, message, now, since)
        self.beginResetModel()
        self.endResetModel()


class ConnectionsDialog(QDialog):
    changed = Signal()

    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None,
                 demo: dict[VendorKind, DemoVendor] | None = None, *,
                 paused: bool = False, zone: ZoneInfo | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connections")
        self.context, self.runner = context, runner
        self.demo = demo  # in the demo, its wizards reach the simulators only
        self.setWindowTitle("Smart Locks" + (" (Demo — simulated)" if demo is not None else ""))
        self.setMinimumSize(680, 360)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        intro = QLabel("The lock providers Mangodesk works with. Several can be connected at "
                       "once; each unit is linked to one lock.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.model = ConnectionModel()
        self.model.zone = zone or ZoneInfo("UTC")
        self.model.paused = paused
        self.table = QTableView(self)
        self.table.setObjectName("connection_list")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.report = QLabel(self)
        self.report.setObjectName("report")
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.report)
        row = QHBoxLayout()
        self.add_button = self._button("Get Started", row, self.get_started)
        self.reauth_button = self._button("Sign in again…", row, self.sign_in_again)
        self.test_button = self._button("Test", row, self.test_selected)
        self.refresh_button = self._button("Refresh locks", row, self.refresh_selected)
        self.rename_button = self._button("Rename…", row, self.rename_selected)
        row.addStretch(1)
        self.remove_button = self._button("Remove…", row, self.remove_selected)
        close = QPushButton("Close", self)
        close.setObjectName("close")
        close.clicked.connect(self.close)
        row.addWidget(close)
        layout.addLayout(row)
        self.remove_button.setAutoDefault(False)  # Enter never removes a connection
        close.setDefault(True)
        self.table.selectionModel().currentChanged.connect(self._update_buttons)
        self.reload()

    def _button(self, label: str, row: QHBoxLayout, slot: Any) -> QPushButton:
        button = QPushButton(label, self)
        button.setObjectName(label.lower().replace(" ", "_").strip("…."))
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    def reload(self) -> None:
        def loaded(items: list[ConnectionView]) -> None:
            selected = self.selected()
            self.model.set_items(
                [c for c in items if c.status != ConnectionStatus.DISCONNECTED])
            rows = [c.id for c in self.model.items]
            if rows:
                self.table.selectRow(rows.index(selected.id) if selected and selected.id in rows
                                     else 0)
            self._update_buttons()

        self.runner.run(self.context.services.connections.list, loaded, self._failed,
                        owner=self, label="Loading connections…")

    def selected(self) -> ConnectionView | None:
        index = self.table.currentIndex()
        item = self.model.data(index.siblingAtColumn(0), ITEM_ROLE) if index.isValid() else None
        return item if isinstance(item, ConnectionView) else None

    def _update_buttons(self) -> None:
        conn = self.selected()
        vendor = conn is not None and conn.kind != VendorKind.MANUAL
        self.reauth_button.setEnabled(vendor and bool(
            self.context.vendors.spec(conn.kind).fields) if conn else False)
        # A refused sign-in makes "Sign in again" the obvious next press.
        urgent = conn is not None and self.model.needs_sign_in(conn)
        self.reauth_button.setDefault(urgent)
        self.reauth_button.setStyleSheet(f"font-weight: bold; color: {RED};" if urgent else "")
        self.test_button.setEnabled(vendor)
        self.refresh_button.setEnabled(vendor)
        self.rename_button.setEnabled(conn is not None)
        self.remove_button.setEnabled(conn is not None)

    def _failed(self, error: Exception) -> None:
        self._said(plain_message(error), problem=True)

    def _said(self, message: str, *, problem: bool = False) -> None:
        self.report.setStyleSheet(f"color: {ERROR_COLOUR};" if problem else "")
        self.report.setText(message)

    def _changed(self, *_: object) -> None:
        self.reload()
        self.changed.emit()

    def get_started(self) -> None:
        dialog = ConnectWizardDialog(self.context, self.runner, parent=self,
                                     demo=self.demo)
        dialog.connected.connect(self._changed)
        dialog.open()

    def sign_in_again(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        dialog = ConnectWizardDialog(self.context, self.runner, existing=conn, parent=self,
                                     demo=self.demo)
        dialog.connected.connect(self._changed)
        dialog.open()

    def test_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return

        def tested(report: ConnectionReport) -> None:
            ok, sign_in, words = classify(report, None)
            self.model.record_test(conn.id, ok, sign_in, words, self.context.clock.now())
            lines = [report.summary] + [
                f"{'✓' if s.ok else '✗'} {s.name}: {s.message}"
                + (f" {s.fix}" if s.fix and not s.ok else "") for s in report.steps]
            if sign_in:
                lines.append("Press “Sign in again” to enter the new password or token.")
            self._said("\n".join(lines), problem=not report.ok)
            self._reselect(conn.id)

        def failed(error: Exception) -> None:
            ok, sign_in, words = classify(None, error)
            self.model.record_test(conn.id, ok, sign_in, words, self.context.clock.now())
            self._failed(error)
            self._reselect(conn.id)

        self._said(f"Testing {conn.display_name}…")
        self.runner.run(lambda: self.context.services.connections.test(conn.id), tested,
                        failed, owner=self, label=f"Testing {conn.display_name}…")

    def _reselect(self, connection_id: int) -> None:
        rows = [c.id for c in self.model.items]
        if connection_id in rows:
            self.table.selectRow(rows.index(connection_id))
        self._update_buttons()

    def refresh_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        self._said(f"Fetching the lock list of {conn.display_name}…")

        def fetched(locks: list[LockView]) -> None:
            self._said(f"{len(locks)} locks in the list.")
            self._changed()

        self.runner.run(lambda: self.context.services.connections.refresh_locks(conn.id),
                        fetched, self._failed, owner=self,
                        label=f"Fetching {conn.display_name} locks…")

    def rename_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("rename_connection")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle("Rename connection")
        dialog.setLabelText("Name in Mangodesk, e.g. “TTLock annex building”:")
        dialog.setTextValue(conn.display_name)

        def chosen(name: str) -> None:
            self.runner.run(lambda: self.context.services.connections.rename(conn.id, name),
                            self._changed, self._failed, owner=self, label="Renaming…")

        dialog.textValueSelected.connect(chosen)
        dialog.open()

    def remove_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        manual = conn.kind == VendorKind.MANUAL
        revoke_means = ("Revoke codes: every guest code on these locks is marked revoked; "
                        "change the physical codes yourself." if manual else
                        "Revoke codes: Mangodesk removes its codes from the locks first, "
                        "then the connection.")
        keep_means = ("Keep codes: the codes stay on the locks and keep working until they "
                      "end, but Mangodesk stops managing them.")

        def answered(value: object) -> None:
            if not isinstance(value, bool):
                return
            def removed(units: int) -> None:
                self._said(f"Removed {conn.display_name}; {units} code(s) revoked or released.")
                self._changed()

            self.runner.run(
                lambda: self.context.services.connections.remove(conn.id, revoke_codes=value),
                removed, self._failed, owner=self, label=f"Removing {conn.display_name}…")

        ask(self, "Remove connection",
            f"Remove “{conn.display_name}”? Its units are unlinked.",
            [("Revoke codes", True), ("Keep codes", False), ("Cancel", None)], answered,
            informative=f"{revoke_means}\n\n{keep_means}\n\nThe stored password or token is "
                        "deleted from this computer.",
            icon=QMessageBox.Icon.Warning, name="confirm_remove")
