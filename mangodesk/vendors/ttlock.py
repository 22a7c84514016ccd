"""TTLock Open API v3: custom passcodes pushed to the lock through its gateway.

Wire facts (shared/reference/vendors-http.md §1): reads are GET with query parameters, writes
are form-encoded POSTs; every ``/v3`` call carries ``clientId``, ``accessToken`` and ``date``
(epoch ms, within ±5 min of TTLock's clock); errors arrive with HTTP 200 as ``{"errcode": …}``.
Passcode writes must say ``addType``/``changeType``/``deleteType`` = 2, or they only change the
cloud record and never reach the door. A period change must send both dates.

Settings (``ConnectionConfig.settings``): ``username``, ``client_id``, ``api_base`` (EU host by
default), optional ``password_is_md5`` (TTHotel exports hand out an already hashed password)
and ``timeout_seconds``; ``ConnectionConfig.hotel_timezone`` for the time-zone check. Secrets:
``password`` and ``client_secret``. The access token is kept in memory and, through the injected
``ConnectionConfig.token_cache`` (the keyring), across processes until it expires.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import http
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    AuthError,
    Capabilities,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    PermanentError,
    PinRules,
    PinScope,
    ProviderSpec,
    ReportStep,
    TransientError,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.redaction import install_query_redaction

log = logging.getLogger(__name__)

EU_API_BASE = "https://euapi.ttlock.com"
OAUTH_PATH = "/oauth2/token"

PASSCODE_TYPE_PERMANENT = 2
PASSCODE_TYPE_PERIOD = 3
VIA_GATEWAY = 2  # addType / changeType / deleteType: anything else never reaches the lock

LOCK_PAGE_SIZE = 100
CODE_PAGE_SIZE = 200  # listKeyboardPwd maximum
GATEWAY_PAGE_SIZE = 200  # gateway/list maximum
ORDER_NEWEST_FIRST = 1

FEATURE_PASSCODE = 0
FEATURE_PASSCODE_MANAGEMENT = 7
FEATURE_WIFI = 56
MIN_PASSCODE_VERSION = 4
MAX_CODES_PER_LOCK = 250
LOW_BATTERY_PERCENT = 20

# Refresh this long before the token says it expires (tokens last 90 days).
TOKEN_REFRESH_MARGIN = timedelta(hours=1)
# Errcodes that mean "the access token is not good any more": re-authenticate, retry once.
REAUTH_ERRCODES = frozenset({10003, 10004, 10011, 10015})
# "Busy" (gateway −3003, Wi-Fi lock −3037): the lock was not changed. The reference (§1.11)
# says to retry after a few seconds, so the adapter does, a few times, before giving the
# engine a transient error that asks for another try in seconds, not minutes.
BUSY_ERRCODES = frozenset({-3003, -3037})
BUSY_PAUSES_SECONDS = (2.0, 4.0, 6.0)
BUSY_RETRY_AFTER = 15.0
# Longest and shortest token lifetime believed from a sign-in answer (90 days is usual).
MAX_TOKEN_SECONDS = 10 * 365 * 24 * 3600
MIN_TOKEN_SECONDS = 300
# Pages read at most from one listing (200 codes a page; a lock holds at most 250).
MAX_PAGES = 50
# A lock's time-zone offset is within UTC−12 … UTC+14.
MAX_OFFSET_MS = 14 * 3600 * 1000

DEFAULT_TIMEOUT_SECONDS = 30.0

TTLOCK_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=PinRules(lengths=tuple(range(4, 10)), default_length=6),
    vendor_generates_pin=False,
    can_move_start=True,
    can_move_end=True,
    can_change_pin=False,
    time_granularity=timedelta(minutes=1),
    max_codes_per_lock=MAX_CODES_PER_LOCK,
    needs_gateway=True,
    pin_scope=PinScope.LOCK_ALL,  # a PIN of any stored code, expired included, is refused
)


# --------------------------------------------------------------------------- errcodes


@dataclass(frozen=True)
class _Errcode:
    error: type[VendorError]
    message: str
    fix: str | None = None
    retry_after: float | None = None


_SIGN_IN_AGAIN = "Open the TTLock connection and enter the TTLock app email and password again."
_IF_IT_LASTS = ("If this keeps happening, check the lock and its gateway in the TTLock "
                "app.")

# The reference's retry classes (§1.9): R → TransientError, A → re-auth (then AuthError),
# F → PermanentError/AuthError, I → AlreadyGone or reconcile (CodeConflict after a look-up).
ERRCODES: dict[int, _Errcode] = {
    1: _Errcode(TransientError, "TTLock reported a failure without saying why.",
                _IF_IT_LASTS),
    -3: _Errcode(PermanentError, "TTLock refused the request as invalid.",
                 "Please report this to Mangodesk support (TTLock error −3)."),
    10000: _Errcode(AuthError, "TTLock does not know the client ID of this connection.",
                    "Check the client ID and client secret of your TTLock developer app."),
    10001: _Errcode(AuthError, "TTLock did not accept the client ID or client secret.",
                    "Check the client ID and client secret of your TTLock developer app."),
    10003: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", _SIGN_IN_AGAIN),
    10004: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", _SIGN_IN_AGAIN),
    10006: _Errcode(AuthError, "TTLock has not approved this developer app yet.",
                    "Wait for TTLock's approval e-mail, or use an approved app's client ID."),
    10007: _Errcode(AuthError, "TTLock did not accept the username or password.",
                    "Use the e-mail and password of your TTLock app account (not the developer "
                    "portal account) and check the server region."),
    10011: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", _SIGN_IN_AGAIN),
    10015: _Errcode(AuthError, "TTLock no longer accepts Mangodesk's sign-in.", _SIGN_IN_AGAIN),
    20002: _Errcode(PermanentError, "This TTLock account is not an administrator of the lock.",
                    "Connect with the lock owner's account, or have the owner make this account "
                    "an administrator in the TTLock app."),
    -2018: _Errcode(PermanentError, "This TTLock account is not allowed to manage the lock.",
                    "Connect with the lock owner's account, or have the owner make this account "
                    "an administrator in the TTLock app."),
    30001: _Errcode(PermanentError, "This TTLock developer app may not use that function.",
                    "Check the app's permissions on the TTLock developer portal."),
    30005: _Errcode(AuthError, "TTLock expected the password in another form.",
                    "Enter the plain TTLock app password. If it came from a TTHotel export, "
                    "tick “The password is already hashed” under Advanced in Sign in "
                    "again."),
    30006: _Errcode(TransientError, "TTLock asked Mangodesk to make fewer calls for a moment.",
                    _IF_IT_LASTS, retry_after=60),
    30007: _Errcode(PermanentError,
                    "The TTLock developer app has used up this month's allowance of calls.",
                    "Upgrade the plan on the TTLock developer portal, or wait until the 1st of "
                    "next month."),
    30008: _Errcode(PermanentError, "This TTLock account belongs to another TTLock region.",
                    "Set the server to https://cnapi.ttlock.com for accounts in mainland China "
                    "and https://euapi.ttlock.com everywhere else."),
    80000: _Errcode(TransientError,
                    "TTLock refused the request because this computer's clock is wrong.",
                    "Set this computer's date and time correctly (turn on automatic time); "
                    "Mangodesk will then try again.", retry_after=300),
    80002: _Errcode(PermanentError, "TTLock could not read Mangodesk's request.",
                    "Please report this to Mangodesk support (TTLock error 80002)."),
    90000: _Errcode(TransientError, "TTLock had an internal problem.", _IF_IT_LASTS,
                    retry_after=60),
    -1003: _Errcode(PermanentError,
                    "TTLock no longer knows this lock (deleted or moved to another account).",
                    "Check the lock in the TTLock app, then link the unit to the right lock."),
    -2025: _Errcode(PermanentError, "The lock is frozen in TTLock.",
                    "Unfreeze the lock in the TTLock app, then retry."),
    -4043: _Errcode(PermanentError, "This lock cannot take door codes from a distance.",
                    "Use a lock with a keypad and passcode version 4 or later, or handle this "
                    "door's codes by hand."),
    -4056: _Errcode(PermanentError, "The lock's memory is full.",
                    "Delete old or expired passcodes of this lock in the TTLock app, then retry."),
    -1007: _Errcode(PermanentError, "The lock has no passcode data in TTLock.",
                    "Reset the lock's passcodes in the TTLock app, then retry."),
    -2009: _Errcode(AlreadyGoneError,
                    "The code is no longer on the lock (it was deleted outside Mangodesk, "
                    "for example in the TTLock app).",
                    "Mangodesk gives the guest a new code."),
    -2032: _Errcode(CodeConflictError,
                    "The lock refused the code as too easy to guess (repeated or consecutive "
                    "digits).", "Choose a less obvious code."),
    -3006: _Errcode(PermanentError, "The lock refused the length of the code.",
                    "Use a code of 4 to 9 digits."),
    -3007: _Errcode(CodeConflictError, "This code is already in use on the lock.",
                    "Choose another code."),
    -3008: _Errcode(PermanentError,
                    "TTLock cannot change a code that has never been used on the lock.",
                    "Revoke the code and create a new one."),
    -3009: _Errcode(PermanentError, "The lock already holds 250 codes, its maximum.",
                    "Delete old or expired passcodes of this lock in the TTLock app, then retry."),
    -1026: _Errcode(PermanentError, "TTLock refused a code for this period.",
                    "Choose other dates or another code."),
    -2012: _Errcode(TransientError, "The lock is not connected to a TTLock gateway right now.",
                    "Check that the gateway near this door is plugged in and online.",
                    retry_after=900),
    -3002: _Errcode(TransientError, "The TTLock gateway of this lock is offline.",
                    "Check the gateway's power and its Wi-Fi or network cable.",
                    retry_after=300),
    -3003: _Errcode(TransientError, "The TTLock gateway is busy with another request.",
                    _IF_IT_LASTS, retry_after=BUSY_RETRY_AFTER),
    -3034: _Errcode(PermanentError, "This Wi-Fi lock is not set up on a network.",
                    "Finish the lock's Wi-Fi setup in the TTLock app."),
    -3035: _Errcode(TransientError, "This Wi-Fi lock is saving power and did not answer.",
                    "Turn off power saving for this lock in the TTLock app.",
                    retry_after=300),
    -3036: _Errcode(TransientError, "The Wi-Fi lock is offline.",
                    "Check the lock's batteries and the Wi-Fi near the door.",
                    retry_after=300),
    -3037: _Errcode(TransientError, "The Wi-Fi lock is busy with another request.",
                    _IF_IT_LASTS, retry_after=BUSY_RETRY_AFTER),
    -4037: _Errcode(PermanentError, "The TTLock gateway of this lock no longer exists.",
                    "Check the gateway in the TTLock app and add it again if needed."),
}


def _errcode_of(body: Mapping[str, Any]) -> int | None:
    """The body's ``errcode``, None when there is none; ``ValueError`` when it is not a whole
    number (TTLock's types are loose: "-3007" as text is fine; true, 0.5 or a list are not,
    and must never read as 0 = success)."""
    if "errcode" not in body:
        return None
    value = _whole(body["errcode"])
    if value is None:
        raise ValueError("errcode is not a whole number")
    return value


def _require_ok(body: Mapping[str, Any], outcome: str) -> None:
    """A change or delete is done only when TTLock answers ``{"errcode": 0, …}``; a body
    without errcode (or any other shape) does not say so."""
    try:
        errcode = _errcode_of(body)
    except ValueError:
        errcode = None
    if errcode != 0:
        raise http.unclear_outcome("TTLock", outcome, "the lock's codes")


def error_for(errcode: int, body: Mapping[str, Any]) -> VendorError:
    """The classified error for a TTLock errcode; unknown codes are permanent, with TTLock's
    own words so staff have something to search for."""
    known = ERRCODES.get(errcode)
    if known is not None:
        return known.error(known.message, known.fix, vendor_code=str(errcode),
                           retry_after=known.retry_after)
    vendor_text = _text(body.get("errmsg"), 120).replace("\u00a0", " ").strip()
    detail = f" ({vendor_text})" if vendor_text else ""
    return PermanentError(
        f"TTLock refused the request with error {errcode}{detail}.",
        "Check the lock in the TTLock app; if it keeps happening, contact Mangodesk support.",
        vendor_code=str(errcode),
    )


# --------------------------------------------------------------------------- helpers

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_MS = 60_000


def to_ms(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: times must carry a time zone")
    return (instant - _EPOCH) // timedelta(milliseconds=1)


_MAX_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def from_ms(value: Any) -> datetime | None:
    """TTLock instants; 0, missing, unparseable or off the calendar means "no date"
    (permanent codes)."""
    millis = _whole(value)
    if millis is None or millis <= 0 or millis > _MAX_MS:
        return None
    return _EPOCH + timedelta(milliseconds=millis)


def floor_minute_ms(instant: datetime) -> int:
    millis = to_ms(instant)
    return millis - millis % _MINUTE_MS


def ceil_minute_ms(instant: datetime) -> int:
    millis = to_ms(instant)
    return -(-millis // _MINUTE_MS) * _MINUTE_MS


def has_feature(feature_value: Any, bit: int) -> bool:
    """featureValue is an uppercase hex string read as one big integer (reference §1.6)."""
    try:
        return bool((int(str(feature_value), 16) >> bit) & 1)
    except ValueError:
        return False


def _whole(value: Any) -> int | None:
    """A whole number as TTLock may send it (an int, or digits as text); never a boolean,
    a fraction, a list or an absurdly long string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 30:
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii():
            return int(text)
    return None


def _offset_ms(value: Any) -> int | None:
    offset = _whole(value)
    return offset if offset is not None and abs(offset) <= MAX_OFFSET_MS else None


def _entries(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects in a listing's ``list``; a ``list`` that is not a list is unreadable."""
    entries = body.get("list")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise http.unreadable("TTLock")
    return [entry for entry in entries if isinstance(entry, dict)]


def _text(value: Any, limit: int = 200) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def timezone_warning(offset_ms: int, zone_name: str, now: datetime) -> str | None:
    """Compare the lock's raw offset with the hotel's offset right now (TTLock offsets do not
    follow daylight saving time by themselves, so summer time is a mismatch too)."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = now.astimezone(zone)
    hotel_offset = local.utcoffset() or timedelta(0)
    lock_offset = timedelta(milliseconds=offset_ms)
    if lock_offset == hotel_offset:
        return None
    standard = hotel_offset - (local.dst() or timedelta(0))
    difference = abs(lock_offset - hotel_offset)
    hours = difference.total_seconds() / 3600
    span = f"{hours:g} hour{'s' if hours != 1 else ''}"
    if lock_offset == standard:
        return (
            f"The lock's time zone is {format_offset(lock_offset)} (standard time) but the "
            f"hotel is on summer time, {format_offset(hotel_offset)}: codes may work {span} "
            "too early or too late at the door. Update the lock's time zone in the TTLock app "
            "(and again when summer time ends)."
        )
    return (
        f"The lock's time zone is {format_offset(lock_offset)} but the hotel ({zone_name}) is "
        f"on {format_offset(hotel_offset)}: codes may work {span} too early or too late at the "
        "door. Correct the lock's time zone in the TTLock app."
    )


def _normalised_base(address: str) -> str:
    """Staff may type the host alone ("euapi.ttlock.com"): that means https."""
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = f"https://{address}"
    return address


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# TTLock reads carry the access token (and, for a look-up, the PIN) in the query string.
_SENSITIVE_QUERY_PARAMETERS = ("accessToken", "clientSecret", "client_secret", "password",
                               "refresh_token", "keyboardPwd", "newKeyboardPwd", "searchStr")


# Calls through one gateway are serialised inside the process too (the engine serialises by
# LockInfo.serial_key; this guards adapters created side by side, e.g. by the GUI and engine).
_SERIAL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_SERIAL_GUARD = threading.Lock()


def _serial_lock(account: str, serial_key: str) -> threading.Lock:
    with _SERIAL_GUARD:
        return _SERIAL_LOCKS.setdefault((account, serial_key), threading.Lock())


@dataclass
class _Token:
    access: str
    refresh: str | None
    expires_at: datetime


# --------------------------------------------------------------------------- adapter


class TTLockAdapter:
    """One TTLock app account. Thread-safe: the engine may call it from several workers."""

    kind = VendorKind.TTLOCK
    capabilities = TTLOCK_CAPABILITIES

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``sleep`` waits between asks to a busy gateway (tests pass a recorder); the
        token is kept in ``config.token_cache`` when there is one, so the next process
        reuses it instead of signing in again."""
        settings = config.settings
        install_query_redaction(_SENSITIVE_QUERY_PARAMETERS)
        self._clock: Clock = clock or SystemClock()
        self.api_base = _normalised_base(str(settings.get("api_base") or EU_API_BASE))
        self._username = str(settings.get("username") or "").strip()
        self._client_id = str(settings.get("client_id") or "").strip()
        self._client_secret = config.secrets.get("client_secret", "")
        self._password = config.secrets.get("password", "")
        self._password_is_md5 = _truthy(settings.get("password_is_md5", ""))
        self._hotel_timezone = config.hotel_timezone or ""
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
        self._gateway_of_lock: dict[str, str | None] = {}
        self._account_key = f"{self.api_base}|{self._username}"
        self.request_count = 0  # vendor calls made, against TTLock's monthly quota
        self._count_lock = threading.Lock()

    # ----------------------------------------------------------------- protocol

    def test_connection(self) -> ConnectionReport:
        steps: list[ReportStep] = []
        try:
            self._check_base_url()
            self._ensure_token()
        except VendorError as exc:
            steps.append(ReportStep("Sign in to TTLock", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        steps.append(ReportStep("Sign in to TTLock", True, "TTLock accepted the account."))
        try:
            page = self._get("/v3/lock/list", {"pageNo": 1, "pageSize": LOCK_PAGE_SIZE})
        except VendorError as exc:
            steps.append(ReportStep("Read the lock list", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        total = _whole(page.get("total"))
        try:
            count = total if total is not None and total >= 0 else len(_entries(page))
        except VendorError as exc:
            steps.append(ReportStep("Read the lock list", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        noun = "lock" if count == 1 else "locks"
        steps.append(ReportStep("Read the lock list", True, f"The account has {count} {noun}."))
        return ConnectionReport(True, f"Connected to TTLock: {count} {noun} found.", tuple(steps))

    def list_locks(self) -> list[LockInfo]:
        self._check_base_url()
        raw_locks = list(self._paged("/v3/lock/list", {}, LOCK_PAGE_SIZE))
        gateways = {
            str(_whole(g.get("gatewayId"))): g
            for g in self._paged("/v3/gateway/list", {"orderBy": 0}, GATEWAY_PAGE_SIZE)
            if _whole(g.get("gatewayId")) is not None
        }
        best_gateway: dict[str, tuple[str, int]] = {}
        for gateway_id in gateways:
            listing = self._get("/v3/gateway/listLock", {"gatewayId": gateway_id})
            for entry in _entries(listing):
                lock_id = str(_whole(entry.get("lockId")))
                rssi = _whole(entry.get("rssi")) or -200
                if lock_id not in best_gateway or rssi > best_gateway[lock_id][1]:
                    best_gateway[lock_id] = (gateway_id, rssi)
        locks: list[LockInfo] = []
        for raw in raw_locks:
            if _whole(raw.get("lockId")) is None:
                continue  # not a lock Mangodesk could address
            lock_id = str(_whole(raw.get("lockId")))
            detail = self._get("/v3/lock/detail", {"lockId": lock_id})
            merged = {**raw, **detail}
            best = best_gateway.get(lock_id)
            lock_gateway_id = best[0] if best else None
            gateway = gateways.get(lock_gateway_id) if lock_gateway_id else None
            locks.append(self._lock_info(lock_id, merged, lock_gateway_id, gateway))
            self._gateway_of_lock[lock_id] = lock_gateway_id
        return locks

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        self._check_base_url()
        detail = self._get("/v3/lock/detail", {"lockId": vendor_lock_id})
        by_lock = self._get("/v3/gateway/listByLock", {"lockId": vendor_lock_id})
        items: list[tuple[str, str]] = [("Lock", _lock_name(detail))]
        warnings: list[str] = []
        battery = _whole(detail.get("electricQuantity"))
        if battery is None:
            items.append(("Battery", "Unknown"))
        else:
            items.append(("Battery", f"{battery} %"))
            if battery < LOW_BATTERY_PERCENT:
                warnings.append(
                    f"The battery is low ({battery} %). Replace the batteries soon: "
                    "a lock with flat batteries takes no new codes."
                )
        gateway_entries = _entries(by_lock)
        wifi = has_feature(detail.get("featureValue"), FEATURE_WIFI)
        if gateway_entries:
            descriptions: list[str] = []
            any_online = False
            for entry in gateway_entries:
                gateway_id = str(_whole(entry.get("gatewayId")))
                gateway = self._get("/v3/gateway/detail", {"gatewayId": gateway_id})
                online = _whole(gateway.get("isOnline")) == 1
                any_online = any_online or online
                name = (_text(entry.get("gatewayName")) or _text(gateway.get("gatewayName"))
                        or "TTLock gateway")
                state = "online" if online else "offline"
                descriptions.append(f"{name} ({state}, {_signal(entry.get('rssi'))})")
            items.append(("Gateway", "; ".join(descriptions)))
            if not any_online:
                warnings.append(
                    "The lock's gateway is offline: new codes, date changes and revocations "
                    "cannot reach the lock. Check the gateway's power and network."
                )
        elif wifi:
            items.append(("Gateway", "None needed (Wi-Fi lock)"))
        else:
            items.append(("Gateway", "None"))
            warnings.append(
                "No gateway has seen this lock in the last 30 minutes, so codes cannot reach "
                "it. Check that a TTLock gateway near the door is plugged in and online."
            )
        offset_ms = _offset_ms(detail.get("timezoneRawOffset"))
        if offset_ms is not None:
            items.append(("Lock time zone", format_offset(timedelta(milliseconds=offset_ms))))
            if self._hotel_timezone:
                warning = timezone_warning(offset_ms, self._hotel_timezone, self._clock.now())
                if warning:
                    warnings.append(warning)
        version = _whole(detail.get("keyboardPwdVersion"))
        if version is not None:
            items.append(("Passcode version", str(version)))
        # The gateway was covered above; what is left is the lock's own capability.
        capability_problem = unmanageable_reason(detail)
        reachable = bool(gateway_entries) or wifi
        items.append(("Remote codes", "Yes" if reachable and capability_problem is None
                      else "No"))
        if capability_problem is not None:
            warnings.append(capability_problem)
        for label, key in (("Model", "modelNum"), ("Firmware", "firmwareRevision")):
            if _text(detail.get(key)):
                items.append((label, _text(detail.get(key))))
        return LockDetails(tuple(items), tuple(warnings))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        """Every code the lock holds, expired ones included (TTLock lists them until they
        are deleted, and refuses their digits for a new code)."""
        self._check_base_url()
        codes = (
            _vendor_code(entry)
            for entry in self._paged(
                "/v3/lock/listKeyboardPwd",
                {"lockId": vendor_lock_id, "orderBy": ORDER_NEWEST_FIRST},
                CODE_PAGE_SIZE,
            )
        )
        return [code for code in codes if code is not None]

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        self._check_base_url()
        pin = _checked_pin(request.pin)
        start_ms = floor_minute_ms(request.valid_from)
        end_ms = ceil_minute_ms(request.valid_to)
        if end_ms <= start_ms:
            raise PermanentError("The code would end before it starts.",
                                 "Check the dates of the stay or the passcode.")
        name = (request.label or request.guest_name or "Mangodesk").strip()[:100]
        form = {
            "lockId": vendor_lock_id,
            "keyboardPwd": pin,
            "keyboardPwdName": name,
            "keyboardPwdType": PASSCODE_TYPE_PERIOD,
            "startDate": start_ms,
            "endDate": end_ms,
            "addType": VIA_GATEWAY,
        }
        with self._gateway_serialised(vendor_lock_id):
            try:
                body = self._post("/v3/keyboardPwd/add", form, outcome="the code was created")
            except CodeConflictError as exc:
                if exc.vendor_code != "-3007":
                    raise
                # A retry after a lost response meets its own code: look it up, don't duplicate.
                found = self._find_own_code(vendor_lock_id, pin, request.label, start_ms,
                                            end_ms)
                if found is None:
                    raise
                log.info("TTLock lock %s: code %s was already there (earlier attempt)",
                         vendor_lock_id, mask_code(pin))
                return self._at_window(vendor_lock_id, found, start_ms, end_ms)
            except AmbiguousError:
                found = self._find_own_code_quietly(vendor_lock_id, pin, request.label,
                                                    start_ms, end_ms)
                if found is None:
                    raise
                return self._at_window(vendor_lock_id, found, start_ms, end_ms)
            pwd_id = _whole(body.get("keyboardPwdId"))
            if pwd_id is None or pwd_id <= 0:
                # Success is {"keyboardPwdId": <number>}: anything else may or may not be a
                # code on the lock.
                raise http.unclear_outcome("TTLock", "the code was created",
                                           "the lock's codes")
        log.info("TTLock lock %s: created code %s", vendor_lock_id, mask_code(pin))
        return VendorCode(
            vendor_ref=str(pwd_id),
            pin=pin,
            valid_from=from_ms(start_ms),
            valid_to=from_ms(end_ms),
            name=name,
        )

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        """Move the code to the new window: start, end or both (TTLock always takes both
        dates, so ``code``'s old window is not needed on the wire)."""
        self._check_base_url()
        start_ms = floor_minute_ms(valid_from)
        end_ms = ceil_minute_ms(valid_to)
        if end_ms <= start_ms:
            raise PermanentError("The code would end before it starts.",
                                 "Check the dates of the stay or the passcode.")
        with self._gateway_serialised(vendor_lock_id):
            self._change_window(vendor_lock_id, _pwd_id(code), start_ms, end_ms)
        log.info("TTLock lock %s: moved code %s", vendor_lock_id, mask_code(code.pin))
        return VendorCode(code.vendor_ref, code.pin, from_ms(start_ms), from_ms(end_ms),
                          code.name, code.mobile_key_sent_to)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        self._check_base_url()
        form = {
            "lockId": vendor_lock_id,
            "keyboardPwdId": _pwd_id(code),
            "deleteType": VIA_GATEWAY,
        }
        with self._gateway_serialised(vendor_lock_id):
            try:
                body = self._post("/v3/keyboardPwd/delete", form,
                                  outcome="the code was removed")
            except AlreadyGoneError:
                log.info("TTLock lock %s: code %s was already gone", vendor_lock_id,
                         mask_code(code.pin))
                return
            _require_ok(body, "the code was removed")
        log.info("TTLock lock %s: deleted code %s", vendor_lock_id, mask_code(code.pin))

    def close(self) -> None:
        self._http.close()

    def _count_call(self) -> None:
        with self._count_lock:
            self.request_count += 1

    # ----------------------------------------------------------------- locks

    def _lock_info(self, lock_id: str, raw: Mapping[str, Any], gateway_id: str | None,
                   gateway: Mapping[str, Any] | None) -> LockInfo:
        has_gateway = _flag(raw)
        wifi = has_feature(raw.get("featureValue"), FEATURE_WIFI)
        reason = unmanageable_reason(raw)
        offset_ms = _offset_ms(raw.get("timezoneRawOffset"))
        attributes: dict[str, Any] = {
            "battery": _whole(raw.get("electricQuantity")),
            "has_gateway": has_gateway,
            "wifi": wifi,
            "gateway_id": gateway_id,
            "gateway_name": _text(gateway.get("gatewayName")) if gateway else None,
            "gateway_online": (_whole(gateway.get("isOnline")) == 1) if gateway else None,
            "timezone_offset_minutes": (offset_ms // 60_000) if offset_ms is not None else None,
            "keyboard_pwd_version": _whole(raw.get("keyboardPwdVersion")),
            "feature_value": _text(raw.get("featureValue"), 64),
            "lock_name": _text(raw.get("lockName")),
            "group": _text(raw.get("groupName")),
        }
        if _text(raw.get("modelNum")):
            attributes["model"] = _text(raw.get("modelNum"))
        return LockInfo(
            vendor_lock_id=lock_id,
            name=_lock_name(raw),
            attributes=attributes,
            manageable=reason is None,
            unmanageable_reason=reason,
            # Linkable, but codes cannot reach it: staff hand out codes themselves.
            codes_not_automatic_reason=(
                NO_GATEWAY_REASON if reason is None and not has_gateway and not wifi else None),
            serial_key=f"gateway:{gateway_id}" if gateway_id else f"lock:{lock_id}",
        )

    def _gateway_serialised(self, vendor_lock_id: str) -> threading.Lock:
        if vendor_lock_id not in self._gateway_of_lock:
            listing = self._get("/v3/gateway/listByLock", {"lockId": vendor_lock_id})
            entries = sorted(
                (e for e in _entries(listing) if _whole(e.get("gatewayId")) is not None),
                key=lambda e: _whole(e.get("rssi")) or -200, reverse=True)
            self._gateway_of_lock[vendor_lock_id] = (
                str(_whole(entries[0].get("gatewayId"))) if entries else None
            )
        gateway_id = self._gateway_of_lock[vendor_lock_id]
        key = f"gateway:{gateway_id}" if gateway_id else f"lock:{vendor_lock_id}"
        return _serial_lock(self._account_key, key)

    # ----------------------------------------------------------------- codes

    def _find_own_code(self, vendor_lock_id: str, pin: str, label: str | None, start_ms: int,
                       end_ms: int) -> VendorCode | None:
        """The code with these digits, if it is ours: it carries our label ("Mangodesk
        <code id>"), or it is a period code with exactly the window we asked for. Anything
        else with the same digits is someone else's code (a clash, not ours to adopt)."""
        for entry in self._paged(
            "/v3/lock/listKeyboardPwd",
            {"lockId": vendor_lock_id, "orderBy": ORDER_NEWEST_FIRST, "searchStr": pin},
            CODE_PAGE_SIZE,
        ):
            found = _vendor_code(entry)
            if found is None or found.pin != pin:
                continue
            same_window = (_whole(entry.get("startDate")) == start_ms
                           and _whole(entry.get("endDate")) == end_ms
                           and _whole(entry.get("keyboardPwdType")) == PASSCODE_TYPE_PERIOD)
            our_label = label is not None and found.name == label.strip()[:100]
            if same_window or our_label:
                return found
        return None

    def _at_window(self, vendor_lock_id: str, found: VendorCode, start_ms: int,
                   end_ms: int) -> VendorCode:
        """An adopted code, brought to the window asked for when the lock holds another
        (an earlier attempt with older dates): never report a window the lock does not
        hold."""
        if (found.valid_from, found.valid_to) != (from_ms(start_ms), from_ms(end_ms)):
            log.info("TTLock lock %s: moving adopted code %s to the requested dates",
                     vendor_lock_id, mask_code(found.pin))
            self._change_window(vendor_lock_id, _pwd_id(found), start_ms, end_ms)
        return replace(found, valid_from=from_ms(start_ms), valid_to=from_ms(end_ms))

    def _change_window(self, vendor_lock_id: str, pwd_id: int, start_ms: int,
                       end_ms: int) -> None:
        form = {
            "lockId": vendor_lock_id,
            "keyboardPwdId": pwd_id,
            "changeType": VIA_GATEWAY,
            # Both dates, always: without startDate TTLock answers success and changes nothing.
            "startDate": start_ms,
            "endDate": end_ms,
        }
        body = self._post("/v3/keyboardPwd/change", form, outcome="the code's dates were changed")
        _require_ok(body, "the code's dates were changed")

    def _find_own_code_quietly(self, vendor_lock_id: str, pin: str, label: str | None,
                               start_ms: int, end_ms: int) -> VendorCode | None:
        """Read-back right after a lost answer; if that fails too, stay ambiguous."""
        try:
            return self._find_own_code(vendor_lock_id, pin, label, start_ms, end_ms)
        except VendorError:
            return None

    # ----------------------------------------------------------------- transport

    def _check_base_url(self) -> None:
        parts = urlsplit(self.api_base)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname and _is_loopback_host(parts.hostname):
            return  # the local simulator (demo mode, tests)
        raise PermanentError(
            f"The TTLock server address “{self.api_base}” is not a secure https address.",
            f"Use {EU_API_BASE} (or https://cnapi.ttlock.com in mainland China).",
        )

    def _paged(self, path: str, params: Mapping[str, Any],
               page_size: int) -> Iterator[dict[str, Any]]:
        page_no = 1
        while True:
            body = self._get(path, {**params, "pageNo": page_no, "pageSize": page_size})
            entries = _entries(body)
            yield from entries
            pages = _whole(body.get("pages"))
            if not entries or pages is None or page_no >= min(pages, MAX_PAGES):
                return
            page_no += 1

    def _get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("GET", path, params, outcome=None)

    def _post(self, path: str, form: Mapping[str, Any], *, outcome: str) -> dict[str, Any]:
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
            token = self._ensure_token()
            full = {
                "clientId": self._client_id,
                "accessToken": token,
                **params,
                "date": to_ms(self._clock.now()),
            }
            body = self._send(method, path, full, outcome)
            try:
                errcode = _errcode_of(body)
            except ValueError:
                if outcome is not None:
                    raise http.unclear_outcome("TTLock", outcome, "the lock's codes") from None
                raise http.unreadable("TTLock") from None
            if errcode is None or errcode == 0:
                return body
            if errcode in REAUTH_ERRCODES and not reauthenticated:
                log.info("TTLock %s: token refused (errcode %s), signing in again", path, errcode)
                self._forget_token(token)
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
        if status == 429:
            raise http.server_trouble("TTLock", 429,
                                      http.retry_after_seconds(response) or 60)
        if status in (502, 504) and outcome is not None:
            # A proxy in front of TTLock gave up: the change may have reached the lock.
            raise http.unclear_outcome("TTLock", outcome, "the lock's codes",
                                       vendor_code=f"HTTP {status}")
        if status >= 500:
            raise http.server_trouble("TTLock", status, http.retry_after_seconds(response))
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

    def _ensure_token(self) -> str:
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

    def _forget_token(self, access: str) -> None:
        """Make the next call renew the token (refresh first, then the password)."""
        with self._token_lock:
            if self._token is not None and self._token.access == access:
                self._token.expires_at = _EPOCH

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
            raise AuthError("The TTLock e-mail or password is missing.", _SIGN_IN_AGAIN)
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
        self._check_base_url()
        body = self._send_token(form)
        try:
            errcode = _errcode_of(body)
        except ValueError:
            errcode = 1
        if errcode:
            log.info("TTLock sign-in failed: errcode %s", errcode)
            raise error_for(errcode, body)
        access = body.get("access_token")
        if not isinstance(access, str) or not access.strip():
            raise TransientError("TTLock's sign-in answer had no access token.", _IF_IT_LASTS)
        seconds = _whole(body.get("expires_in")) or 7_776_000
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


# --------------------------------------------------------------------------- small parts


# A lock no gateway reaches can be linked, but Mangodesk cannot send it codes: the unit says
# so and staff enter the guest's code on the lock themselves.
NO_GATEWAY_REASON = "codes not automatic: no gateway"


def unmanageable_reason(raw: Mapping[str, Any]) -> str | None:
    """Why this lock can never take codes from Mangodesk, in words for the desk (None = it
    can). A missing gateway is not such a reason: see ``NO_GATEWAY_REASON``."""
    reasons: list[str] = []
    feature_value = raw.get("featureValue")
    if not has_feature(feature_value, FEATURE_PASSCODE):
        reasons.append("This lock has no keypad, so it cannot use door codes.")
    elif not has_feature(feature_value, FEATURE_PASSCODE_MANAGEMENT):
        reasons.append("This lock does not let its door codes be managed from a distance.")
    version = _whole(raw.get("keyboardPwdVersion"))
    # A detail without the field (it is not in the documented table) does not block: such a
    # lock would refuse a code with −4043, which reaches the desk as a plain alert.
    if version is not None and version < MIN_PASSCODE_VERSION:
        reasons.append(
            f"This lock uses an older passcode system (version {version}); only version "
            f"{MIN_PASSCODE_VERSION} or later can be managed from a distance."
        )
    return " ".join(reasons) if reasons else None


def _flag(raw: Mapping[str, Any]) -> bool:
    return _whole(raw.get("hasGateway")) == 1


def _lock_name(raw: Mapping[str, Any]) -> str:
    return _text(raw.get("lockAlias")) or _text(raw.get("lockName")) or "TTLock lock"


def _signal(rssi: Any) -> str:
    value = _whole(rssi)
    if value is None:
        return "signal unknown"
    if value > -75:
        return "signal strong"
    if value >= -85:
        return "signal medium"
    return "signal weak"


def _vendor_code(entry: Mapping[str, Any]) -> VendorCode | None:
    """A listed code, or None for an entry without a code number (nothing to address)."""
    pwd_id = _whole(entry.get("keyboardPwdId"))
    if pwd_id is None or pwd_id <= 0:
        return None
    pwd_type = _whole(entry.get("keyboardPwdType"))
    permanent = pwd_type == PASSCODE_TYPE_PERMANENT
    pin = entry.get("keyboardPwd")
    if isinstance(pin, int) and not isinstance(pin, bool):
        pin = str(pin)
    return VendorCode(
        vendor_ref=str(pwd_id),
        pin=pin if isinstance(pin, str) and pin else None,
        valid_from=None if permanent else from_ms(entry.get("startDate")),
        valid_to=None if permanent else from_ms(entry.get("endDate")),
        name=_text(entry.get("keyboardPwdName")) or None,
    )


def _checked_pin(pin: str | None) -> str:
    if not pin:
        raise PermanentError("TTLock needs the code's digits: it does not choose them itself.",
                             "Enter a code of 4 to 9 digits.")
    if not pin.isdigit() or not 4 <= len(pin) <= 9 or not pin.isascii():
        raise PermanentError("A TTLock door code must be 4 to 9 digits.",
                             "Enter a code of 4 to 9 digits.")
    return pin


def _pwd_id(code: VendorCode) -> int:
    value = _whole(code.vendor_ref)
    if value is None:
        raise PermanentError(
            "This code has no TTLock code number, so it cannot be changed on the lock.",
            "Revoke it in the TTLock app, or contact Mangodesk support.",
        )
    return value


# --------------------------------------------------------------------------- spec


def _factory(config: ConnectionConfig) -> TTLockAdapter:
    return TTLockAdapter(config)


TTLOCK_SPEC = ProviderSpec(
    kind=VendorKind.TTLOCK,
    display_name="TTLock",
    fields=(
        CredentialField("username", "Username",
                        help="The e-mail of your TTLock app account (not the developer "
                             "portal account)."),
        CredentialField("password", "Password", secret=True,
                        help="The password of your TTLock app account."),
        CredentialField("client_id", "Open Platform client ID", advanced=True,
                        help="Of this installation's developer app on euopen.ttlock.com; "
                             "set once by the IT person."),
        CredentialField("client_secret", "Open Platform client secret", secret=True,
                        advanced=True,
                        help="Of the same developer app; kept in this computer's keyring."),
        CredentialField("api_base", "Server", required=False, default=EU_API_BASE,
                        advanced=True,
                        help="Leave as is, except for accounts in mainland China "
                             "(https://cnapi.ttlock.com)."),
        CredentialField("password_is_md5", "The password is already hashed (TTHotel export)",
                        required=False, advanced=True, switch=True,
                        help="Only for a password copied from a TTHotel export (32 letters "
                             "and digits); a normal TTLock app password leaves this off."),
    ),
    capabilities=TTLOCK_CAPABILITIES,
    factory=_factory,
    lock_noun="lock",
    description="TTLock keypad locks, managed from a distance through a TTLock gateway.",
)
