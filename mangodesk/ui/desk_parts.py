"""The pieces of the main window that are widgets of their own: the units page (search, filter
buttons, the grid), the status bar's state line, the banners on top, and how new alerts are
announced. The window wires them to its commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import AlertSeverity
from mangodesk.services.activity import AlertLine
from mangodesk.services.pms import describe_progress
from mangodesk.services.views import AlertView
from mangodesk.ui import text
from mangodesk.ui.engine_control import EngineControl
from mangodesk.ui.notify import AlertPresenter
from mangodesk.ui.status import DeskStatus
from mangodesk.ui.unit_model import FILTER_LABELS, Column, UnitFilter, UnitFilterProxy

FILTER_SHORTCUTS = {
    UnitFilter.ALL: "Ctrl+1",
    UnitFilter.ATTENTION: "Ctrl+2",
    UnitFilter.UNLINKED: "Ctrl+3",
    UnitFilter.ARRIVING_TODAY: "Ctrl+4",
    UnitFilter.ARRIVING_TOMORROW: "Ctrl+5",
}

ALERT_TITLES = {
    AlertSeverity.INFO: "Mangodesk",
    AlertSeverity.WARNING: "Mangodesk needs attention",
    AlertSeverity.ERROR: "Mangodesk: a door code needs attention",
    AlertSeverity.CRITICAL: "Mangodesk: urgent — act now",
}

_SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.ERROR: 2,
                  AlertSeverity.CRITICAL: 3}


class UnitsPage(QWidget):
    """The Units tab: the search box, one button per filter, the grid and its count."""

    filter_chosen = Signal(object)  # a UnitFilter

    def __init__(self, proxy: UnitFilterProxy, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 4)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(6)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search units, locks, guests and codes  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(300)
        self.search.textChanged.connect(proxy.set_search)
        top.addWidget(self.search, 1)
        self.filter_buttons = QButtonGroup(self)
        self.filter_buttons.setExclusive(True)
        for which, label in FILTER_LABELS.items():
            button = QPushButton(label, self)
            button.setObjectName(f"filter_{which.value}")
            button.setCheckable(True)
            button.setChecked(which == UnitFilter.ALL)
            button.setToolTip(f"{label}  ({FILTER_SHORTCUTS[which]})")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, w=which: self.filter_chosen.emit(w))
            self.filter_buttons.addButton(button)
            top.addWidget(button)
        layout.addLayout(top)

        self.table = QTableView(self)
        self.table.setObjectName("units")
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.UNIT, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        widths = {Column.UNIT: 160, Column.KIND: 80, Column.LOCK: 170, Column.PROVIDER: 105,
                  Column.CODE: 260, Column.ARRIVAL: 180, Column.STATE: 290}
        for column, width in widths.items():
            header.resizeSection(column, width)
        header.setSectionResizeMode(Column.CODE, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("count")
        self.count_label.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.count_label)


class DeskStatusLine:
    """The status bar: what runs now, the sync's progress, and the state of codes, bookings
    sync and automation."""

    def __init__(self, bar: QStatusBar) -> None:
        self.busy_bar = QProgressBar(bar)
        self.busy_bar.setObjectName("busy")
        self.busy_bar.setRange(0, 0)  # indeterminate: vendor calls have no known length
        self.busy_bar.setMaximumWidth(110)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.busy_label = QLabel(bar)
        self.busy_label.hide()
        bar.addWidget(self.busy_bar)
        bar.addWidget(self.busy_label)
        # Bookings arriving from the PMS page by page (a first sync can take minutes).
        self.sync_bar = QProgressBar(bar)
        self.sync_bar.setObjectName("sync_progress")
        self.sync_bar.setRange(0, 0)  # the PMS does not say how many pages are left
        self.sync_bar.setMaximumWidth(110)
        self.sync_bar.setMaximumHeight(12)
        self.sync_bar.setTextVisible(False)
        self.sync_bar.hide()
        bar.addPermanentWidget(self.sync_bar)
        self.codes_label = QLabel(bar)
        self.codes_label.setObjectName("codes_state")
        self.sync_label = QLabel(bar)
        self.sync_label.setObjectName("sync_state")
        self.engine_label = QLabel(bar)
        self.engine_label.setObjectName("engine_state")
        for label in (self.codes_label, self.sync_label, self.engine_label):
            label.setContentsMargins(10, 0, 4, 0)
            bar.addPermanentWidget(label)

    def set_busy(self, running: int, label: str) -> None:
        self.busy_bar.setVisible(running > 0)
        self.busy_label.setVisible(running > 0)
        self.busy_label.setText(label)

    def show_sync_event(self, event: Event) -> None:
        """A sync's progress page by page; the bar goes when it finishes."""
        if event.kind == EventKind.SYNC_PROGRESS:
            more = bool(event.data.get("has_more"))
            self.sync_bar.setVisible(more)
            if more:
                self.sync_label.setText(describe_progress(event.data) + "…")
        elif event.kind == EventKind.SYNC_FINISHED:
            self.sync_bar.hide()

    def show_state(
        self,
        engine: EngineControl,
        status: DeskStatus | None,
        *,
        now: Callable[[], datetime],
        zone: ZoneInfo,
        nothing_linked: Callable[[], bool],
    ) -> None:
        self.engine_label.setText(engine.describe())
        self.engine_label.setToolTip(engine.problem or "")
        if status is None:
            return
        if status.automation:
            self.engine_label.setText(f"{engine.describe()} · {status.automation}")
        if status.sync_error:
            self.sync_label.setText(f"Sync failing ({status.sync_failures}×)")
            self.sync_label.setToolTip(status.sync_error)
        elif status.last_sync_at is not None:
            when = text.ago(status.last_sync_at, now())
            result = f" · {status.last_sync_result}" if status.last_sync_result else ""
            self.sync_label.setText(f"Synced {when}{result}")
            at = status.last_sync_at.astimezone(zone)
            self.sync_label.setToolTip(f"Last sync with Beds24 at {at:%d %b %H:%M} "
                                       f"({zone.key}). Sync now: Ctrl+Shift+S")
        else:
            self.sync_label.setText("Not synced with the PMS yet")
        parts = []
        if status.failed:
            parts.append(f"{status.failed} code{'s' if status.failed != 1 else ''} failed")
        if status.retrying:
            parts.append(f"{status.retrying} code{'s' if status.retrying != 1 else ''} "
                         "retrying")
        elif status.pending:
            parts.append(f"{status.pending} code{'s' if status.pending != 1 else ''} "
                         "being sent")
        self.codes_label.setText(", ".join(parts) if parts else
                                 "No codes yet" if nothing_linked() else "All codes sent")


def notice_banner(
    parent: QWidget,
    name: str,
    style: str,
    message: str,
    action: tuple[str, str, Callable[[], object]],
    *,
    message_name: str | None = None,
) -> QFrame:
    """A coloured bar above the tabs with one button (``action``: label, object name, slot);
    hidden until the window shows it."""
    banner = QFrame(parent)
    banner.setObjectName(name)
    banner.setStyleSheet(style)
    row = QHBoxLayout(banner)
    row.setContentsMargins(10, 6, 6, 6)
    label = QLabel(message, banner)
    if message_name:
        label.setObjectName(message_name)
    label.setWordWrap(True)
    row.addWidget(label, 1)
    button_label, button_name, slot = action
    button = QPushButton(button_label, banner)
    button.setObjectName(button_name)
    button.clicked.connect(lambda _=False: slot())
    row.addWidget(button)
    banner.hide()
    return banner


def alert_headline(alert: AlertView) -> str:
    """Unit and provider first ("Double room 104 · TTLock lock Room 101 — …")."""
    return alert.headline if isinstance(alert, AlertLine) else alert.message


def announce_alerts(
    presenter: AlertPresenter, alerts: list[AlertView], seen: set[int] | None
) -> set[int]:
    """Present the alerts not seen before (the tray or the window) and return the ids seen.
    The first load (``seen`` None) sums them up in one message: the worst and how many."""
    ids = {a.id for a in alerts}
    if seen is None:
        if alerts:
            worst = max(alerts, key=lambda a: _SEVERITY_RANK.get(a.severity, 0))
            count = len(alerts)
            presenter.present(
                ALERT_TITLES.get(worst.severity, "Mangodesk"),
                f"{count} open alert{'s' if count != 1 else ''}. Latest: "
                f"{alert_headline(worst)}", worst.severity)
        return ids
    for alert in sorted((a for a in alerts if a.id not in seen), key=lambda a: a.id):
        headline = alert_headline(alert)
        body = f"{headline} {alert.fix}" if alert.fix else headline
        presenter.present(ALERT_TITLES.get(alert.severity, "Mangodesk"), body, alert.severity)
    return ids | seen
