"""Smart Locks: the connected providers, with Get Started, Sign in again, Test, Refresh
locks and Remove (which explains what happens to the codes)."""

from __future__ import annotations

from typing import Any

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
from mangodesk.vendors.base import ConnectionReport

HEADERS = ("Name", "Provider", "Locks", "Status")
STATUS_TEXT = {
    ConnectionStatus.CONNECTED: ("Connected", "#1d6b36"),
    ConnectionStatus.NEEDS_ATTENTION: ("Needs attention", "#a32020"),
    ConnectionStatus.DISCONNECTED: ("Removed", "#5c5c5c"),
}


class ConnectionModel(ListModel):
    headers = HEADERS

    def cell(self, item: ConnectionView, column: int, role: int) -> Any:
        status, colour = STATUS_TEXT.get(item.status, (str(item.status), "#5c5c5c"))
        if role == Qt.ItemDataRole.DisplayRole:
            return [item.display_name, item.provider_name, str(item.lock_count), status][column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return item.status_message
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return QBrush(QColor(colour))
        return None


class ConnectionsDialog(QDialog):
    changed = Signal()

    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None,
                 demo: dict[VendorKind, DemoVendor] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connections")
        self.context, self.runner = context, runner
        self.demo = demo  # in the demo, its wizards reach the simulators only
        self.setWindowTitle("Smart Locks")
        self.setMinimumSize(680, 360)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        intro = QLabel("The lock providers Mangodesk works with. Several can be connected at "
                       "once; each unit is linked to one lock.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.model = ConnectionModel()
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
        close.clicked.connect(self.close)
        row.addWidget(close)
        layout.addLayout(row)
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
            lines = [report.summary] + [
                f"{'✓' if s.ok else '✗'} {s.name}: {s.message}"
                + (f" {s.fix}" if s.fix and not s.ok else "") for s in report.steps]
            self._said("\n".join(lines), problem=not report.ok)

        self._said(f"Testing {conn.display_name}…")
        self.runner.run(lambda: self.context.services.connections.test(conn.id), tested,
                        self._failed, owner=self, label=f"Testing {conn.display_name}…")

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
