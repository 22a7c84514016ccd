"""The Inlet provider: one property-scoped API token, many lock brands behind it.

Inlet sets the PIN itself: granting access for a stay returns the PIN (``codeFormatted``) and a
``ReferenceId`` that later moves or revokes the grant. Only locks that take PIN codes are
offered. Inlet's certification forbids sending a booking more than 72 hours before arrival,
so the adapter refuses such a create rather than risk the partnership.

Every wire detail lives in :mod:`mangodesk.vendors.inlet_contract` (much of it assumed).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import http
from mangodesk.vendors import inlet_contract as wire
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AuthError,
    CallLimits,
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    PermanentError,
    ProviderSpec,
    ReportStep,
    SentCodeMatcher,
    TransientError,
    VendorCode,
    VendorError,
)

log = logging.getLogger(__name__)

TOKEN_FIELD = "api_token"  # noqa: S105 - the name of the secret field, not a secret
BASE_URL_SETTING = "base_url"
MAX_LEAD = timedelta(hours=wire.MAX_LEAD_HOURS)

INLET_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=None,  # Inlet chooses the PIN; Mangodesk never sends one
    vendor_generates_pin=True,
    can_move_start=True,
    can_move_end=True,
    max_lead=MAX_LEAD,
)

HIDDEN_REASONS = {
    "mobile_key_only": "mobile key only",
    "unlock_only": "auto-unlock only",
    "no_pin": "no PIN-code support",
}



def hidden_reason(lock: wire.InletLock) -> str | None:
    """Why a lock is not offered (a key of HIDDEN_REASONS), or None when it takes a PIN."""
    if lock.takes_pin:
        return None
    kinds = set(lock.access_types)
    if kinds and kinds <= {wire.ACCESS_MOBILE_KEY, wire.ACCESS_URL_KEY}:
        return "mobile_key_only"
    if kinds == {wire.ACCESS_UNLOCK}:
        return "unlock_only"
    return "no_pin"


def _whole_second(instant: datetime) -> datetime:
    """What Inlet stores of an instant (the wire carries whole seconds, UTC)."""
    return instant.astimezone(UTC).replace(microsecond=0)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class InletAdapter(SentCodeMatcher):
    """One Inlet property account, reached over HTTPS with the account's API token."""

    kind = VendorKind.INLET
    capabilities = INLET_CAPABILITIES

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        clock: Clock | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._token = config.secrets.get(TOKEN_FIELD, "")
        self._clock = clock or SystemClock()
        base_url = str(config.settings.get(BASE_URL_SETTING) or wire.DEFAULT_BASE_URL)
        self._client = http.json_client(base_url, timeout or http.DEFAULT_TIMEOUT,
                                        pace=config.pace)

    # ------------------------------------------------------------------ protocol

    def test_connection(self) -> ConnectionReport:
        try:
            locks = self._fetch_locks()
        except VendorError as exc:
            return ConnectionReport(
                ok=False,
                summary=exc.message,
                steps=(ReportStep("Connection to Inlet", False, exc.message, exc.fix),),
            )
        usable = [lock for lock in locks if lock.takes_pin]
        token_step = ReportStep("API token", True, "Inlet accepted the API token.")
        locks_step = ReportStep(
            "Locks",
            bool(usable),
            f"{_plural(len(usable), 'lock')} can take PIN codes.",
            None if usable else "Check in Inlet that your locks are paired and take PIN codes.",
        )
        steps = [token_step, locks_step]
        hidden = Counter(r for r in (hidden_reason(lock) for lock in locks) if r is not None)
        hidden_count = sum(hidden.values())
        why = ", ".join(f"{count} {HIDDEN_REASONS[key]}" for key, count in hidden.items())
        if hidden:
            pronoun = "it" if hidden_count == 1 else "they"
            steps.append(
                ReportStep(
                    "Hidden locks",
                    True,
                    f"{_plural(hidden_count, 'lock')} not shown because {pronoun} cannot "
                    f"take PIN codes ({why}).",
                )
            )
        summary = (
            f"Connected to Inlet: {_plural(len(usable), 'lock')} ready to link"
            if usable
            else "Connected to Inlet, but none of your locks can take a PIN code"
        )
        summary += f"; {hidden_count} hidden ({why})." if hidden else "."
        return ConnectionReport(
            ok=True,
            summary=summary,
            steps=tuple(steps),
            details={"pin_locks": str(len(usable)), "hidden_locks": str(hidden_count)},
        )

    def list_locks(self) -> list[LockInfo]:
        return [self._lock_info(lock) for lock in self._fetch_locks() if lock.takes_pin]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        lock = self._find_lock(vendor_lock_id)
        online = {True: "Online", False: "Offline", None: "Unknown"}[lock.online]
        items = [
            ("Lock system", lock.lock_system or "Unknown"),
            ("Location", lock.location or "—"),
            ("Group", lock.group or "—"),
            ("Online status", online),
        ]
        if lock.battery is not None:
            items.append(("Battery", f"{lock.battery} %"))
        warnings = []
        if lock.online is False:
            warnings.append(
                "This lock is offline in Inlet: new codes and changes reach it only when it is "
                "back online. Check its power and network, or call your lock installer."
            )
        return LockDetails(items=tuple(items), warnings=tuple(warnings))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        response = self._send(
            "GET", wire.GRANT_ACCESS_PATH, params={wire.GRANTS_QUERY_LOCK: vendor_lock_id}
        )
        self._raise_for_status(response)
        try:
            grants = wire.parse_grants(http.json_or_none(response))
        except ValueError as exc:
            raise self._unreadable() from exc
        return [self._vendor_code(grant) for grant in grants]

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        self._check_lead(request.valid_from)
        body = wire.grant_request(
            vendor_lock_id,
            request.valid_from,
            request.valid_to,
            guest_name=request.guest_name,
            guest_email=request.guest_email,
            external_reference=request.label,
        )
        response = self._send("POST", wire.GRANT_ACCESS_PATH, json=body,
                              changes="the code was created")
        self._raise_for_status(response, write=True)
        grant = self._confirmed_grant(response, None, request.valid_from, request.valid_to)
        if grant is None or grant.code_formatted is None:
            # No ReferenceId, no PIN or another window: the grant may exist all the same.
            raise http.unclear_outcome("Inlet", "the code was created", "the lock's codes")
        log.info("Inlet granted access on lock %s (PIN %s)", vendor_lock_id,
                 mask_code(grant.code_formatted))
        return VendorCode(
            vendor_ref=grant.reference_id,
            pin=grant.code_formatted,
            valid_from=grant.start,
            valid_to=grant.end,
            name=request.label or request.guest_name,
        )

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        """Move the grant to the new window (start, end or both; Inlet takes the whole
        window, so ``code``'s old window is not needed on the wire)."""
        response = self._send(
            "PUT", wire.grant_path(code.vendor_ref),
            json=wire.window_request(valid_from, valid_to), changes="the code's dates were changed",
        )
        if self._grant_unknown(response):
            raise AlreadyGoneError(
                "Inlet no longer has this code (it was removed outside Mangodesk), so its "
                "dates cannot be changed.",
                "Mangodesk creates a new code for the stay.",
            )
        self._raise_for_status(response, write=True)
        grant = self._confirmed_grant(response, code.vendor_ref, valid_from, valid_to)
        if grant is None:
            raise http.unclear_outcome("Inlet", "the code's dates were changed",
                                      "the lock's codes")
        log.info("Inlet moved grant on lock %s (PIN %s)", vendor_lock_id, mask_code(code.pin))
        return VendorCode(code.vendor_ref, grant.code_formatted or code.pin, grant.start,
                          grant.end, code.name)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        response = self._send("DELETE", wire.grant_path(code.vendor_ref),
                              changes="the code was removed")
        if self._grant_unknown(response):
            log.info("Inlet grant on lock %s was already gone", vendor_lock_id)
            return
        self._raise_for_status(response, write=True)
        if response.status_code != 200 or not wire.is_revoked_answer(
                http.json_or_none(response), code.vendor_ref):
            raise http.unclear_outcome("Inlet", "the code was removed", "the lock's codes")
        log.info("Inlet revoked a grant on lock %s (PIN %s)", vendor_lock_id,
                 mask_code(code.pin))

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ helpers

    def _check_lead(self, valid_from: datetime) -> None:
        ahead = valid_from - self._clock.now()
        if ahead > MAX_LEAD:
            hours = ahead.total_seconds() / 3600
            raise PermanentError(
                f"Inlet does not accept a code more than 72 hours before it starts "
                f"(this one starts in {hours:.0f} hours).",
                "Create it again within 72 hours of the start; automatic codes are sent "
                "48 hours before check-in.",
            )

    def _fetch_locks(self) -> list[wire.InletLock]:
        response = self._send("GET", wire.LOCKS_PATH)
        self._raise_for_status(response)
        try:
            return wire.parse_locks(http.json_or_none(response))
        except ValueError as exc:
            raise self._unreadable() from exc

    def _find_lock(self, vendor_lock_id: str) -> wire.InletLock:
        for lock in self._fetch_locks():
            if lock.lock_id == vendor_lock_id:
                return lock
        raise PermanentError(
            "Inlet no longer lists this lock.",
            "Refresh the lock list and link the unit to the right lock again.",
        )

    @staticmethod
    def _lock_info(lock: wire.InletLock) -> LockInfo:
        attributes: dict[str, Any] = {
            "lock_system": lock.lock_system,
            "location": lock.location,
            "group": lock.group,
            "online": lock.online,
            "access_types": list(lock.access_types),
        }
        if lock.battery is not None:
            attributes["battery"] = lock.battery
        return LockInfo(vendor_lock_id=lock.lock_id, name=lock.name, attributes=attributes)

    @staticmethod
    def _vendor_code(grant: wire.InletGrant) -> VendorCode:
        return VendorCode(
            vendor_ref=grant.reference_id,
            pin=grant.code_formatted,
            valid_from=grant.start,
            valid_to=grant.end,
            name=grant.external_reference or grant.guest_name,
        )

    @staticmethod
    def _unreadable() -> PermanentError:
        return http.unreadable("Inlet")

    @staticmethod
    def _confirmed_grant(response: httpx.Response, reference_id: str | None,
                         valid_from: datetime, valid_to: datetime) -> wire.InletGrant | None:
        """The grant in a write's answer when it positively says the write was done: a 2xx
        with the grant (the same ReferenceId when we know it), holding the window we sent
        when it shows one. None for anything else (a 204, a redirect, HTML, another window)."""
        if response.status_code not in (200, 201):
            return None
        try:
            grant = wire.parse_grant(http.json_or_none(response))
        except ValueError:
            return None
        if reference_id is not None and grant.reference_id != reference_id:
            return None
        wanted = (_whole_second(valid_from), _whole_second(valid_to))
        shown = (grant.start or wanted[0], grant.end or wanted[1])
        if shown != wanted:
            return None
        return replace(grant, start=wanted[0], end=wanted[1])

    @staticmethod
    def _grant_unknown(response: httpx.Response) -> bool:
        """Inlet says this grant does not exist (removed outside Mangodesk, or by us)."""
        if response.status_code != 404:
            return False
        code, _ = wire.parse_error(http.json_or_none(response))
        return code == wire.ERR_GRANT_NOT_FOUND

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        changes: str | None = None,
    ) -> httpx.Response:
        """One call. ``changes`` names what a write may change: a lost answer then leaves
        the outcome unclear (ambiguous) instead of "not done"."""
        if not self._token:
            raise AuthError(
                "No Inlet API token is saved for this connection.",
                "Open the connection settings and enter the API token from Inlet.",
            )
        headers = {wire.AUTH_HEADER: wire.auth_header_value(self._token)}
        return http.send(
            self._client, method, path, vendor="Inlet",
            outcome=changes,
            check_place="the lock's codes",
            json=json, params=params, headers=headers,
        )

    def _raise_for_status(self, response: httpx.Response, *, write: bool = False) -> None:
        """Classify an error status. On a write, a refusal Inlet does not explain (a bare
        404, a proxy's page) leaves the outcome unclear rather than "refused"."""
        status = response.status_code
        if status < 400:
            return
        code, _ = wire.parse_error(http.json_or_none(response))
        log.info("Inlet refused a request (HTTP %s, error code %s)", status, code)
        if status in (401, 403) or code == wire.ERR_UNAUTHORIZED:
            raise AuthError(
                "Inlet rejected the API token.",
                "Ask Inlet for a valid property token and enter it in the connection settings.",
                vendor_code=code,
            )
        if code == wire.ERR_LOCK_OFFLINE:
            raise TransientError(
                "The lock is offline in Inlet.",
                "If this lasts, check the lock's power and network.",
                vendor_code=code,
            )
        http.raise_if_overloaded(response, "Inlet", code, now=self._clock.now())
        if write and code is None and status == 404:
            raise http.unclear_outcome("Inlet", "the change was made", "the lock's codes",
                                       vendor_code=f"HTTP {status}")
        if code == wire.ERR_LOCK_NOT_FOUND or status == 404:
            raise PermanentError(
                "Inlet does not know this lock any more.",
                "Refresh the lock list and link the unit to the right lock again.",
                vendor_code=code,
            )
        if code == wire.ERR_NOT_PIN_CAPABLE:
            raise PermanentError(
                "This lock cannot take PIN codes through Inlet.",
                "Link the unit to a lock that takes PIN codes.",
                vendor_code=code,
            )
        if code == wire.ERR_TOO_EARLY:
            raise PermanentError(
                "Inlet refused the code because it starts more than 72 hours from now.",
                "Create it again within 72 hours of the start.",
                vendor_code=code,
            )
        raise PermanentError(
            f"Inlet refused the request (error {status}).",
            "Check the code's dates and the lock; contact Mangodesk support if it keeps failing.",
            vendor_code=code,
        )


INLET_SPEC = ProviderSpec(
    kind=VendorKind.INLET,
    display_name="Inlet",
    fields=(
        CredentialField(
            TOKEN_FIELD,
            "API token",
            secret=True,
            help="The property token Inlet gave you at sign-up. No username or password.",
        ),
    ),
    capabilities=INLET_CAPABILITIES,
    factory=InletAdapter,
    lock_noun="lock",
    description="One connection to many lock brands (Salto, ASSA ABLOY, dormakaba, EVVA, "
    "igloohome and more). Inlet sets the PIN; only locks that take PIN codes are offered.",
    # ASSUMED until the partner reference gives them: Inlet answers 429 when rate limited;
    # a cloud API per property token, paced well under the rates such APIs allow.
    call_limits=CallLimits(calls_at_once=4, requests_per_second=5.0),
)
