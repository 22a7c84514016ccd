"""A Beds24 connection's non-secret settings and Beds24's five-minute credit budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

BEDS24_BASE_URL = "https://beds24.com/api/v2"
# Re-read this much before the cursor so clock skew and slow commits never hide a change.
DEFAULT_OVERLAP = timedelta(minutes=10)
# The booking info item that carries door codes back to Beds24. Mangodesk's own code, so it
# never overwrites the LOCK_PIN item of Beds24's lock apps or another tool (configurable).
INFO_ITEM_CODE = "MANGODESK_PIN"


@dataclass(frozen=True)
class Beds24Settings:
    """Non-secret connection settings (stored in sync_state.settings as JSON)."""

    base_url: str = BEDS24_BASE_URL
    property_ids: tuple[int, ...] = ()  # empty: every property the token may see
    timezone: str | None = None  # overrides the account's time zone when set
    page_overlap_minutes: float = DEFAULT_OVERLAP.total_seconds() / 60
    info_item_code: str = INFO_ITEM_CODE

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Beds24Settings:
        raw = raw or {}
        ids = raw.get("property_ids") or ()
        return cls(
            base_url=str(raw.get("base_url") or BEDS24_BASE_URL).rstrip("/"),
            property_ids=tuple(int(i) for i in ids),
            timezone=raw.get("timezone") or None,
            page_overlap_minutes=float(
                raw.get("page_overlap_minutes", DEFAULT_OVERLAP.total_seconds() / 60)
            ),
            info_item_code=str(raw.get("info_item_code") or INFO_ITEM_CODE)[:40],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "property_ids": list(self.property_ids),
            "timezone": self.timezone,
            "page_overlap_minutes": self.page_overlap_minutes,
            "info_item_code": self.info_item_code,
        }


@dataclass
class CreditBudget:
    """Beds24's five-minute credit window as last reported by the X-FiveMinCreditLimit headers."""

    limit: int | None = None
    remaining: int | None = None
    resets_at: float | None = None  # monotonic seconds
    last_cost: int = 1
    waited_seconds: float = 0.0

    def update(self, headers: httpx.Headers, now: float) -> None:
        limit = int_header(headers, "X-FiveMinCreditLimit")
        remaining = int_header(headers, "X-FiveMinCreditLimit-Remaining")
        resets_in = int_header(headers, "X-FiveMinCreditLimit-ResetsIn")
        cost = int_header(headers, "X-RequestCost")
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
        if resets_in is not None:
            self.resets_at = now + max(resets_in, 0)
        if cost is not None and cost > 0:
            self.last_cost = cost

    def reserve(self) -> int:
        """Credits to keep in hand: a few calls' worth, so other tools on the account can work."""
        floor = max(2 * self.last_cost, 1)
        if self.limit:
            floor = max(floor, self.limit // 20)
        return floor

    def wait_needed(self, now: float) -> float:
        if self.remaining is None or self.resets_at is None:
            return 0.0
        if self.remaining >= self.reserve():
            return 0.0
        return max(self.resets_at - now, 0.0)

    def spent_window(self) -> None:
        """After waiting for the reset the old numbers no longer apply."""
        self.remaining = None
        self.resets_at = None


def int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


