"""Communications preview: the access-code variable for a booking, exactly as the guest
will see it, with Copy; and in which emails the variable may be used."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.template import VARIABLE_NAME, TemplateContext
from mangodesk.domain.types import BookingStatus
from mangodesk.services.views import BookingView
from mangodesk.ui.forms import ERROR_COLOUR, plain_message
from mangodesk.ui.tasks import TaskRunner

CONTEXT_ROLE = Qt.ItemDataRole.UserRole + 1
CLOSED_STATUSES = {BookingStatus.CANCELLED.value, BookingStatus.NO_SHOW.value}


def booking_for_unit(bookings: list[BookingView], unit_name: str | None,
                     today: date) -> int | None:
    """Index of the unit's current stay, else its next one (cancelled ones skipped);
    without a unit, the first booking that has not left yet."""
    live = [(n, b) for n, b in enumerate(bookings)
            if b.departure >= today and b.status not in CLOSED_STATUSES]
    if unit_name is not None:
        live = [(n, b) for n, b in live if unit_name in b.unit_names]
    if not live:
        return None
    staying = [(n, b) for n, b in live if b.arrival <= today < b.departure]
    return (staying or sorted(live, key=lambda nb: (nb[1].arrival, nb[0])))[0][0]


class CommunicationsDialog(QDialog):
    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None, *, unit_name: str | None = None,
                 today: date | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("communications")
        self.context, self.runner = context, runner
        self.unit_name = unit_name  # opens on this unit's current or next booking
        self.today = today or context.clock.now().date()
        self.setWindowTitle("Guest communications — access-code variable")
        self.setMinimumSize(560, 440)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._generation = 0
        layout = QVBoxLayout(self)

        variable_row = QHBoxLayout()
        variable = QLabel(f"Template variable: <code>{VARIABLE_NAME}</code>", self)
        variable.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        variable_row.addWidget(variable, 1)
        copy_variable = QPushButton("Copy variable", self)
        copy_variable.setObjectName("copy_variable")
        copy_variable.clicked.connect(lambda: self._copy(VARIABLE_NAME))
        variable_row.addWidget(copy_variable)
        layout.addLayout(variable_row)

        self.unit_note = QLabel(self)
        self.unit_note.setObjectName("unit_note")
        self.unit_note.setWordWrap(True)
        self.unit_note.hide()
        layout.addWidget(self.unit_note)
        form = QFormLayout()
        self.booking_box = QComboBox(self)
        self.booking_box.setObjectName("booking")
        self.booking_box.setMinimumWidth(360)
        # Searchable: typing any part of the guest, booking number or unit narrows the list.
        self.booking_box.setEditable(True)
        self.booking_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = self.booking_box.lineEdit()
        if line is not None:
            line.setPlaceholderText("Type a guest, booking number or unit")
            line.returnPressed.connect(self.pick_typed)
        completer = self.booking_box.completer()
        if completer is not None:
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.booking_box.currentIndexChanged.connect(self.update_preview)
        form.addRow("Booking", self.booking_box)
        self.context_box = QComboBox(self)
        self.context_box.setObjectName("template_context")
        contexts = QStandardItemModel(self.context_box)
        for template_context in TemplateContext:
            label = template_context.label
            if not template_context.allows_access_codes:
                label += " — not available"
            item = QStandardItem(label)
            item.setData(template_context, CONTEXT_ROLE)
            contexts.appendRow(item)
        self.context_box.setModel(contexts)
        self.context_box.setCurrentIndex(
            list(TemplateContext).index(TemplateContext.SCHEDULED_CHECKIN))
        self.context_box.currentIndexChanged.connect(self.update_preview)
        form.addRow("Email", self.context_box)
        layout.addLayout(form)

        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("preview")
        self.preview.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.preview.setFont(mono)
        self.preview.setPlaceholderText("(empty: nothing appears in the email)")
        layout.addWidget(self.preview, 1)
        self.problem = QLabel(self)
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.problem.hide()
        layout.addWidget(self.problem)

        allowed = ", ".join(c.label.lower() for c in TemplateContext if c.allows_access_codes)
        refused = " and ".join(c.label.lower() for c in TemplateContext
                               if not c.allows_access_codes)
        where = QLabel(f"Available in {allowed}. Not available in {refused}, where access "
                       "codes are not relevant. Codes are created about 48 hours before "
                       "check-in: schedule pre-arrival emails for then or later.", self)
        where.setObjectName("where")
        where.setWordWrap(True)
        where.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(where)

        buttons = QDialogButtonBox(self)
        self.copy_button = buttons.addButton("Copy text", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setObjectName("copy_text")
        self.copy_button.clicked.connect(lambda: self._copy(self.preview.toPlainText()))
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

        self.runner.run(self.context.services.units.bookings, self._bookings_loaded,
                        self._failed, owner=self, label="Loading bookings…")

    def _bookings_loaded(self, bookings: list[BookingView]) -> None:
        self.booking_box.blockSignals(True)
        for booking in bookings:
            units = ", ".join(booking.unit_names)
            guest = booking.guest_name or "guest"
            self.booking_box.addItem(
                f"{booking.pms_id} · {guest} · {booking.arrival:%d %b} → "
                f"{booking.departure:%d %b} · {units}", booking.id)
        chosen = booking_for_unit(bookings, self.unit_name, self.today)
        if self.unit_name is not None:
            if chosen is None:
                self.unit_note.setText(f"{self.unit_name} has no current or coming booking: "
                                       "pick one below.")
            else:
                stay = bookings[chosen]
                when = ("current" if stay.arrival <= self.today < stay.departure
                        else "next")
                self.unit_note.setText(f"Showing the {when} booking of {self.unit_name}.")
            self.unit_note.show()
        if chosen is None:
            chosen = booking_for_unit(bookings, None, self.today)
        self.booking_box.setCurrentIndex(chosen if chosen is not None else 0)
        self.booking_box.blockSignals(False)
        self.update_preview()

    def pick_typed(self) -> None:
        """Enter after typing part of a booking: take the first booking that contains it."""
        line = self.booking_box.lineEdit()
        typed = line.text().strip().casefold() if line is not None else ""
        if not typed:
            return
        for number in range(self.booking_box.count()):
            if typed in self.booking_box.itemText(number).casefold():
                self.booking_box.setCurrentIndex(number)
                if line is not None:
                    line.setText(self.booking_box.itemText(number))
                return

    def update_preview(self) -> None:
        booking_id = self.booking_box.currentData()
        chosen = self.context_box.currentData(CONTEXT_ROLE)
        if booking_id is None or chosen is None:
            return
        template_context = TemplateContext(chosen)  # Qt hands the value back as plain text
        messages = self.context.services.messages
        self._generation += 1
        generation = self._generation

        def shown(rendered: str) -> None:
            if generation != self._generation:
                return  # the choice changed meanwhile
            self.problem.hide()
            self.preview.setPlainText(rendered)
            self.copy_button.setEnabled(bool(rendered))

        def failed(error: Exception) -> None:
            if generation == self._generation:
                self._failed(error)

        self.runner.run(lambda: messages.render_access_codes(int(booking_id), template_context),
                        shown, failed, owner=self, label="Rendering…")

    def _failed(self, error: Exception) -> None:
        self.preview.clear()
        self.copy_button.setEnabled(False)
        self.problem.setText(plain_message(error))
        self.problem.show()

    @staticmethod
    def _copy(value: str) -> None:
        QGuiApplication.clipboard().setText(value)
