"""The TTLock adapter: locks, their details, and codes pushed to the lock through its
gateway, one call per gateway at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import httpx

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import http
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CallLimits,
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
    SentCode,
    SentCodeMatcher,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.ttlock.client import TTLockClient
from mangodesk.vendors.ttlock.details import (
    CODE_PAGE_SIZE,
    EU_API_BASE,
    FEATURE_WIFI,
    GATEWAY_PAGE_SIZE,
    LOCK_PAGE_SIZE,
    LOW_BATTERY_PERCENT,
    MAX_CODES_PER_LOCK,
    ORDER_NEWEST_FIRST,
    PASSCODE_TYPE_PERIOD,
    VIA_GATEWAY,
    as_text,
    as_whole,
    ceil_minute_ms,
    checked_pin,
    floor_minute_ms,
    format_offset,
    from_ms,
    from_ms_sent,
    has_feature,
    list_entries,
    lock_info,
    lock_name,
    lock_offset_ms,
    pwd_id_of,
    signal_words,
    timezone_warning,
    unmanageable_reason,
    vendor_code_of,
)
from mangodesk.vendors.ttlock.errors import SAME_PIN_ERRCODE, require_ok

log = logging.getLogger("mangodesk.vendors.ttlock")

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


# Calls through one gateway are serialised inside the process too (the engine serialises by
# LockInfo.serial_key; this guards adapters created side by side, e.g. by the GUI and engine).
# Once one adapter serves each connection (the adapter pool), this registry can become a
# per-adapter dict of gateway locks: no other copy of the account's adapter would exist.
_SERIAL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_SERIAL_GUARD = threading.Lock()


def _serial_lock(account: str, serial_key: str) -> threading.Lock:
    with _SERIAL_GUARD:
        return _SERIAL_LOCKS.setdefault((account, serial_key), threading.Lock())


class TTLockAdapter(SentCodeMatcher):
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
        self._clock: Clock = clock or SystemClock()
        self.client = TTLockClient(config, clock=self._clock, transport=transport, sleep=sleep)
        self.api_base = self.client.api_base
        self._hotel_timezone = config.hotel_timezone or ""
        self._gateway_of_lock: dict[str, str | None] = {}

    def test_connection(self) -> ConnectionReport:
        steps: list[ReportStep] = []
        try:
            self.client.check_base_url()
            self.client.ensure_token()
        except VendorError as exc:
            steps.append(ReportStep("Sign in to TTLock", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        steps.append(ReportStep("Sign in to TTLock", True, "TTLock accepted the account."))
        try:
            page = self.client.get("/v3/lock/list", {"pageNo": 1, "pageSize": LOCK_PAGE_SIZE})
        except VendorError as exc:
            steps.append(ReportStep("Read the lock list", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        total = as_whole(page.get("total"))
        try:
            count = total if total is not None and total >= 0 else len(list_entries(page))
        except VendorError as exc:
            steps.append(ReportStep("Read the lock list", False, exc.message, exc.fix))
            return ConnectionReport(False, exc.message, tuple(steps))
        noun = "lock" if count == 1 else "locks"
        steps.append(ReportStep("Read the lock list", True, f"The account has {count} {noun}."))
        return ConnectionReport(True, f"Connected to TTLock: {count} {noun} found.", tuple(steps))

    def list_locks(self) -> list[LockInfo]:
        self.client.check_base_url()
        raw_locks = list(self.client.paged("/v3/lock/list", {}, LOCK_PAGE_SIZE))
        gateways = {
            str(as_whole(g.get("gatewayId"))): g
            for g in self.client.paged("/v3/gateway/list", {"orderBy": 0}, GATEWAY_PAGE_SIZE)
            if as_whole(g.get("gatewayId")) is not None
        }
        best_gateway: dict[str, tuple[str, int]] = {}
        for gateway_id in gateways:
            listing = self.client.get("/v3/gateway/listLock", {"gatewayId": gateway_id})
            for entry in list_entries(listing):
                lock_id = str(as_whole(entry.get("lockId")))
                rssi = as_whole(entry.get("rssi")) or -200
                if lock_id not in best_gateway or rssi > best_gateway[lock_id][1]:
                    best_gateway[lock_id] = (gateway_id, rssi)
        locks: list[LockInfo] = []
        for raw in raw_locks:
            if as_whole(raw.get("lockId")) is None:
                continue  # not a lock Mangodesk could address
            lock_id = str(as_whole(raw.get("lockId")))
            detail = self.client.get("/v3/lock/detail", {"lockId": lock_id})
            merged = {**raw, **detail}
            best = best_gateway.get(lock_id)
            lock_gateway_id = best[0] if best else None
            gateway = gateways.get(lock_gateway_id) if lock_gateway_id else None
            locks.append(lock_info(lock_id, merged, lock_gateway_id, gateway))
            self._gateway_of_lock[lock_id] = lock_gateway_id
        return locks

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        self.client.check_base_url()
        detail = self.client.get("/v3/lock/detail", {"lockId": vendor_lock_id})
        by_lock = self.client.get("/v3/gateway/listByLock", {"lockId": vendor_lock_id})
        items: list[tuple[str, str]] = [("Lock", lock_name(detail))]
        warnings: list[str] = []
        battery = as_whole(detail.get("electricQuantity"))
        if battery is None:
            items.append(("Battery", "Unknown"))
        else:
            items.append(("Battery", f"{battery} %"))
            if battery < LOW_BATTERY_PERCENT:
                warnings.append(
                    f"The battery is low ({battery} %). Replace the batteries soon: "
                    "a lock with flat batteries takes no new codes."
                )
        gateway_entries = list_entries(by_lock)
        wifi = has_feature(detail.get("featureValue"), FEATURE_WIFI)
        if gateway_entries:
            descriptions: list[str] = []
            any_online = False
            for entry in gateway_entries:
                gateway_id = str(as_whole(entry.get("gatewayId")))
                gateway = self.client.get("/v3/gateway/detail", {"gatewayId": gateway_id})
                online = as_whole(gateway.get("isOnline")) == 1
                any_online = any_online or online
                name = (as_text(entry.get("gatewayName")) or as_text(gateway.get("gatewayName"))
                        or "TTLock gateway")
                state = "online" if online else "offline"
                descriptions.append(f"{name} ({state}, {signal_words(entry.get('rssi'))})")
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
        offset_ms = lock_offset_ms(detail.get("timezoneRawOffset"))
        if offset_ms is not None:
            items.append(("Lock time zone", format_offset(timedelta(milliseconds=offset_ms))))
            if self._hotel_timezone:
                warning = timezone_warning(offset_ms, self._hotel_timezone, self._clock.now())
                if warning:
                    warnings.append(warning)
        version = as_whole(detail.get("keyboardPwdVersion"))
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
            if as_text(detail.get(key)):
                items.append((label, as_text(detail.get(key))))
        return LockDetails(tuple(items), tuple(warnings))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        """Every code the lock holds, expired ones included (TTLock lists them until they
        are deleted, and refuses their digits for a new code)."""
        self.client.check_base_url()
        codes = (
            vendor_code_of(entry)
            for entry in self.client.paged(
                "/v3/lock/listKeyboardPwd",
                {"lockId": vendor_lock_id, "orderBy": ORDER_NEWEST_FIRST},
                CODE_PAGE_SIZE,
            )
        )
        return [code for code in codes if code is not None]

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        self.client.check_base_url()
        pin = checked_pin(request.pin)
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
                body = self.client.post("/v3/keyboardPwd/add", form, outcome="the code was created")
            except CodeConflictError as exc:
                if exc.vendor_code != str(SAME_PIN_ERRCODE):
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
            pwd_id = as_whole(body.get("keyboardPwdId"))
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
        self.client.check_base_url()
        start_ms = floor_minute_ms(valid_from)
        end_ms = ceil_minute_ms(valid_to)
        if end_ms <= start_ms:
            raise PermanentError("The code would end before it starts.",
                                 "Check the dates of the stay or the passcode.")
        with self._gateway_serialised(vendor_lock_id):
            self._change_window(vendor_lock_id, pwd_id_of(code), start_ms, end_ms)
        log.info("TTLock lock %s: moved code %s", vendor_lock_id, mask_code(code.pin))
        return VendorCode(code.vendor_ref, code.pin, from_ms(start_ms), from_ms(end_ms),
                          code.name, code.mobile_key_sent_to)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        self.client.check_base_url()
        form = {
            "lockId": vendor_lock_id,
            "keyboardPwdId": pwd_id_of(code),
            "deleteType": VIA_GATEWAY,
        }
        with self._gateway_serialised(vendor_lock_id):
            try:
                body = self.client.post("/v3/keyboardPwd/delete", form,
                                  outcome="the code was removed")
            except AlreadyGoneError:
                log.info("TTLock lock %s: code %s was already gone", vendor_lock_id,
                         mask_code(code.pin))
                return
            require_ok(body, "the code was removed")
        log.info("TTLock lock %s: deleted code %s", vendor_lock_id, mask_code(code.pin))

    def close(self) -> None:
        self.client.close()

    @property
    def request_count(self) -> int:
        """Vendor calls made, against TTLock's monthly quota."""
        return self.client.request_count

    # ----------------------------------------------------------------- locks

    def _gateway_serialised(self, vendor_lock_id: str) -> threading.Lock:
        if vendor_lock_id not in self._gateway_of_lock:
            listing = self.client.get("/v3/gateway/listByLock", {"lockId": vendor_lock_id})
            entries = sorted(
                (e for e in list_entries(listing) if as_whole(e.get("gatewayId")) is not None),
                key=lambda e: as_whole(e.get("rssi")) or -200, reverse=True)
            self._gateway_of_lock[vendor_lock_id] = (
                str(as_whole(entries[0].get("gatewayId"))) if entries else None
            )
        gateway_id = self._gateway_of_lock[vendor_lock_id]
        key = f"gateway:{gateway_id}" if gateway_id else f"lock:{vendor_lock_id}"
        return _serial_lock(self.client.account_key, key)

    # ----------------------------------------------------------------- codes

    def _find_own_code(self, vendor_lock_id: str, pin: str, label: str | None, start_ms: int,
                       end_ms: int) -> VendorCode | None:
        """The code with these digits, if it is ours (:meth:`matches_sent`: our label, or
        exactly the window we asked for). Anything else with the same digits is someone
        else's code (a clash, not ours to adopt)."""
        sent = SentCode(attempts=((pin, from_ms_sent(start_ms), from_ms_sent(end_ms)),),
                        label=label)
        for entry in self.client.paged(
            "/v3/lock/listKeyboardPwd",
            {"lockId": vendor_lock_id, "orderBy": ORDER_NEWEST_FIRST, "searchStr": pin},
            CODE_PAGE_SIZE,
        ):
            found = vendor_code_of(entry)
            if found is not None and found.pin == pin and self.matches_sent(found, sent):
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
            self._change_window(vendor_lock_id, pwd_id_of(found), start_ms, end_ms)
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
        body = self.client.post("/v3/keyboardPwd/change", form,
                                outcome="the code's dates were changed")
        require_ok(body, "the code's dates were changed")

    def _find_own_code_quietly(self, vendor_lock_id: str, pin: str, label: str | None,
                               start_ms: int, end_ms: int) -> VendorCode | None:
        """Read-back right after a lost answer; if that fails too, stay ambiguous."""
        try:
            return self._find_own_code(vendor_lock_id, pin, label, start_ms, end_ms)
        except VendorError:
            return None


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
    # A gateway answers "busy" (-3003) to a second command meanwhile: calls through one
    # gateway run one after another (LockInfo.serial_key), the account's gateways in
    # parallel. No per-second figure is published behind errcode 30006.
    call_limits=CallLimits(calls_at_once=None),
)
