"""Talking to TTLock: the common parameters, the access token (kept across processes in
the injected token cache), paging, a busy gateway asked again, and every failure classified
(:mod:`mangodesk.vendors.http` for the transport, :mod:`.errors` for errcodes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from mangodesk.domain.clock import Clock
from mangodesk.vendors import http
from mangodesk.vendors.base import AuthError, ConnectionConfig, PermanentError, TransientError
from mangodesk.vendors.redaction import install_query_redaction
from mangodesk.vendors.ttlock.details import (
    EPOCH,
    EU_API_BASE,
    SENSITIVE_QUERY_PARAMETERS,
    as_whole,
    is_loopback_host,
    list_entries,
    normalised_base,
    to_ms,
    truthy,
)
from mangodesk.vendors.ttlock.errors import (
    BUSY_ERRCODES,
    BUSY_PAUSES_SECONDS,
    IF_IT_LASTS,
    REAUTH_ERRCODES,
    SIGN_IN_AGAIN,
    errcode_of,
    error_for,
)

log = logging.getLogger("mangodesk.vendors.ttlock")

OAUTH_PATH = "/oauth2/token"
# Refresh this long before the token says it expires (tokens last 90 days).
TOKEN_REFRESH_MARGIN = timedelta(hours=1)
# Longest and shortest token lifetime believed from a sign-in answer (90 days is usual).
MAX_TOKEN_SECONDS = 10 * 365 * 24 * 3600
MIN_TOKEN_SECONDS = 300
# Pages read at most from one listing (200 codes a page; a lock holds at most 250).
MAX_PAGES = 50
DEFAULT_TIMEOUT_SECONDS = 30.0
# How long a 429 without Retry-After asks the engine to wait.
THROTTLED_WAIT = 60.0


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: datetime


class TTLockClient:
    """One TTLock account's HTTP side. Thread-safe (the token behind a lock)."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = config.settings
        install_query_redaction(SENSITIVE_QUERY_PARAMETERS)
        self._clock = clock
        self.api_base = normalised_base(str(settings.get("api_base") or EU_API_BASE))
        self._username = str(settings.get("username") or "").strip()
        self._client_id = str(settings.get("client_id") or "").strip()
        self._client_secret = config.secrets.get("client_secret", "")
        self._password = config.secrets.get("password", "")
        self._password_is_md5 = truthy(settings.get("password_is_md5", ""))
        try:
            timeout = float(settings.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        except ValueError:
            timeout = DEFAULT_TIMEOUT_SECONDS
        self._http = httpx.Client(
            base_url=self.api_base,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._token_cache = config.token_cache
        # A kept token is only reused for the same server, account and developer app.
        self._token_account = f"{self.api_base}|{self._username}|{self._client_id}"
        self._sleep = sleep
        self._busy_pauses = BUSY_PAUSES_SECONDS
        # Calls through one gateway of this account are serialised under this key.
        self.account_key = f"{self.api_base}|{self._username}"
        self.request_count = 0  # vendor calls made, against TTLock's monthly quota
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _count_call(self) -> None:
        with self._count_lock:
            self.request_count += 1

    def check_base_url(self) -> None:
        parts = urlsplit(self.api_base)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
            return  # the local simulator (demo mode, tests)
        raise PermanentError(
            f"The TTLock server address “{self.api_base}” is not a secure https address.",
            f"Use {EU_API_BASE} (or https://cnapi.ttlock.com in mainland China).",
        )

    def paged(self, path: str, params: Mapping[str, Any],
              page_size: int) -> Iterator[dict[str, Any]]:
        page_no = 1
        while True:
            body = self.get(path, {**params, "pageNo": page_no, "pageSize": page_size})
            entries = list_entries(body)
            yield from entries
            pages = as_whole(body.get("pages"))
            if not entries or pages is None or page_no >= min(pages, MAX_PAGES):
                return
            page_no += 1

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("GET", path, params, outcome=None)

    def post(self, path: str, form: Mapping[str, Any], *, outcome: str) -> dict[str, Any]:
        return self._call("POST", path, form, outcome=outcome)

    def _call(self, method: str, path: str, params: Mapping[str, Any], *,
              outcome: str | None) -> dict[str, Any]:
        """One API call with the common parameters. An expired token is renewed and the call
        repeated once (a token error means TTLock did nothing); a busy gateway is asked again
        after a few seconds (busy means the lock was not changed). ``outcome`` says what a
        write does; its answer must then positively say success (checked by the caller)."""
        reauthenticated = False
        busy_pauses = list(self._busy_pauses)
        while True:
            token = self.ensure_token()
            full = {
                "clientId": self._client_id,
                "accessToken": token,
                **params,
                "date": to_ms(self._clock.now()),
            }
            body = self._send(method, path, full, outcome)
            try:
                errcode = errcode_of(body)
            except ValueError:
                if outcome is not None:
                    raise http.unclear_outcome("TTLock", outcome, "the lock's codes") from None
                raise http.unreadable("TTLock") from None
            if errcode is None or errcode == 0:
                return body
            if errcode in REAUTH_ERRCODES and not reauthenticated:
                log.info("TTLock %s: token refused (errcode %s), signing in again", path, errcode)
                self.forget_token(token)
                reauthenticated = True
                continue
            if errcode in BUSY_ERRCODES and busy_pauses:
                pause = busy_pauses.pop(0)
                log.info("TTLock %s: busy (errcode %s), asking again in %g s", path, errcode,
                         pause)
                self._sleep(pause)
                continue
            log.info("TTLock %s failed: errcode %s", path, errcode)
            raise error_for(errcode, body)

    def _send(self, method: str, path: str, params: Mapping[str, Any],
              outcome: str | None) -> dict[str, Any]:
        """Transport errors classified (vendors/http.py): not sent → transient; sent, no
        answer → ambiguous for writes (the lock may have changed), transient for reads."""
        data = {key: str(value) for key, value in params.items()}
        self._count_call()
        request: dict[str, Any] = {"data": data} if method == "POST" else {"params": data}
        response = http.send(self._http, method, path, vendor="TTLock", outcome=outcome,
                             check_place="the lock's codes", **request)
        return self._parse(response, outcome)

    def _parse(self, response: httpx.Response, outcome: str | None) -> dict[str, Any]:
        status = response.status_code
        # 429 and 5xx; a proxy in front of TTLock that gave up (502/504) may have passed a
        # change on to the lock: unclear.
        http.raise_if_overloaded(response, "TTLock", None, now=self._clock.now(),
                                 default_wait=THROTTLED_WAIT, outcome=outcome,
                                 check_place="the lock's codes")
        if status >= 400:
            raise PermanentError(
                f"TTLock refused the request (error {status}).",
                f"Check the TTLock server address (normally {EU_API_BASE}).",
                vendor_code=f"HTTP {status}",
            )
        body = http.json_or_none(response) if status == 200 else None
        if not isinstance(body, dict):
            # Not TTLock's JSON (HTML, a redirect, an empty answer): nothing says success.
            if outcome is not None:
                raise http.unclear_outcome("TTLock", outcome, "the lock's codes",
                                           vendor_code=f"HTTP {status}")
            raise http.garbled("TTLock")
        return body

    # ----------------------------------------------------------------- tokens

    def ensure_token(self) -> str:
        with self._token_lock:
            now = self._clock.now()
            if self._token is None:
                self._token = self._cached_token()
            token = self._token
            if token is not None and now < token.expires_at - TOKEN_REFRESH_MARGIN:
                return token.access
            if token is not None and token.refresh:
                try:
                    self._token = self._token_request({
                        "clientId": self._client_id,
                        "clientSecret": self._client_secret,
                        "grant_type": "refresh_token",
                        "refresh_token": token.refresh,
                    }, previous_refresh=token.refresh)
                    self._keep_token(self._token)
                    return self._token.access
                except AuthError as exc:
                    if exc.vendor_code not in {str(code) for code in REAUTH_ERRCODES}:
                        raise
                    log.info("TTLock refresh token refused; signing in with the password")
            self._token = self._password_grant()
            self._keep_token(self._token)
            return self._token.access

    def forget_token(self, access: str) -> None:
        """Make the next call renew the token (refresh first, then the password)."""
        with self._token_lock:
            if self._token is not None and self._token.access == access:
                self._token.expires_at = EPOCH

    def _cached_token(self) -> _Token | None:
        """The token an earlier process kept (the keyring), if it is this account's."""
        if self._token_cache is None:
            return None
        try:
            raw = json.loads(self._token_cache.load() or "null")
            if not isinstance(raw, dict) or raw.get("account") != self._token_account:
                return None
            access, refresh = raw.get("access"), raw.get("refresh")
            expires_at = datetime.fromisoformat(str(raw.get("expires_at")))
        except (ValueError, TypeError, RecursionError):
            return None
        if not isinstance(access, str) or not access or expires_at.tzinfo is None:
            return None
        return _Token(access, refresh if isinstance(refresh, str) and refresh else None,
                      expires_at)

    def _keep_token(self, token: _Token) -> None:
        if self._token_cache is None:
            return
        self._token_cache.save(json.dumps({
            "account": self._token_account, "access": token.access, "refresh": token.refresh,
            "expires_at": token.expires_at.isoformat(),
        }))

    def _password_grant(self) -> _Token:
        if not (self._username and self._password):
            raise AuthError("The TTLock e-mail or password is missing.", SIGN_IN_AGAIN)
        if not (self._client_id and self._client_secret):
            raise AuthError("The TTLock client ID or client secret is missing.",
                            "Enter the client ID and client secret of your TTLock developer "
                            "app in the connection settings.")
        password = (self._password.strip().lower() if self._password_is_md5
                    else hashlib.md5(self._password.encode("utf-8")).hexdigest())  # noqa: S324 (TTLock's protocol)
        return self._token_request({
            "clientId": self._client_id,
            "clientSecret": self._client_secret,
            "username": self._username,
            "password": password,
        })

    def _token_request(self, form: Mapping[str, str],
                       previous_refresh: str | None = None) -> _Token:
        self.check_base_url()
        body = self._send_token(form)
        try:
            errcode = errcode_of(body)
        except ValueError:
            errcode = 1
        if errcode:
            log.info("TTLock sign-in failed: errcode %s", errcode)
            raise error_for(errcode, body)
        access = body.get("access_token")
        if not isinstance(access, str) or not access.strip():
            raise TransientError("TTLock's sign-in answer had no access token.", IF_IT_LASTS)
        seconds = as_whole(body.get("expires_in")) or 7_776_000
        seconds = min(max(seconds, MIN_TOKEN_SECONDS), MAX_TOKEN_SECONDS)
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str) or not refresh.strip():
            refresh = previous_refresh
        return _Token(access.strip(), refresh, self._clock.now() + timedelta(seconds=seconds))

    def _send_token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The OAuth call: a retry is harmless (a new token), so a lost answer is transient."""
        self._count_call()
        response = http.send(self._http, "POST", OAUTH_PATH, vendor="TTLock", data=dict(form))
        return self._parse(response, None)
