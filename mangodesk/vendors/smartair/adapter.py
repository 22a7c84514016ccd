"""The TESA Smartair provider: door PINs as pre-check-ins on the hotel's own Smartair server.

Smartair keys a PIN stay by room: ``precheckin`` books a future stay (a *pre-assignment*
with an id); when its start passes the server turns it into a live *check-in* by itself and
the pre-assignment id disappears. So every change first re-reads the room to learn which of
the two our code is now, and uses the matching operation. The vendor reference records the
room, the pre-assignment id (while there is one) and the PIN is kept with the code.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AlreadyGoneError,
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
    VendorCode,
    VendorError,
)
from mangodesk.vendors.smartair.client import SmartairClient
from mangodesk.vendors.smartair.errors import (
    GONE_ON_CANCEL,
    GONE_ON_CHECKOUT,
    PIN_EXISTS_PREFIX,
    PRECHECKIN_PIN_EXISTS,
    ROOM_OCCUPIED_ERRORS,
    ResultFailure,
    as_list,
    error_for,
    result_failure,
    value,
)
from mangodesk.vendors.smartair.transport import (
    build_http_client,
    operation_timeout,
    parse_server_address,
)

log = logging.getLogger(__name__)

DEFAULT_PIN_LENGTH = 4
PIN_LENGTHS = (4, 5, 6, 7, 8)
GENERATED_PIN_ATTEMPTS = 5


def pin_rules(length: int = DEFAULT_PIN_LENGTH) -> PinRules:
    """Smartair keypads refuse a leading zero; the site decides the length (4 by default)."""
    return PinRules(lengths=(length,), default_length=length, allow_leading_zero=False)


SMARTAIR_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=pin_rules(),
    vendor_generates_pin=False,
    # The server can only move an end date. A new start is done by cancelling and creating
    # again with the same PIN inside update_code (the vendor reference changes).
    can_move_start=False,
    can_move_end=True,
    can_change_pin=False,
    time_granularity=timedelta(minutes=1),  # Smartair stores activation to the minute
    pin_scope=PinScope.SITE_OVERLAPPING,  # a PIN is refused if any overlapping stay has it
)


@dataclass(frozen=True)
class SmartairRef:
    """``pre:<roomId>:<preAssignationId>`` for a pre-check-in, ``checkin:<roomId>`` once live."""

    room_id: int
    pre_assignation_id: int | None

    def encode(self) -> str:
        if self.pre_assignation_id is None:
            return f"checkin:{self.room_id}"
        return f"pre:{self.room_id}:{self.pre_assignation_id}"

    @classmethod
    def decode(cls, text: str) -> SmartairRef:
        parts = text.split(":")
        try:
            if parts[0] == "pre" and len(parts) == 3:
                return cls(int(parts[1]), int(parts[2]))
            if parts[0] == "checkin" and len(parts) == 2:
                return cls(int(parts[1]), None)
        except ValueError:
            pass
        raise PermanentError(
            f"“{text}” is not a Smartair code reference Mangodesk created.",
            "Revoke this code in Mangodesk and let it issue a new one.",
        )


def _minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def _room_id(vendor_lock_id: str) -> int:
    try:
        return int(vendor_lock_id)
    except ValueError:
        raise PermanentError(
            f"“{vendor_lock_id}” is not a Smartair room id.",
            "Refresh the room list and link the unit to a Smartair room again.",
        ) from None


class SmartairAdapter:
    """A Smartair Server Platform reached over the hotel LAN."""

    kind = VendorKind.SMARTAIR

    def __init__(self, config: ConnectionConfig, *, clock: Clock | None = None) -> None:
        self._config = config
        self._clock = clock or SystemClock()
        settings = config.settings
        try:
            length = int(settings.get("pin_length") or DEFAULT_PIN_LENGTH)
        except (TypeError, ValueError):
            length = 0
        if length not in PIN_LENGTHS:
            raise PermanentError(
                f"A Smartair PIN length of “{settings.get('pin_length')}” is not supported.",
                "Choose a length between 4 and 8 digits in the connection settings.",
            )
        self.capabilities = (
            SMARTAIR_CAPABILITIES
            if length == DEFAULT_PIN_LENGTH
            else dataclasses.replace(SMARTAIR_CAPABILITIES, pin_rules=pin_rules(length))
        )
        self._zone = _server_zone(settings)
        self._client: SmartairClient | None = None
        self._client_lock = threading.Lock()  # engine workers share one adapter

    # ----------------------------------------------------------------- plumbing

    @property
    def client(self) -> SmartairClient:
        with self._client_lock:
            return self._connected_client()

    def _connected_client(self) -> SmartairClient:
        if self._client is None:
            settings = self._config.settings
            address = parse_server_address(str(settings.get("server_address", "")), settings)
            http = build_http_client(
                address, settings.get("pinned_sha256"), operation_timeout(settings)
            )
            self._client = SmartairClient(
                address,
                http,
                str(settings.get("operator_name", "")),
                self._config.secrets.get("operator_password", ""),
            )
        return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _wire_time(self, instant: datetime) -> datetime:
        """Times go out with an explicit offset: the server's zone when configured, else UTC."""
        moment = _minute(instant)
        return moment.astimezone(self._zone) if self._zone else moment

    def _read_time(self, found: Any) -> datetime | None:
        if not isinstance(found, datetime):
            return None
        if found.tzinfo is None:
            found = found.replace(tzinfo=self._zone or UTC)
        return _minute(found)

    def _checked(self, operation: str, result: Any, *, room: str, mutating: bool) -> Any:
        failure = result_failure(operation, result)
        if failure is not None:
            raise error_for(failure, room=room, mutating=mutating)
        return result

    def _rooms(self) -> list[Any]:
        result = self.client.guests("findAllRooms", mutating=False)
        self._checked("findAllRooms", result, room="", mutating=False)
        return as_list(value(result, "doorData"))

    def _room(self, room_id: int) -> Any:
        for room in self._rooms():
            if value(room, "doorId") == room_id:
                return room
        raise PermanentError(
            f"Room {room_id} is not on the Smartair server any more.",
            "Refresh the room list and link the unit to the right Smartair room.",
            vendor_code="ROOM_NOT_FOUND",
        )

    def _groups(self) -> dict[int, str]:
        """Room groups come only from the wireless-door list; missing groups are fine."""
        try:
            result = self.client.doors("doorGetAll")
        except VendorError as error:
            log.info("Smartair doorGetAll unavailable: %s", error.vendor_code)
            return {}
        if result_failure("doorGetAll", result) is not None:
            return {}
        groups: dict[int, str] = {}
        for door in as_list(value(result, "wirelessDoor")):
            door_id, group = value(door, "doorId"), value(door, "groupName")
            if door_id is not None and group:
                groups[int(door_id)] = str(group)
        return groups

    # ----------------------------------------------------------------- protocol

    def test_connection(self) -> ConnectionReport:
        from mangodesk.vendors.smartair.doctor import run_doctor

        settings = self._config.settings
        return run_doctor(
            str(settings.get("server_address", "")),
            str(settings.get("operator_name", "")),
            self._config.secrets.get("operator_password", ""),
            settings,
        )

    def list_locks(self) -> list[LockInfo]:
        rooms = self._rooms()
        groups = self._groups()
        locks = []
        for room in rooms:
            door_id = value(room, "doorId")
            if door_id is None:
                continue
            state = value(room, "doorStateInfo")
            group = value(room, "groupName") or groups.get(int(door_id))
            attributes: dict[str, Any] = {
                "group": group,
                "occupied": bool(value(room, "roomOccupied", False)),
                "preassigned": bool(value(room, "roomPreassigned", False)),
                "battery_status": _text(value(state, "batteryStatus")),
                "battery_percentage": value(state, "batteryPercentage"),
            }
            locks.append(
                LockInfo(
                    vendor_lock_id=str(door_id),
                    name=str(value(room, "doorName", f"Room {door_id}")),
                    attributes={k: v for k, v in attributes.items() if v is not None},
                )
            )
        return locks

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        room_id = _room_id(vendor_lock_id)
        room = self._room(room_id)
        group = value(room, "groupName") or self._groups().get(room_id)
        state = value(room, "doorStateInfo")
        items: list[tuple[str, str]] = [
            ("Room", str(value(room, "doorName", room_id))),
            ("Group", str(group) if group else "Not set in Smartair"),
            ("Smartair room id", str(room_id)),
        ]
        if value(room, "roomOccupied", False):
            until = self._read_time(value(room, "dateExpiration"))
            items.append(("Checked in", f"until {until:%Y-%m-%d %H:%M} UTC" if until else "yes"))
        else:
            items.append(("Checked in", "no"))
        items.append(("Pre-check-ins", str(len(as_list(value(room, "preAssignations"))))))
        battery = _text(value(state, "batteryStatus"))
        percentage = value(state, "batteryPercentage")
        warnings: list[str] = []
        if battery or percentage is not None:
            shown = battery or ""
            if percentage is not None:
                shown = f"{shown} ({percentage} %)".strip()
            items.append(("Battery", shown))
            if battery in ("LOW_BATTERIES", "VERY_LOW_BATTERIES"):
                warnings.append("The lock's batteries are low: change them soon.")
        return LockDetails(items=tuple(items), warnings=tuple(warnings))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        room_id = _room_id(vendor_lock_id)
        room = self._room(room_id)
        codes = [
            VendorCode(
                vendor_ref=SmartairRef(room_id, int(value(pre, "preAssignationId"))).encode(),
                pin=None,  # Smartair does not show a pre-check-in's PIN
                valid_from=self._read_time(value(pre, "datePreActivation")),
                valid_to=self._read_time(value(pre, "datePreExpiration")),
            )
            for pre in as_list(value(room, "preAssignations"))
            if value(pre, "preAssignationId") is not None
        ]
        if value(room, "roomOccupied", False):
            codes.append(
                VendorCode(
                    vendor_ref=SmartairRef(room_id, None).encode(),
                    pin=_text(value(room, "keyPad")),
                    valid_from=self._read_time(value(room, "dateActivation")),
                    valid_to=self._read_time(value(room, "dateExpiration")),
                )
            )
        return codes

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        room_id = _room_id(vendor_lock_id)
        if request.pin is not None:
            return self._create(room_id, request.pin, request.valid_from, request.valid_to)
        last_conflict: CodeConflictError | None = None
        for _ in range(GENERATED_PIN_ATTEMPTS):
            try:
                return self._create(
                    room_id, self.generate_pin(), request.valid_from, request.valid_to
                )
            except CodeConflictError as conflict:
                last_conflict = conflict
        assert last_conflict is not None
        raise last_conflict

    def generate_pin(self) -> str:
        rules = self.capabilities.pin_rules or pin_rules()
        length = rules.default_length
        first = secrets.choice("123456789")
        return first + "".join(secrets.choice("0123456789") for _ in range(length - 1))

    def _create(
        self, room_id: int, pin: str, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        start, end = _minute(valid_from), _minute(valid_to)
        if end <= start:
            raise PermanentError(
                "The code would end before it starts.",
                "Check the check-in and check-out dates of this stay.",
            )
        room_label = str(room_id)
        live_now = start <= _minute(self._clock.now())
        operation = "checkin" if live_now else "precheckin"
        guest_data = {
            "roomId": room_id,
            "dateActivation": self._wire_time(start),
            "dateExpiration": self._wire_time(end),
            "keyPad": pin,
            "pinCheckin": True,
        }
        result = self.client.guests(operation, mutating=True, guestData=guest_data)
        failure = result_failure(operation, result)
        if failure is not None:
            adopted = self._adopt_lost_create(room_id, pin, start, end, failure.error_type,
                                              failure.error_detail)
            if adopted is not None:
                return adopted
            raise error_for(failure, room=room_label, mutating=True)
        log.info("Smartair %s room %s PIN %s", operation, room_id, mask_code(pin))
        if live_now:
            return VendorCode(SmartairRef(room_id, None).encode(), pin, start, end)
        pre_id = value(result, "preAssignationId")
        if pre_id is None:
            missing = ResultFailure(operation, None, None, None, type_missing=True)
            raise error_for(missing, room=room_label, mutating=True)
        return VendorCode(SmartairRef(room_id, int(pre_id)).encode(), pin, start, end)

    def _adopt_lost_create(
        self,
        room_id: int,
        pin: str,
        start: datetime,
        end: datetime,
        error_type: str | None,
        error_detail: str | None,
    ) -> VendorCode | None:
        """A retried create whose first attempt did reach the server (the answer was lost):
        recognise our own stay instead of failing or making a second one.

        Only with proof: the live check-in shows our PIN, or the server says this PIN already
        belongs to a pre-check-in and that room has one with exactly our dates.
        """
        pin_in_use = error_type == "ERROR_DATA_ERROR" and (error_detail or "").startswith(
            PIN_EXISTS_PREFIX
        )
        pin_is_precheckin = pin_in_use and error_detail == PRECHECKIN_PIN_EXISTS
        if error_type not in ROOM_OCCUPIED_ERRORS and not pin_in_use:
            return None
        try:
            room = self._room(room_id)
        except VendorError:
            return None
        if value(room, "roomOccupied", False) and _text(value(room, "keyPad")) == pin:
            return VendorCode(
                SmartairRef(room_id, None).encode(),
                pin,
                self._read_time(value(room, "dateActivation")) or start,
                self._read_time(value(room, "dateExpiration")) or end,
            )
        if pin_is_precheckin:
            for pre in as_list(value(room, "preAssignations")):
                same_dates = (
                    self._read_time(value(pre, "datePreActivation")) == start
                    and self._read_time(value(pre, "datePreExpiration")) == end
                )
                if same_dates and value(pre, "preAssignationId") is not None:
                    pre_id = int(value(pre, "preAssignationId"))
                    return VendorCode(SmartairRef(room_id, pre_id).encode(), pin, start, end)
        return None

    def _locate(self, ref: SmartairRef, pin: str | None) -> tuple[str, Any, Any]:
        """Where our code is now: ("pre", room, pre-assignment), ("checkin", room, None) or
        ("gone", room, None). Someone else's stay in the room is never taken for ours."""
        room = self._room(ref.room_id)
        if ref.pre_assignation_id is not None:
            for pre in as_list(value(room, "preAssignations")):
                if value(pre, "preAssignationId") == ref.pre_assignation_id:
                    return "pre", room, pre
        if pin and value(room, "roomOccupied", False) and _text(value(room, "keyPad")) == pin:
            return "checkin", room, None
        return "gone", room, None

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        ref = SmartairRef.decode(code.vendor_ref)
        room_label = str(ref.room_id)
        start, end = _minute(valid_from), _minute(valid_to)
        where, room, pre = self._locate(ref, code.pin)
        if where == "gone":
            raise AlreadyGoneError(
                f"The code is no longer on room {room_label} in Smartair (it was cancelled or "
                "checked out there).",
                "Mangodesk issues a new code if the stay still needs one.",
            )
        now = _minute(self._clock.now())
        if where == "pre":
            # Compare with the start we booked, not the server's echo: servers that answer in
            # naive local time would otherwise look "moved" on every end-date change.
            booked_start = (
                _minute(code.valid_from)
                if code.valid_from is not None
                else self._read_time(value(pre, "datePreActivation"))
            )
            if booked_start != start:
                return self._recreate(ref, code, start, end, cancel_pre=True)
            result = self.client.guests(
                "precheckinModifyDate",
                mutating=True,
                roomId=ref.room_id,
                preAssignationId=ref.pre_assignation_id,
                dateExpiration=self._wire_time(end),
            )
            self._checked("precheckinModifyDate", result, room=room_label, mutating=True)
            return VendorCode(ref.encode(), code.pin, start, end, code.name)
        # A live check-in: its start is "now" on the server; only the end can move.
        if start > now:
            return self._recreate(ref, code, start, end, cancel_pre=False)
        if end <= now:
            self._checkout(ref.room_id)
            return VendorCode(SmartairRef(ref.room_id, None).encode(), code.pin,
                              self._read_time(value(room, "dateActivation")), now, code.name)
        result = self.client.guests(
            "checkinModifyDate", mutating=True, roomId=ref.room_id,
            dateExpiration=self._wire_time(end),
        )
        self._checked("checkinModifyDate", result, room=room_label, mutating=True)
        return VendorCode(
            SmartairRef(ref.room_id, None).encode(),
            code.pin,
            self._read_time(value(room, "dateActivation")) or start,
            end,
            code.name,
        )

    def _recreate(
        self, ref: SmartairRef, code: VendorCode, start: datetime, end: datetime, *,
        cancel_pre: bool,
    ) -> VendorCode:
        """Smartair cannot move a start: cancel (or check out) and book again, same PIN."""
        if not code.pin:
            raise PermanentError(
                "Mangodesk does not know this code's PIN, so it cannot move its start in "
                "Smartair.",
                "Revoke the code and create a new one.",
            )
        if cancel_pre:
            self._cancel_pre(ref)
        else:
            self._checkout(ref.room_id)
        created = self._create(ref.room_id, code.pin, start, end)
        return VendorCode(created.vendor_ref, created.pin, created.valid_from, created.valid_to,
                          code.name)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        ref = SmartairRef.decode(code.vendor_ref)
        try:
            where, _room, _pre = self._locate(ref, code.pin)
        except PermanentError as error:
            if error.vendor_code == "ROOM_NOT_FOUND":
                return None  # the room itself is gone, and with it every stay on it
            raise
        if where == "pre":
            self._cancel_pre(ref)
        elif where == "checkin":
            self._checkout(ref.room_id)
        else:
            log.info("Smartair code on room %s already gone", ref.room_id)
        return None

    def _cancel_pre(self, ref: SmartairRef) -> None:
        result = self.client.guests(
            "precheckinCancel", mutating=True, preAssignationId=ref.pre_assignation_id
        )
        failure = result_failure("precheckinCancel", result)
        if failure is not None and failure.error_type not in GONE_ON_CANCEL:
            raise error_for(failure, room=str(ref.room_id), mutating=True)

    def _checkout(self, room_id: int) -> None:
        result = self.client.guests("checkout", mutating=True, roomId=room_id)
        failure = result_failure("checkout", result)
        if failure is not None and failure.error_type not in GONE_ON_CHECKOUT:
            raise error_for(failure, room=str(room_id), mutating=True)


def _text(found: Any) -> str | None:
    return None if found is None else str(found)


def _server_zone(settings: Mapping[str, Any]) -> ZoneInfo | None:
    name = settings.get("server_timezone")
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise PermanentError(
            f"“{name}” is not a time zone Mangodesk knows.",
            "Use a name like Europe/Madrid in the Smartair connection settings.",
        ) from None


def _factory(config: ConnectionConfig) -> SmartairAdapter:
    return SmartairAdapter(config)


SMARTAIR_SPEC = ProviderSpec(
    kind=VendorKind.SMARTAIR,
    display_name="TESA Smartair",
    fields=(
        CredentialField(
            "server_address",
            "Server address",
            help="The address of your Smartair Server Platform, e.g. 192.168.1.20 or "
            "smartair-server:8181 (ask your Smartair installer or IT administrator).",
        ),
        CredentialField(
            "operator_name",
            "Operator name",
            help="An operator account created in your Smartair system for Mangodesk.",
        ),
        CredentialField(
            "operator_password", "Operator password", secret=True,
            help="The password of that operator.",
        ),
    ),
    capabilities=SMARTAIR_CAPABILITIES,
    factory=_factory,
    lock_noun="room",
    description="TESA Smartair wireless locks, through the Smartair server at your property.",
)
