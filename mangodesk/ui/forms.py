"""Forms that show why an input was refused right under the input, and message boxes that
never block (opened with ``open()`` and answered through a callback)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mangodesk.domain.errors import MangodeskError

ERROR_COLOUR = "#a32020"


class FieldForm(QFormLayout):
    """A form whose rows each carry a hidden error line, shown by field name.

    With ``inline_errors=False`` no line opens under a field (the form never jumps): the
    field's caption turns red and the reasons are collected for one fixed error area
    (:meth:`reasons`, announced by ``errors_changed``)."""

    errors_changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, inline_errors: bool = True) -> None:
        super().__init__(parent)
        self.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.setVerticalSpacing(4)
        self._errors: dict[str, QLabel] = {}
        self._widgets: dict[str, QWidget] = {}
        self._inline = inline_errors
        self._captions: dict[str, QLabel] = {}
        self._labels: dict[str, str] = {}
        self._reasons: dict[str, str] = {}

    def add_field(self, name: str, label: str, widget: QWidget, *, hint: str = "") -> QLabel:
        holder = QWidget()
        # The row takes the form's full width, so hints and reasons wrap there and not
        # at the width of a narrow input (a date edit).
        holder.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(2)
        column.addWidget(widget)
        if hint:
            hint_label = QLabel(hint)
            hint_label.setWordWrap(True)
            hint_label.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
            column.addWidget(hint_label)
        error = QLabel()
        error.setObjectName(f"error_{name}")
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {ERROR_COLOUR};")
        error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error.hide()
        column.addWidget(error)
        caption = QLabel(label)
        caption.setObjectName(f"caption_{name}")
        caption.setBuddy(widget)
        self.addRow(caption, holder)
        self._errors[name] = error
        self._widgets[name] = widget
        self._captions[name] = caption
        self._labels[name] = label
        return caption

    def reasons(self) -> list[tuple[str, str]]:
        """(field label, reason) of every refused field, in the form's order."""
        return [(self._labels[name], self._reasons[name]) for name in self._errors
                if name in self._reasons]

    def has_field(self, name: str) -> bool:
        return name in self._errors

    def show_error(self, name: str, message: str) -> bool:
        """Show ``message`` under the field; False when the form has no such field."""
        label = self._errors.get(name)
        if label is None:
            return False
        self._widgets[name].setFocus(Qt.FocusReason.OtherFocusReason)
        if not self._inline:
            self._reasons[name] = message
            self._captions[name].setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: bold;")
            self.errors_changed.emit()
            return True
        label.setText(message)
        label.show()
        return True

    def clear_error(self, name: str) -> None:
        if not self._inline:
            if self._reasons.pop(name, None) is not None:
                self._captions[name].setStyleSheet("")
                self.errors_changed.emit()
            return
        label = self._errors.get(name)
        if label is not None:
            label.hide()
            label.clear()

    def clear_errors(self) -> None:
        for name in self._errors:
            self.clear_error(name)

    def error_text(self, name: str) -> str:
        if not self._inline:
            return self._reasons.get(name, "")
        label = self._errors.get(name)
        return label.text() if label is not None and not label.isHidden() else ""


def plain_message(error: Exception) -> str:
    """An exception in words for staff: ours carry a message and a fix; others get a
    sentence that does not leak internals."""
    if isinstance(error, MangodeskError):
        return str(error)
    return ("Something unexpected went wrong. Try again; if it keeps happening, send the log "
            "file to your IT contact.")


def ask(parent: QWidget, title: str, text: str, buttons: list[tuple[str, object]],
        on_answer: Callable[[object], None], *, informative: str = "",
        icon: QMessageBox.Icon = QMessageBox.Icon.Question, name: str = "ask") -> QMessageBox:
    """A window-modal question answered through ``on_answer(value)`` (None on Cancel/Esc).
    The Cancel choice is also the default: Enter never takes the risky one."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    values: dict[object, object] = {}
    for label, value in buttons:
        role = (QMessageBox.ButtonRole.RejectRole if value is None
                else QMessageBox.ButtonRole.AcceptRole)
        button = box.addButton(label, role)
        values[button] = value
        if value is None:
            box.setEscapeButton(button)
            box.setDefaultButton(button)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished() -> None:
        on_answer(values.get(box.clickedButton()))

    box.finished.connect(finished)
    box.open()
    return box


def tell(parent: QWidget, title: str, text: str, *, informative: str = "",
         icon: QMessageBox.Icon = QMessageBox.Icon.Information,
         name: str = "tell") -> QMessageBox:
    """A non-blocking notice with one OK button."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    if informative:
        box.setInformativeText(informative)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
