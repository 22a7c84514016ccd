"""The desk window: every unit with its lock, current code, next arrival and state."""

from __future__ import annotations

import logging
from datetime import date
from zoneinfo import ZoneInfo

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.services.views import UnitRow
from mangodesk.ui import text
from mangodesk.ui.events import EventRelay
from mangodesk.ui.status import DeskStatus, read_status
from mangodesk.ui.tasks import TaskRunner
from mangodesk.ui.unit_model import (
    FILTER_LABELS,
    ROW_ROLE,
    Column,
    UnitFilter,
    UnitFilterProxy,
    UnitTableModel,
)

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 150  # coalesce bursts of engine events into one grid refresh

FILTER_SHORTCUTS = {
    UnitFilter.ALL: "Ctrl+1",
    UnitFilter.ATTENTION: "Ctrl+2",
    UnitFilter.UNLINKED: "Ctrl+3",
    UnitFilter.ARRIVING_TODAY: "Ctrl+4",
    UnitFilter.ARRIVING_TOMORROW: "Ctrl+5",
}


class MainWindow(QMainWindow):
    units_loaded = Signal(int)  # rows in the grid after a refresh (tests and the benchmark)

    def __init__(self, context: Context, runner: TaskRunner, relay: EventRelay) -> None:
        super().__init__()
        self.context = context
        self.runner = runner
        self.relay = relay
        self._zone = ZoneInfo("UTC")
        self._status: DeskStatus | None = None
        self._loading = False
        self._reload_again = False
        self.setWindowTitle("Mangodesk")
        self.resize(1180, 720)

        self.model = UnitTableModel()
        self.proxy = UnitFilterProxy()
        self.proxy.setSourceModel(self.model)

        self._build_units_page()
        self._build_status_bar()
        self._build_actions()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.relay.data_changed.connect(self._refresh_timer.start)
        self.runner.busy_changed.connect(self._on_busy)

    # ------------------------------------------------------------------ building

    def _build_units_page(self) -> None:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(10, 8, 10, 4)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(6)
        self.search = QLineEdit(page)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search units, locks, guests and codes  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(320)
        self.search.textChanged.connect(self.proxy.set_search)
        self.search.textChanged.connect(self._update_count)
        top.addWidget(self.search, 1)
        self.filter_buttons = QButtonGroup(page)
        self.filter_buttons.setExclusive(True)
        for which, label in FILTER_LABELS.items():
            button = QPushButton(label, page)
            button.setObjectName(f"filter_{which.value}")
            button.setCheckable(True)
            button.setChecked(which == UnitFilter.ALL)
            button.setToolTip(f"{label}  ({FILTER_SHORTCUTS[which]})")
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.clicked.connect(lambda _=False, w=which: self.set_filter(w))
            self.filter_buttons.addButton(button)
            top.addWidget(button)
        layout.addLayout(top)

        self.table = QTableView(page)
        self.table.setObjectName("units")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.UNIT, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        widths = {Column.UNIT: 170, Column.KIND: 90, Column.LOCK: 170, Column.PROVIDER: 110,
                  Column.CODE: 250, Column.ARRIVAL: 190, Column.STATE: 150}
        for column, width in widths.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(Column.CODE, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)

        self.count_label = QLabel(page)
        self.count_label.setObjectName("count")
        self.count_label.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.count_label)
        self.setCentralWidget(page)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy_bar = QProgressBar(bar)
        self.busy_bar.setRange(0, 0)  # indeterminate: vendor calls have no known length
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.busy_label = QLabel(bar)
        self.busy_label.hide()
        self.engine_label = QLabel(bar)
        self.engine_label.setObjectName("engine_state")
        self.sync_label = QLabel(bar)
        self.sync_label.setObjectName("sync_state")
        self.codes_label = QLabel(bar)
        self.codes_label.setObjectName("codes_state")
        bar.addWidget(self.busy_bar)
        bar.addWidget(self.busy_label)
        for label in (self.codes_label, self.sync_label, self.engine_label):
            bar.addPermanentWidget(label)

    def _build_actions(self) -> None:
        view_menu = self.menuBar().addMenu("&View")
        find = QAction("Search", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_search)
        view_menu.addAction(find)
        self.addAction(find)
        view_menu.addSeparator()
        self.filter_actions: dict[UnitFilter, QAction] = {}
        for which, label in FILTER_LABELS.items():
            action = QAction(label, self)
            action.setShortcut(QKeySequence(FILTER_SHORTCUTS[which]))
            action.triggered.connect(lambda _=False, w=which: self.set_filter(w))
            view_menu.addAction(action)
            self.addAction(action)
            self.filter_actions[which] = action
        view_menu.addSeparator()
        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh)
        view_menu.addAction(refresh)
        self.refresh_action = refresh

    # ------------------------------------------------------------------ grid

    def refresh(self) -> None:
        """Reload the grid and the status bar from the database (on a worker)."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        context = self.context

        def load() -> tuple[list[UnitRow], ZoneInfo, date, DeskStatus]:
            prop = context.services.units.property()
            zone = ZoneInfo(prop.timezone if prop else "UTC")
            today = context.clock.now().astimezone(zone).date()
            return context.services.units.list_units(), zone, today, read_status(context)

        self.runner.run(load, self._loaded, self._load_failed, owner=self, label="Loading units…")

    def _loaded(self, result: tuple[list[UnitRow], ZoneInfo, date, DeskStatus]) -> None:
        rows, zone, today, status = result
        self._zone = zone
        selected = self.current_unit()
        self.model.set_rows(rows, today=today, zone=zone)
        if selected is not None:
            self.select_unit(selected.id)
        self._status = status
        self._update_status()
        self._update_count()
        self._loading = False
        self.units_loaded.emit(len(rows))
        if self._reload_again:
            self._reload_again = False
            self.refresh()

    def _load_failed(self, error: Exception) -> None:
        self._loading = False
        log.error("loading units failed: %s", error)
        self.statusBar().showMessage(f"The unit list could not be loaded: {error}")

    def set_filter(self, which: UnitFilter) -> None:
        self.proxy.set_unit_filter(which)
        for button in self.filter_buttons.buttons():
            button.setChecked(button.objectName() == f"filter_{which.value}")
        self._update_count()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def current_unit(self) -> UnitRow | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        row = index.siblingAtColumn(0).data(ROW_ROLE)
        return row if isinstance(row, UnitRow) else None

    def select_unit(self, unit_id: int) -> bool:
        source_row = self.model.row_for_unit(unit_id)
        if source_row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if shown == total:
            self.count_label.setText(f"{total} units")
        else:
            self.count_label.setText(f"{shown} of {total} units shown")

    # ------------------------------------------------------------------ status bar

    def _on_busy(self, running: int, label: str) -> None:
        self.busy_bar.setVisible(running > 0)
        self.busy_label.setVisible(running > 0)
        self.busy_label.setText(label)

    def engine_text(self) -> str:
        return "Automation: not running in this window"

    def _update_status(self) -> None:
        self.engine_label.setText(self.engine_text())
        status = self._status
        if status is None:
            return
        if status.sync_error:
            self.sync_label.setText(f"Sync failing ({status.sync_failures}×)")
            self.sync_label.setToolTip(status.sync_error)
        elif status.last_sync_at is not None:
            self.sync_label.setText(
                f"Synced {text.ago(status.last_sync_at, self.context.clock.now())}")
            self.sync_label.setToolTip("")
        else:
            self.sync_label.setText("Not synced with the PMS yet")
        parts = []
        if status.failed:
            parts.append(f"{status.failed} failed")
        if status.retrying:
            parts.append(f"{status.retrying} retrying")
        elif status.pending:
            parts.append(f"{status.pending} being sent")
        self.codes_label.setText(("Codes: " + ", ".join(parts)) if parts else "All codes sent")

    # ------------------------------------------------------------------ window

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        event.accept()
