"""The first start of a real profile, from the window alone: connect Beds24 (invite code,
scopes explained) → first sync with a progress bar and counts → connect a lock provider →
link units. Also "Sync now" with the last sync's result for every later day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError
from mangodesk.services.pms import PmsError, SyncProgress, SyncResult
from mangodesk.ui.forms import ERROR_COLOUR, plain_message
from mangodesk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from mangodesk.services.pms import ConnectReport

OK_COLOUR = "#1d6b36"

SCOPES_EXPLAINED = (
    "In Beds24 open <b>Settings › Marketplace › API</b> and create an <b>invite code</b> with "
    "these scopes:<ul>"
    "<li><b>bookings</b> — to read arrivals, departures and which room a guest has;</li>"
    "<li><b>bookings-personal</b> — to read guest names and e-mails (without it codes still "
    "work, but the desk cannot show who is staying);</li>"
    "<li><b>properties</b> — to read your rooms and units.</li></ul>"
    "Mangodesk only reads; it never changes your bookings. Paste the code below."
)


class Stage(StrEnum):
    """Where a new hotel is in its setup; DONE hides the banner."""

    PMS = "pms"
    LOCKS = "locks"
    LINK = "link"
    DONE = "done"


STEP_TEXT = {
    Stage.PMS: ("Step 1 of 4 — Welcome to Mangodesk. Connect Beds24 so your rooms and "
                "bookings arrive here (then a first sync, your lock provider, and linking "
                "each unit to its lock).", "Connect Beds24…"),
    Stage.LOCKS: ("Step 3 of 4 — Bookings are here. Now connect your lock provider, so "
                  "Mangodesk can give every guest a door code.", "Connect a lock provider…"),
    Stage.LINK: ("Step 4 of 4 — Link each unit to its lock: select a unit and press Link "
                 "(Ctrl+L). Codes are then issued by themselves.", "Link the first unit…"),
}


@dataclass(frozen=True)
class Setup:
    """What the banner needs to know about this profile (one cheap read)."""

    pms_connected: bool
    units: int
    locks_connected: bool
    linked: int

    @property
    def stage(self) -> Stage:
        if not self.pms_connected and self.units == 0:
            return Stage.PMS
        if not self.locks_connected:
            return Stage.LOCKS
        if self.units and self.linked == 0:
            return Stage.LINK
        return Stage.DONE


def read_setup(context: Context) -> Setup:
    done = context.services.desk.setup_progress()
    return Setup(done.pms_connected, done.units, done.locks_connected, done.linked)


class SetupBanner(QFrame):
    """The first-run banner: one step at a time, with the button that does it."""

    act = Signal(str)  # the Stage whose button was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("first_run_banner")
        self.stage: Stage = Stage.DONE
        self.setStyleSheet("#first_run_banner { background: #fff4e0; border-radius: 4px; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setObjectName("first_run_text")
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        self.button = QPushButton(self)
        self.button.setObjectName("first_run_action")
        self.button.clicked.connect(lambda: self.act.emit(self.stage.value))
        row.addWidget(self.button)
        self.hide()

    def show_stage(self, stage: Stage) -> None:
        self.stage = stage
        if stage == Stage.DONE:
            self.hide()
            return
        words, button = STEP_TEXT[stage]
        self.label.setText(words)
        self.button.setText(button)
        self.show()


class _Progress(QObject):
    """Carries sync progress from the worker thread to the dialog (a queued signal)."""

    moved = Signal(int, int)  # pages, bookings so far


def sync_result_text(result: SyncResult) -> str:
    if not result.ok:
        return f"The sync did not finish: {result.error or 'unknown error'}"
    return (f"{result.bookings} booking{'s' if result.bookings != 1 else ''} read "
            f"({result.created} new, {result.updated} changed)"
            + (f", {result.units_added} unit{'s' if result.units_added != 1 else ''} added"
               if result.units_added else "") + ".")


class Beds24Dialog(QDialog):
    """Connect Beds24 with an invite code, then run the first sync with a progress bar."""

    connected = Signal()
    synced = Signal(object)  # SyncResult
    next_step = Signal()  # "Connect a lock provider" pressed at the end

    def __init__(self, context: Context, runner: TaskRunner, parent: QWidget | None = None,
                 *, base_url: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("beds24_connect")
        self.context, self.runner = context, runner
        self.setWindowTitle("Connect Beds24")
        self.setMinimumWidth(560)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        explain = QLabel(SCOPES_EXPLAINED, self)
        explain.setObjectName("scopes")
        explain.setWordWrap(True)
        explain.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(explain)
        self.invite = QLineEdit(self)
        self.invite.setObjectName("invite_code")
        self.invite.setPlaceholderText("Invite code from Beds24")
        self.invite.returnPressed.connect(self.connect_pms)
        layout.addWidget(self.invite)
        self.advanced = QCheckBox("Advanced: another Beds24 server address", self)
        self.advanced.setObjectName("advanced")
        layout.addWidget(self.advanced)
        self.server = QLineEdit(base_url or context.services.pms.default_server(), self)
        self.server.setObjectName("server")
        self.server.setVisible(False)
        self.advanced.toggled.connect(self.server.setVisible)
        layout.addWidget(self.server)
        # A fixed, word-wrapped area for what went wrong or what was found: no jumping.
        self.message = QLabel(self)
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() * 4 + 4)
        layout.addWidget(self.message)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("sync_progress")
        self.progress.setRange(0, 0)
        self.progress.setFormat("%v bookings")
        self.progress.hide()
        layout.addWidget(self.progress)
        self.counts = QLabel(self)
        self.counts.setObjectName("counts")
        self.counts.setWordWrap(True)
        layout.addWidget(self.counts)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.close_button = QPushButton("Cancel", self)
        self.close_button.setObjectName("close")
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(self.close_button)
        self.connect_button = QPushButton("Connect", self)
        self.connect_button.setObjectName("connect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_pms)
        buttons.addWidget(self.connect_button)
        self.next_button = QPushButton("Next: connect a lock provider", self)
        self.next_button.setObjectName("next")
        self.next_button.hide()
        self.next_button.clicked.connect(self._next)
        buttons.addWidget(self.next_button)
        layout.addLayout(buttons)
        self._progress = _Progress(self)
        self._progress.moved.connect(self._moved)
        self.report: ConnectReport | None = None
        self.sync_result: SyncResult | None = None

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.message.setText(text)

    def connect_pms(self) -> None:
        code = self.invite.text().strip()
        if not code:
            self._say("Paste the invite code from Beds24 first.", error=True)
            self.invite.setFocus()
            return
        server = self.server.text().strip().rstrip("/")
        if not server.startswith(("https://", "http://")):
            self._say("The server address must start with https://.", error=True)
            return
        context = self.context
        self.connect_button.setEnabled(False)
        self.invite.setEnabled(False)
        self._say("Connecting to Beds24…")

        def work() -> ConnectReport:
            return context.services.pms.connect(code, base_url=server, keep_saved=False)

        self.runner.run(work, self._connected, self._connect_failed, owner=self,
                        label="Connecting to Beds24…")

    def _connect_failed(self, error: Exception) -> None:
        self.connect_button.setEnabled(True)
        self.invite.setEnabled(True)
        self._say(plain_message(error) if not isinstance(error, PmsError)
                  else f"{error.message} {error.fix or ''}".strip(), error=True)

    def _connected(self, report: ConnectReport) -> None:
        self.report = report
        places = ", ".join(report.properties) or "no property"
        lines = [f"Connected: {places} ({report.units} units, time zone "
                 f"{report.timezone or 'not set'})."]
        lines += report.warnings
        self._say(" ".join(lines), error=bool(report.warnings))
        self.connected.emit()
        self.first_sync()

    def first_sync(self) -> None:
        """The first full sync, page by page, with the count of bookings so far."""
        context = self.context
        progress = self._progress
        self.progress.setRange(0, 0)
        self.progress.show()
        self.counts.setText("Reading bookings from Beds24…")
        self.connect_button.hide()

        def report(update: SyncProgress) -> None:
            progress.moved.emit(update.pages, update.bookings)  # queued to the GUI thread

        def work() -> SyncResult:
            return context.services.pms.sync_once(report, full=True)

        self.runner.run(work, self._synced, self._sync_failed, owner=self,
                        label="First sync with Beds24…")

    def _moved(self, pages: int, bookings: int) -> None:
        self.counts.setText(f"Reading bookings from Beds24… {bookings} so far "
                            f"({pages} page{'s' if pages != 1 else ''}).")

    def _synced(self, result: SyncResult) -> None:
        self.sync_result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setTextVisible(False)
        self.counts.setText(("First sync done: " if result.ok else "") + sync_result_text(result))
        self.counts.setStyleSheet(f"color: {OK_COLOUR if result.ok else ERROR_COLOUR};")
        self.close_button.setText("Close")
        self.next_button.setVisible(result.ok)
        if result.ok:
            self.next_button.setDefault(True)
        self.synced.emit(result)

    def _sync_failed(self, error: Exception) -> None:
        self.progress.hide()
        self.counts.setText(f"The first sync failed: {plain_message(error)} Use Sync now "
                            "to try again.")
        self.counts.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.close_button.setText("Close")

    def _next(self) -> None:
        self.close()
        self.next_step.emit()


def run_sync_now(context: Context, on_result: Callable[[SyncResult], None],
                 on_error: Callable[[Exception], None], runner: TaskRunner,
                 owner: QObject) -> None:
    """Sync now: one incremental sync on a worker; its result goes to ``on_result``."""

    def work() -> SyncResult:
        if context.services.pms.saved_settings() is None:
            raise ValidationError("Mangodesk is not connected to Beds24 yet.",
                                  fix="Connect it first (Bookings › Connect Beds24…).")
        return context.services.pms.sync_once()

    runner.run(work, on_result, on_error, owner=owner, label="Syncing with Beds24…")
