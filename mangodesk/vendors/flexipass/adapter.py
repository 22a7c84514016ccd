"""The Flexipass provider: mobile keys for enterprise hotel locks, delivered by e-mail.

Flexipass gives the guest a mobile key instead of a PIN, so a booking without a guest e-mail
cannot get one: the adapter refuses it at once (no retry) with a fix staff can act on.
Flexipass takes local wall-clock dates and times, so the adapter converts the engine's UTC
instants in the doors' time zone.

Every wire detail lives in :mod:`.contract` (much of it assumed).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors import http
from mangodesk.vendors.base import (
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
    SentCode,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.flexipass import contract as wire
from mangodesk.vendors.flexipass import errors
from mangodesk.vendors.redaction import install_query_redaction

log = logging.getLogger(__name__)

USERNAME_FIELD = "username"
PASSWORD_FIELD = "password"  # noqa: S105 - the name of the secret field, not a secret
COMPANY_TOKEN_FIELD = "company_token"  # noqa: S105 - likewise
TIME_ZONE_FIELD = "time_zone"
BASE_URL_SETTING = "base_url"
KEY_TYPE_SETTING = "mobile_key_type"
# The window read back by list_codes: keys that may still open a door, and future ones.
LIST_PAST = timedelta(days=31)
LIST_FUTURE = timedelta(days=550)
# How many keys' guest fields the adapter remembers (oldest forgotten first).
SENT_MEMORY = 10_000

NO_EMAIL_MESSAGE = "This booking has no guest email, so Flexipass cannot send a mobile key."
NO_EMAIL_FIX = "Add the guest's email in the PMS."

FLEXIPASS_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=None,
    mobile_key=True,
    needs_guest_email=True,
    can_move_start=True,
    can_move_end=True,
    time_granularity=timedelta(seconds=1),
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FlexipassAdapter:
    """One Flexipass company account (username, password and company token)."""

    kind = VendorKind.FLEXIPASS
    capabilities = FLEXIPASS_CAPABILITIES

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        clock: Clock | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._username = str(config.settings.get(USERNAME_FIELD) or "")
        self._password = config.secrets.get(PASSWORD_FIELD, "")
        self._company_token = config.secrets.get(COMPANY_TOKEN_FIELD, "")
        self._zone = _zone(str(config.settings.get(TIME_ZONE_FIELD) or ""))
        self._key_type = int(config.settings.get(KEY_TYPE_SETTING) or wire.DEFAULT_MOBILE_KEY_TYPE)
        self._clock = clock or SystemClock()
        install_query_redaction((wire.COMPANY_TOKEN_PARAM,))
        base_url = str(config.settings.get(BASE_URL_SETTING) or wire.DEFAULT_BASE_URL)
        self._client = http.json_client(base_url, timeout or http.DEFAULT_TIMEOUT,
                                        pace=config.pace)
        # key id → (name, surname, mail, door, key type) as this adapter last sent them.
        self._sent: dict[str, tuple[str, str, str, str, int]] = {}
        self._sent_lock = threading.Lock()

    # ------------------------------------------------------------------ protocol

    def test_connection(self) -> ConnectionReport:
        try:
            doors = self._fetch_doors()
        except VendorError as exc:
            return ConnectionReport(
                ok=False,
                summary=exc.message,
                steps=(ReportStep("Connection to Flexipass", False, exc.message, exc.fix),),
            )
        rooms = sum(1 for door in doors if not door.is_common_area)
        common = len(doors) - rooms
        steps = (
            ReportStep("Credentials", True, "Flexipass accepted the username, password and "
                       "company token."),
            ReportStep(
                "Doors",
                bool(doors),
                f"Found {rooms} room door(s) and {common} common-area door(s).",
                None if doors else "Check in Flexipass that your doors are set up.",
            ),
        )
        summary = (
            f"Connected to Flexipass: {len(doors)} door(s) ready to link."
            if doors
            else "Connected to Flexipass, but it lists no doors."
        )
        return ConnectionReport(ok=True, summary=summary, steps=steps,
                                details={"rooms": str(rooms), "common_areas": str(common)})

    def list_locks(self) -> list[LockInfo]:
        return [
            LockInfo(
                vendor_lock_id=door.door,
                name=door.name,
                attributes={
                    "door_type": "common_area" if door.is_common_area else "room",
                    "lock_system": door.lock_system,
                },
            )
            for door in self._fetch_doors()
        ]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        for door in self._fetch_doors():
            if door.door == vendor_lock_id:
                items = [
                    ("Door type", "Common area" if door.is_common_area else "Room"),
                    ("Door", door.door),
                ]
                if door.lock_system:
                    items.append(("Lock system", door.lock_system))
                return LockDetails(items=tuple(items))
        raise PermanentError(
            "Flexipass no longer lists this door.",
            "Refresh the door list and link the unit to the right door again.",
        )

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        now = self._clock.now()
        body = wire.list_body(
            vendor_lock_id, self._to_local(now - LIST_PAST), self._to_local(now + LIST_FUTURE)
        )
        response = self._send("POST", wire.KEY_LIST, json=body)
        errors.raise_for_status(response, clock=self._clock)
        try:
            return [self._vendor_code(key)
                    for key in wire.parse_keys(http.json_or_none(response))]
        except ValueError as exc:
            raise errors.unreadable() from exc

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        email = (request.guest_email or "").strip()
        if not email:
            raise PermanentError(NO_EMAIL_MESSAGE, NO_EMAIL_FIX)
        if not _EMAIL.match(email):
            raise PermanentError(
                f"The guest email on this booking ({email}) is not a valid address, so "
                "Flexipass cannot send a mobile key.",
                "Correct the guest's email in the PMS.",
            )
        # No look for an earlier key first: a create whose answer was lost raises "unclear",
        # and the engine reads the door's keys back (matches_sent) before it tries again.
        check_in, check_out = self._to_local(request.valid_from), self._to_local(request.valid_to)
        name, surname = wire.split_guest_name(request.guest_name)
        body = wire.key_body(
            name=name,
            surname=surname,
            mail=email,
            door=vendor_lock_id,
            check_in=check_in,
            check_out=check_out,
            key_type=self._key_type,
        )
        response = self._send("POST", wire.CREATE_KEY, json=body, changes="the key was created")
        errors.raise_for_status(response, clock=self._clock, write=True)
        try:
            if response.status_code != 200:
                raise ValueError("not a 200")
            key_id = wire.parse_key_id(http.json_or_none(response))
        except ValueError as exc:
            raise http.unclear_outcome("Flexipass", "the key was created",
                                      "the door's keys") from exc
        log.info("Flexipass created a mobile key on door %s", vendor_lock_id)
        self._remember(key_id, body)
        if not wire.CREATE_SENDS_MAIL:
            self._send_mail(key_id)
        return VendorCode(
            vendor_ref=key_id,
            pin=None,
            valid_from=request.valid_from,
            valid_to=request.valid_to,
            name=request.guest_name,
            mobile_key_sent_to=email,
        )

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        """Move the key to the new window (start, end or both). The update replaces every
        field: the guest fields are the ones this adapter last sent for the key, else (after
        a restart) the guest's name and address ``code`` carries, as a create sends them,
        else what Flexipass holds now (one more call). The reply must show the window sent."""
        known = self._sent.get(code.vendor_ref)
        if known is not None:
            name, surname, mail, door, key_type = known
        elif code.mobile_key_sent_to:
            name, surname = wire.split_guest_name(code.name)
            mail, door, key_type = code.mobile_key_sent_to, vendor_lock_id, self._key_type
        else:
            current = self._key_details(code.vendor_ref)
            name, surname, key_type = current.name, current.surname, current.key_type
            mail = current.mail or code.mobile_key_sent_to or ""
            door = current.door or vendor_lock_id
        body = wire.key_body(
            name=name,
            surname=surname,
            mail=mail,
            door=door,
            check_in=self._to_local(valid_from),
            check_out=self._to_local(valid_to),
            key_type=key_type,
        )
        response = self._send(
            "PUT", wire.UPDATE_KEY, json=body, params={wire.KEY_ID_PARAM: code.vendor_ref},
            changes="the key's dates were changed",
        )
        if errors.key_unknown(response):
            raise errors.gone()
        errors.raise_for_status(response, clock=self._clock, write=True)
        if not self._update_confirmed(response, code.vendor_ref, body):
            raise http.unclear_outcome("Flexipass", "the key's dates were changed",
                                      "the door's keys")
        self._remember(code.vendor_ref, body)
        return VendorCode(
            vendor_ref=code.vendor_ref,
            pin=None,
            valid_from=valid_from,
            valid_to=valid_to,
            name=code.name,
            mobile_key_sent_to=body[wire.KEY_MAIL] or code.mobile_key_sent_to,
        )

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        with self._sent_lock:
            self._sent.pop(code.vendor_ref, None)
        response = self._send(
            "DELETE", wire.DELETE_KEY, params={wire.KEY_ID_PARAM: code.vendor_ref},
            changes="the key was removed",
        )
        if errors.key_unknown(response):
            log.info("Flexipass mobile key on door %s was already gone", vendor_lock_id)
            return
        errors.raise_for_status(response, clock=self._clock, write=True)
        if response.status_code != 200 or not wire.says_success(http.json_or_none(response)):
            raise http.unclear_outcome("Flexipass", "the key was removed", "the door's keys")
        log.info("Flexipass deleted a mobile key on door %s", vendor_lock_id)

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ helpers

    def _remember(self, key_id: str, body: dict[str, Any]) -> None:
        """The guest fields of a key as last sent, so a date change needs no read first."""
        fields = (str(body[wire.KEY_NAME]), str(body[wire.KEY_SURNAME]),
                  str(body[wire.KEY_MAIL]), str(body[wire.KEY_DOOR]), int(body[wire.KEY_TYPE]))
        with self._sent_lock:  # the engine calls one adapter from several workers
            if len(self._sent) >= SENT_MEMORY:
                self._sent.pop(next(iter(self._sent)))
            self._sent[key_id] = fields

    def _key_details(self, key_id: str) -> wire.FlexipassKey:
        response = self._send("GET", wire.KEY_DETAILS, params={wire.KEY_ID_PARAM: key_id})
        if errors.key_unknown(response):
            raise errors.gone()
        errors.raise_for_status(response, clock=self._clock)
        try:
            return wire.parse_key(http.json_or_none(response))
        except ValueError as exc:
            raise errors.unreadable() from exc

    def _to_local(self, instant: datetime) -> datetime:
        """A naive wall-clock time in the doors' zone (this computer's zone if none is set)."""
        local = instant.astimezone(self._zone) if self._zone else instant.astimezone()
        return local.replace(tzinfo=None, microsecond=0)

    def _from_local(self, wall: datetime) -> datetime:
        try:
            aware = wall.replace(tzinfo=self._zone) if self._zone else wall.astimezone()
            return aware.astimezone(UTC)
        except (OverflowError, OSError) as exc:
            raise ValueError("time out of range") from exc

    def _vendor_code(self, key: wire.FlexipassKey) -> VendorCode:
        """``ValueError`` when the key's local times cannot be placed in UTC."""
        return VendorCode(
            vendor_ref=key.key_id,
            pin=None,
            valid_from=self._from_local(key.check_in),
            valid_to=self._from_local(key.check_out),
            name=f"{key.name} {key.surname}".strip() or None,
            mobile_key_sent_to=key.mail or None,
        )

    def matches_sent(self, candidate: VendorCode, sent: SentCode) -> bool:
        """A key carries no label or PIN of ours: it is ours by the guest's email and exactly
        a window we sent, to the second Flexipass keeps (another key for the same guest, say
        an earlier stay's, is not)."""
        email = candidate.mobile_key_sent_to
        if not (email and sent.guest_email) or email.casefold() != sent.guest_email.casefold():
            return False
        held = (candidate.valid_from, candidate.valid_to)
        return any(held == (_to_second(start), _to_second(end))
                   for _, start, end in sent.attempts)

    def _send_mail(self, key_id: str) -> None:
        """Ask Flexipass to e-mail the key. The key exists either way, so a failure here is
        logged rather than raised (raising would make the engine create a second key)."""
        try:
            response = self._send("GET", wire.SEND_MAIL, params={wire.KEY_ID_PARAM: key_id})
            errors.raise_for_status(response, clock=self._clock)
        except VendorError as exc:
            log.warning("Flexipass could not e-mail mobile key %s: %s", key_id, exc.message)

    def _fetch_doors(self) -> list[wire.FlexipassDoor]:
        response = self._send("GET", wire.DOOR_LIST)
        errors.raise_for_status(response, clock=self._clock)
        try:
            return wire.parse_doors(http.json_or_none(response))
        except ValueError as exc:
            raise errors.unreadable() from exc

    def _update_confirmed(self, response: httpx.Response, key_id: str,
                          sent: dict[str, Any]) -> bool:
        """A 200 that says success and, when it shows the key, shows it with the window we
        sent (the update is a full replace; another window means it was not applied)."""
        body = http.json_or_none(response)
        if response.status_code != 200 or not wire.says_success(body):
            return False
        if body.get(wire.KEY_ID) is None:
            return True
        try:
            key = wire.parse_key(body)
        except ValueError:
            return False
        expected = wire.parse_key({**sent, wire.KEY_ID: key_id})
        return (key.key_id, key.check_in, key.check_out) == (
            key_id, expected.check_in, expected.check_out)

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
        if not (self._username and self._password and self._company_token):
            raise AuthError(
                "The Flexipass username, password or company token is missing.",
                "Open the connection settings and enter all three.",
            )
        query = {wire.COMPANY_TOKEN_PARAM: self._company_token, **(params or {})}
        headers = {"Authorization": wire.basic_auth_value(self._username, self._password)}
        return http.send(
            self._client, method, path, vendor="Flexipass",
            outcome=changes, check_place="the door's keys",
            json=json, params=query, headers=headers,
        )


def _to_second(instant: datetime) -> datetime:
    """What Flexipass keeps of an instant we send (it drops fractions of a second)."""
    return instant.astimezone(UTC).replace(microsecond=0)


def _zone(name: str) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PermanentError(
            f"“{name}” is not a known time zone.",
            "Use a zone name such as Europe/Oslo in the connection settings.",
        ) from exc


FLEXIPASS_SPEC = ProviderSpec(
    kind=VendorKind.FLEXIPASS,
    display_name="Flexipass",
    fields=(
        CredentialField(USERNAME_FIELD, "Username", help="Your Flexipass account username."),
        CredentialField(PASSWORD_FIELD, "Password", secret=True,
                        help="Your Flexipass account password."),
        CredentialField(COMPANY_TOKEN_FIELD, "Company Token", secret=True,
                        help="The token Flexipass assigned to your property."),
        CredentialField(
            TIME_ZONE_FIELD,
            "Time zone of the doors",
            required=False,
            help="Flexipass uses local times. Leave empty to use this computer's time zone, "
            "or enter a zone such as Europe/Oslo.",
        ),
    ),
    capabilities=FLEXIPASS_CAPABILITIES,
    factory=FlexipassAdapter,
    lock_noun="door",
    description="Mobile keys for ASSA ABLOY (VingCard Visionline, Vostio), Salto and dormakaba "
    "doors, e-mailed to the guest. Every booking needs a guest email.",
    # ASSUMED until Flexipass publishes its limits: a cloud API per account, paced well under
    # the rates such APIs allow.
    call_limits=CallLimits(calls_at_once=4, requests_per_second=5.0),
)
