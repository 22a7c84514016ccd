"""The table of a unit's codes in the Passcodes panel (checked by qtmodeltester)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from mangodesk.domain.types import (
    ATTEMPTED_CODE_STATES,
    CodeState,
)
from mangodesk.services.views import CodeView
from mangodesk.ui import text

AnyIndex = QModelIndex | QPersistentModelIndex
CODE_ROLE = Qt.ItemDataRole.UserRole + 1

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
