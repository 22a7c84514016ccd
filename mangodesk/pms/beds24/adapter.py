"""The Beds24 PMS adapter: properties, changed bookings page by page (booking groups kept
whole, a full load resumable), bookings by number, and door codes written back.
"""

from __future__ import annotations

import json
import logging
import time as time_module
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from mangodesk.domain.clock import Clock
from mangodesk.pms.base import (
    BookingPage,
    PmsAuthError,
    PmsBooking,
    PmsError,
    PmsProperty,
    UnreadableBooking,
)

# The page limit is read where it is defined (tests lower it there).
from mangodesk.pms.beds24 import client as client_module
from mangodesk.pms.beds24.client import (
    DEFAULT_TIMEOUT,
    Beds24Client,
    Reply,
    TokenInfo,
)
from mangodesk.pms.beds24.parsing import (
    checked_zone,
    format_cursor,
    group_key,
    parse_cursor,
    parse_instant,
    parse_property,
    read_bookings,
    split_partial_groups,
    whole_groups,
)
from mangodesk.pms.beds24.settings import Beds24Settings, CreditBudget
from mangodesk.pms.paging import CheckedPage, checked_pages, count_items
from mangodesk.store.secrets import SecretStore

log = logging.getLogger("mangodesk.pms.beds24")

# Every status Beds24 knows: asking for all of them is the only way to see cancellations.
ALL_STATUSES = ("confirmed", "request", "new", "cancelled", "black", "inquiry")
# A full load interrupted longer ago than this starts over instead of resuming.
RESUME_WITHIN = timedelta(hours=12)
# On a full (first) load, also fetch bookings that left this many days ago.
FULL_LOAD_PAST_DAYS = 7


class Beds24Adapter:
    """PmsAdapter for Beds24 API v2. Thread-safe; one HTTP call at a time per account
    (through its :class:`Beds24Client`)."""

    name = "beds24"

    def __init__(
        self,
        *,
        secrets: SecretStore,
        clock: Clock,
        settings: Beds24Settings | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time_module.monotonic,
        max_rate_wait: float = 310.0,
        max_retries_429: int = 3,
    ) -> None:
        self.settings = settings or Beds24Settings()
        self._clock = clock
        self.client = Beds24Client(
            secrets=secrets, clock=clock, settings=self.settings, transport=transport,
            timeout=timeout, sleep=sleep, monotonic=monotonic, max_rate_wait=max_rate_wait,
            max_retries_429=max_retries_429,
        )
        self._account_zone: str | None = None
        # Count the pages of a full load up front (a few calls) so progress can show the
        # time left; the sync turns this off when it knows the count from the last load.
        self.estimate_pages = True
        # The last full load's page count: where counting a full load's list starts.
        self.pages_hint: int | None = None

    # ------------------------------------------------------------------ the account

    def close(self) -> None:
        self.client.close()

    def interrupt(self) -> None:
        """Stop waiting for credits at once (a clean stop never hangs in a back-off)."""
        self.client.interrupt()

    def __enter__(self) -> Beds24Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect_with_invite_code(self, invite_code: str, device_name: str = "Mangodesk") -> None:
        """Trade a one-time invite code for a refresh token, stored in the keyring."""
        self.client.connect_with_invite_code(invite_code, device_name)

    def disconnect(self) -> None:
        self.client.disconnect()

    def is_connected(self) -> bool:
        return self.client.is_connected()

    def token_info(self) -> TokenInfo:
        return self.client.token_info()

    @property
    def credits(self) -> CreditBudget:
        """Beds24's five-minute credit window as last reported."""
        return self.client.credits

    @property
    def calls(self) -> int:
        return self.client.calls

    @property
    def on_wait(self) -> Callable[[float, str], None] | None:
        """Told (seconds, why) before every wait for Beds24's credits."""
        return self.client.on_wait

    @on_wait.setter
    def on_wait(self, listener: Callable[[float, str], None] | None) -> None:
        self.client.on_wait = listener

    def account_timezone(self) -> str:
        """The IANA zone booking dates are in: the configured one, else the account's."""
        if self.settings.timezone:
            return checked_zone(self.settings.timezone)
        if self._account_zone is not None:
            return self._account_zone
        try:
            body = self.client.get("/accounts").body
        except PmsAuthError as exc:
            raise PmsError(
                "Beds24 did not tell Mangodesk the hotel's time zone (the invite code lacks "
                "the accounts scope).",
                "Set the time zone when connecting (for example --timezone Europe/Berlin).",
                transient=False,
            ) from exc
        data = body.get("data")
        zone = data[0].get("timezone") if isinstance(data, list) and data and isinstance(
            data[0], dict) else None
        if not isinstance(zone, str) or not zone:
            raise PmsError(
                "Beds24 did not tell Mangodesk the hotel's time zone.",
                "Set the time zone when connecting (for example --timezone Europe/Berlin).",
                transient=False,
            )
        self._account_zone = checked_zone(zone)
        return self._account_zone

    def list_properties(self) -> list[PmsProperty]:
        zone = self.account_timezone()
        params: list[tuple[str, str]] = [
            ("includeAllRooms", "true"),
            ("includeUnitDetails", "true"),
        ]
        params += [("id", str(pid)) for pid in self.settings.property_ids]
        properties: list[PmsProperty] = []
        for reply in self.client.pages("/properties", params):
            for raw in reply.body["data"]:
                properties.append(parse_property(raw, zone))
        return properties

    # ------------------------------------------------------------------ bookings

    def booking_query(self, cursor: str | None, today: date) -> list[tuple[str, str]]:
        """The /bookings filter: every status; changes since the cursor, or a full load."""
        params: list[tuple[str, str]] = [("status", s) for s in ALL_STATUSES]
        params += [("includeBookingGroup", "true")]
        params += [("propertyId", str(pid)) for pid in self.settings.property_ids]
        if cursor is None:
            # Without a date filter Beds24 returns only upcoming bookings; ask from a week
            # back so guests in house are included.
            params.append(("departureFrom", (today - timedelta(days=FULL_LOAD_PAST_DAYS))
                           .isoformat()))
        else:
            params.append(("modifiedFrom", self.modified_from(cursor)))
        return params

    def modified_from(self, cursor: str) -> str:
        """Cursor (a UTC instant) minus the overlap, as Beds24's offset-less timestamp in the
        account's time zone (how Beds24 reads it; sending UTC re-read an hour or more of
        changes on every poll in zones east of UTC)."""
        instant = parse_cursor(cursor) - timedelta(minutes=self.settings.page_overlap_minutes)
        zone = ZoneInfo(self.account_timezone())
        return instant.astimezone(zone).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S")

    def bookings_changed_since(
        self, cursor: str | None, resume: dict[str, str] | None = None
    ) -> Iterator[BookingPage]:
        """Pages of changed bookings. The rooms of a booking group that a page holds only in
        part are carried to the next page (where the rest usually is); groups still partial
        after the last page are fetched together in one extra request."""
        started = self._clock.now()
        first_page = 1
        basis: datetime | None = None
        resumed_basis = parse_instant(resume.get("basis")) if resume else None
        if (resume and cursor is None and resumed_basis is not None
                and started - resumed_basis < RESUME_WITHIN):
            params = [(str(k), str(v)) for k, v in json.loads(resume["params"])]
            first_page = int(resume["page"]) + 1
            basis = resumed_basis
        else:
            params = self.booking_query(cursor, started.date())
        held: list[dict[str, Any]] = []
        yielded: set[int] = set()
        number = first_page - 1
        for checked in self._checked_booking_pages(params, first_page, cursor):
            reply, number = checked.reply, checked.number
            if basis is None:
                basis = reply.server_time or (started - timedelta(minutes=5))
            raw_page = reply.body["data"]
            # A pass the list shifted under is followed by another: not the end yet.
            has_more = not checked.last_of_pass or checked.shifted
            rooms = held + [b for b in raw_page if isinstance(b, dict)]
            not_objects = len(raw_page) - sum(1 for b in raw_page if isinstance(b, dict))
            complete, held = split_partial_groups(rooms)
            incomplete: list[UnreadableBooking] = []
            if checked.last_of_pass and held:
                complete, incomplete = whole_groups(complete + self._fetch_groups(held))
                held = []
            # A room already given in an earlier page (pages shifted under us) is not
            # counted or applied twice.
            fresh = [b for b in complete if not (isinstance(b.get("id"), int)
                                                   and b["id"] in yielded)]
            bookings, unreadable = read_bookings(fresh)
            unreadable += incomplete
            if not_objects:
                unreadable.append(UnreadableBooking("?", "an entry that is not a booking"))
            yielded.update(b["id"] for b in fresh if isinstance(b.get("id"), int))
            extra = self._page_extra(raw_page, number, has_more, cursor, params, checked)
            yield BookingPage(
                bookings=bookings,
                page_number=number,
                has_more=has_more,
                cursor=None if has_more else format_cursor(basis),
                extra=extra,
                unreadable=unreadable,
                resume=None if cursor is not None or held else {
                    "params": json.dumps(params),
                    # After a shifted pass a resumed load starts a new pass at page 1.
                    "page": "0" if checked.shifted else str(number),
                    "basis": format_cursor(basis),
                },
            )

    def _checked_booking_pages(
        self, params: list[tuple[str, str]], first_page: int, cursor: str | None
    ) -> Iterator[CheckedPage[Reply]]:
        """The booking pages, checked for a list that shifted under the read (pms.paging)."""
        # What "entered the list" means: created (full load) or changed (changes-only read).
        stamp = "bookingTime" if cursor is None else "modifiedTime"

        def entered(raw: Any, counted_at: datetime | None) -> bool:
            when = parse_instant(raw.get(stamp)) if isinstance(raw, dict) else None
            return counted_at is not None and when is not None and when > counted_at

        def items_on(number: int) -> tuple[int, datetime | None]:
            reply = self.client.get("/bookings", [*params, ("page", str(number))])
            data = reply.body.get("data")
            return (len(data) if isinstance(data, list) else 0), reply.server_time

        def count(page_size: int) -> tuple[int, datetime | None]:
            hint = self.pages_hint if cursor is None else None
            return count_items(items_on, page_size, hint, client_module.MAX_PAGES)

        return checked_pages(
            lambda start: self.client.pages("/bookings", params, start=start),
            lambda reply: list(reply.body["data"]),
            lambda reply: bool(isinstance(reply.body.get("pages"), dict)
                               and reply.body["pages"].get("nextPageExists")),
            count, entered, start=first_page,
        )

    def _page_extra(
        self, raw_page: list[Any], number: int, has_more: bool, cursor: str | None,
        params: list[tuple[str, str]], checked: CheckedPage[Reply] | None = None,
    ) -> dict[str, str]:
        extra = {"raw_count": str(len(raw_page))}
        if checked is not None and checked.counted and number == 1 and raw_page and not cursor:
            extra["expected_pages"] = str(-(-checked.counted // len(raw_page)))
        elif number == 1 and has_more and cursor is None and self.estimate_pages:
            try:
                extra["expected_pages"] = str(self._count_pages(params))
            except PmsError as exc:  # only an estimate: the load itself goes on
                log.info("could not count the Beds24 pages: %s", exc.message)
        return extra

    def _count_pages(self, params: list[tuple[str, str]]) -> int:
        """How many pages a first full load has (Beds24 gives no total): probe pages 2, 4,
        8, … until one is empty, then halve the gap. About 2·log2(pages) small calls, so a
        30-minute first load can show the time it has left."""
        def has_page(number: int) -> bool:
            data = self.client.get("/bookings", [*params, ("page", str(number))]).body.get("data")
            return isinstance(data, list) and bool(data)

        known, probe = 1, 2
        while probe <= client_module.MAX_PAGES and has_page(probe):
            known, probe = probe, probe * 2
        # page `low` exists, `high` does not
        low, high = known, min(probe, client_module.MAX_PAGES + 1)
        while high - low > 1:
            middle = (low + high) // 2
            if has_page(middle):
                low = middle
            else:
                high = middle
        return low

    def bookings_by_id(self, pms_ids: Sequence[str]) -> list[PmsBooking]:
        """Beds24's current copy of these bookings (whole groups), in one request per 100
        numbers; a number Beds24 no longer knows is simply absent."""
        numbers = sorted({int(i) for i in pms_ids if str(i).isdigit()})
        found: list[PmsBooking] = []
        for start in range(0, len(numbers), 100):
            chunk = numbers[start:start + 100]
            params: list[tuple[str, str]] = [("status", s) for s in ALL_STATUSES]
            params += [("includeBookingGroup", "true")]
            params += [("id", str(n)) for n in chunk]
            rooms: list[dict[str, Any]] = []
            for reply in self.client.pages("/bookings", params):
                rooms.extend(b for b in reply.body["data"] if isinstance(b, dict))
            complete, partial = split_partial_groups(rooms)
            # A group asked for by its master number: fetch its other rooms too.
            complete, _incomplete = whole_groups(complete + self._fetch_groups(partial))
            bookings, _unreadable = read_bookings(complete)
            found.extend(bookings)
        return found

    def _fetch_groups(self, partial: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every room of the groups ``partial`` belongs to, in one request."""
        if not partial:
            return []
        wanted = {group_key(b) for b in partial}
        params: list[tuple[str, str]] = [("status", s) for s in ALL_STATUSES]
        params += [("includeBookingGroup", "true")]
        params += [("masterId", str(m)) for m in sorted(k for k in wanted if k is not None)]
        rooms = {b.get("id"): b for b in partial}
        for reply in self.client.pages("/bookings", params):
            for booking in reply.body["data"]:
                if isinstance(booking, dict):
                    rooms[booking.get("id")] = booking
        return list(rooms.values())

    def write_back_codes(self, booking_pms_id: str, lines: Sequence[str]) -> None:
        """Keep one info item (code ``settings.info_item_code``) on the booking holding
        ``lines``, so guest messages in Beds24 can show the door codes. Items of any other
        code (another tool's LOCK_PIN) are never touched.
        Updates it in place; no lines removes it. Needs write access to bookings."""
        try:
            booking_id = int(booking_pms_id)
        except ValueError as exc:
            raise PmsError(f"{booking_pms_id!r} is not a Beds24 booking number.",
                           transient=False) from exc
        params = [("id", str(booking_id)), ("includeInfoItems", "true")]
        params += [("status", s) for s in ALL_STATUSES]
        data = self.client.get("/bookings", params).body.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise PmsError(
                f"Beds24 does not know booking {booking_id} (any more).",
                "Check the booking in Beds24; the door code itself is not affected.",
                transient=False,
            )
        items = data[0].get("infoItems")
        ours = [
            item for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("code") == self.settings.info_item_code
            and isinstance(item.get("id"), int)
        ]
        text = "\n".join(lines)
        changes: list[dict[str, Any]] = []
        extra = ours
        if text:
            if ours:
                if ours[0].get("text") != text:
                    changes.append({"id": ours[0]["id"], "text": text})
                extra = ours[1:]
            else:
                changes.append({"code": self.settings.info_item_code, "text": text})
        changes += [{"id": item["id"]} for item in extra]  # an id alone deletes the item
        if not changes:
            return
        reply = self.client.send("POST", "/bookings", auth=True,
                           json_body=[{"id": booking_id, "infoItems": changes}])
        results = reply.items or []
        first = results[0] if results and isinstance(results[0], dict) else {}
        if first.get("success") is not True:
            errors = first.get("errors")
            detail = "; ".join(
                str(e.get("message")) for e in (errors if isinstance(errors, list) else [])
                if isinstance(e, dict)
            )
            raise PmsError(
                f"Beds24 did not save the door codes on booking {booking_id}"
                + (f": {detail}" if detail else "") + ".",
                "Mangodesk will try again; the door code itself is not affected.",
            )

