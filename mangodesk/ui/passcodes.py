"""The Passcodes panel of a unit: its codes, New passcode, Edit, Revoke, Retry now, Details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTime,
    QTimeZone,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError, mask_code
from mangodesk.domain.pins import pin_problem
from mangodesk.domain.types import (
    ATTEMPTED_CODE_STATES,
    ENDING_CODE_STATES,
    SENDING_CODE_STATES,
    CodeOrigin,
    CodeState,
    VendorKind,
)
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.services.views import CodeView, UnitRow
from mangodesk.ui import text
from mangodesk.ui.forms import ERROR_COLOUR, FieldForm, ask, plain_message, tell
from mangodesk.ui.linking import make_cancel_default
from mangodesk.ui.tasks import TaskRunner
from mangodesk.vendors.base import Capabilities, LockDetails

AnyIndex = QModelIndex | QPersistentModelIndex
CODE_ROLE = Qt.ItemDataRole.UserRole + 1
# Numbers first, so staff can type a date straight in (25032026 1500); the weekday last.
DATE_FORMAT = "dd.MM.yyyy  HH:mm  ddd"
ERROR_LINES = 3  # the fixed error area holds three lines; a longer reason scrolls there
# The edits hold the property's wall-clock time. Qt keeps it as UTC so that the desk
# computer's own zone (and its DST gaps) never shifts what staff typed; it is converted
# with the property's IANA zone when read (see PasscodeEditor.when).
WALL_CLOCK = QTimeZone(QTimeZone.Initialization.UTC)

CODE_HEADERS = ["Code", "Valid", "Guest", "Origin", "State", "Attempts", "Last error"]


class CodeTableModel(QAbstractTableModel):
    def __init__(self, zone: ZoneInfo, now: Callable[[], datetime]) -> None:
        super().__init__()
        self._codes: list[CodeView] = []
        self._zone = zone
        self._now = now

    @property
    def codes(self) -> list[CodeView]:
        return self._codes

    def set_codes(self, codes: list[CodeView]) -> None:
        self.beginResetModel()
        self._codes = list(codes)
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._codes)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CODE_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(CODE_HEADERS):
            return CODE_HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._codes):
            return None
        code = self._codes[index.row()]
        column = index.column()
        if role == CODE_ROLE:
            return code
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(code, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == 6 and code.last_error:
            return code.last_error
        if column == 4:
            look = text.code_state(code, self._now())
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(look.colour))
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(look.background))
        if role == Qt.ItemDataRole.FontRole and column == 0 and code.code:
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            return font
        return None

    def _display(self, code: CodeView, column: int) -> str:
        if column == 0:
            if code.code:
                return code.code
            if code.mobile_key_sent_to:
                return f"Mobile key → {code.mobile_key_sent_to}"
            return "chosen by the lock" if code.state in (CodeState.PENDING,
                                                          CodeState.SCHEDULED) else "—"
        if column == 1:
            return text.validity(code.valid_from, code.valid_to, self._zone)
        if column == 2:
            guest = code.guest_name or ""
            return f"{guest} ({code.booking_ref})" if code.booking_ref else guest
        if column == 3:
            origin = text.ORIGIN_TEXT[code.origin]
            return origin if code.managed else f"{origin} (unmanaged)"
        if column == 4:
            if code.next_attempt_at is not None:
                return text.retrying(code.next_attempt_at, code.retry_attempts,
                                     code.max_attempts, self._zone)
            return text.code_state(code, self._now()).text
        if column == 5:  # only where attempts matter: while sending, or after giving up
            busy = code.state in ATTEMPTED_CODE_STATES
            return str(code.attempts) if code.attempts and busy else ""
        if column == 6:
            return (code.last_error or "").splitlines()[0] if code.last_error else ""
        return ""


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
                self.runner.run(lambda: self.context.services.passcodes.revoke(code.id),
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
                lambda: self.context.services.passcodes.revoke(code.id, stop_codes=stop),
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


def _moved(moment: QDateTime, section: QDateTimeEdit.Section, steps: int) -> QDateTime | None:
    """``moment`` moved by ``steps`` of the section's unit; None for another section."""
    Section = QDateTimeEdit.Section
    if section == Section.DaySection:
        return moment.addDays(steps)
    if section == Section.MonthSection:
        return moment.addMonths(steps)
    if section == Section.YearSection:
        return moment.addYears(steps)
    if section == Section.HourSection:
        return moment.addSecs(3600 * steps)
    if section == Section.MinuteSection:
        return moment.addSecs(60 * steps)
    return None


class DateTimeField(QDateTimeEdit):
    """A date and time staff type as digits; the arrow keys move across month and year
    ends (31 March + 1 day is 1 April) instead of stopping at the section's limit."""

    def stepBy(self, steps: int) -> None:
        section = self.currentSection()
        moved = _moved(self.dateTime(), section, steps)
        if moved is None:
            super().stepBy(steps)
            return
        if self.minimumDateTime() <= moved <= self.maximumDateTime():
            self.setDateTime(moved)
        self.setCurrentSection(section)

    def stepEnabled(self) -> QDateTimeEdit.StepEnabledFlag:
        if _moved(self.dateTime(), self.currentSection(), 0) is not None:
            return (QDateTimeEdit.StepEnabledFlag.StepUpEnabled
                    | QDateTimeEdit.StepEnabledFlag.StepDownEnabled)
        return super().stepEnabled()


class PasscodeEditor(QDialog):
    """New passcode / Edit: checked here first, then by the service, with the reason shown
    under the input it is about."""

    saved = Signal(object)  # CodeView

    def __init__(self, context: Context, runner: TaskRunner, unit: UnitRow,
                 caps: Capabilities, zone: ZoneInfo, code: CodeView | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passcode_editor")
        self.context, self.runner, self.unit = context, runner, unit
        self.caps, self.zone, self.code = caps, zone, code
        self.setWindowTitle("Edit passcode" if code else f"New passcode — {unit.name}")
        self.setMinimumWidth(600)
        self._busy = False

        layout = QVBoxLayout(self)
        intro = QLabel(self._intro())
        intro.setWordWrap(True)
        layout.addWidget(intro)
        # Reasons go to one fixed area below the form, so the form never jumps.
        self.form = FieldForm(inline_errors=False)
        layout.addLayout(self.form)

        code_row = QWidget(self)
        row = QHBoxLayout(code_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.code_edit = QLineEdit(code_row)
        self.code_edit.setObjectName("code")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.code_edit.setFont(mono)
        self.generate_button = QPushButton("Generate", code_row)
        self.generate_button.setObjectName("generate")
        self.generate_button.setToolTip("Pick a random code the lock accepts  (Ctrl+G)")
        self.generate_button.clicked.connect(self.generate)
        QShortcut(QKeySequence("Ctrl+G"), self, self.generate)
        row.addWidget(self.code_edit, 1)
        row.addWidget(self.generate_button)
        self.form.add_field("code", "Code", code_row, hint=self._code_hint())
        self._configure_code()

        self.from_edit = self._date_edit("valid_from")
        self.to_edit = self._date_edit("valid_to")
        self.form.add_field("valid_from", "Valid From", self.from_edit)
        self.form.add_field("valid_to", "Valid To", self.to_edit,
                            hint=f"Times are the property's local time ({zone.key}).")
        self.guest_edit = QLineEdit(self)
        self.guest_edit.setObjectName("guest_name")
        self.guest_edit.setPlaceholderText("optional — e.g. plumber, owner, a friend")
        self.form.add_field("guest_name", "Guest name", self.guest_edit)
        self.email_edit = QLineEdit()
        self.email_edit.setObjectName("guest_email")
        if caps.mobile_key and code is None:
            self.form.add_field("guest_email", "Guest email", self.email_edit,
                                hint="The mobile key is sent to this address.")
        self._fill()

        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(
            "Save" if code else "Create passcode", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("save")
        self.save_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        # A fixed, word-wrapped error area: always there (empty when all is well), three
        # lines tall; a longer reason scrolls inside it instead of being cut or pushing the
        # buttons down.
        self.form_error = QLabel(self)
        self.form_error.setObjectName("form_error")
        self.form_error.setWordWrap(True)
        self.form_error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form_error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.form_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_area = QScrollArea(self)
        self.error_area.setObjectName("error_area")
        self.error_area.setWidgetResizable(True)
        self.error_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.error_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.error_area.setFixedHeight(
            self.form_error.fontMetrics().lineSpacing() * ERROR_LINES + 6)
        self.error_area.setWidget(self.form_error)
        self._service_reason = ""
        self.form.errors_changed.connect(self._show_reasons)
        layout.addWidget(self.error_area)
        layout.addWidget(self.buttons)
        self.code_edit.textEdited.connect(lambda _: self.form.clear_error("code"))
        self.from_edit.dateTimeChanged.connect(lambda _: self.form.clear_error("valid_from"))
        self.to_edit.dateTimeChanged.connect(lambda _: self.form.clear_error("valid_to"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    # ------------------------------------------------------------------ building

    def _intro(self) -> str:
        if self.code is not None:
            intro = f"{self.unit.name} · {self.unit.lock_name}"
        else:
            intro = ("For a maintenance visit, an owner stay or friends: a code outside the "
                     f"booking flow on {self.unit.lock_name}.")
        if self.caps.automated and self.unit.provider != VendorKind.MANUAL:
            intro += "\n" + retry_rule(self.context)
        return intro

    def _vendor_chooses(self) -> bool:
        return self.caps.pin_rules is None or self.caps.vendor_generates_pin

    def _code_hint(self) -> str:
        if self._vendor_chooses():
            return ("The lock provider chooses the code (or sends a mobile key); it appears "
                    "here once the lock confirmed it.")
        if self.code is not None and not self.caps.can_change_pin:
            return "This lock provider cannot change the code of an existing passcode."
        if self.unit.provider == VendorKind.MANUAL:
            return "The key code set on the keypad or lockbox, e.g. 1234."
        return "Type a code, or press Generate for one the lock accepts."

    def _configure_code(self) -> None:
        if self._vendor_chooses():
            self.code_edit.setEnabled(False)
            self.generate_button.setEnabled(False)
            self.code_edit.setPlaceholderText("chosen by the lock provider")
        elif self.code is not None and not self.caps.can_change_pin:
            self.code_edit.setReadOnly(True)
            self.code_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            self.code_edit.setToolTip("This lock provider cannot change the code of an "
                                      "existing passcode.")
            # Looks read-only: the window's own colour behind it, not an input's white.
            look = self.code_edit.palette()
            look.setColor(QPalette.ColorRole.Base, look.color(QPalette.ColorRole.Window))
            self.code_edit.setPalette(look)
            self.code_edit.setFrame(False)
            self.generate_button.setEnabled(False)
        elif self.unit.provider == VendorKind.MANUAL:
            self.code_edit.setPlaceholderText("e.g. 8675")
        else:
            self.code_edit.setPlaceholderText("leave empty to generate one")

    def _date_edit(self, name: str) -> QDateTimeEdit:
        edit = DateTimeField(self)
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setTimeZone(WALL_CLOCK)
        edit.setMinimumWidth(240)
        return edit

    def _fill(self) -> None:
        if self.code is not None:
            self.code_edit.setText(self.code.code or "")
            self._set_when(self.from_edit, self.code.valid_from)
            self._set_when(self.to_edit, self.code.valid_to)
            self.guest_edit.setText(self.code.guest_name or "")
            if self.code.origin == CodeOrigin.IMPORTED:
                self.guest_edit.setPlaceholderText("")
            return
        now = self.context.clock.now().astimezone(self.zone)
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        self._set_when(self.from_edit, start)
        self._set_when(self.to_edit, start + timedelta(days=1))

    def _set_when(self, edit: QDateTimeEdit, instant: datetime) -> None:
        wall = instant.astimezone(self.zone).replace(tzinfo=None)
        edit.setDateTime(QDateTime(QDate(wall.year, wall.month, wall.day),
                                   QTime(wall.hour, wall.minute), WALL_CLOCK))

    def when(self, edit: QDateTimeEdit) -> datetime:
        """The edit's wall time, read in the property's zone."""
        qt = edit.dateTime()
        day, clock = qt.date(), qt.time()
        return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(),
                        tzinfo=self.zone)

    # ------------------------------------------------------------------ actions

    def generate(self) -> None:
        if not self.generate_button.isEnabled():
            return
        unit_id = self.unit.id

        def generated(pin: str) -> None:
            self.code_edit.setText(pin)
            self.form.clear_error("code")

        self.runner.run(lambda: self.context.services.passcodes.generate(unit_id), generated,
                        self.show_error, owner=self, label="Choosing a code…")

    def local_problems(self) -> dict[str, str]:
        """What can be said without asking anyone: dates the wrong way round, a code the
        lock will refuse, a missing email for a mobile key."""
        problems: dict[str, str] = {}
        valid_from, valid_to = self.when(self.from_edit), self.when(self.to_edit)
        if valid_to <= valid_from:
            problems["valid_to"] = "Valid To must be after Valid From."
        elif self.code is None and valid_to <= self.context.clock.now():
            problems["valid_to"] = "Valid To is in the past: the code would never work."
        typed = self.code_edit.text().strip()
        rules = self.caps.pin_rules
        manual = self.unit.provider == VendorKind.MANUAL
        if self.code_edit.isEnabled() and not self.code_edit.isReadOnly():
            if not typed and manual:
                problems["code"] = "Enter the key code that is set on the lock."
            elif typed and rules is not None:
                candidate = typed.upper() if manual else typed
                problem = pin_problem(candidate, rules, allow_weak=manual)
                if problem:
                    problems["code"] = problem
        if self.form.has_field("guest_email"):
            email = self.email_edit.text().strip()
            if not email:
                problems["guest_email"] = "A mobile key is sent by email: enter the address."
            elif "@" not in email or email.startswith("@") or email.endswith("@"):
                problems["guest_email"] = "That does not look like an email address."
        return problems

    def submit(self) -> None:
        if self._busy:
            return
        self.form.clear_errors()
        self._service_reason = ""
        self._show_reasons()
        problems = self.local_problems()
        if problems:
            for name, message in problems.items():
                self.form.show_error(name, message)
            return
        data = PasscodeInput(
            valid_from=self.when(self.from_edit),
            valid_to=self.when(self.to_edit),
            code=self.code_edit.text().strip() or None,
            guest_name=self.guest_edit.text(),
            guest_email=self.email_edit.text().strip() or None,
        )
        service = self.context.services.passcodes
        code, unit_id = self.code, self.unit.id

        def work() -> CodeView:
            if code is None:
                return service.create(unit_id, data)
            return service.edit(code.id, data, expected_version=code.version)

        self._set_busy(True)
        self.runner.run(work, self._saved, self.show_error, owner=self,
                        label="Saving the passcode…")

    def _saved(self, view: CodeView) -> None:
        self._set_busy(False)
        self.saved.emit(view)
        self.accept()

    def show_error(self, error: Exception) -> None:
        self._set_busy(False)
        message = plain_message(error)
        typed = self.code_edit.text().strip()
        if isinstance(error, ValidationError) and error.field == "code" and typed:
            # Staff see the code they just typed: name it, not its masked form (the masked
            # form is for logs and the activity log).
            message = message.replace(mask_code(typed) or typed, typed)
        if not (isinstance(error, ValidationError) and error.field
                and self.form.show_error(error.field, message)):
            self._service_reason = message
            self._show_reasons()

    def _show_reasons(self) -> None:
        """Every reason in the fixed area: the refused fields' (named), then the service's."""
        lines = [f"{label}: {reason}" for label, reason in self.form.reasons()]
        if self._service_reason:
            lines.append(self._service_reason)
        self.form_error.setText("\n".join(lines))
        self.error_area.verticalScrollBar().setValue(0)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.save_button.setEnabled(not busy)


def retry_rule(context: Context) -> str:
    """What happens when the lock or its gateway cannot be reached, in the desk's settings."""
    settings = context.settings
    minutes = settings.retry_interval_minutes
    every = f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    return (f"If the lock or its gateway is offline, Mangodesk tries again every {every}, up "
            f"to {settings.max_attempts} times, and then alerts you.")


def tell_not_linked(parent: QWidget, unit: UnitRow) -> None:
    tell(parent, "Not linked", f"{unit.name} is not linked to a lock yet.",
         informative="Link it to a lock first (Link, Ctrl+L).", name="not_linked")
