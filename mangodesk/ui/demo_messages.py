"""The demo's Messages view: every email the local mail sink received (to, subject, time), and
the selected one's text, so a person sees the check-in email a guest gets with its door codes.
Live: new messages appear within a second, the selection stays where it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.demo import SinkMessage

Fetch = Callable[[int], list[SinkMessage]]
POLL_MS = 500

ModelIndex = QModelIndex | QPersistentModelIndex


class SinkMessagesModel(QAbstractTableModel):
    """The received messages, oldest first; only ever grows (the sink keeps everything)."""

    HEADERS = ("To", "Subject", "Received")

    def __init__(self, zone: ZoneInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zone = zone
        self.rows: list[SinkMessage] = []

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(self.HEADERS)):
            # Hotel time, its zone named once in the header as in the units grid.
            return f"Received ({self.zone.key})" if section == 2 else self.HEADERS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.to, row.subject, self.when(row.received_at))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"From {row.sender}\nTo {row.to}\n{row.subject}"
        return None

    def when(self, at: datetime) -> str:
        return f"{at.astimezone(self.zone):%d %b %H:%M:%S}"

    def append(self, fresh: list[SinkMessage]) -> None:
        if not fresh:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self.rows.extend(fresh)
        self.endInsertRows()


class DemoMessagesDialog(QDialog):
    """Messages the demo's mail sink received. ``fetch(n)`` returns those after the first
    ``n``; it is asked every half second while the window is open."""

    def __init__(self, fetch: Fetch, zone: ZoneInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demo_messages")
        self.setWindowTitle("Messages the guests received (demo mail server)")
        self.resize(980, 620)
        self.fetch = fetch
        self.model = SinkMessagesModel(zone, self)
        intro = QLabel(
            "Every email Mangodesk sent in this demo arrives at a mail server on this computer "
            "instead of a guest. Select one to read it as the guest would.")
        intro.setWordWrap(True)
        self.table = QTableView()
        self.table.setObjectName("demo_messages_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(self._show_selected)
        self.empty = QLabel("No message yet. The check-in email goes out once the engine has "
                            "created the guest's door codes.")
        self.empty.setObjectName("demo_messages_empty")
        self.empty.setWordWrap(True)
        self.body = QPlainTextEdit()
        self.body.setObjectName("demo_message_body")
        self.body.setReadOnly(True)
        self.body.setPlaceholderText("Select a message to read it.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.body)
        split.setSizes([260, 340])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.empty)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.refresh()
        self.timer.start()

    def refresh(self) -> None:
        fresh = self.fetch(len(self.model.rows))
        had_none = not self.model.rows
        self.model.append(fresh)
        self.empty.setVisible(not self.model.rows)
        if had_none and self.model.rows:
            self.table.selectRow(len(self.model.rows) - 1)

    def _show_selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.body.clear()
            return
        message = self.model.rows[rows[0].row()]
        self.body.setPlainText(
            f"From: {message.sender}\nTo: {message.to}\nSubject: {message.subject}\n"
            f"Received: {self.model.when(message.received_at)} ({self.model.zone.key})"
            f"\n\n{message.body}")

    def done(self, result: int) -> None:
        self.timer.stop()
        super().done(result)
