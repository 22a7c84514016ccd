"""The Alerts and Activity tabs of the main window."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QStandardPaths,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.types import AlertSeverity
from mangodesk.services.activity import ActivityEntry, AlertLine
from mangodesk.services.views import AlertView, AuditView
from mangodesk.ui.forms import plain_message
from mangodesk.ui.notify import SEVERITY_LOOK
from mangodesk.ui.tasks import TaskRunner

AnyIndex = QModelIndex | QPersistentModelIndex
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

SEVERITY_TEXT = {
    AlertSeverity.INFO: "Note",
    AlertSeverity.WARNING: "Warning",
    AlertSeverity.ERROR: "Problem",
    AlertSeverity.CRITICAL: "Urgent",
}


def _when(instant: datetime, zone: ZoneInfo) -> str:
    moment = instant.astimezone(zone)
    return f"{moment.day} {moment:%b %H:%M}"


def documents_folder() -> str:
    """The user's Documents folder (home when the desktop has none): where staff look for a
    file they just saved."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return found if found and Path(found).is_dir() else str(Path.home())


def _table(parent: QWidget) -> QTableView:
    table = QTableView(parent)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(True)  # long messages wrap onto more lines instead of being cut
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setMinimumSectionSize(26)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setDefaultAlignment(
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


class ListModel(QAbstractTableModel):
    """A read-only table of frozen views; subclasses say how each cell reads."""

    headers: tuple[str, ...] = ()
    zoned_column: int | None = None  # whose header names the zone its times are in

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        super().__init__()
        self.items: list[Any] = []
        self.zone = zone or ZoneInfo("UTC")

    def set_items(self, items: list[Any], zone: ZoneInfo | None = None) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.zone = zone or self.zone
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.headers) - 1)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.headers):
            if section == self.zoned_column:
                return f"{self.headers[section]} ({zone_label(self.zone)})"
            return self.headers[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        if role == ITEM_ROLE:
            return item
        return self.cell(item, index.column(), role)

    def cell(self, item: Any, column: int, role: int) -> Any:
        raise NotImplementedError


def zone_label(zone: ZoneInfo) -> str:
    """``Europe/Oslo``; the abbreviation alone (CET) is ambiguous across the world."""
    return zone.key


def alert_where(item: AlertView) -> str:
    return item.where.label if isinstance(item, AlertLine) else ""


def audit_sentence(item: AuditView) -> str:
    return item.sentence if isinstance(item, ActivityEntry) and item.sentence else item.summary


class AlertModel(ListModel):
    headers = ("Raised", "Severity", "Unit · Lock", "What happened", "What to do")
    zoned_column = 0

    def cell(self, item: AlertView, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return [_when(item.raised_at, self.zone), SEVERITY_TEXT.get(item.severity, ""),
                    alert_where(item), item.message, item.fix or ""][column]
        if role == Qt.ItemDataRole.ToolTipRole and column in (2, 3, 4):
            return [alert_where(item), item.message, item.fix][column - 2]
        if column == 1 and role in (Qt.ItemDataRole.ForegroundRole,
                                    Qt.ItemDataRole.BackgroundRole):
            colour, background = SEVERITY_LOOK.get(item.severity,
                                                   SEVERITY_LOOK[AlertSeverity.WARNING])
            return QBrush(QColor(colour if role == Qt.ItemDataRole.ForegroundRole
                                 else background))
        return None


class AuditModel(ListModel):
    headers = ("When", "Who", "What")
    zoned_column = 0

    def cell(self, item: AuditView, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return [_when(item.at, self.zone), item.actor, audit_sentence(item)][column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return audit_sentence(item)
        return None


class AlertsPanel(QWidget):
    """Open alerts, newest first, with Acknowledge; a double-click opens what it is about."""

    count_changed = Signal(int)
    open_unit = Signal(int)  # unit id: show that unit's Passcodes
    open_connection = Signal(int)  # connection id: show the Smart Locks dialog

    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alerts_panel")
        self.context, self.runner = context, runner
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 4)
        self.empty = QLabel("No open alerts. Problems Mangodesk cannot fix by itself appear "
                            "here and in the tray.", self)
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.empty)
        self.model = AlertModel(ZoneInfo("UTC"))
        self.table = _table(self)
        self.table.setObjectName("alerts")
        self.table.setModel(self.model)
        self.table.setToolTip("Double-click an alert to open its unit's passcodes "
                              "(or its connection)")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(1, 80)
        header.resizeSection(2, 220)
        header.resizeSection(3, 420)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self.open_alert)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        row.addWidget(self.error, 1)
        self.ack_button = QPushButton("Acknowledge", self)
        self.ack_button.setObjectName("acknowledge")
        self.ack_button.setToolTip("Mark the selected alert as seen  (Ctrl+Shift+K)")
        self.ack_button.setShortcut("Ctrl+Shift+K")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        row.addWidget(self.ack_button)
        layout.addLayout(row)

    def reload(self, zone: ZoneInfo | None = None) -> None:
        def loaded(alerts: list[AlertView]) -> None:
            index = self.table.currentIndex()
            before = self.model.data(index.siblingAtColumn(0), ITEM_ROLE) \
                if index.isValid() else None
            self.model.set_items(alerts, zone)
            self.empty.setVisible(not alerts)
            self.ack_button.setEnabled(bool(alerts))
            if alerts:  # a live reload keeps the alert staff were reading selected
                ids = [a.id for a in alerts]
                kept = getattr(before, "id", None)
                self.table.selectRow(ids.index(kept) if kept in ids else 0)
            self.count_changed.emit(len(alerts))

        self.runner.run(self.context.services.alerts.list, loaded, self._failed, owner=self,
                        label="Loading alerts…")

    def open_alert(self, index: QModelIndex) -> None:
        """Go where the alert points: the unit's passcodes, else its connection."""
        alert = self.model.data(index.siblingAtColumn(0), ITEM_ROLE) if index.isValid() else None
        if not isinstance(alert, AlertLine):
            return
        if alert.where.unit_id is not None:
            self.open_unit.emit(alert.where.unit_id)
        elif alert.where.connection_id is not None:
            self.open_connection.emit(alert.where.connection_id)

    def acknowledge_selected(self) -> None:
        index = self.table.currentIndex()
        alert = self.model.data(index.siblingAtColumn(0), ITEM_ROLE) if index.isValid() else None
        if not isinstance(alert, AlertView):
            return
        self.runner.run(lambda: self.context.services.alerts.acknowledge(alert.id),
                        lambda _: self.reload(), self._failed, owner=self,
                        label="Acknowledging…")

    def _failed(self, error: Exception) -> None:
        self.error.setText(plain_message(error))


class ActivityPanel(QWidget):
    """The audit log: who did what, filterable by words and by who; Export CSV."""

    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activity_panel")
        self.context, self.runner = context, runner
        self.zone = ZoneInfo("UTC")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 4)
        row = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setObjectName("activity_search")
        self.search.setPlaceholderText("Filter by words, e.g. removed, TTLock, Room 101")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.reload)
        row.addWidget(self.search, 1)
        self.who = QComboBox(self)
        self.who.setObjectName("activity_who")
        self.who.addItem("Everyone", None)
        self.who.addItem("Staff only", "staff")
        self.who.addItem("Automation only", "automation")
        self.who.currentIndexChanged.connect(self.reload)
        row.addWidget(self.who)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setObjectName("export_csv")
        self.export_button.clicked.connect(self.export)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        self.model = AuditModel(self.zone)
        self.table = _table(self)
        self.table.setObjectName("activity")
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(1, 120)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.status = QLabel(self)
        self.status.setObjectName("activity_status")
        layout.addWidget(self.status)
        self.file_dialog: QFileDialog | None = None
        self._generation = 0

    def reload(self, *_: object) -> None:
        words = self.search.text().strip() or None
        who = self.who.currentData()
        audit = self.context.services.audit

        def load() -> tuple[list[AuditView], ZoneInfo]:
            events = audit.list(text=words, actor="automation" if who == "automation" else None)
            if who == "staff":
                events = [e for e in events if e.actor != "automation"]
            return events, audit.zone()

        self._generation += 1
        generation = self._generation

        def loaded(result: tuple[list[AuditView], ZoneInfo]) -> None:
            events, zone = result
            if generation != self._generation:
                return  # typing went on: a newer filter's answer is on its way
            self.zone = zone
            self.model.set_items(events, self.zone)
            self.status.setText(f"{len(events)} entries")

        self.runner.run(load, loaded, lambda e: self.status.setText(plain_message(e)),
                        owner=self, label="Loading activity…")

    def export(self) -> None:
        dialog = QFileDialog(self, "Export activity as CSV")
        dialog.setObjectName("export_dialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        documents = documents_folder()
        dialog.setDirectory(documents)
        dialog.selectFile(str(Path(documents) / "mangodesk-activity.csv"))
        dialog.fileSelected.connect(self.export_to)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.file_dialog = dialog
        dialog.open()

    def export_to(self, path: str) -> None:
        """Write what the filter shows now (the export matches the screen)."""
        events = list(self.model.items)
        audit = self.context.services.audit

        def write() -> int:
            Path(path).write_text(audit.export_csv(events), encoding="utf-8", newline="")
            return len(events)

        self.runner.run(write, lambda n: self.status.setText(f"Exported {n} entries to {path}"),
                        lambda e: self.status.setText(f"Could not export: {e}"),
                        owner=self, label="Exporting…")
