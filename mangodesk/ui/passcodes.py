"""The Passcodes panel of a unit: its codes, New passcode, Edit, Revoke, Retry now, Details."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    Qt,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.types import (
    ENDING_CODE_STATES,
    SENDING_CODE_STATES,
    CodeOrigin,
    CodeState,
    VendorKind,
)
from mangodesk.services.views import CodeView, UnitRow
from mangodesk.ui import text
from mangodesk.ui.code_model import CODE_ROLE, CodeTableModel
from mangodesk.ui.forms import ERROR_COLOUR, ask, plain_message, tell
from mangodesk.ui.linking import make_cancel_default
from mangodesk.ui.passcode_editor import PasscodeEditor
from mangodesk.ui.tasks import TaskRunner
from mangodesk.vendors.base import Capabilities, LockDetails

__all__ = ["CodeTableModel", "PasscodeEditor", "PasscodesDialog", "show_lock_details"]


class PasscodesDialog(QDialog):
    """One unit's codes and what can be done with them. Every change goes through the
    services on a worker; the list refreshes when it is done."""

    changed = Signal()

    def __init__(self, context: Context, runner: TaskRunner, unit: UnitRow, zone: ZoneInfo,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passcodes")
        self.context = context
        self.runner = runner
        self.unit = unit
        self.zone = zone
        self.caps: Capabilities = context.vendors.spec(unit.provider).capabilities \
            if unit.provider else Capabilities(automated=False)
        self.editor: PasscodeEditor | None = None
        self.setWindowTitle(f"Passcodes — {unit.name}")
        self.resize(1000, 420)

        layout = QVBoxLayout(self)
        lock_line = QLabel(self._lock_line())
        lock_line.setObjectName("lock_line")
        lock_line.setWordWrap(True)
        layout.addWidget(lock_line)

        self.model = CodeTableModel(zone, context.clock.now)
        self.table = QTableView(self)
        self.table.setObjectName("codes")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate([90, 190, 160, 120, 120, 65]):
            header.resizeSection(column, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)

        self.error_line = QLabel(self)
        self.error_line.setObjectName("error_line")
        self.error_line.setWordWrap(True)
        self.error_line.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error_line.hide()
        layout.addWidget(self.error_line)

        buttons = QHBoxLayout()
        self.new_button = self._button("New passcode", "Ctrl+N", self.new_passcode, buttons)
        self.edit_button = self._button("Edit", "Ctrl+E", self.edit_selected, buttons)
        self.revoke_button = self._button("Revoke", "Del", self.revoke_selected, buttons)
        self.retry_button = self._button("Retry now", "Ctrl+R", self.retry_selected, buttons)
        self.resume_button = self._button("Resume codes", "Ctrl+Shift+R", self.resume_selected,
                                          buttons)
        self.resume_button.setToolTip("Issue codes again for the selected code's booking "
                                      "(staff stopped them when revoking)")
        buttons.addStretch(1)
        self.details_button = self._button("Details", "Ctrl+I", self.show_details, buttons)
        close = QPushButton("Close", self)
        close.setObjectName("close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        # Enter closes; it never revokes (a focused Revoke needs Space or a click).
        for button in (self.new_button, self.edit_button, self.revoke_button,
                       self.retry_button, self.resume_button, self.details_button):
            button.setAutoDefault(False)
        close.setDefault(True)

        self.table.selectionModel().currentChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self.edit_selected)
        self._update_buttons()
        self.reload()

    def _button(self, label: str, shortcut: str, slot: Callable[[], None],
                row: QHBoxLayout) -> QPushButton:
        button = QPushButton(label, self)
        button.setObjectName(label.lower().replace(" ", "_"))
        button.setToolTip(f"{label}  ({QKeySequence(shortcut).toString()})")
        button.clicked.connect(slot)
        QShortcut(QKeySequence(shortcut), self, slot)
        row.addWidget(button)
        return button

    def _lock_line(self) -> str:
        provider = text.PROVIDER_TEXT.get(self.unit.provider, "") if self.unit.provider else ""
        line = f"Lock: {self.unit.lock_name}  ·  {provider}"
        if self.unit.provider == VendorKind.MANUAL:
            line += ("  ·  Codes you enter here are recorded only: set them on the keypad "
                     "yourself.")
        elif not self.caps.automated:
            line += "  ·  No automatic codes."
        return line

    # ------------------------------------------------------------------ data

    def reload(self) -> None:
        unit_id = self.unit.id
        self.runner.run(lambda: self.context.services.passcodes.list_for_unit(unit_id),
                        self._loaded, self._failed, owner=self, label="Loading passcodes…")

    def _loaded(self, codes: list[CodeView]) -> None:
        selected = self.selected_code()
        self.model.set_codes(codes)
        if selected is not None:
            self.select_code(selected.id)
        elif codes:
            self.table.selectRow(0)  # keyboard users can act at once
        self._update_buttons()

    def selected_code(self) -> CodeView | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        code = self.model.data(index.siblingAtColumn(0), CODE_ROLE)
        return code if isinstance(code, CodeView) else None

    def select_code(self, code_id: int) -> None:
        for row, code in enumerate(self.model.codes):
            if code.id == code_id:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        code = self.selected_code()
        ended = code is None or code.state in ENDING_CODE_STATES
        self.edit_button.setEnabled(not ended)
        self.revoke_button.setEnabled(not ended)
        # Failed, or waiting for its next try after a failed attempt (engine/retry.py).
        self.retry_button.setEnabled(code is not None and (
            code.state == CodeState.FAILED or code.retrying
            or (code.state in SENDING_CODE_STATES and code.attempts > 0)))
        stopped = code is not None and code.booking_codes_stopped
        self.resume_button.setVisible(stopped)
        self.resume_button.setEnabled(stopped)

    def _failed(self, error: Exception) -> None:
        self.error_line.setText(plain_message(error))
        self.error_line.show()

    def _done(self, _result: object = None) -> None:
        self.error_line.hide()
        self.reload()
        self.changed.emit()

    # ------------------------------------------------------------------ actions

    def new_passcode(self) -> None:
        reason = (None if self.unit.lock_manageable else "the provider does not allow it")
        if self.unit.codes_not_automatic_reason:
            reason = f"codes are not automatic ({self.unit.codes_not_automatic_reason})"
        if reason is not None:
            tell(self, "New passcode",
                 f"Mangodesk cannot set codes on {self.unit.lock_name}: {reason}.",
                 informative="Set the code on the lock with the vendor's app, or give the "
                             "guest a key another way.",
                 icon=QMessageBox.Icon.Warning, name="cannot_take_codes")
            return
        self._open_editor(None)

    def edit_selected(self) -> None:
        code = self.selected_code()
        if code is not None and self.edit_button.isEnabled():
            self._open_editor(code)

    def _open_editor(self, code: CodeView | None) -> None:
        self.editor = PasscodeEditor(self.context, self.runner, self.unit, self.caps,
                                     self.zone, code, self)
        self.editor.saved.connect(self._saved)
        self.editor.open()

    def _saved(self, code: CodeView) -> None:
        self._done()
        self.select_code(code.id)

    def revoke_selected(self) -> None:
        code = self.selected_code()
        if code is None or not self.revoke_button.isEnabled():
            return
        shown = code.code or "this mobile key"
        if self.unit.provider == VendorKind.MANUAL:
            what = (f"This removes {shown} from Mangodesk only. You'll need to change the "
                    "physical lock code separately — until you do, the code still opens "
                    "the door.")
        elif self.caps.mobile_key:
            what = "The mobile key is removed from the lock system; the guest can no longer " \
                   "use it."
        else:
            what = f"The code {shown} is removed from the lock; nobody can use it any more."
        guest = f" for {code.guest_name}" if code.guest_name else ""
        if code.origin == CodeOrigin.BOOKING and code.booking_id is not None:
            self._ask_booking_revoke(code, what)
            return

        def answered(value: object) -> None:
            if value == "revoke":
                self.runner.run(
                    lambda: self.context.services.passcodes.revoke(
                        code.id, expected_version=code.version),
                    self._done, self._failed, owner=self, label="Revoking…")

        ask(self, "Revoke passcode", f"Revoke the passcode{guest}?",
            [("Revoke", "revoke"), ("Cancel", None)], answered, informative=what,
            icon=QMessageBox.Icon.Warning, name="confirm_revoke")

    def _ask_booking_revoke(self, code: CodeView, what: str) -> None:
        """A booking's code: revoke and stop, or revoke and issue a new code at once.
        Cancel is the default; automation never silently re-issues a revoked code."""
        guest = code.guest_name or "the guest"
        booking = f" (booking {code.booking_ref})" if code.booking_ref else ""
        informative = (
            f"{what}\n\n"
            "Revoke and stop codes: Mangodesk issues no more codes for this booking until you "
            "press Resume codes.\n\n"
            f"Revoke and issue a new code: a new code is created at once; tell {guest} the "
            "new code.")

        def answered(value: object) -> None:
            if value not in ("stop", "reissue"):
                return
            stop = value == "stop"
            self.runner.run(
                lambda: self.context.services.passcodes.revoke(
                    code.id, stop_codes=stop, expected_version=code.version),
                self._done, self._failed, owner=self, label="Revoking…")

        box = ask(self, "Revoke guest code", f"Revoke the code of {guest}{booking}?",
                  [("Revoke and stop codes for this booking", "stop"),
                   ("Revoke and issue a new code", "reissue"), ("Cancel", None)],
                  answered, informative=informative, icon=QMessageBox.Icon.Warning,
                  name="confirm_revoke")
        make_cancel_default(box)

    def resume_selected(self) -> None:
        code = self.selected_code()
        if code is None or not code.booking_codes_stopped or code.booking_id is None:
            return
        booking_id = code.booking_id
        self.runner.run(lambda: self.context.services.passcodes.resume_codes(booking_id),
                        self._done, self._failed, owner=self, label="Resuming codes…")

    def retry_selected(self) -> None:
        code = self.selected_code()
        if code is None or not self.retry_button.isEnabled():
            return
        self.runner.run(lambda: self.context.services.passcodes.retry_now(code.id),
                        self._done, self._failed, owner=self, label="Retrying…")

    def show_details(self) -> None:
        unit_id = self.unit.id
        self.details_button.setEnabled(False)

        def shown(details: LockDetails) -> None:
            self.details_button.setEnabled(True)
            show_lock_details(self, self.unit, details)

        def failed(error: Exception) -> None:
            self.details_button.setEnabled(True)
            self._failed(error)

        self.runner.run(lambda: self.context.services.passcodes.lock_details(unit_id),
                        shown, failed, owner=self,
                        label=f"Asking for the details of {self.unit.lock_name}…")


def show_lock_details(parent: QWidget, unit: UnitRow, details: LockDetails) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("lock_details")
    dialog.setWindowTitle(f"Details — {unit.lock_name}")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    layout = QVBoxLayout(dialog)
    form = QFormLayout()
    for label, value in details.items:
        shown = QLabel(value)
        shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(f"{label}:", shown)
    layout.addLayout(form)
    for warning in details.warnings:
        line = QLabel(f"⚠ {warning}")
        line.setWordWrap(True)
        line.setStyleSheet(f"color: {ERROR_COLOUR};")
        layout.addWidget(line)
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    box.rejected.connect(dialog.close)
    layout.addWidget(box)
    dialog.open()
    return dialog


def tell_not_linked(parent: QWidget, unit: UnitRow) -> None:
    tell(parent, "Not linked", f"{unit.name} is not linked to a lock yet.",
         informative="Link it to a lock first (Link, Ctrl+L).", name="not_linked")
