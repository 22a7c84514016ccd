"""Beds24 API v2 adapter (official contract: shared/pms-data/beds24/apiV2.yaml).

Auth: an invite code (made once by the owner in Beds24) buys a refresh token, kept in the OS
keyring; the refresh token mints 24 h access tokens, which live only in memory. Calls are made
one at a time per account and slow down when the five-minute credit budget runs low, as Beds24
asks. Bookings are always requested with every status, cancelled included (Beds24 leaves
cancelled ones out unless asked), and a booking group (``masterId``) becomes one booking with
one unit per room.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time as time_module
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from mangodesk.domain.clock import Clock
from mangodesk.domain.types import BookingStatus, UnitKind
from mangodesk.pms.base import (
    BookingPage,
    PmsAuthError,
    PmsBooking,
    PmsError,
    PmsProperty,
    PmsUnit,
    UnreadableBooking,
    guest_language,
)
from mangodesk.pms.paging import CheckedPage, checked_pages, count_items
from mangodesk.store.secrets import SecretStore

log = logging.getLogger(__name__)

BEDS24_BASE_URL = "https://beds24.com/api/v2"
# Keyring entry holding the refresh token (the only Beds24 secret Mangodesk keeps).
REFRESH_TOKEN_KEY = "pms:beds24:refresh-token"  # noqa: S105 (a key name, not a secret)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Every status Beds24 knows: asking for all of them is the only way to see cancellations.
ALL_STATUSES = ("confirmed", "request", "new", "cancelled", "black", "inquiry")
# Re-read this much before the cursor so clock skew and slow commits never hide a change.
DEFAULT_OVERLAP = timedelta(minutes=10)
# Mint a new access token when the current one has less than this left.
TOKEN_REFRESH_MARGIN = timedelta(minutes=10)
# The booking info item that carries door codes back to Beds24. Mangodesk's own code, so it
# never overwrites the LOCK_PIN item of Beds24's lock apps or another tool (configurable).
INFO_ITEM_CODE = "MANGODESK_PIN"
# A paging loop that never ends is a server fault, not a hotel with a million bookings.
MAX_PAGES = 5000
# A full load interrupted longer ago than this starts over instead of resuming.
RESUME_WITHIN = timedelta(hours=12)
# On a full (first) load, also fetch bookings that left this many days ago.
FULL_LOAD_PAST_DAYS = 7

# What staff read after a failed call: it is retried, and a failure never takes codes away.
RETRY_FIX = (
    "Mangodesk will try again at the next sync; no booking or door code is removed because "
    "of this."
)
CONNECT_FIX = (
    "In Beds24 open Settings › Marketplace › API, create an invite code (with the bookings, "
    "bookings-personal, properties and accounts scopes), then connect Mangodesk again with "
    "that code."
)

_APARTMENT_ROOM_TYPES = {
    "apartment", "studio", "holidayHome", "villa", "chalet", "bungalow", "mobileHome",
}
_ARRIVAL_TIME = re.compile(
    r"(?<![\d:.])(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h|uhr)?(?![\d])",
    re.IGNORECASE,
)


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
        limit = _int_header(headers, "X-FiveMinCreditLimit")
        remaining = _int_header(headers, "X-FiveMinCreditLimit-Remaining")
        resets_in = _int_header(headers, "X-FiveMinCreditLimit-ResetsIn")
        cost = _int_header(headers, "X-RequestCost")
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


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


# One lock per Beds24 account (by base URL): Beds24 asks for one call at a time.
_ACCOUNT_LOCKS: dict[str, threading.RLock] = {}
_ACCOUNT_LOCKS_GUARD = threading.Lock()


def _account_lock(base_url: str) -> threading.RLock:
    with _ACCOUNT_LOCKS_GUARD:
        return _ACCOUNT_LOCKS.setdefault(base_url, threading.RLock())


@dataclass
class _Reply:
    body: dict[str, Any]
    headers: httpx.Headers
    server_time: datetime | None = None
    items: list[Any] | None = None  # replies that are a JSON array (POST results)


@dataclass
class TokenInfo:
    """What /authentication/details says about our access (no secrets)."""

    scopes: tuple[str, ...] = ()
    linked_properties: bool = False
    only_property_id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def can_read_guests(self) -> bool:
        return any("bookings-personal" in s for s in self.scopes)

    @property
    def can_write_bookings(self) -> bool:
        return any(s in ("bookings", "write:bookings", "all:bookings") for s in self.scopes)


class Beds24Adapter:
    """PmsAdapter for Beds24 API v2. Thread-safe; one HTTP call at a time per account."""

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
        self._secrets = secrets
        self._clock = clock
        # Waits for Beds24's credits end early when the sync is stopped (see interrupt()).
        self._interrupted = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self._monotonic = monotonic
        self._max_rate_wait = max_rate_wait
        self._max_retries_429 = max_retries_429
        self._client = httpx.Client(
            base_url=self.settings.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "Mangodesk"},
        )
        self._lock = _account_lock(self.settings.base_url)
        self._token: str | None = None
        self._token_expires_at: datetime | None = None
        self._account_zone: str | None = None
        self.credits = CreditBudget()
        self.calls = 0
        # Told (seconds, why) before every wait for Beds24's credits, so a user is not left
        # looking at a silent terminal for five minutes.
        self.on_wait: Callable[[float, str], None] | None = None
        # Count the pages of a full load up front (a few calls) so progress can show the
        # time left; the sync turns this off when it knows the count from the last load.
        self.estimate_pages = True
        # The last full load's page count: where counting a full load's list starts.
        self.pages_hint: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._client.close()

    def interrupt(self) -> None:
        """Stop waiting for credits at once: the waiting call fails with a transient error
        (used by a clean stop, so closing never hangs for a five-minute back-off)."""
        self._interrupted.set()

    def _interruptible_sleep(self, seconds: float) -> None:
        self._interrupted.wait(seconds)

    def _check_interrupted(self) -> None:
        if self._interrupted.is_set():
            raise PmsError("The Beds24 sync was stopped while waiting for Beds24.", RETRY_FIX)

    def __enter__(self) -> Beds24Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ auth

    def connect_with_invite_code(self, invite_code: str, device_name: str = "Mangodesk") -> None:
        """Trade a one-time invite code for a refresh token, stored in the keyring."""
        code = invite_code.strip()
        if not code:
            raise PmsAuthError("The invite code is empty.", CONNECT_FIX)
        reply = self._send(
            "GET",
            "/authentication/setup",
            headers={"code": code, "deviceName": device_name},
            auth=False,
            auth_failure=PmsAuthError(
                "Beds24 did not accept this invite code (it may be mistyped, already used "
                "or deleted).",
                CONNECT_FIX,
            ),
        )
        refresh_token = reply.body.get("refreshToken")
        token = reply.body.get("token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise PmsError(
                "Beds24 accepted the invite code but sent no refresh token back.",
                "Try again with a new invite code; if it happens again contact Beds24 support.",
                transient=False,
            )
        self._secrets.set(REFRESH_TOKEN_KEY, refresh_token)
        if isinstance(token, str) and token:
            self._remember_token(token, reply.body.get("expiresIn"))

    def disconnect(self) -> None:
        """Forget the refresh token locally (Beds24 keeps it until it is unused for 30 days)."""
        self._secrets.delete(REFRESH_TOKEN_KEY)
        self._token = None
        self._token_expires_at = None

    def is_connected(self) -> bool:
        return bool(self._secrets.get(REFRESH_TOKEN_KEY))

    def token_info(self) -> TokenInfo:
        body = self._get("/authentication/details").body
        details = body.get("token") if isinstance(body.get("token"), dict) else {}
        assert isinstance(details, dict)
        scopes = details.get("scopes") or []
        only = details.get("onlyPropertyId")
        return TokenInfo(
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
            linked_properties=bool(details.get("linkedProperties")),
            only_property_id=only if isinstance(only, int) else None,
            raw={k: v for k, v in details.items() if k != "token"},
        )

    def _remember_token(self, token: str, expires_in: Any) -> None:
        seconds = expires_in if isinstance(expires_in, int) and expires_in > 0 else 24 * 3600
        self._token = token
        self._token_expires_at = self._clock.now() + timedelta(seconds=seconds)

    def _refresh_access_token(self) -> None:
        refresh_token = self._secrets.get(REFRESH_TOKEN_KEY)
        if not refresh_token:
            raise PmsAuthError("Mangodesk is not connected to Beds24 yet.", CONNECT_FIX)
        reply = self._send(
            "GET",
            "/authentication/token",
            headers={"refreshToken": refresh_token},
            auth=False,
            auth_failure=PmsAuthError(
                "Beds24 no longer accepts Mangodesk's access (the API access was removed, or "
                "not used for 30 days).",
                CONNECT_FIX,
            ),
        )
        token = reply.body.get("token")
        if not isinstance(token, str) or not token:
            raise PmsError(
                "Beds24 answered the token request without a token.",
                "Mangodesk will try again at the next sync.",
            )
        self._remember_token(token, reply.body.get("expiresIn"))
        log.info("Beds24 access token renewed")

    def _access_token(self) -> str:
        expires = self._token_expires_at
        if self._token is None or expires is None or (
            self._clock.now() >= expires - TOKEN_REFRESH_MARGIN
        ):
            self._refresh_access_token()
        assert self._token is not None
        return self._token

    # ------------------------------------------------------------------ HTTP

    def _get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> _Reply:
        return self._send("GET", path, params=params, auth=True)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: bool,
        auth_failure: PmsError | None = None,
    ) -> _Reply:
        """One call, serialised per account, with credit back-off, 429 retries, and one token
        renewal after a 401. Everything that goes wrong becomes a PmsError with a clear text."""
        with self._lock:
            renewed = False
            throttled = 0
            while True:
                self._wait_for_credits()
                request_headers = dict(headers or {})
                if auth:
                    request_headers["token"] = self._access_token()
                response = self._transmit(method, path, params, request_headers, json_body)
                self.credits.update(response.headers, self._monotonic())
                status = response.status_code
                if status == 401 and auth and not renewed:
                    # The 24 h token expired early or was revoked: renew once and repeat.
                    renewed = True
                    self._token = None
                    continue
                if status == 429:
                    throttled += 1
                    if throttled > self._max_retries_429:
                        raise PmsError(
                            "Beds24 keeps asking Mangodesk to slow down (too many requests).",
                            "Mangodesk will try again at the next sync. If this repeats, check "
                            "whether other tools use the same Beds24 account heavily.",
                        )
                    self._back_off_after_429(response)
                    continue
                return self._interpret(path, response, auth_failure)

    def _transmit(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        json_body: Any,
    ) -> httpx.Response:
        self.calls += 1
        try:
            return self._client.request(
                method, path, params=list(params), headers=dict(headers), json=json_body
            )
        except httpx.TimeoutException as exc:
            raise PmsError(
                f"Beds24 did not answer in time ({_describe(path)}).",
                RETRY_FIX,
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise PmsError(
                f"Beds24 closed the connection before answering ({_describe(path)}).",
                "This is usually a short problem at Beds24 or on the way to it, not this "
                "computer. " + RETRY_FIX,
            ) from exc
        except httpx.TransportError as exc:
            raise PmsError(
                f"Mangodesk could not reach Beds24 ({type(exc).__name__}).",
                "Check this computer's internet connection. Mangodesk keeps working with the "
                "bookings it already has and tries again at the next sync.",
            ) from exc

    def _wait_for_credits(self) -> None:
        wait = self.credits.wait_needed(self._monotonic())
        if wait <= 0:
            return
        wait = min(wait, self._max_rate_wait)
        log.info("Beds24 credits low (%s left); waiting %.0f s", self.credits.remaining, wait)
        self._tell_waiting(wait, "Beds24's five-minute request allowance is nearly used up")
        self.credits.waited_seconds += wait
        self._sleep(wait)
        self._check_interrupted()
        self.credits.spent_window()

    def _tell_waiting(self, seconds: float, why: str) -> None:
        if self.on_wait is not None:
            self.on_wait(seconds, why)

    def _back_off_after_429(self, response: httpx.Response) -> None:
        wait = _int_header(response.headers, "X-FiveMinCreditLimit-ResetsIn")
        if wait is None:
            wait = _int_header(response.headers, "Retry-After")
        seconds = float(wait) if wait is not None else 60.0
        seconds = min(max(seconds, 1.0), self._max_rate_wait)
        log.info("Beds24 answered 429; waiting %.0f s", seconds)
        self._tell_waiting(seconds, "Beds24 asked Mangodesk to slow down (too many requests)")
        self.credits.waited_seconds += seconds
        self._sleep(seconds)
        self._check_interrupted()
        self.credits.spent_window()

    def _interpret(
        self, path: str, response: httpx.Response, auth_failure: PmsError | None
    ) -> _Reply:
        status = response.status_code
        what = _describe(path)
        if status >= 500:
            raise PmsError(
                f"Beds24 had a problem answering ({what}, HTTP {status}).",
                RETRY_FIX,
            )
        body = self._parse_json(response, what)
        error_text = _error_text(body)
        if status in (400, 401, 403) and auth_failure is not None:
            raise auth_failure
        if status in (401, 403):
            raise PmsAuthError(
                f"Beds24 refused access ({what}): {error_text or 'no reason given'}.",
                CONNECT_FIX,
            )
        if status >= 400 or (isinstance(body, dict) and body.get("success") is False):
            raise PmsError(
                f"Beds24 rejected the request ({what}, HTTP {status}): "
                f"{error_text or 'no reason given'}.",
                "Mangodesk will try again at the next sync.",
                transient=status >= 500 or status in (408, 409),
            )
        if isinstance(body, list) and response.request.method == "POST":
            # Writes answer with one result object per item written.
            return _Reply(body={}, headers=response.headers, items=body)
        if not isinstance(body, dict):
            raise PmsError(
                f"Beds24 sent an unexpected reply ({what}): expected an object, got "
                f"{type(body).__name__}.",
                RETRY_FIX,
            )
        return _Reply(body=body, headers=response.headers, server_time=_server_time(response))

    @staticmethod
    def _parse_json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PmsError(
                f"Beds24 sent a reply Mangodesk cannot read ({what}, HTTP "
                f"{response.status_code}, not valid JSON).",
                RETRY_FIX,
            ) from exc

    def _pages(
        self, path: str, params: Sequence[tuple[str, str]], start: int = 1
    ) -> Iterator[_Reply]:
        """Follow ``page`` until ``pages.nextPageExists`` is false. A page after the first
        that comes back empty was promised to hold something: it is read once more, and if
        still empty the read fails, so the cursor never moves past bookings not read."""
        page = max(start, 1)
        while True:
            query = [*params, ("page", str(page))] if page > 1 else list(params)
            reply = self._get(path, query)
            data = reply.body.get("data")
            if not isinstance(data, list):
                raise PmsError(
                    f"Beds24 sent a reply without a list of {_describe(path)} (page {page}).",
                    RETRY_FIX,
                )
            pages = reply.body.get("pages")
            next_exists = pages.get("nextPageExists") if isinstance(pages, dict) else None
            if not isinstance(next_exists, bool):
                raise PmsError(
                    f"Beds24 sent a page of {_describe(path)} without paging information "
                    f"(page {page}).",
                    RETRY_FIX,
                )
            # Resuming a load whose last page had already been read: nothing is left.
            resumed_at_end = not data and page == start > 1 and not next_exists
            if not data and (next_exists or page > 1) and not resumed_at_end:
                reply = self._get(path, query)
                data = reply.body.get("data")
                if not isinstance(data, list) or not data:
                    raise PmsError(
                        f"Beds24 sent an empty page in the middle of the {_describe(path)} "
                        f"(page {page}).",
                        RETRY_FIX,
                    )
                pages = reply.body.get("pages")
                next_exists = bool(isinstance(pages, dict) and pages.get("nextPageExists"))
            yield reply
            if not next_exists:
                return
            page += 1
            if page > MAX_PAGES:
                raise PmsError(
                    f"Beds24 kept announcing more pages of {_describe(path)} (over {MAX_PAGES}).",
                    RETRY_FIX,
                )

    # ------------------------------------------------------------------ properties

    def account_timezone(self) -> str:
        """The IANA zone booking dates are in: the configured one, else the account's."""
        if self.settings.timezone:
            return _checked_zone(self.settings.timezone)
        if self._account_zone is not None:
            return self._account_zone
        try:
            body = self._get("/accounts").body
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
        self._account_zone = _checked_zone(zone)
        return self._account_zone

    def list_properties(self) -> list[PmsProperty]:
        zone = self.account_timezone()
        params: list[tuple[str, str]] = [
            ("includeAllRooms", "true"),
            ("includeUnitDetails", "true"),
        ]
        params += [("id", str(pid)) for pid in self.settings.property_ids]
        properties: list[PmsProperty] = []
        for reply in self._pages("/properties", params):
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
        resumed_basis = _parse_instant(resume.get("basis")) if resume else None
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
            complete, held = _split_partial_groups(rooms)
            incomplete: list[UnreadableBooking] = []
            if checked.last_of_pass and held:
                complete, incomplete = _whole_groups(complete + self._fetch_groups(held))
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
    ) -> Iterator[CheckedPage[_Reply]]:
        """The booking pages, checked for a list that shifted under the read (pms.paging)."""
        # What "entered the list" means: created (full load) or changed (changes-only read).
        stamp = "bookingTime" if cursor is None else "modifiedTime"

        def entered(raw: Any, counted_at: datetime | None) -> bool:
            when = _parse_instant(raw.get(stamp)) if isinstance(raw, dict) else None
            return counted_at is not None and when is not None and when > counted_at

        def items_on(number: int) -> tuple[int, datetime | None]:
            reply = self._get("/bookings", [*params, ("page", str(number))])
            data = reply.body.get("data")
            return (len(data) if isinstance(data, list) else 0), reply.server_time

        def count(page_size: int) -> tuple[int, datetime | None]:
            hint = self.pages_hint if cursor is None else None
            return count_items(items_on, page_size, hint, MAX_PAGES)

        return checked_pages(
            lambda start: self._pages("/bookings", params, start=start),
            lambda reply: list(reply.body["data"]),
            lambda reply: bool(isinstance(reply.body.get("pages"), dict)
                               and reply.body["pages"].get("nextPageExists")),
            count, entered, start=first_page,
        )

    def _page_extra(
        self, raw_page: list[Any], number: int, has_more: bool, cursor: str | None,
        params: list[tuple[str, str]], checked: CheckedPage[_Reply] | None = None,
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
            data = self._get("/bookings", [*params, ("page", str(number))]).body.get("data")
            return isinstance(data, list) and bool(data)

        known, probe = 1, 2
        while probe <= MAX_PAGES and has_page(probe):
            known, probe = probe, probe * 2
        low, high = known, min(probe, MAX_PAGES + 1)  # page `low` exists, `high` does not
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
            for reply in self._pages("/bookings", params):
                rooms.extend(b for b in reply.body["data"] if isinstance(b, dict))
            complete, partial = _split_partial_groups(rooms)
            # A group asked for by its master number: fetch its other rooms too.
            complete, _incomplete = _whole_groups(complete + self._fetch_groups(partial))
            bookings, _unreadable = read_bookings(complete)
            found.extend(bookings)
        return found

    def _fetch_groups(self, partial: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every room of the groups ``partial`` belongs to, in one request."""
        if not partial:
            return []
        wanted = {_group_key(b) for b in partial}
        params: list[tuple[str, str]] = [("status", s) for s in ALL_STATUSES]
        params += [("includeBookingGroup", "true")]
        params += [("masterId", str(m)) for m in sorted(k for k in wanted if k is not None)]
        rooms = {b.get("id"): b for b in partial}
        for reply in self._pages("/bookings", params):
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
        data = self._get("/bookings", params).body.get("data")
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
        reply = self._send("POST", "/bookings", auth=True,
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


# ---------------------------------------------------------------------- parsing (pure)


def format_cursor(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_cursor(cursor: str) -> datetime:
    try:
        value = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PmsError(
            f"The stored sync position {cursor!r} is not a time.",
            "Run a full sync (mangodesk sync --full).",
            transient=False,
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _describe(path: str) -> str:
    return {
        "/authentication/setup": "connecting with the invite code",
        "/authentication/token": "renewing access",
        "/authentication/details": "reading access details",
        "/properties": "properties",
        "/bookings": "bookings",
        "/accounts": "account details",
    }.get(path, path)


def _error_text(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error") or body.get("message")
        if isinstance(error, str):
            return error[:300]
    return None


def _server_time(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _checked_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PmsError(
            f"The time zone {name!r} is not known.",
            "Use a zone name such as Europe/Berlin or America/New_York.",
            transient=False,
        ) from exc
    return name


def _malformed(what: str, detail: str) -> PmsError:
    return PmsError(
        f"Beds24 sent {what} Mangodesk cannot read: {detail}.",
        RETRY_FIX,
    )


def _clock_time(value: Any, default: time) -> time:
    if not isinstance(value, str):
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        return default


def parse_arrival_time(text: Any) -> time | None:
    """Guests type anything ("15:30", "around 18:30", "3pm", "late"): the first thing that
    clearly is a clock time, else None. For staff to read only, never a code's start."""
    if not isinstance(text, str) or not text.strip():
        return None
    for match in _ARRIVAL_TIME.finditer(text):
        found = _clock_of(match, alone=match.group(0).strip() == text.strip())
        if found is not None:
            return found
    return None


def _clock_of(match: re.Match[str], *, alone: bool) -> time | None:
    hour = int(match.group(1))
    minute = int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower().replace(".", "")
    if not alone and not match.group(2) and meridiem not in ("am", "pm", "h", "uhr"):
        return None  # a bare number ("2 guests") is not a time
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def unit_pms_id(room_id: int, unit_id: int) -> str:
    return f"{room_id}-{unit_id}"


def parse_property(raw: Any, timezone: str) -> PmsProperty:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
        raise _malformed("a property", "it has no id")
    pid = raw["id"]
    units: list[PmsUnit] = []
    rooms = raw.get("roomTypes") or []
    if not isinstance(rooms, list):
        raise _malformed(f"property {pid}", "its rooms are not a list")
    for order, room in enumerate(rooms):
        units.extend(parse_room_units(room, order))
    return PmsProperty(
        pms_id=str(pid),
        name=str(raw.get("name") or f"Property {pid}"),
        timezone=timezone,
        checkin_time=_clock_time(raw.get("checkInStart"), time(15, 0)),
        checkout_time=_clock_time(raw.get("checkOutEnd"), time(11, 0)),
        units=tuple(units),
    )


def parse_room_units(room: Any, order: int) -> list[PmsUnit]:
    """A Beds24 room is a room *type* with ``qty`` physical units. Each unit becomes a
    PmsUnit; with per-guest allocation (dormitories) the units are beds under one parent."""
    if not isinstance(room, dict) or not isinstance(room.get("id"), int):
        raise _malformed("a room", "it has no id")
    room_id = room["id"]
    name = str(room.get("name") or f"Room {room_id}")
    kind = UnitKind.APARTMENT if room.get("roomType") in _APARTMENT_ROOM_TYPES else UnitKind.ROOM
    raw_units = room.get("units")
    listed: list[tuple[int, str]] = []
    if isinstance(raw_units, list):
        for raw_unit in raw_units:
            if isinstance(raw_unit, dict) and isinstance(raw_unit.get("id"), int):
                listed.append((raw_unit["id"], str(raw_unit.get("name") or raw_unit["id"])))
    if not listed:
        qty_value = room.get("qty")
        qty = qty_value if isinstance(qty_value, int) and qty_value > 0 else 1
        listed = [(n, name if qty == 1 else f"{name} {n}") for n in range(1, qty + 1)]
    listed = _distinct(listed)
    base_order = order * 1000
    if room.get("unitAllocation") == "perGuest":
        parent = PmsUnit(pms_id=str(room_id), name=name, kind=kind, sort_order=base_order)
        beds = [
            PmsUnit(
                pms_id=unit_pms_id(room_id, uid),
                name=f"{name} – {uname}",
                kind=UnitKind.BED,
                parent_pms_id=parent.pms_id,
                sort_order=base_order + i + 1,
            )
            for i, (uid, uname) in enumerate(listed)
        ]
        return [parent, *beds]
    return [
        PmsUnit(
            pms_id=unit_pms_id(room_id, uid),
            name=_physical_unit_name(name, uname, uid, len(listed)),
            kind=kind,
            sort_order=base_order + i,
        )
        for i, (uid, uname) in enumerate(listed)
    ]


def _distinct(listed: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Units of one room that share a name ("Bed", "Bed") get their number added, so staff
    can tell the beds of a dormitory apart."""
    counts: dict[str, int] = {}
    for _uid, uname in listed:
        counts[uname] = counts.get(uname, 0) + 1
    return [(uid, uname if counts[uname] == 1 else f"{uname} {uid}") for uid, uname in listed]


def _physical_unit_name(room_name: str, unit_name: str, unit_id: int, count: int) -> str:
    """A bare unit number ("101") says little in a guest email: prefix the room type
    ("Double room 101"). Descriptive unit names are kept as Beds24 has them."""
    if count == 1 and unit_name == str(unit_id):
        return room_name
    if unit_name.isdigit():
        return f"{room_name} {unit_name}"
    return unit_name


def map_status(status: Any, sub_status: Any) -> BookingStatus:
    """Beds24 status (+ subStatus) → the normalised status. Unknown statuses are tentative
    (no code), never cancelled: only an explicit cancellation revokes."""
    if sub_status == "noShow":
        return BookingStatus.NO_SHOW
    if status == "cancelled":
        return BookingStatus.CANCELLED
    if status in ("confirmed", "new"):
        return BookingStatus.CONFIRMED
    return BookingStatus.TENTATIVE  # request, inquiry, black (a block, not a guest), unknown


def _parse_date(value: Any, booking_id: Any, name: str) -> date:
    if not isinstance(value, str):
        raise _malformed(f"booking {booking_id}", f"its {name} date is missing")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise _malformed(f"booking {booking_id}", f"its {name} date {value!r} is invalid") from exc


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Room:
    """One Beds24 booking (one room of a possible group), validated."""

    id: int
    property_id: int
    master_id: int | None
    unit: str | None
    status: BookingStatus
    arrival: date
    departure: date
    raw: dict[str, Any]


def _parse_room_booking(raw: dict[str, Any]) -> _Room:
    bid = raw.get("id")
    if not isinstance(bid, int):
        raise _malformed("a booking", "it has no id")
    prop = raw.get("propertyId")
    if not isinstance(prop, int):
        raise _malformed(f"booking {bid}", "it has no property")
    arrival = _parse_date(raw.get("arrival"), bid, "arrival")
    departure = _parse_date(raw.get("departure"), bid, "departure")
    if departure < arrival:
        raise _malformed(f"booking {bid}", "it departs before it arrives")
    room_id = raw.get("roomId")
    unit_id = raw.get("unitId")
    unit = (
        unit_pms_id(room_id, unit_id)
        if isinstance(room_id, int) and isinstance(unit_id, int) and unit_id > 0
        else None
    )
    master = raw.get("masterId")
    group = raw.get("bookingGroup")
    if isinstance(group, dict) and isinstance(group.get("master"), int):
        master = group["master"]
    return _Room(
        id=bid,
        property_id=prop,
        master_id=master if isinstance(master, int) and master > 0 else None,
        unit=unit,
        status=map_status(raw.get("status"), raw.get("subStatus")),
        arrival=arrival,
        departure=departure,
        raw=raw,
    )


_STATUS_RANK = {
    BookingStatus.CHECKED_IN: 0,
    BookingStatus.CONFIRMED: 1,
    BookingStatus.CHECKED_OUT: 2,
    BookingStatus.TENTATIVE: 3,
    BookingStatus.NO_SHOW: 4,
    BookingStatus.CANCELLED: 5,
}


def merge_groups(raw_bookings: Sequence[dict[str, Any]]) -> list[PmsBooking]:
    """Map Beds24 bookings to PmsBookings; the rooms of a group become one booking (id =
    the master's id) whose units are the rooms still booked. Raises on any unreadable one."""
    bookings, unreadable = read_bookings(raw_bookings)
    if unreadable:
        raise _malformed(f"booking {unreadable[0].pms_id}", unreadable[0].reason)
    return bookings


def read_bookings(
    raw_bookings: Sequence[dict[str, Any]],
) -> tuple[list[PmsBooking], list[UnreadableBooking]]:
    """Like :func:`merge_groups`, but a booking that cannot be read is set aside (with its
    group: a group is only ever applied whole) instead of failing the others."""
    groups: dict[int, list[_Room]] = {}
    order: list[int] = []
    bad: dict[str, str] = {}
    for raw in raw_bookings:
        key = _group_key(raw)
        try:
            room = _parse_room_booking(raw)
        except PmsError as exc:
            name = str(key) if key is not None else "?"
            reason = exc.message.removeprefix("Beds24 sent ").removesuffix(".")
            bad.setdefault(name, reason)
            continue
        key = room.master_id or room.id
        if key not in groups:
            groups[key] = []
            order.append(key)
        if all(existing.id != room.id for existing in groups[key]):
            groups[key].append(room)
    bookings = [_group_booking(key, groups[key]) for key in order if str(key) not in bad]
    return bookings, [UnreadableBooking(pms_id, reason) for pms_id, reason in bad.items()]


def _group_key(raw: Any) -> int | None:
    """The number a Beds24 booking is stored under: its group's master, else its own."""
    if not isinstance(raw, dict):
        return None
    group = raw.get("bookingGroup")
    master = group.get("master") if isinstance(group, dict) else None
    if not isinstance(master, int) or master <= 0:
        master = raw.get("masterId")
    if isinstance(master, int) and master > 0:
        return master
    own = raw.get("id")
    return own if isinstance(own, int) else None


def _whole_groups(
    rooms: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[UnreadableBooking]]:
    """Rooms of complete groups, and the groups Beds24 did not send whole even when asked
    (set aside: a missing room must never look like a room given up)."""
    complete, partial = _split_partial_groups(rooms)
    keys = sorted({str(_group_key(b)) for b in partial})
    return complete, [
        UnreadableBooking(key, "Beds24 did not send every room of this booking group")
        for key in keys
    ]


def _split_partial_groups(
    rooms: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rooms whose group is all here, rooms of groups only partly here)."""
    present = {b.get("id") for b in rooms}
    partial_keys: set[int | None] = set()
    for booking in rooms:
        group = booking.get("bookingGroup")
        ids = group.get("ids") if isinstance(group, dict) else None
        master = booking.get("masterId")
        if isinstance(ids, list):
            if any(i not in present for i in ids):
                partial_keys.add(_group_key(booking))
        elif isinstance(master, int) and master > 0 and master not in present:
            partial_keys.add(_group_key(booking))
    complete = [b for b in rooms if _group_key(b) not in partial_keys]
    partial = [b for b in rooms if _group_key(b) in partial_keys]
    return complete, partial


def _group_booking(key: int, rooms: list[_Room]) -> PmsBooking:
    rooms.sort(key=lambda r: (r.id != key, r.id))
    live = [r for r in rooms if r.status not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)]
    basis = live or rooms
    status = min((r.status for r in basis), key=lambda s: _STATUS_RANK[s])
    units: list[str] = []
    for room in basis:
        if room.unit is not None and room.unit not in units:
            units.append(room.unit)
    lead = rooms[0].raw
    first = str(lead.get("firstName") or "").strip()
    last = str(lead.get("lastName") or "").strip()
    name = " ".join(p for p in (first, last) if p) or None
    guests = lead.get("guests")
    if name is None and isinstance(guests, list) and guests and isinstance(guests[0], dict):
        g = guests[0]
        name = " ".join(str(g.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
        name = name or None
    modified = [m for m in (_parse_instant(r.raw.get("modifiedTime")) for r in rooms) if m]
    # apiSource is the name Beds24 shows staff ("Booking.com", "Airbnb.com", "Direct").
    channel = lead.get("apiSource") or lead.get("channel") or "Direct"
    return PmsBooking(
        pms_id=str(key),
        property_pms_id=str(rooms[0].property_id),
        status=status,
        arrival=min(r.arrival for r in basis),
        departure=max(r.departure for r in basis),
        unit_pms_ids=tuple(units),
        arrival_time=parse_arrival_time(lead.get("arrivalTime")),
        arrival_note=str(lead.get("arrivalTime") or "").strip()[:200] or None,
        member_pms_ids=tuple(str(r.id) for r in rooms),
        guest_name=name,
        guest_email=(str(lead["email"]).strip() or None) if lead.get("email") else None,
        guest_phone=str(lead.get("mobile") or lead.get("phone") or "").strip() or None,
        channel=str(channel)[:64],
        modified_at=max(modified) if modified else None,
        language=guest_language(lead.get("lang")),
    )
