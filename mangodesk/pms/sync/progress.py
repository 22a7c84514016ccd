"""What a sync reports: its progress page by page, its result, and their words for staff."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SyncProgress:
    """What a progress bar needs after each page applied."""

    pages: int
    bookings: int
    has_more: bool
    full: bool
    # A full load's estimate from the last one's size: pages expected and seconds left.
    expected_pages: int | None = None
    remaining_seconds: float | None = None


def describe_progress(data: dict[str, Any]) -> str:
    """One line for staff from a SYNC_PROGRESS event's data (or asdict(SyncProgress)):
    how far a sync is and, on a long full load, about how long it still takes."""
    kind = "all bookings" if data.get("full") else "changed bookings"
    text = f"Reading {kind}: page {int(data.get('pages') or 0)}"
    if data.get("expected_pages"):
        text += f" of about {int(data['expected_pages'])}"
    text += f", {int(data.get('bookings') or 0)} bookings"
    remaining = data.get("remaining_seconds")
    if isinstance(remaining, int | float):
        text += f", about {format_duration(remaining)} left"
    return text


def format_duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@dataclass
class SyncResult:
    ok: bool
    full: bool = False
    pages: int = 0
    bookings: int = 0  # bookings read from the PMS (groups count once)
    created: int = 0
    updated: int = 0
    skipped: int = 0  # for a property not synced, or older than what we have
    units_added: int = 0
    units_deactivated: int = 0
    cursor: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.units_added or self.units_deactivated)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def summary(source: str, result: SyncResult) -> str:
    kind = "Full" if result.full else "Incremental"
    return (
        f"{kind} {source} sync: {result.bookings} bookings read in {result.pages} pages, "
        f"{result.created} new, {result.updated} changed"
        + (f", {result.units_added} units added" if result.units_added else "")
        + (f", {result.units_deactivated} units inactive" if result.units_deactivated else "")
        + "."
    )
