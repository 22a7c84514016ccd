"""The main grid: one row per unit (model), and the search and filters over it (proxy)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from mangodesk.services.views import UnitRow
from mangodesk.ui import text
from mangodesk.ui.unit_rows import (
    FILTER_LABELS,
    HEADERS,
    Column,
    GridRows,
    UnitFilter,
    prepare_rows,
)

AnyIndex = QModelIndex | QPersistentModelIndex

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


class UnitTableModel(QAbstractTableModel):
    """Rows are immutable :class:`UnitRow` values; a refresh replaces them in one go."""

    def __init__(self, zone: ZoneInfo | None = None, today: date | None = None) -> None:
        super().__init__()
        self._rows: list[UnitRow] = []
        self._search: list[str] = []
        # Texts and sort keys are computed once per refresh, not on every paint or sort.
        self._texts: list[list[str]] = []
        self._keys: list[list[Any]] = []
        self._orders: list[list[int]] = [[] for _ in HEADERS]
        self._passes: dict[UnitFilter, list[bool]] = {which: [] for which in UnitFilter}
        self._zone = zone or ZoneInfo("UTC")
        self._today = today or date.today()

    # ------------------------------------------------------------------ content

    @property
    def rows(self) -> list[UnitRow]:
        return self._rows

    @property
    def today(self) -> date:
        return self._today

    def search_text(self, row: int) -> str:
        return self._search[row]

    def search_texts(self) -> list[str]:
        return self._search

    def sort_key_at(self, row: int, column: int) -> Any:
        return self._keys[row][column]

    def order(self, column: int) -> list[int]:
        """Row numbers sorted ascending by ``column`` (worked out when the rows came)."""
        return self._orders[column]

    def passing(self, which: UnitFilter) -> list[bool]:
        return self._passes[which]

    def set_rows(self, rows: list[UnitRow] | GridRows, *, today: date | None = None,
                 zone: ZoneInfo | None = None) -> None:
        """Replace the rows (prepared on a worker with :func:`prepare_rows`, or here).
        Same units in the same order (the usual refresh after an event) only repaints, so
        selection and scroll position stay where they were."""
        if isinstance(rows, GridRows):
            grid = rows
        else:
            assert today is not None and zone is not None
            grid = prepare_rows(rows, today=today, zone=zone)
        zone_changed = grid.zone != self._zone
        self._zone, self._today = grid.zone, grid.today
        if zone_changed:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HEADERS) - 1)
        rows = grid.rows
        same_shape = [r.id for r in rows] == [r.id for r in self._rows]
        if same_shape and rows:
            self._fill(grid)
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(rows) - 1, len(HEADERS) - 1))
            return
        self.beginResetModel()
        self._fill(grid)
        self.endResetModel()

    def _fill(self, grid: GridRows) -> None:
        self._rows, self._search = grid.rows, grid.search
        self._texts, self._keys = grid.texts, grid.keys
        self._orders, self._passes = grid.orders, grid.passes

    def row_for_unit(self, unit_id: int) -> int | None:
        for number, row in enumerate(self._rows):
            if row.id == unit_id:
                return number
        return None

    # ------------------------------------------------------------------ Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            if section == HEADERS.index("Code and validity"):
                return f"{HEADERS[section]} ({self._zone.key})"  # times are hotel time
            return HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][column]
        if role == SORT_ROLE:
            return self._keys[index.row()][column]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if column == Column.STATE:
            look = text.unit_status(row.status, row.failed_codes)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(look.colour))
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(look.background))
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.LOCK \
                and row.lock_id is not None and (not row.lock_manageable
                                                 or row.codes_not_automatic_reason):
            return QBrush(QColor(text.UNIT_STATUS["failed"].colour))
        return None

    def _tooltip(self, row: UnitRow, column: int) -> str | None:
        if column == Column.LOCK and row.lock_id is not None and not row.lock_manageable:
            return "Mangodesk cannot send codes to this lock."
        if column == Column.LOCK and row.codes_not_automatic_reason:
            return (f"Codes not automatic: {row.codes_not_automatic_reason}. Set guests' codes "
                    "on the lock with the vendor's app.")
        if column == Column.LOCK and row.shared_with:
            return (f"This door also opens for the guests of {', '.join(row.shared_with)}: "
                    "each unit's guests get codes on it.")
        if column == Column.CODE and (row.code_guest or row.mobile_key_sent_to):
            sent = f"Mobile key sent to {row.mobile_key_sent_to}" \
                if row.mobile_key_sent_to else ""
            guest = f"Guest: {row.code_guest}" if row.code_guest else ""
            return "\n".join(p for p in (guest, sent) if p)
        if column == Column.ARRIVAL and row.next_guest_expected_at is not None:
            return (f"The guest expects to arrive at {row.next_guest_expected_at:%H:%M} (from "
                    "the PMS). The door code still starts at the check-in time; give an early "
                    "check-in by editing the guest's code.")
        if column == Column.PROVIDER and row.connection_name:
            return row.connection_name
        if column == Column.STATE and row.status == "failed":
            return "A code could not be sent to the lock. Open Passcodes to see why."
        if column == Column.STATE and row.status == "retrying":
            return ("Sending the code failed; Mangodesk tries again by itself. Open Passcodes "
                    "and press Retry now to try at once.")
        return None


class UnitFilterProxy(QAbstractProxyModel):
    """Search-as-you-type (every word must match: unit, lock, guest or code) plus one filter,
    sorted by a column. The rows shown are a list of source rows picked from the model's
    precomputed orders and filter flags: one plain Python pass per change, never a Python
    call per comparison or per row from Qt (2,000 units sorted by QSortFilterProxyModel's
    lessThan held the GUI thread for 80–150 ms)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self._filter = UnitFilter.ALL
        self._column = Column.UNIT
        self._order = Qt.SortOrder.AscendingOrder
        self._shown: list[int] = []  # proxy row → source row
        self._where: dict[int, int] = {}  # source row → proxy row

    @property
    def unit_filter(self) -> UnitFilter:
        return self._filter

    def setSourceModel(self, source: Any) -> None:
        old = self.sourceModel()
        if old is not None:
            for signal, slot in self._source_signals(old):
                signal.disconnect(slot)
        self.beginResetModel()
        super().setSourceModel(source)
        if source is not None:
            for signal, slot in self._source_signals(source):
                signal.connect(slot)
        self._shown, self._where = self._pick()
        self.endResetModel()

    def _source_signals(self, source: Any) -> list[tuple[Any, Any]]:
        return [(source.modelAboutToBeReset, self._source_resetting),
                (source.modelReset, self._source_reset),
                (source.dataChanged, self._source_data_changed)]

    def set_search(self, query: str) -> None:
        words = query.casefold().split()
        if words != self._words:
            self._words = words
            self._relayout()

    def set_unit_filter(self, which: UnitFilter) -> None:
        if which != self._filter:
            self._filter = which
            self._relayout()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(HEADERS) and (column, order) != (self._column, self._order):
            self._column, self._order = column, order
            self._relayout()

    def sortColumn(self) -> int:
        return self._column

    def sortOrder(self) -> Qt.SortOrder:
        return self._order

    # ------------------------------------------------------------------ the rows shown

    def _model(self) -> UnitTableModel | None:
        model = self.sourceModel()
        return model if isinstance(model, UnitTableModel) else None

    def _pick(self) -> tuple[list[int], dict[int, int]]:
        model = self._model()
        if model is None or model.rowCount() == 0:
            return [], {}
        order = model.order(self._column)
        if self._order == Qt.SortOrder.DescendingOrder:
            order = order[::-1]
        passing = model.passing(self._filter)
        words = self._words
        if words:
            search = model.search_texts()
            shown = [n for n in order
                     if passing[n] and all(word in search[n] for word in words)]
        elif self._filter == UnitFilter.ALL:
            shown = list(order)
        else:
            shown = [n for n in order if passing[n]]
        return shown, {source: row for row, source in enumerate(shown)}

    def _relayout(self) -> None:
        """Show the rows picked now; selection and current row follow their unit."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        sources = [(index.row(), index.column()) for index in before]
        old_shown = self._shown
        self._shown, self._where = self._pick()
        after = []
        for row, column in sources:
            source = old_shown[row] if 0 <= row < len(old_shown) else None
            new_row = self._where.get(source) if source is not None else None
            after.append(self.createIndex(new_row, column) if new_row is not None
                         else QModelIndex())
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def _source_resetting(self) -> None:
        self.beginResetModel()

    def _source_reset(self) -> None:
        self._shown, self._where = self._pick()
        self.endResetModel()

    def _source_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex,
                             roles: list[int] | None = None) -> None:
        """New texts for the same units: the order or the filter may change with them."""
        shown, _ = self._pick()
        if shown != self._shown:
            self._relayout()
        elif shown:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(shown) - 1, len(HEADERS) - 1))

    # ------------------------------------------------------------------ Qt proxy API

    def mapToSource(self, proxy_index: AnyIndex) -> QModelIndex:
        model = self.sourceModel()
        if model is None or not proxy_index.isValid() \
                or not 0 <= proxy_index.row() < len(self._shown):
            return QModelIndex()
        return model.index(self._shown[proxy_index.row()], proxy_index.column())

    def mapFromSource(self, source_index: AnyIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = self._where.get(source_index.row())
        return QModelIndex() if row is None else self.createIndex(row, source_index.column())

    def index(self, row: int, column: int,
              parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() or not (0 <= row < len(self._shown)
                                    and 0 <= column < len(HEADERS)):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, child: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        return QModelIndex()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and bool(self._shown)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        model = self.sourceModel()
        if orientation == Qt.Orientation.Horizontal and model is not None:
            return model.headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._shown):
            return section + 1
        return None


__all__ = [
    "FILTER_LABELS",
    "ROW_ROLE",
    "Column",
    "GridRows",
    "UnitFilter",
    "UnitFilterProxy",
    "UnitTableModel",
    "prepare_rows",
]
