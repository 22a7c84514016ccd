"""Link a unit to a lock (pick one of a connection's locks, or type a Manual lock name), and
Unlink with the question what happens to the unit's live guest codes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.types import ConnectionStatus, VendorKind
from mangodesk.services.links import LinkDecisionNeeded, SharedLockNeedsConfirmation
from mangodesk.services.views import ConnectionView, LockView, UnitRow
from mangodesk.ui.forms import ERROR_COLOUR, FieldForm, ask, plain_message
from mangodesk.ui.tasks import TaskRunner

MANUAL_CHOICE = -1  # the Manual entry when no Manual connection exists yet
LOCK_ROLE = Qt.ItemDataRole.UserRole + 1


def ask_revoke_or_keep(parent: QWidget, unit_name: str, live_codes: int, manual: bool,
                       on_answer: Callable[[bool | None], None]) -> QMessageBox:
    """Revoke the unit's live guest codes, or keep them and stop managing them (None =
    cancel). Says what each choice means for the guests and the lock."""
    codes = "1 active or upcoming guest code" if live_codes == 1 \
        else f"{live_codes} active or upcoming guest codes"
    if manual:
        revoke_means = ("Revoke: the codes are marked revoked in Mangodesk. You'll need to "
                        "change the physical lock code separately.")
    else:
        revoke_means = "Revoke: the codes are removed from the lock; guests can no longer use them."
    keep_means = ("Keep: the codes stay on the lock and keep working until they end, but "
                  "Mangodesk no longer changes or revokes them.")

    def answered(value: object) -> None:
        on_answer(value if isinstance(value, bool) else None)

    return ask(parent, "Guest codes on this lock", f"{unit_name} has {codes}.",
               [("Revoke codes", True), ("Keep codes", False), ("Cancel", None)], answered,
               informative=f"{revoke_means}\n\n{keep_means}", icon=QMessageBox.Icon.Warning,
               name="revoke_or_keep")


def ask_share_lock(parent: QWidget, question: SharedLockNeedsConfirmation,
                   on_share: Callable[[], None]) -> QMessageBox:
    """The lock already opens another unit: link it as a shared door only when staff say so
    (Cancel is the default)."""
    def answered(value: object) -> None:
        if value == "share":
            on_share()

    box = ask(parent, "Shared door", question.message,
              [("Link as a shared door", "share"), ("Cancel", None)], answered,
              informative="Every guest of each of these units gets a code that opens this "
                          "door. Choose Cancel to pick another lock.",
              icon=QMessageBox.Icon.Warning, name="confirm_shared_lock")
    make_cancel_default(box)
    return box


def make_cancel_default(box: QMessageBox) -> None:
    """Enter answers Cancel: a careless keypress must not take the risky choice."""
    cancel = box.escapeButton()
    if isinstance(cancel, QPushButton):
        box.setDefaultButton(cancel)


class LinkDialog(QDialog):
    linked = Signal(int)  # lock id

    def __init__(self, context: Context, runner: TaskRunner, unit: UnitRow,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("link")
        self.context, self.runner, self.unit = context, runner, unit
        self.setWindowTitle(f"Link — {unit.name}")
        self.setMinimumWidth(480)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._busy = False
        self._decisions: tuple[bool | None, bool] = (None, False)  # revoke codes, shared

        layout = QVBoxLayout(self)
        current = (f"Now linked to {unit.lock_name}. Linking another lock replaces it."
                   if unit.lock_id is not None else "Each unit can be linked to one lock.")
        intro = QLabel(current)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.form = FieldForm()
        layout.addLayout(self.form)

        self.connection_box = QComboBox(self)
        self.connection_box.setObjectName("connection")
        self.form.add_field("connection", "Provider", self.connection_box)

        lock_row = QWidget(self)
        row = QHBoxLayout(lock_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.lock_box = QComboBox(lock_row)
        self.lock_box.setObjectName("lock_choice")
        self.lock_box.setMinimumWidth(260)
        self.lock_model = QStandardItemModel(self.lock_box)
        self.lock_box.setModel(self.lock_model)
        self.lock_name = QLineEdit(lock_row)
        self.lock_name.setObjectName("manual_lock_name")
        self.lock_name.setPlaceholderText("e.g. Front Door, Room 101, Gate")
        self.refresh_button = QPushButton("Refresh list", lock_row)
        self.refresh_button.setObjectName("refresh_locks")
        self.refresh_button.setToolTip("Fetch the lock list from the provider again")
        self.refresh_button.clicked.connect(self.refresh_locks)
        row.addWidget(self.lock_box, 1)
        row.addWidget(self.lock_name, 1)
        row.addWidget(self.refresh_button)
        self.lock_caption = self.form.add_field("lock", "Lock", lock_row)
        self.lock_name.textEdited.connect(lambda _: self.form.clear_error("lock"))
        self.lock_box.currentIndexChanged.connect(lambda _: self.form.clear_error("lock"))

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.form_error = QLabel(self)
        self.form_error.setObjectName("form_error")
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.form_error.hide()
        layout.addWidget(self.form_error)

        buttons = QDialogButtonBox(self)
        self.link_button = buttons.addButton("Link", QDialogButtonBox.ButtonRole.AcceptRole)
        self.link_button.setObjectName("do_link")
        self.link_button.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._connections = [c for c in context.services.connections.list()
                             if c.status != ConnectionStatus.DISCONNECTED]
        for conn in self._connections:
            label = conn.display_name if conn.kind != VendorKind.MANUAL \
                else "Manual (type a lock name)"
            self.connection_box.addItem(label, conn.id)
        if not any(c.kind == VendorKind.MANUAL for c in self._connections):
            self.connection_box.addItem("Manual (type a lock name)", MANUAL_CHOICE)
        self.connection_box.currentIndexChanged.connect(self._connection_changed)
        preferred = next((i for i, c in enumerate(self._connections)
                          if unit.lock_id is not None and c.display_name == unit.connection_name),
                         0)
        self.connection_box.setCurrentIndex(preferred)
        self._connection_changed()

    # ------------------------------------------------------------------ choices

    def current_connection(self) -> ConnectionView | None:
        chosen = self.connection_box.currentData()
        return next((c for c in self._connections if c.id == chosen), None)

    def is_manual(self) -> bool:
        conn = self.current_connection()
        return conn is None or conn.kind == VendorKind.MANUAL

    def _connection_changed(self) -> None:
        manual = self.is_manual()
        self.lock_name.setVisible(manual)
        self.lock_box.setVisible(not manual)
        self.refresh_button.setVisible(not manual)
        self.form.clear_errors()
        conn = self.current_connection()
        noun = "Lock"
        if conn is not None and not manual:
            noun = self.context.vendors.spec(conn.kind).lock_noun.capitalize()
            self._show_locks(self.context.services.connections.locks(conn.id))
        self.lock_caption.setText(noun)
        (self.lock_name if manual else self.lock_box).setFocus()

    def _show_locks(self, locks: list[LockView]) -> None:
        self.lock_model.clear()
        for lock in locks:
            label = lock.name
            others = [n for n in lock.linked_unit_names if n != self.unit.name]
            if others:
                label += f"  (linked to {', '.join(others)})"
            if not lock.manageable:
                label += f"  — {lock.unmanageable_reason or 'cannot be managed'}"
            elif lock.codes_not_automatic_reason:
                label += f"  — codes not automatic: {lock.codes_not_automatic_reason}"
            item = QStandardItem(label)
            item.setData(lock.id, LOCK_ROLE)
            item.setEnabled(lock.manageable)
            self.lock_model.appendRow(item)
        if self.unit.lock_id is not None:
            for row in range(self.lock_model.rowCount()):
                if self.lock_model.item(row).data(LOCK_ROLE) == self.unit.lock_id:
                    self.lock_box.setCurrentIndex(row)
                    return
        first = next((r for r in range(self.lock_model.rowCount())
                      if self.lock_model.item(r).isEnabled()), -1)
        self.lock_box.setCurrentIndex(first)

    def refresh_locks(self) -> None:
        conn = self.current_connection()
        if conn is None or self._busy:
            return
        self._set_busy(True)

        def done(locks: list[LockView]) -> None:
            self._set_busy(False)
            if self.current_connection() == conn:
                self._show_locks(locks)

        self.runner.run(lambda: self.context.services.connections.refresh_locks(conn.id),
                        done, self.show_error, owner=self,
                        label=f"Fetching the lock list of {conn.display_name}…")

    # ------------------------------------------------------------------ linking

    def submit(self, revoke_codes: bool | None = None, shared: bool = False) -> None:
        if self._busy:
            return
        self._decisions = (revoke_codes, shared)
        self.form.clear_errors()
        self.form_error.hide()
        links = self.context.services.links
        unit_id, shown = self.unit.id, self.unit.link_version
        if self.is_manual():
            name = " ".join(self.lock_name.text().split())
            if not name:
                self.form.show_error("lock", "Type a lock name, for example “Front Door”.")
                return

            def work() -> int:
                return links.link(unit_id, manual_lock_name=name, revoke_codes=revoke_codes,
                                  shared=shared, expected_version=shown)
        else:
            item = self.lock_model.item(self.lock_box.currentIndex()) \
                if self.lock_box.currentIndex() >= 0 else None
            if item is None or not item.isEnabled():
                self.form.show_error("lock", "Choose a lock from the list.")
                return
            lock_id = int(item.data(LOCK_ROLE))

            def work() -> int:
                return links.link(unit_id, lock_id=lock_id, revoke_codes=revoke_codes,
                                  shared=shared, expected_version=shown)

        self._set_busy(True)
        self.runner.run(work, self._linked, self.show_error, owner=self,
                        label=f"Linking {self.unit.name}…")

    def _linked(self, lock_id: int) -> None:
        self._set_busy(False)
        self.linked.emit(lock_id)
        self.accept()

    def show_error(self, error: Exception) -> None:
        self._set_busy(False)
        revoke_codes, shared = self._decisions
        if isinstance(error, SharedLockNeedsConfirmation):
            ask_share_lock(self, error, lambda: self.submit(revoke_codes, shared=True))
            return
        if isinstance(error, LinkDecisionNeeded):
            def decided(revoke: bool | None) -> None:
                if revoke is not None:
                    self.submit(revoke_codes=revoke, shared=shared)

            ask_revoke_or_keep(self, self.unit.name, error.live_codes,
                               self.unit.provider == VendorKind.MANUAL, decided)
            return
        field = getattr(error, "field", None)
        if isinstance(field, str) and self.form.show_error(field, plain_message(error)):
            return
        self.form_error.setText(plain_message(error))
        self.form_error.show()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.progress.setVisible(busy)
        self.link_button.setEnabled(not busy)
        self.refresh_button.setEnabled(not busy)


def unlink(parent: QWidget, context: Context, runner: TaskRunner, unit: UnitRow,
           on_done: Callable[[int], None], on_failure: Callable[[Exception], None]) -> None:
    """Unlink; when the unit has live guest codes, ask whether to revoke or keep them."""
    links = context.services.links
    manual = unit.provider == VendorKind.MANUAL

    def attempt(revoke: bool | None) -> None:
        runner.run(lambda: links.unlink(unit.id, revoke_codes=revoke,
                                        expected_version=unit.link_version), on_done, failed,
                   owner=parent, label=f"Unlinking {unit.name}…")

    def failed(error: Exception) -> None:
        if isinstance(error, LinkDecisionNeeded):
            def decided(revoke: bool | None) -> None:
                if revoke is not None:
                    attempt(revoke)

            ask_revoke_or_keep(parent, unit.name, error.live_codes, manual, decided)
            return
        on_failure(error)

    def confirmed(value: object) -> None:
        if value == "unlink":
            attempt(None)

    ask(parent, "Unlink", f"Unlink {unit.name} from {unit.lock_name}?",
        [("Unlink", "unlink"), ("Cancel", None)], confirmed,
        informative="You can link it again at any time.", name="confirm_unlink")
