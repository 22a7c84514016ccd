"""Read a paged PMS list that has no totals without silently missing an item.

Beds24 pages a list by position (``page=N`` of a fixed size) and gives no total. A booking
deleted during a long read, at a position already read, moves every later booking one place
forward: the one that was first on the next page slides onto the page already read and is never
seen. A booking created there does the opposite (one booking is read twice; harmless). With no
local copy yet (the very first full load) nothing would ever notice.

So every read of more than one page is checked: before page 1 is taken for real the list is
counted (galloping from the last load's page count: usually one small request), and at the end

    items the list holds now  ==  items counted  +  items that entered it since the count

must hold, with no item read twice. "Now" comes free from the last page (full pages before it
plus its own items); an item "entered" when its entry time (a booking's creation time for a full
load, its modification time for a changes-only read) is after the count. Any deletion, or a
creation behind the read position, breaks the equation, and the list is read once more (a new
pass; what was applied stays applied). After ``MAX_PASSES`` shifted passes the read fails, so the
cursor stays where it was and the next sync reads the same window again.

What it cannot see: a deletion behind the read position exactly balanced by a booking moved
*into* the list ahead of it by a modification (not a creation) within the same read. That
booking's own change is still read by the next changes-only sync; only the shifted unchanged one
waits for the next full load.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from mangodesk.pms.base import PmsError

MAX_PASSES = 3

Reply = TypeVar("Reply")


@dataclass
class PassTally:
    """What one pass over a paged list saw, to tell whether the list shifted under it."""

    counted: int
    counted_at: datetime | None
    page_size: int
    pages: int = 0
    last_page_items: int = 0
    repeated: int = 0
    entered: int = 0
    ids: set[Any] = field(default_factory=set)

    def add_page(
        self, items: list[Any], entered: Callable[[Any, datetime | None], bool]
    ) -> None:
        self.pages += 1
        self.last_page_items = len(items)
        keys = [key for key in (item.get("id") if isinstance(item, dict) else None
                                for item in items) if key is not None]
        new_keys = set(keys) - self.ids
        # Every key already read, on an earlier page or this one, counts once more.
        self.repeated += len(keys) - len(new_keys)
        self.ids |= new_keys
        counted_at = self.counted_at
        self.entered += sum(1 for item in items if entered(item, counted_at))

    @property
    def listed_now(self) -> int:
        return (self.pages - 1) * self.page_size + self.last_page_items

    def shifted(self) -> bool:
        return self.repeated > 0 or self.listed_now != self.counted + self.entered


@dataclass(frozen=True)
class CheckedPage(Generic[Reply]):
    reply: Reply
    number: int  # the page's number within its pass (what a resumed read starts after)
    last_of_pass: bool
    # On the last page of a pass: the list moved under this pass, another one follows.
    shifted: bool = False
    counted: int | None = None  # items the list held when counted (None: not counted)
    pass_number: int = 1


def count_items(
    items_on: Callable[[int], tuple[int, datetime | None]],
    page_size: int,
    hint: int | None,
    max_pages: int,
) -> tuple[int, datetime | None]:
    """Items in a paged list whose page 1 is full and announced more: find the last page
    that holds anything, galloping from ``hint`` (the last load's page count), then halving.
    Returns the count and the server's time of the first probe."""
    full_up_to, empty_from = 1, None  # page `full_up_to` is full; `empty_from` is empty
    probe, step = max(hint or 2, 2), 1
    at: datetime | None = None
    for asked in range(4 * max_pages.bit_length() + 4):
        probe = min(probe, max_pages)
        found, when = items_on(probe)
        if asked == 0:
            at = when
        if 0 < found < page_size:
            return (probe - 1) * page_size + found, at
        if found:
            full_up_to = probe
        else:
            empty_from = probe
        if empty_from is None:
            if full_up_to >= max_pages:
                break
            probe, step = full_up_to + step, step * 2  # gallop upwards from the hint
        elif empty_from - full_up_to <= 1:
            break
        else:
            probe = (full_up_to + empty_from) // 2
    return full_up_to * page_size, at


def checked_pages(
    read_from: Callable[[int], Iterator[Reply]],
    items: Callable[[Reply], list[Any]],
    more: Callable[[Reply], bool],
    count: Callable[[int], tuple[int, datetime | None]],
    entered: Callable[[Any, datetime | None], bool],
    *,
    start: int = 1,
    passes: int = MAX_PASSES,
    what: str = "bookings",
) -> Iterator[CheckedPage[Reply]]:
    """The pages of ``read_from(start)``, checked as the module says. ``count(page_size)``
    counts the list; ``entered(item, counted_at)`` says whether an item entered it after the
    count. A read resumed after page 1 (``start > 1``) cannot be checked and is not."""
    for pass_number in range(1, passes + 1):
        first = start if pass_number == 1 else 1
        replies = read_from(first)
        reply = next(replies)
        tally: PassTally | None = None
        if first == 1 and more(reply):
            size = len(items(reply))
            counted, counted_at = count(size)
            tally = PassTally(counted=counted, counted_at=counted_at, page_size=size)
            if isinstance(replies, Generator):
                replies.close()
            replies = read_from(1)  # page 1 as it is after the count
            reply = next(replies)
        number = first
        while True:
            last = not more(reply)
            shifted = False
            if tally is not None:
                tally.add_page(items(reply), entered)
                shifted = last and tally.shifted()
            yield CheckedPage(
                reply=reply, number=number, last_of_pass=last, shifted=shifted,
                counted=tally.counted if tally is not None else None, pass_number=pass_number,
            )
            if last:
                break
            reply = next(replies)
            number += 1
        if not shifted:
            return
    raise PmsError(
        f"The {what} in Beds24 kept changing while Mangodesk read them page by page "
        f"({passes} times in a row a booking was added or deleted during the read), so one "
        "may have been skipped. Everything read was saved; the last sync time was not moved.",
        "Nothing needs doing: the next sync reads them again. If this keeps happening, "
        "run the sync at a quieter time.",
    )
