"""Talking to Beds24: the invite code and the tokens, one call at a time per account,
credit back-off, 429 retries, one token renewal after a 401, paging, and every failure
turned into a :class:`PmsError` staff can read.
"""

from __future__ import annotations

import logging
import threading
import time as time_module
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from mangodesk.domain.clock import Clock
from mangodesk.pms.base import PmsAuthError, PmsError
from mangodesk.pms.beds24.errors import (
    CONNECT_FIX,
    RETRY_FIX,
    describe,
    error_text,
    transport_error,
)
from mangodesk.pms.beds24.parsing import server_time
from mangodesk.pms.beds24.settings import Beds24Settings, CreditBudget, int_header
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors import http

log = logging.getLogger("mangodesk.pms.beds24")

# Keyring entry holding the refresh token (the only Beds24 secret Mangodesk keeps).
REFRESH_TOKEN_KEY = "pms:beds24:refresh-token"  # noqa: S105 (a key name, not a secret)
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Mint a new access token when the current one has less than this left.
TOKEN_REFRESH_MARGIN = timedelta(minutes=10)
# A paging loop that never ends is a server fault, not a hotel with a million bookings.
MAX_PAGES = 5000
# How long to wait after a 429 that says nothing about when to come back.
THROTTLED_WAIT = 60.0


# One lock per Beds24 account (by base URL): Beds24 asks for one call at a time.
_ACCOUNT_LOCKS: dict[str, threading.RLock] = {}
_ACCOUNT_LOCKS_GUARD = threading.Lock()


def _account_lock(base_url: str) -> threading.RLock:
    with _ACCOUNT_LOCKS_GUARD:
        return _ACCOUNT_LOCKS.setdefault(base_url, threading.RLock())


@dataclass
class Reply:
    body: dict[str, Any]
    headers: httpx.Headers
    server_time: datetime | None = None
    items: list[Any] | None = None  # replies that are a JSON array (POST results)


@dataclass
class TokenInfo:
    """What /authentication/details says about our access (no secrets)."""

    scopes: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def can_read_guests(self) -> bool:
        return any("bookings-personal" in s for s in self.scopes)

    @property
    def can_write_bookings(self) -> bool:
        return any(s in ("bookings", "write:bookings", "all:bookings") for s in self.scopes)


class Beds24Client:
    """One Beds24 account's HTTP side. Thread-safe; one HTTP call at a time per account."""

    def __init__(
        self,
        *,
        secrets: SecretStore,
        clock: Clock,
        settings: Beds24Settings,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time_module.monotonic,
        max_rate_wait: float = 310.0,
        max_retries_429: int = 3,
    ) -> None:
        self.settings = settings
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
        self.credits = CreditBudget()
        self.calls = 0
        # Told (seconds, why) before every wait for Beds24's credits, so a user is not left
        # looking at a silent terminal for five minutes.
        self.on_wait: Callable[[float, str], None] | None = None

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

    # ------------------------------------------------------------------ auth

    def connect_with_invite_code(self, invite_code: str, device_name: str = "Mangodesk") -> None:
        """Trade a one-time invite code for a refresh token, stored in the keyring."""
        code = invite_code.strip()
        if not code:
            raise PmsAuthError("The invite code is empty.", CONNECT_FIX)
        reply = self.send(
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
        body = self.get("/authentication/details").body
        details = body.get("token") if isinstance(body.get("token"), dict) else {}
        assert isinstance(details, dict)
        scopes = details.get("scopes") or []
        return TokenInfo(
            scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
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
        reply = self.send(
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

    def get(self, path: str, params: Sequence[tuple[str, str]] = ()) -> Reply:
        return self.send("GET", path, params=params, auth=True)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: bool,
        auth_failure: PmsError | None = None,
    ) -> Reply:
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
                failure = http.classify_status(response, self._clock.now())
                if response.status_code == 401 and auth and not renewed:
                    # The 24 h token expired early or was revoked: renew once and repeat.
                    renewed = True
                    self._token = None
                    continue
                if failure is not None and failure.kind is http.Failure.THROTTLED:
                    throttled += 1
                    if throttled > self._max_retries_429:
                        raise PmsError(
                            "Beds24 keeps asking Mangodesk to slow down (too many requests).",
                            "Mangodesk will try again at the next sync. If this repeats, check "
                            "whether other tools use the same Beds24 account heavily.",
                        )
                    self._back_off_after_429(response, failure.retry_after)
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
            return http.exchange(self._client, method, path, params=list(params),
                                 headers=dict(headers), json=json_body)
        except http.TransportFailure as exc:
            raise transport_error(exc.failure, path) from exc.__cause__

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

    def _back_off_after_429(self, response: httpx.Response, retry_after: float | None) -> None:
        """Wait as Beds24 says: its credit reset, else Retry-After, else a minute."""
        resets_in = int_header(response.headers, "X-FiveMinCreditLimit-ResetsIn")
        seconds = float(resets_in) if resets_in is not None else retry_after
        if seconds is None:
            seconds = THROTTLED_WAIT
        seconds = min(max(seconds, 1.0), self._max_rate_wait)
        log.info("Beds24 answered 429; waiting %.0f s", seconds)
        self._tell_waiting(seconds, "Beds24 asked Mangodesk to slow down (too many requests)")
        self.credits.waited_seconds += seconds
        self._sleep(seconds)
        self._check_interrupted()
        self.credits.spent_window()

    def _interpret(
        self, path: str, response: httpx.Response, auth_failure: PmsError | None
    ) -> Reply:
        status = response.status_code
        what = describe(path)
        if status >= 500:  # http.Failure.SERVER_ERROR or GATEWAY_GAVE_UP: reads, retried
            raise PmsError(
                f"Beds24 had a problem answering ({what}, HTTP {status}).",
                RETRY_FIX,
            )
        body = self._parse_json(response, what)
        reason = error_text(body)
        if status in (400, 401, 403) and auth_failure is not None:
            raise auth_failure
        if status in (401, 403):
            raise PmsAuthError(
                f"Beds24 refused access ({what}): {reason or 'no reason given'}.",
                CONNECT_FIX,
            )
        if status >= 400 or (isinstance(body, dict) and body.get("success") is False):
            raise PmsError(
                f"Beds24 rejected the request ({what}, HTTP {status}): "
                f"{reason or 'no reason given'}.",
                "Mangodesk will try again at the next sync.",
                transient=status >= 500 or status in (408, 409),
            )
        if isinstance(body, list) and response.request.method == "POST":
            # Writes answer with one result object per item written.
            return Reply(body={}, headers=response.headers, items=body)
        if not isinstance(body, dict):
            raise PmsError(
                f"Beds24 sent an unexpected reply ({what}): expected an object, got "
                f"{type(body).__name__}.",
                RETRY_FIX,
            )
        return Reply(body=body, headers=response.headers, server_time=server_time(response))

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

    def pages(
        self, path: str, params: Sequence[tuple[str, str]], start: int = 1
    ) -> Iterator[Reply]:
        """Follow ``page`` until ``pages.nextPageExists`` is false. A page after the first
        that comes back empty was promised to hold something: it is read once more, and if
        still empty the read fails, so the cursor never moves past bookings not read."""
        page = max(start, 1)
        while True:
            query = [*params, ("page", str(page))] if page > 1 else list(params)
            reply = self.get(path, query)
            data = reply.body.get("data")
            if not isinstance(data, list):
                raise PmsError(
                    f"Beds24 sent a reply without a list of {describe(path)} (page {page}).",
                    RETRY_FIX,
                )
            pages = reply.body.get("pages")
            next_exists = pages.get("nextPageExists") if isinstance(pages, dict) else None
            if not isinstance(next_exists, bool):
                raise PmsError(
                    f"Beds24 sent a page of {describe(path)} without paging information "
                    f"(page {page}).",
                    RETRY_FIX,
                )
            # Resuming a load whose last page had already been read: nothing is left.
            resumed_at_end = not data and page == start > 1 and not next_exists
            if not data and (next_exists or page > 1) and not resumed_at_end:
                reply = self.get(path, query)
                data = reply.body.get("data")
                if not isinstance(data, list) or not data:
                    raise PmsError(
                        f"Beds24 sent an empty page in the middle of the {describe(path)} "
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
                    f"Beds24 kept announcing more pages of {describe(path)} (over {MAX_PAGES}).",
                    RETRY_FIX,
                )

    # ------------------------------------------------------------------ properties
