"""The desk window: every unit with its lock, current code, next arrival and state; the
alerts and the activity log; and every action on a unit, each with a shortcut."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from zoneinfo import ZoneInfo

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.demo import DemoPowers
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import AlertSeverity, VendorKind
from mangodesk.services.pms import SyncResult
from mangodesk.services.views import AlertView, UnitRow
from mangodesk.sim.base import DemoVendor
from mangodesk.ui.about import AboutDialog
from mangodesk.ui.comms import CommunicationsDialog
from mangodesk.ui.comms_window import CommunicationsWindow
from mangodesk.ui.connections_dialog import ConnectionsDialog
from mangodesk.ui.demo_menu import DemoMenu
from mangodesk.ui.desk_parts import (
    FILTER_SHORTCUTS,
    DeskStatusLine,
    UnitsPage,
    announce_alerts,
    notice_banner,
)
from mangodesk.ui.engine_control import EngineControl
from mangodesk.ui.events import EventRelay
from mangodesk.ui.first_run import (
    Beds24Dialog,
    Setup,
    SetupBanner,
    Stage,
    read_setup,
    run_sync_now,
    sync_result_text,
)
from mangodesk.ui.forms import ask, plain_message, tell
from mangodesk.ui.linking import LinkDialog, unlink
from mangodesk.ui.notify import AlertPresenter, MessageBar
from mangodesk.ui.panels import ActivityPanel, AlertsPanel
from mangodesk.ui.passcodes import PasscodeEditor, PasscodesDialog, show_lock_details
from mangodesk.ui.status import DeskStatus, read_status
from mangodesk.ui.tasks import TaskRunner
from mangodesk.ui.unit_model import (
    FILTER_LABELS,
    ROW_ROLE,
    GridRows,
    UnitFilter,
    UnitFilterProxy,
    UnitTableModel,
    prepare_rows,
)
from mangodesk.ui.wizard_dialog import ConnectWizardDialog
from mangodesk.vendors.base import Capabilities, LockDetails

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 150  # coalesce bursts of engine events into one refresh

QUIT_QUESTION = "Quit Mangodesk? Door codes stop being issued while Mangodesk is closed."
QUIT_WARNING = ("New guests get no code and ended stays keep theirs until it runs again. The "
                "always-on service (mangodesk run) keeps codes going if it is installed.")

class MainWindow(QMainWindow):
    units_loaded = Signal(int)  # rows in the grid after a refresh (tests and the benchmark)
    quit_requested = Signal()
    paused_changed = Signal(bool)
    # The database changed (engine, this desk, or another process): every open view reloads.
    live_changed = Signal()

    def __init__(self, context: Context, runner: TaskRunner, relay: EventRelay,
                 engine: EngineControl | None = None) -> None:
        super().__init__()
        self.context = context
        self.runner = runner
        self.relay = relay
        self.engine = engine or EngineControl(None)
        self.zone = ZoneInfo("UTC")
        self._status: DeskStatus | None = None
        self._loading = False
        self._reload_again = False
        self._seen_alerts: set[int] | None = None  # None until the first load
        self._quitting = False
        self._quit_box: QMessageBox | None = None
        self._told_about_tray = False
        self.tray_visible: Callable[[], bool] = lambda: False
        self.presenter: AlertPresenter = self  # replaced by the application (tray first)
        self.demo: dict[VendorKind, DemoVendor] | None = None  # set in --demo (set_demo)
        self.setWindowTitle("Mangodesk")
        self.resize(1200, 740)

        self.model = UnitTableModel()
        self.proxy = UnitFilterProxy()
        self.proxy.setSourceModel(self.model)

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.message_bar = MessageBar(central)
        self.message_bar.show_alerts.connect(self.show_alerts)
        self.setup_banner = notice_banner(
            central, "setup_banner",
            "#setup_banner { background: #fff4e0; border-radius: 4px; }",
            "No lock provider is connected yet. Connect one to link your units to their locks "
            "and give every guest a door code.",
            ("Get Started", "banner_get_started", self.get_started))
        # While automation is paused a coloured bar stays on top: nothing goes to the locks.
        self.paused_banner = notice_banner(
            central, "paused_banner",
            "#paused_banner { background: #8a5a00; border-radius: 4px; }"
            " #paused_banner QLabel { color: white; font-weight: bold; }",
            "Automation is paused: no door codes are created, changed or removed until you "
            "resume.",
            ("Resume", "resume", lambda: self.set_paused(False)), message_name="paused_text")
        self.first_run_banner = SetupBanner(central)
        self.first_run_banner.act.connect(self._first_run_step)
        bars = QVBoxLayout()
        bars.setContentsMargins(10, 8, 10, 0)
        bars.addWidget(self.paused_banner)
        bars.addWidget(self.first_run_banner)
        bars.addWidget(self.message_bar)
        bars.addWidget(self.setup_banner)
        outer.addLayout(bars)
        self.tabs = QTabWidget(central)
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        self.units_page = UnitsPage(self.proxy, self)
        self.search = self.units_page.search
        self.filter_buttons = self.units_page.filter_buttons
        self.table = self.units_page.table
        self.count_label = self.units_page.count_label
        self.search.textChanged.connect(self._update_count)
        self.search.returnPressed.connect(self._search_enter)
        self.units_page.filter_chosen.connect(self.set_filter)
        self.table.activated.connect(lambda _: self.open_unit())
        self.tabs.addTab(self.units_page, "Units")
        self.alerts_panel = AlertsPanel(context, runner, self.tabs)
        self.alerts_panel.count_changed.connect(self._alert_count_changed)
        self.alerts_panel.open_unit.connect(self.open_unit_passcodes)
        self.alerts_panel.open_connection.connect(lambda _: self.show_connections())
        self.tabs.addTab(self.alerts_panel, "Alerts")
        self.activity_panel = ActivityPanel(context, runner, self.tabs)
        self.tabs.addTab(self.activity_panel, "Activity")
        self.tabs.currentChanged.connect(self._tab_changed)
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.status_line = DeskStatusLine(self.statusBar())
        self.busy_bar = self.status_line.busy_bar
        self.busy_label = self.status_line.busy_label
        self.sync_bar = self.status_line.sync_bar
        self.codes_label = self.status_line.codes_label
        self.sync_label = self.status_line.sync_label
        self.engine_label = self.status_line.engine_label
        self._build_actions()
        self.setTabOrder(self.search, self.table)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self._data_changed)
        self._clock_timer = QTimer(self)  # "Synced 2 min ago" and "today" move on their own
        self._clock_timer.setInterval(60_000)
        self._clock_timer.timeout.connect(self.refresh)
        self._clock_timer.start()
        self.relay.data_changed.connect(self._refresh_timer.start)
        self.relay.received.connect(self._on_event)
        self.runner.busy_changed.connect(self.status_line.set_busy)
        self.runner.default_failure = self.show_error
        self.table.selectionModel().currentChanged.connect(self._update_actions)
        self._update_actions()

    # ------------------------------------------------------------------ building

    def _action(self, label: str, shortcut: str | QKeySequence.StandardKey | None,
                slot: Callable[[], object], name: str) -> QAction:
        action = QAction(label, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{label.rstrip('…')}  ({action.shortcut().toString()})")
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        menus = self.menuBar()
        locks = menus.addMenu("&Smart Locks")
        self.get_started_action = self._action("Get Started…", "Ctrl+Shift+N",
                                               self.get_started, "get_started")
        self.connections_action = self._action("Connections…", "Ctrl+K",
                                               self.show_connections, "connections")
        self.close_action = self._action("Close window", QKeySequence.StandardKey.Close,
                                         self.close, "close_window")
        self.quit_action = self._action("Quit Mangodesk", "Ctrl+Q", self.quit, "quit")
        for action in (self.get_started_action, self.connections_action):
            locks.addAction(action)
        locks.addSeparator()
        locks.addAction(self.close_action)
        locks.addAction(self.quit_action)

        unit_menu = menus.addMenu("&Unit")
        self.passcodes_action = self._action("Passcodes", "Ctrl+P", self.show_passcodes,
                                             "passcodes")
        self.new_passcode_action = self._action("New passcode…", "Ctrl+N", self.new_passcode,
                                                "new_passcode")
        self.link_action = self._action("Link…", "Ctrl+L", self.link_unit, "link")
        self.unlink_action = self._action("Unlink…", "Ctrl+U", self.unlink_unit, "unlink")
        self.details_action = self._action("Details", "Ctrl+I", self.show_details, "details")
        for action in (self.passcodes_action, self.new_passcode_action, self.link_action,
                       self.unlink_action, self.details_action):
            unit_menu.addAction(action)

        view_menu = menus.addMenu("&View")
        view_menu.addAction(self._action("Search", QKeySequence.StandardKey.Find,
                                         self.focus_search, "search_action"))
        view_menu.addSeparator()
        self.filter_actions: dict[UnitFilter, QAction] = {}
        for which, label in FILTER_LABELS.items():
            action = self._action(label, FILTER_SHORTCUTS[which],
                                  partial(self.set_filter, which), f"show_{which.value}")
            view_menu.addAction(action)
            self.filter_actions[which] = action
        view_menu.addSeparator()
        for number, (label, name) in enumerate([("Units", "tab_units"),
                                                ("Alerts", "tab_alerts"),
                                                ("Activity", "tab_activity")]):
            view_menu.addAction(self._action(label, f"Alt+{number + 1}",
                                             partial(self.tabs.setCurrentIndex, number),
                                             name))
        view_menu.addSeparator()
        self.refresh_action = self._action("Refresh", QKeySequence.StandardKey.Refresh,
                                           self.refresh_all, "refresh")
        view_menu.addAction(self.refresh_action)

        guests = menus.addMenu("&Guests")
        self.comms_action = self._action("Communications preview…", "Ctrl+M",
                                         self.show_communications, "communications")
        guests.addAction(self.comms_action)
        self.messages_action = self._action("Guest messages…", "Ctrl+Shift+M",
                                            self.show_guest_messages, "guest_messages")
        guests.addAction(self.messages_action)

        automation = menus.addMenu("&Automation")
        self.pause_action = self._action("Pause automation", "Ctrl+Shift+P",
                                         self.toggle_pause, "pause")
        self.pause_action.setCheckable(True)
        self.pause_action.setEnabled(self.engine.available)
        automation.addAction(self.pause_action)

        self.sync_now_action = self._action("Sync bookings now", "Ctrl+Shift+S",
                                            self.sync_now, "sync_now")
        self.connect_pms_action = self._action("Connect Beds24…", "Ctrl+Shift+B",
                                               self.connect_pms, "connect_pms")
        automation.addSeparator()
        automation.addAction(self.sync_now_action)
        automation.addAction(self.connect_pms_action)

        help_menu = menus.addMenu("&Help")
        self.about_action = self._action("About Mangodesk…", "F1", self.show_about, "about")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Actions", self)
        toolbar.setObjectName("toolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        groups = [[self.get_started_action], [self.link_action, self.unlink_action],
                  [self.passcodes_action, self.new_passcode_action, self.details_action],
                  [self.comms_action], [self.sync_now_action]]
        for number, group in enumerate(groups):
            if number:
                toolbar.addSeparator()
            toolbar.addActions(group)
        self.addToolBar(toolbar)

    # ------------------------------------------------------------------ loading

    def refresh_all(self) -> None:
        self.refresh()
        self.alerts_panel.reload(self.zone)
        if self.tabs.currentWidget() is self.activity_panel:
            self.activity_panel.reload()

    def _data_changed(self) -> None:
        """One burst of changes: the grid, the Alerts and Activity tabs, and every open
        dialog that shows codes or connections reload from the database."""
        self.refresh()
        self.alerts_panel.reload(self.zone)
        if self.tabs.currentWidget() is self.activity_panel:
            self.activity_panel.reload()
        self.live_changed.emit()

    def refresh(self) -> None:
        """Reload the grid and the status bar from the database (on a worker)."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        context = self.context

        def load() -> tuple[GridRows, DeskStatus, bool, Setup]:
            prop = context.services.units.property()
            zone = ZoneInfo(prop.timezone if prop else "UTC")
            today = context.clock.now().astimezone(zone).date()
            grid = prepare_rows(context.services.units.list_units(), today=today, zone=zone)
            setup = read_setup(context)
            return grid, read_status(context), setup.locks_connected, setup

        self.runner.run(load, self._loaded, self._load_failed, owner=self,
                        label="Loading units…")

    def _loaded(self, result: tuple[GridRows, DeskStatus, bool, Setup]) -> None:
        grid, status, connected, setup = result
        rows = grid.rows
        first = self._seen_alerts is None and self.model.rowCount() == 0
        self.zone = grid.zone
        self.activity_panel.zone = grid.zone
        selected = self.current_unit()
        self.model.set_rows(grid)
        if selected is not None:
            self.select_unit(selected.id)
        elif first and self.proxy.rowCount():
            self.table.selectRow(0)
        # One step at a time: Beds24 first on a new profile, then the lock provider.
        self.first_run_banner.show_stage(setup.stage if setup.stage != Stage.LOCKS
                                         else Stage.DONE)
        self.setup_banner.setVisible(not connected and setup.stage != Stage.PMS)
        self._status = status
        self._update_status()
        self._update_count()
        self._update_actions()
        self._loading = False
        if self._seen_alerts is None or status.open_alerts != self.alerts_panel.model.rowCount():
            self.check_alerts()
        self.units_loaded.emit(len(rows))
        if self._reload_again:
            self._reload_again = False
            self.refresh()

    def _load_failed(self, error: Exception) -> None:
        self._loading = False
        log.error("loading units failed: %s", error)
        self.statusBar().showMessage(f"The unit list could not be loaded: {plain_message(error)}")

    # ------------------------------------------------------------------ grid

    def set_filter(self, which: UnitFilter) -> None:
        self.tabs.setCurrentIndex(0)
        self.proxy.set_unit_filter(which)
        for button in self.filter_buttons.buttons():
            button.setChecked(button.objectName() == f"filter_{which.value}")
        self._update_count()

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _search_enter(self) -> None:
        """Enter in the search box: go to the first match."""
        if self.proxy.rowCount():
            self.table.setFocus()
            if self.current_unit() is None or not self.table.currentIndex().isValid():
                self.table.selectRow(0)

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

    def _update_actions(self, *_: object) -> None:
        unit = self.current_unit()
        linked = unit is not None and unit.lock_id is not None
        self.link_action.setEnabled(unit is not None)
        for action in (self.unlink_action, self.passcodes_action, self.new_passcode_action,
                       self.details_action):
            action.setEnabled(linked)

    # ------------------------------------------------------------------ unit actions

    def _unit_or_tell(self, *, linked: bool) -> UnitRow | None:
        unit = self.current_unit()
        if unit is None:
            self.statusBar().showMessage("Select a unit first.", 5000)
            return None
        if linked and unit.lock_id is None:
            tell(self, "Not linked", f"{unit.name} is not linked to a lock yet.",
                 informative="Link it to a lock first (Link, Ctrl+L).", name="not_linked")
            return None
        return unit

    def open_unit(self) -> None:
        """Enter or double-click: Passcodes for a linked unit, Link for the others."""
        unit = self.current_unit()
        if unit is None:
            return
        if unit.lock_id is None:
            self.link_unit()
        else:
            self.show_passcodes()

    def open_unit_passcodes(self, unit_id: int) -> PasscodesDialog | None:
        """From an alert: show that unit in the grid and open its Passcodes."""
        self.set_filter(UnitFilter.ALL)
        self.search.clear()
        if not self.select_unit(unit_id):
            self.statusBar().showMessage("That unit is no longer in the list.", 5000)
            return None
        return self.show_passcodes()

    def show_passcodes(self) -> PasscodesDialog | None:
        unit = self._unit_or_tell(linked=True)
        if unit is None:
            return None
        dialog = PasscodesDialog(self.context, self.runner, unit, self.zone, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.changed.connect(self._refresh_timer.start)
        self.live_changed.connect(dialog.reload)
        dialog.open()
        return dialog

    def new_passcode(self) -> PasscodeEditor | None:
        unit = self._unit_or_tell(linked=True)
        if unit is None or unit.provider is None:
            return None
        caps: Capabilities = self.context.vendors.spec(unit.provider).capabilities
        editor = PasscodeEditor(self.context, self.runner, unit, caps, self.zone, None, self)
        editor.saved.connect(lambda _: self._refresh_timer.start())
        editor.open()
        return editor

    def link_unit(self) -> LinkDialog | None:
        unit = self._unit_or_tell(linked=False)
        if unit is None:
            return None
        dialog = LinkDialog(self.context, self.runner, unit, self)
        dialog.linked.connect(lambda _: self._refresh_timer.start())
        dialog.open()
        return dialog

    def unlink_unit(self) -> None:
        unit = self._unit_or_tell(linked=True)
        if unit is None:
            return

        def done(count: int) -> None:
            self.statusBar().showMessage(f"Unlinked {unit.name}.", 8000)
            self._refresh_timer.start()

        unlink(self, self.context, self.runner, unit, done, self.show_error)

    def show_details(self) -> None:
        unit = self._unit_or_tell(linked=True)
        if unit is None:
            return
        self.details_action.setEnabled(False)

        def shown(details: LockDetails) -> None:
            self._update_actions()
            show_lock_details(self, unit, details)

        def failed(error: Exception) -> None:
            self._update_actions()
            self.show_error(error)

        self.runner.run(lambda: self.context.services.passcodes.lock_details(unit.id), shown,
                        failed, owner=self, label=f"Asking for the details of {unit.lock_name}…")

    def set_demo(self, vendors: list[DemoVendor]) -> None:
        """The demo: say so in the title, and point every wizard at the simulators."""
        self.demo = {vendor.kind: vendor for vendor in vendors}
        self.setWindowTitle("Mangodesk — Demo — simulated")
        badge = QLabel("Demo — simulated", self.statusBar())
        badge.setObjectName("demo_badge")
        badge.setStyleSheet("background: #e4edf8; color: #1f4f8a; padding: 1px 6px; "
                            "border-radius: 3px;")
        self.statusBar().addPermanentWidget(badge)
        # The demo's bookings come from a simulated Beds24; never offer the real one.
        self.connect_pms_action.setEnabled(False)
        self.connect_pms_action.setToolTip("The demo is connected to a simulated Beds24.")

    def get_started(self) -> ConnectWizardDialog:
        dialog = ConnectWizardDialog(self.context, self.runner, parent=self, demo=self.demo)
        dialog.connected.connect(lambda _: self._refresh_timer.start())
        dialog.open()
        return dialog

    def show_connections(self) -> ConnectionsDialog:
        dialog = ConnectionsDialog(self.context, self.runner, self, demo=self.demo,
                                   paused=self.engine.paused, zone=self.zone)
        dialog.changed.connect(self._refresh_timer.start)
        self.live_changed.connect(dialog.reload)
        dialog.open()
        return dialog

    def show_guest_messages(self) -> CommunicationsWindow:
        """Templates, the sent log and the mail server (the Communications window)."""
        window = CommunicationsWindow(self.context, self.runner, self)
        window.open()
        return window

    def show_communications(self) -> CommunicationsDialog:
        unit = self.current_unit()
        dialog = CommunicationsDialog(self.context, self.runner, self,
                                      unit_name=unit.name if unit is not None else None,
                                      today=self.context.clock.now().astimezone(self.zone).date())
        dialog.open()
        return dialog

    def _first_run_step(self, stage: str) -> None:
        if stage == Stage.PMS:
            self.connect_pms()
        elif stage == Stage.LOCKS:
            self.get_started()
        elif stage == Stage.LINK:
            self.set_filter(UnitFilter.UNLINKED)
            if self.proxy.rowCount():
                self.table.selectRow(0)
                self.link_unit()

    def connect_pms(self) -> Beds24Dialog | None:
        """Connect Beds24 from the window (first run, or a new invite code)."""
        if self.demo is not None:
            self.statusBar().showMessage("The demo is connected to a simulated Beds24.", 5000)
            return None
        dialog = Beds24Dialog(self.context, self.runner, self)
        dialog.connected.connect(lambda: self.engine.start_pms_sync(self.context))
        dialog.synced.connect(self._synced)
        dialog.next_step.connect(self.get_started)
        dialog.open()
        return dialog

    def sync_now(self) -> None:
        self.sync_now_action.setEnabled(False)
        self.sync_label.setText("Syncing bookings…")

        def failed(error: Exception) -> None:
            self.sync_now_action.setEnabled(True)
            self.show_error(error)
            self._refresh_timer.start()

        run_sync_now(self.context, self._synced, failed, self.runner, self)

    def _synced(self, result: SyncResult) -> None:
        self.sync_now_action.setEnabled(True)
        self.statusBar().showMessage(
            ("Synced with Beds24: " if result.ok else "") + sync_result_text(result), 10000)
        self._refresh_timer.start()

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.context.paths, self, demo=self.demo is not None)
        dialog.open()
        return dialog

    def show_alerts(self) -> None:
        self.show_window()
        self.tabs.setCurrentWidget(self.alerts_panel)

    def show_error(self, error: Exception) -> None:
        tell(self, "Mangodesk", plain_message(error), name="error")

    def add_demo_menu(self, powers: DemoPowers) -> DemoMenu:
        """The Demo menu: only built for ``--demo``."""
        def done(message: str) -> None:
            self.statusBar().showMessage(message, 15000)
            self.refresh_all()

        self.demo_menu = DemoMenu(self, self.runner, powers, done, self.show_error)
        return self.demo_menu

    # ------------------------------------------------------------------ alerts

    def _on_event(self, event: Event) -> None:
        if event.kind in (EventKind.ALERT_RAISED, EventKind.OPERATION_FAILED):
            self.check_alerts()
        elif event.kind == EventKind.ENGINE_STATE:
            self._update_status()
        elif event.kind in (EventKind.SYNC_PROGRESS, EventKind.SYNC_FINISHED):
            self.status_line.show_sync_event(event)

    def check_alerts(self) -> None:
        """Load open alerts; present the ones not seen before (tray or window)."""
        alerts = self.context.services.alerts
        self.runner.run(alerts.list, self._alerts_loaded, owner=self, label="Checking alerts…")

    def _alerts_loaded(self, alerts: list[AlertView]) -> None:
        self.alerts_panel.model.set_items(alerts, self.zone)
        self.alerts_panel.empty.setVisible(not alerts)
        self.alerts_panel.ack_button.setEnabled(bool(alerts))
        self._alert_count_changed(len(alerts))
        self._seen_alerts = announce_alerts(self.presenter, alerts, self._seen_alerts)

    def _alert_count_changed(self, count: int) -> None:
        self.tabs.setTabText(1, f"Alerts ({count})" if count else "Alerts")
        self.alert_count = count

    def present(self, title: str, message: str, severity: AlertSeverity) -> None:
        """The in-window presenter: used where no system tray exists."""
        self.message_bar.present(title, message, severity)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.activity_panel:
            self.activity_panel.reload()
        elif self.tabs.widget(index) is self.alerts_panel:
            self.alerts_panel.reload(self.zone)

    # ------------------------------------------------------------------ status bar

    def _update_status(self) -> None:
        self.status_line.show_state(
            self.engine, self._status, now=self.context.clock.now, zone=self.zone,
            nothing_linked=lambda: not any(row.lock_id is not None for row in self.model.rows))
        self.pause_action.setChecked(self.engine.paused)
        self.paused_banner.setVisible(self.engine.paused)

    def toggle_pause(self) -> None:
        self.set_paused(not self.engine.paused)

    def set_paused(self, paused: bool) -> None:
        self.engine.set_paused(paused)
        self._update_status()
        self.paused_changed.emit(self.engine.paused)

    # ------------------------------------------------------------------ window

    def show_window(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def quit(self) -> QMessageBox | None:
        """Ask first: closing Mangodesk stops the codes this desk issues. Cancel is the
        default, so Enter never quits by accident."""
        if self._quitting:
            self.quit_requested.emit()
            return None
        if self._quit_box is not None and self._quit_box.isVisible():
            return self._quit_box
        self.show_window()

        def answered(value: object) -> None:
            self._quit_box = None
            if value:
                self._quitting = True
                self.quit_requested.emit()

        box = ask(self, "Quit Mangodesk?", QUIT_QUESTION,
                  [("Quit", True), ("Keep running", None)], answered,
                  informative=QUIT_WARNING, icon=QMessageBox.Icon.Warning, name="quit_question")
        keep = next(b for b in box.buttons() if b.text() == "Keep running")
        if isinstance(keep, QPushButton):
            box.setDefaultButton(keep)
        self._quit_box = box
        return box

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing keeps Mangodesk running in the tray (codes are issued at night too),
        unless there is no tray or staff turned it off."""
        if not self._quitting and self.context.settings.close_to_tray and self.tray_visible():
            event.ignore()
            self.hide()
            if not self._told_about_tray:
                self._told_about_tray = True
                self.presenter.present(
                    "Mangodesk is still running",
                    "Door codes keep being issued. Open the window again from the tray icon; "
                    "quit from its menu.", AlertSeverity.INFO)
            return
        if not self._quitting:
            event.ignore()  # the question decides; closing must not stop codes silently
            self.quit()
            return
        event.accept()
        self.quit_requested.emit()

