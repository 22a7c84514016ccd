"""New passcode and Edit: the form for one code's dates, PIN and guest, in the property's
wall-clock time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QDate,
    QDateTime,
    Qt,
    QTime,
    QTimeZone,
    Signal,
)
from PySide6.QtGui import QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError, mask_code
from mangodesk.domain.pins import pin_problem
from mangodesk.domain.types import (
    CodeOrigin,
    VendorKind,
)
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.services.views import CodeView, UnitRow
from mangodesk.ui.forms import ERROR_COLOUR, FieldForm, plain_message
from mangodesk.ui.tasks import TaskRunner
from mangodesk.vendors.base import Capabilities

# Numbers first, so staff can type a date straight in (25032026 1500); the weekday last.
DATE_FORMAT = "dd.MM.yyyy  HH:mm  ddd"
ERROR_LINES = 3  # the fixed error area holds three lines; a longer reason scrolls there
# The edits hold the property's wall-clock time. Qt keeps it as UTC so that the desk
# computer's own zone (and its DST gaps) never shifts what staff typed; it is converted
# with the property's IANA zone when read (see PasscodeEditor.when).
WALL_CLOCK = QTimeZone(QTimeZone.Initialization.UTC)


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
