"""The unit grid: the model passes Qt's model checks; search and filters find the right rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt

from mangodesk.app import Context
from mangodesk.domain.types import CodeState, UnitKind, VendorKind
from mangodesk.services.views import UnitRow
from mangodesk.ui.unit_model import (
    ROW_ROLE,
    Column,
    UnitFilter,
    UnitFilterProxy,
    UnitTableModel,
)

TODAY = date(2026, 3, 10)
OSLO = ZoneInfo("Europe/Oslo")


def row(unit_id: int, name: str, *, status: str = "idle", lock: str | None = None,
        code: str | None = None, guest: str | None = None, arrival: date | None = None,
        failed: int = 0, manageable: bool = True) -> UnitRow:
    start = datetime(2026, 3, 10, 14, 0, tzinfo=UTC) if code else None
    return UnitRow(
        id=unit_id, name=name, kind=UnitKind.ROOM, parent_name=None, sort_order=unit_id,
        active=True, lock_id=unit_id if lock else None, lock_name=lock,
        provider=VendorKind.TTLOCK if lock else None, connection_name="TTLock" if lock else None,
        lock_manageable=manageable, code=code, code_valid_from=start,
        code_valid_to=start + timedelta(days=2) if start else None, code_guest=guest,
        code_state=CodeState.ACTIVE if code else None, next_arrival=arrival,
        next_guest=guest if arrival else None, status=status, failed_codes=failed,
    )


ROWS = [
    row(1, "Room 101", status="active", lock="Keypad 101", code="482915", guest="Ingrid Berg"),
    row(2, "Room 102", status="failed", lock="Keypad 102", failed=2, arrival=TODAY,
        guest="Lars Hansen"),
    row(3, "Room 103", status="unlinked", arrival=TODAY + timedelta(days=1),
        guest="Sofia Rossi"),
    row(4, "Apartment Sol", status="scheduled", lock="Sol lockbox", manageable=False),
]


def model_with(rows: list[UnitRow]) -> UnitTableModel:
    model = UnitTableModel()
    model.set_rows(rows, today=TODAY, zone=OSLO)
    return model


def test_the_model_passes_qt_model_checks(qtmodeltester: Any) -> None:
    qtmodeltester.check(model_with(ROWS), force_py=True)


def test_the_proxy_passes_qt_model_checks(qtmodeltester: Any) -> None:
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(ROWS))
    proxy.set_search("room")
    qtmodeltester.check(proxy, force_py=True)


def test_the_model_passes_checks_with_real_units(qtmodeltester: Any, context: Context) -> None:
    qtmodeltester.check(model_with(context.services.units.list_units()), force_py=True)


def shown(proxy: UnitFilterProxy) -> list[str]:
    return [proxy.index(r, Column.UNIT).data() for r in range(proxy.rowCount())]


def test_state_is_a_word_with_a_colour() -> None:
    model = model_with(ROWS)
    failed = model.index(1, Column.STATE)
    assert failed.data() == "Needs attention (2 codes)"
    assert failed.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#a32020"
    assert model.index(0, Column.STATE).data() == "Active"
    assert model.index(2, Column.STATE).data() == "Not linked"
    assert model.index(0, Column.CODE).data() == "482915   10 Mar 15:00 → 12 Mar 15:00"
    assert model.index(1, Column.ARRIVAL).data() == "Today · Lars Hansen"
    assert model.index(2, Column.ARRIVAL).data() == "Tomorrow · Sofia Rossi"
    assert model.index(3, Column.LOCK).data(Qt.ItemDataRole.ToolTipRole) == \
        "Mangodesk cannot send codes to this lock."
    assert model.index(0, 0).data(ROW_ROLE) is ROWS[0]


def test_search_matches_every_word_over_units_locks_guests_and_codes() -> None:
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(ROWS))
    proxy.set_search("4829")
    assert shown(proxy) == ["Room 101"]
    proxy.set_search("ROSSI")
    assert shown(proxy) == ["Room 103"]
    proxy.set_search("keypad 102")
    assert shown(proxy) == ["Room 102"]
    proxy.set_search("lockbox")
    assert shown(proxy) == ["Apartment Sol"]
    proxy.set_search("room nobody")
    assert shown(proxy) == []
    proxy.set_search("")
    assert len(shown(proxy)) == 4


def test_filters() -> None:
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(ROWS))
    proxy.set_unit_filter(UnitFilter.ATTENTION)
    assert shown(proxy) == ["Room 102", "Apartment Sol"]  # a failed code; a lock we can't use
    proxy.set_unit_filter(UnitFilter.UNLINKED)
    assert shown(proxy) == ["Room 103"]
    proxy.set_unit_filter(UnitFilter.ARRIVING_TODAY)
    assert shown(proxy) == ["Room 102"]
    proxy.set_unit_filter(UnitFilter.ARRIVING_TOMORROW)
    assert shown(proxy) == ["Room 103"]
    proxy.set_search("lars")
    assert shown(proxy) == []  # filter and search combine
    proxy.set_unit_filter(UnitFilter.ALL)
    assert shown(proxy) == ["Room 102"]


def test_sorting_by_state_puts_problems_first() -> None:
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(ROWS))
    proxy.sort(Column.STATE, Qt.SortOrder.AscendingOrder)
    assert shown(proxy)[0] == "Room 102"
    proxy.sort(Column.UNIT, Qt.SortOrder.AscendingOrder)
    assert shown(proxy) == ["Room 101", "Room 102", "Room 103", "Apartment Sol"]


def test_a_refresh_of_the_same_units_keeps_the_rows(qtbot: Any) -> None:
    model = model_with(ROWS)
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.dataChanged):
        model.set_rows([*ROWS[:3], row(4, "Apartment Sol", status="active",
                                       lock="Sol lockbox")], today=TODAY, zone=OSLO)
    assert model.index(3, Column.STATE).data() == "Active"
    with qtbot.waitSignal(model.modelReset):
        model.set_rows(ROWS[:2], today=TODAY, zone=OSLO)
    assert model.rowCount() == 2


def test_an_open_alert_puts_a_unit_under_needs_attention() -> None:
    from dataclasses import replace

    rows = [replace(r, open_alerts=1) if r.name == "Room 101" else r for r in ROWS]
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(rows))
    proxy.set_unit_filter(UnitFilter.ATTENTION)
    assert "Room 101" in shown(proxy)


def test_sorting_and_filtering_call_no_python_per_row(monkeypatch: Any) -> None:
    """The proxy picks from orders and filter flags the worker prepared: a sort, a filter
    switch or a keystroke asks the model for no sort key or search text row by row (Qt
    calling lessThan per comparison held the GUI thread for 80–150 ms at 2,000 units)."""
    model = model_with(ROWS)
    proxy = UnitFilterProxy()
    proxy.setSourceModel(model)
    asked: list[int] = []
    monkeypatch.setattr(UnitTableModel, "sort_key_at",
                        lambda self, r, c: asked.append(r) or self._keys[r][c])
    monkeypatch.setattr(UnitTableModel, "search_text",
                        lambda self, r: asked.append(r) or self._search[r])
    monkeypatch.setattr(UnitTableModel, "rows", property(
        lambda self: asked.append(-1) or self._rows))
    proxy.sort(Column.UNIT, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == ["Apartment Sol", "Room 103", "Room 102", "Room 101"]
    proxy.set_unit_filter(UnitFilter.ATTENTION)
    proxy.set_search("room")
    assert shown(proxy) == ["Room 102"]
    assert asked == []


def test_the_selection_follows_its_unit_through_a_filter_and_a_sort(qtbot: Any) -> None:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QTableView

    proxy = UnitFilterProxy()
    proxy.setSourceModel(model_with(ROWS))
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.selectionModel().setCurrentIndex(
        proxy.index(1, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    proxy.set_unit_filter(UnitFilter.ATTENTION)
    proxy.sort(Column.UNIT, Qt.SortOrder.DescendingOrder)
    current = view.selectionModel().currentIndex()
    assert current.isValid() and current.siblingAtColumn(0).data(ROW_ROLE).name == "Room 102"
    proxy.set_unit_filter(UnitFilter.UNLINKED)
    assert not view.selectionModel().currentIndex().isValid()  # Room 102 is not shown
