"""Counting a paged list that gives no total, and telling whether it shifted under a read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mangodesk.pms.paging import PassTally, count_items

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def pages_of(total: int, size: int) -> tuple[list[int], Any]:
    asked: list[int] = []

    def items_on(number: int) -> tuple[int, datetime | None]:
        asked.append(number)
        return max(0, min(size, total - (number - 1) * size)), AT

    return asked, items_on


@pytest.mark.parametrize("total", [11, 19, 20, 21, 99, 100, 101, 387, 1000, 4321])
@pytest.mark.parametrize("hint", [None, 1, 2, 7, 40, 600])
def test_the_count_is_exact_whatever_the_hint(total: int, hint: int | None) -> None:
    asked, items_on = pages_of(total, 10)
    assert count_items(items_on, 10, hint, max_pages=5000) == (total, AT)
    assert len(asked) <= 4 * max(total // 10, 2).bit_length() + 2


def test_the_last_loads_page_count_makes_the_count_one_request() -> None:
    asked, items_on = pages_of(387, 10)
    assert count_items(items_on, 10, 39, max_pages=5000) == (387, AT)
    assert asked == [39]


def test_the_count_stops_at_the_page_limit() -> None:
    asked, items_on = pages_of(10_000, 10)
    assert count_items(items_on, 10, None, max_pages=8) == (80, AT)
    assert max(asked) == 8


def booking(bid: int, created: str = "2026-03-10T11:00:00Z") -> dict[str, Any]:
    return {"id": bid, "bookingTime": created}


def created_after(item: Any, at: datetime | None) -> bool:
    when = datetime.fromisoformat(item["bookingTime"])
    return at is not None and when > at


def tally_of(counted: int, *pages: list[dict[str, Any]]) -> PassTally:
    tally = PassTally(counted=counted, counted_at=AT, page_size=2)
    for items in pages:
        tally.add_page(items, created_after)
    return tally


def test_an_unchanged_list_did_not_shift() -> None:
    assert not tally_of(5, [booking(1), booking(2)], [booking(3), booking(4)],
                        [booking(5)]).shifted()


def test_a_deletion_shifts_the_list() -> None:
    # 2 was deleted after page 1: 4 slid onto page 1 and was never read.
    assert tally_of(5, [booking(1), booking(2)], [booking(5), booking(6)]).shifted()


def test_a_creation_read_at_the_end_is_no_shift_but_one_read_twice_is() -> None:
    new = booking(9, created="2026-03-10T12:01:00Z")
    assert not tally_of(4, [booking(1), booking(2)], [booking(3), booking(4)],
                        [new]).shifted()
    assert tally_of(4, [booking(1), booking(2)], [booking(2), booking(3)],
                    [booking(4)]).shifted()


def test_a_deletion_balanced_by_a_creation_still_shifts() -> None:
    new = booking(9, created="2026-03-10T12:01:00Z")
    assert tally_of(4, [booking(1), booking(2)], [booking(4), new]).shifted()
