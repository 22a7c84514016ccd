"""The grid's rows worked out without Qt: columns, cell texts, sort keys, search text and the
filters, prepared on a worker so the GUI thread only swaps them in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from mangodesk.services.views import UnitRow
from mangodesk.ui import text


class Column:
    UNIT = 0
    KIND = 1
    LOCK = 2
    PROVIDER = 3
    CODE = 4
    ARRIVAL = 5
    STATE = 6


HEADERS = ["Unit", "Kind", "Lock", "Provider", "Code and validity", "Next arrival", "State"]

# Sort "needs attention" first when sorting by state.
_STATE_ORDER = {"failed": 0, "retrying": 1, "pending": 2, "revoking": 2, "active": 3,
                "scheduled": 4, "expired": 5, "idle": 6, "unlinked": 7}


@dataclass(frozen=True)
class GridRows:
    """Rows with their cell texts, sort keys and search text worked out: plain data that a
    worker prepares so the GUI thread only swaps it in."""

    rows: list[UnitRow]
    today: date
    zone: ZoneInfo
    search: list[str]
    texts: list[list[str]]
    keys: list[list[Any]]
    # Per column, the row numbers in ascending order; per filter, whether each row passes.
    # The grid's proxy picks from these, so sorting and filtering call no Python per row
    # from Qt (no lessThan, no filterAcceptsRow).
    orders: list[list[int]]
    passes: dict[UnitFilter, list[bool]]


def prepare_rows(rows: list[UnitRow], *, today: date, zone: ZoneInfo) -> GridRows:
    columns = range(len(HEADERS))
    keys = [[sort_key(r, c, today, zone) for c in columns] for r in rows]
    return GridRows(
        rows=list(rows), today=today, zone=zone,
        search=[search_text(r) for r in rows],
        texts=[[cell_text(r, c, today, zone) for c in columns] for r in rows],
        keys=keys,
        orders=[sorted(range(len(rows)), key=lambda n, c=c: keys[n][c])  # type: ignore[misc]
                for c in columns],
        passes={which: [passes_filter(which, r, today) for r in rows] for which in UnitFilter},
    )


def cell_text(row: UnitRow, column: int, today: date, zone: ZoneInfo) -> str:
    if column == Column.UNIT:
        return row.name
    if column == Column.KIND:
        return text.KIND_TEXT.get(row.kind, str(row.kind))
    if column == Column.LOCK:
        return lock_text(row)
    if column == Column.PROVIDER:
        return text.PROVIDER_TEXT.get(row.provider, str(row.provider)) if row.provider else ""
    if column == Column.CODE:
        return _code_text(row, zone)
    if column == Column.ARRIVAL:
        if row.next_arrival is None:
            return ""
        day = text.relative_day(row.next_arrival, today)
        return f"{day} · {row.next_guest}" if row.next_guest else day
    if column == Column.STATE:
        if row.code_next_attempt_at is not None:
            return text.retrying(row.code_next_attempt_at, row.code_attempts, row.max_attempts,
                                 zone)
        return text.unit_status(row.status, row.failed_codes).text
    return ""

def lock_text(row: UnitRow) -> str:
    """The lock, marked when other units share it or when it gets no automatic codes."""
    if row.lock_name is None:
        return "—"
    shown = row.lock_name
    if row.shared_with:
        shown += f"  ⇄ shared with {', '.join(row.shared_with)}"
    if row.codes_not_automatic_reason:
        shown += f"  · codes not automatic: {row.codes_not_automatic_reason}"
    return shown


def _code_text(row: UnitRow, zone: ZoneInfo) -> str:
    if row.code_valid_from is None or row.code_valid_to is None:
        return ""
    what = row.code or ("Mobile key" if row.mobile_key_sent_to else "code pending")
    return f"{what}   {text.validity(row.code_valid_from, row.code_valid_to, zone)}"

def sort_key(row: UnitRow, column: int, today: date, zone: ZoneInfo) -> Any:
    # Plain ints and strings only: Qt compares these natively (tuples it cannot).
    if column == Column.UNIT:
        return f"{row.sort_order:09d} {row.name.casefold()}"
    if column == Column.STATE:
        return _STATE_ORDER.get(row.status, 9) * 1_000_000_000 + row.sort_order
    if column == Column.ARRIVAL:
        return (row.next_arrival or date.max).toordinal()
    if column == Column.CODE:
        return row.code_valid_from.timestamp() if row.code_valid_from else float("inf")
    if column == Column.PROVIDER:
        return (text.PROVIDER_TEXT.get(row.provider, "") if row.provider else "~").casefold()
    return cell_text(row, column, today, zone).casefold()


class UnitFilter(StrEnum):
    ALL = "all"
    ATTENTION = "attention"
    UNLINKED = "unlinked"
    ARRIVING_TODAY = "today"
    ARRIVING_TOMORROW = "tomorrow"


FILTER_LABELS: dict[UnitFilter, str] = {
    UnitFilter.ALL: "All units",
    UnitFilter.ATTENTION: "Needs attention",
    UnitFilter.UNLINKED: "Not linked",
    UnitFilter.ARRIVING_TODAY: "Arrivals today",
    UnitFilter.ARRIVING_TOMORROW: "Arrivals tomorrow",
}


def needs_attention(row: UnitRow) -> bool:
    return (row.status in ("failed", "retrying") or row.retrying_codes > 0
            or row.open_alerts > 0
            or (row.lock_id is not None and not row.lock_manageable)
            or row.codes_not_automatic_reason is not None)


def passes_filter(which: UnitFilter, row: UnitRow, today: date) -> bool:
    if which == UnitFilter.ATTENTION:
        return needs_attention(row)
    if which == UnitFilter.UNLINKED:
        return row.lock_id is None
    if which == UnitFilter.ARRIVING_TODAY:
        return row.next_arrival == today
    if which == UnitFilter.ARRIVING_TOMORROW:
        return row.next_arrival == today + timedelta(days=1)
    return True


def search_text(row: UnitRow) -> str:
    parts = [row.name, row.lock_name, row.code, row.code_guest, row.next_guest,
             row.parent_name, row.connection_name, row.mobile_key_sent_to]
    return " ".join(p for p in parts if p).casefold()
