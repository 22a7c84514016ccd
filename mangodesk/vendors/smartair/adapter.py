"""The TESA Smartair provider: door PINs as pre-check-ins on the hotel's own Smartair server.

Smartair keys a PIN stay by room: ``precheckin`` books a future stay (a *pre-assignment*
with an id); when its start passes the server turns it into a live *check-in* by itself and
the pre-assignment id disappears. So every change first re-reads the room to learn which of
the two our code is now, and uses the matching operation. The vendor reference records the
room, the pre-assignment id (while there is one) and the start; the PIN is kept with the
code. A stay is ours only by that reference or by exact PIN + the window we asked for.
Whether a stay has started is decided by the server's clock, not the desk PC's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CallLimits,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    PermanentError,
    ProviderSpec,
    SentCode,
    TransientError,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.smartair.codes import (
    DEFAULT_PIN_LENGTH,
    PIN_LENGTHS,
    SMARTAIR_CAPABILITIES,
    RoomStay,
    SmartairRef,
    Window,
    held_as_sent,
    held_window,
    is_ours,
    pin_rules,
    read_server_time,
    read_stay_time,
    room_id_of,
    room_stays,
    server_zone,
    shows_pin_unreadably,
    soap_int,
    text_of,
    to_minute,
    unconfirmed,
)
from mangodesk.vendors.smartair.errors import (
    GONE_ON_CANCEL,
    GONE_ON_CHECKOUT,
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

if TYPE_CHECKING:  # zeep loads only when a client is built (CLI commands start faster)
    from mangodesk.vendors.smartair.client import SmartairClient

log = logging.getLogger(__name__)

GENERATED_PIN_ATTEMPTS = 5
CLOCK_CHECK_EVERY = timedelta(minutes=10)


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
        self._zone = server_zone(settings, config.hotel_timezone)
        self._client: SmartairClient | None = None
        self._client_lock = threading.Lock()  # engine workers share one adapter
        self._skew: timedelta | None = None  # server clock minus desk clock
        self._skew_read_at: datetime | None = None
        self._skew_lock = threading.Lock()
        self._room_names: dict[int, str] = {}  # door id -> doorName, from every room list

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
            from mangodesk.vendors.smartair.client import SmartairClient

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
        """Times go out with an explicit offset, in the server's zone."""
        moment = to_minute(instant)
        return moment.astimezone(self._zone) if self._zone else moment

    def server_now(self) -> datetime:
        """The server's clock, which decides whether a stay has started (it turns
        pre-check-ins into check-ins by itself). Read with getVersion every few minutes;
        the desk's clock when the server does not tell."""
        desk = self._clock.now()
        with self._skew_lock:
            stale = self._skew_read_at is None or abs(desk - self._skew_read_at) > CLOCK_CHECK_EVERY
            if stale:  # a server that cannot tell is not asked again for a while either
                self._skew, self._skew_read_at = self._read_skew(desk), desk
            return desk + (self._skew or timedelta(0))

    def _read_skew(self, desk: datetime) -> timedelta | None:
        try:
            info = self.client.doors("getVersion", auth=False)
        except VendorError as error:
            log.info("Smartair server clock unavailable: %s", error.vendor_code)
            return None
        server = read_server_time(value(info, "systemTime"), self._zone)
        if server is None:
            return None
        return server - desk

    def _rooms(self) -> list[Any]:
        result = self.client.guests("findAllRooms", mutating=False)
        failure = result_failure("findAllRooms", result)
        if failure is not None:
            raise error_for(failure, mutating=False)
        rooms = as_list(value(result, "doorData"))
        for room in rooms:
            door_id, name = soap_int(value(room, "doorId")), text_of(value(room, "doorName"))
            if door_id is not None and name and name.strip():
                self._room_names[door_id] = name.strip()[:80]
        return rooms

    def _where(self, room_id: int) -> str:
        """The room as staff know it, for messages: its Smartair name, never the door id."""
        if room_id not in self._room_names:
            with contextlib.suppress(VendorError):  # a message must not fail itself
                self._rooms()
        name = self._room_names.get(room_id)
        return f"“{name}”" if name else "the linked room"

    def _room(self, room_id: int) -> Any:
        rooms = self._rooms()
        for room in rooms:
            if soap_int(value(room, "doorId")) == room_id:
                return room
        if not rooms:  # as with wrong credentials on some servers: proves nothing
            raise TransientError(
                "The Smartair server listed no rooms at all.",
                "Mangodesk tries again in a few minutes. If it keeps happening, run the "
                "connection check.",
                vendor_code="NO_ROOMS",
            )
        name = self._room_names.get(room_id)
        raise PermanentError(
            f"The room{f' “{name}”' if name else ''} linked to this unit is not on the Smartair "
            "server any more.",
            "Refresh the room list and link the unit to the right Smartair room.",
            vendor_code="ROOM_NOT_FOUND",
        )

    def _stays(self, room_id: int, room: Any | None = None) -> list[RoomStay]:
        """The live check-in (if any) and every pre-check-in of a room, as the server shows
        them now."""
        room = self._room(room_id) if room is None else room
        return room_stays(room_id, room, self._zone)

    def _find(self, room_id: int, ref: SmartairRef | None, pin: str | None,
              windows: Iterable[Window]) -> RoomStay | None:
        wanted = list(windows)
        return next((stay for stay in self._stays(room_id) if is_ours(stay, ref, pin, wanted)),
                    None)

    def _check_readable(self, room: Any, room_id: int, pin: str | None) -> None:
        """Before calling a code gone: a stay showing our PIN whose id or dates cannot be read
        is not proof of anything, so say so instead of "gone"."""
        if pin and shows_pin_unreadably(room, pin, self._zone):
            raise TransientError(
                f"The Smartair server's list of stays on {self._where(room_id)} could not be "
                "read completely.",
                "Mangodesk tries again in a few minutes. If it keeps happening, send the log "
                "file to Mangodesk support.",
                vendor_code="UNREADABLE_ROOM",
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
            door_id, group = soap_int(value(door, "doorId")), value(door, "groupName")
            if door_id is not None and group:
                groups[door_id] = str(group)
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
            clock=self._clock,
            hotel_timezone=self._config.hotel_timezone,
        )

    def list_locks(self) -> list[LockInfo]:
        rooms = self._rooms()
        groups = self._groups()
        locks = []
        for room in rooms:
            door_id = soap_int(value(room, "doorId"))
            if door_id is None:
                continue
            state = value(room, "doorStateInfo")
            group = value(room, "groupName") or groups.get(door_id)
            attributes: dict[str, Any] = {
                "group": text_of(group),
                "occupied": value(room, "roomOccupied", False) is True,
                "preassigned": value(room, "roomPreassigned", False) is True,
                "battery_status": text_of(value(state, "batteryStatus")),
                "battery_percentage": soap_int(value(state, "batteryPercentage")),
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
        room_id = room_id_of(vendor_lock_id)
        room = self._room(room_id)
        group = value(room, "groupName") or self._groups().get(room_id)
        state = value(room, "doorStateInfo")
        items: list[tuple[str, str]] = [
            ("Room", str(value(room, "doorName", room_id))),
            ("Group", str(group) if group else "Not set in Smartair"),
            ("Smartair room id", str(room_id)),
        ]
        if value(room, "roomOccupied", False) is True:
            until = read_stay_time(value(room, "dateExpiration"), self._zone)
            items.append(("Checked in", f"until {until:%Y-%m-%d %H:%M} UTC" if until else "yes"))
        else:
            items.append(("Checked in", "no"))
        items.append(("Pre-check-ins", str(len(as_list(value(room, "preAssignations"))))))
        battery = text_of(value(state, "batteryStatus"))
        percentage = soap_int(value(state, "batteryPercentage"))
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
        """The live check-in and every pre-check-in, each with its PIN where the server
        shows it, its window and a reference update_code and revoke_code understand."""
        return [stay.vendor_code() for stay in self._stays(room_id_of(vendor_lock_id))]

    def matches_sent(self, candidate: VendorCode, sent: SentCode) -> bool:
        """A stay carries no label of ours: it is ours by exactly a PIN and window we sent,
        a live check-in by its end and a start inside our window (see :func:`held_as_sent`)."""
        return any(held_as_sent(candidate, pin, (start, end)) for pin, start, end in sent.attempts)

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        room_id = room_id_of(vendor_lock_id)
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
        start, end = to_minute(valid_from), to_minute(valid_to)
        if end <= start:
            raise PermanentError(
                "The code would end before it starts.",
                "Check the check-in and check-out dates of this stay.",
            )
        now = to_minute(self.server_now())
        if end <= now:
            raise PermanentError(
                f"The stay on {self._where(room_id)} is already over by the Smartair server's "
                "clock.",
                "Check the check-out date of this stay (and the server's clock in the "
                "connection check).",
            )
        live_now = start <= now
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
            if failure.could_be_ours:
                # A retry whose first attempt did reach the server: our own stay is there.
                adopted = self._find(room_id, None, pin, [(start, end)])
                if adopted is not None:
                    log.info("Smartair room %s already holds our stay (PIN %s): adopted",
                             room_id, mask_code(pin))
                    return adopted.vendor_code()
            raise error_for(failure, room=self._where(room_id), mutating=True)
        log.info("Smartair %s room %s PIN %s", operation, room_id, mask_code(pin))
        if live_now:
            # The server checks in "now" by its own clock: read the start it recorded.
            live = self._find(room_id, None, pin, [(start, end)])
            if live is None or not live.live:
                raise unconfirmed(operation, self._where(room_id))
            return live.vendor_code()
        pre_id = soap_int(value(result, "preAssignationId"))
        if pre_id is None:
            raise unconfirmed(operation, self._where(room_id))
        return VendorCode(SmartairRef(room_id, pre_id, start).encode(), pin, start, end)

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        """Move a stay to a new window. ``code`` carries the window the server holds now; a
        code without a usable reference is found by its PIN and that window. A stay already
        at the new window (a lost answer, retried) is simply returned."""
        start, end = to_minute(valid_from), to_minute(valid_to)
        if end <= start:
            raise PermanentError(
                "The code would end before it starts.",
                "Check the check-in and check-out dates of this stay.",
            )
        return self._update(room_id_of(vendor_lock_id), code, start, end, second_look=False)

    def _update(self, room_id: int, code: VendorCode, start: datetime, end: datetime, *,
                second_look: bool) -> VendorCode:
        ref = SmartairRef.parse(code.vendor_ref)
        room = self._room(room_id)
        room_label = self._where(room_id)
        stays = self._stays(room_id, room)
        held = held_window(code)
        ours = next((s for s in stays if is_ours(s, ref, code.pin, held)), None)
        if ours is None:
            moved = next((s for s in stays if is_ours(s, None, code.pin, [(start, end)])), None)
            if moved is not None:
                return moved.vendor_code(code.name)
            self._check_readable(room, room_id, code.pin)
            raise AlreadyGoneError(
                f"The code is no longer on {room_label} in Smartair (it was cancelled or "
                "checked out there).",
                "Mangodesk issues a new code if the stay still needs one.",
            )
        pin = ours.pin or code.pin
        now = to_minute(self.server_now())
        if not ours.live:
            if end <= now:  # the stay is over before it began: nothing may stay booked
                self._remove(ours, pin)
                return VendorCode(ours.ref.encode(), pin, start, end, code.name)
            if ours.start != start:
                return self._recreate(ours, pin, start, end, code.name)
            if ours.end != end:
                result = self.client.guests(
                    "precheckinModifyDate",
                    mutating=True,
                    roomId=room_id,
                    preAssignationId=ours.pre_assignation_id,
                    dateExpiration=self._wire_time(end),
                )
                if self._gone_meanwhile("precheckinModifyDate", result, GONE_ON_CANCEL,
                                        second_look):
                    return self._update(room_id, code, start, end, second_look=True)
                self._checked("precheckinModifyDate", result, room=room_label)
            return VendorCode(ours.ref.encode(), pin, start, end, code.name)
        # A live check-in: it started when the server checked it in; only its end can move.
        if start > now:
            return self._recreate(ours, pin, start, end, code.name)
        if end <= now:
            self._remove(ours, pin)
            return VendorCode(ours.ref.encode(), pin, ours.start, now, code.name)
        if ours.end != end:
            result = self.client.guests(
                "checkinModifyDate", mutating=True, roomId=room_id,
                dateExpiration=self._wire_time(end),
            )
            if self._gone_meanwhile("checkinModifyDate", result, GONE_ON_CHECKOUT, second_look):
                return self._update(room_id, code, start, end, second_look=True)
            self._checked("checkinModifyDate", result, room=room_label)
        return VendorCode(ours.ref.encode(), pin, ours.start, end, code.name)

    @staticmethod
    def _gone_meanwhile(operation: str, result: Any, gone_answers: frozenset[str],
                        second_look: bool) -> bool:
        """The server says the stay we just saw is not there: it turned live or was removed
        in between. Look once more (then: the live stay's operation, or AlreadyGoneError)."""
        failure = result_failure(operation, result)
        return failure is not None and failure.error_type in gone_answers and not second_look

    def _checked(self, operation: str, result: Any, *, room: str) -> None:
        failure = result_failure(operation, result)
        if failure is not None:
            raise error_for(failure, room=room, mutating=True)

    def _recreate(
        self, ours: RoomStay, pin: str | None, start: datetime, end: datetime,
        name: str | None,
    ) -> VendorCode:
        """Smartair cannot move a start (its ModifyDate operations take only an end): cancel
        (or check out) and book again, same PIN. A clean "done" for the cancel is not read
        back here (one call less per moved arrival): the server refuses the PIN of a new
        stay overlapping one it kept, and an unclear answer still raises before anything
        is booked again."""
        if not pin:
            raise PermanentError(
                "Mangodesk does not know this code's PIN, so it cannot move its start in "
                "Smartair.",
                "Revoke the code and create a new one.",
            )
        self._remove(ours, pin, confirm_by_reading=False)
        created = self._create(ours.room_id, pin, start, end)
        return VendorCode(created.vendor_ref, created.pin, created.valid_from, created.valid_to,
                          name)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        """Remove our stay: done only when the server says so and the room no longer shows
        it (or the server says it is not there)."""
        room_id = room_id_of(vendor_lock_id)
        ref = SmartairRef.parse(code.vendor_ref)
        try:
            room = self._room(room_id)
        except PermanentError as error:
            if error.vendor_code == "ROOM_NOT_FOUND":
                return None  # the room itself is gone, and with it every stay on it
            raise
        held = held_window(code)
        ours = next((stay for stay in self._stays(room_id, room)
                     if is_ours(stay, ref, code.pin, held)), None)
        if ours is None:
            self._check_readable(room, room_id, code.pin)
            log.info("Smartair code on room %s already gone", room_id)
            return None
        self._remove(ours, code.pin or ours.pin)
        return None

    def _remove(self, ours: RoomStay, pin: str | None, *,
                confirm_by_reading: bool = True) -> None:
        """Cancel a pre-check-in or check a live stay out, then read the room back (unless
        the server answered a clean "done" and ``confirm_by_reading`` is off)."""
        room_label = self._where(ours.room_id)
        if ours.live:
            operation = "checkout"
            result = self.client.guests(operation, mutating=True, roomId=ours.room_id)
            gone_answers = GONE_ON_CHECKOUT
        else:
            operation = "precheckinCancel"
            result = self.client.guests(operation, mutating=True,
                                        preAssignationId=ours.pre_assignation_id)
            gone_answers = GONE_ON_CANCEL
        failure = result_failure(operation, result)
        if failure is not None and failure.error_type not in gone_answers:
            raise error_for(failure, room=room_label, mutating=True)
        if failure is None and not confirm_by_reading:
            log.info("Smartair %s room %s PIN %s done", operation, ours.room_id, mask_code(pin))
            return
        window = [(ours.start, ours.end)] if ours.start and ours.end else []
        after = self._find(ours.room_id, ours.ref, pin, window)
        if after is not None and failure is not None and not ours.live and after.live:
            # "No such pre-check-in": it has just turned into a live check-in. Check it out.
            self._remove(after, pin)
            return
        if after is not None and failure is None:
            raise AmbiguousError(
                f"The Smartair server answered {operation} for {room_label}, but the room "
                "still shows the stay.",
                "Mangodesk checks the room again and retries.",
                vendor_code="STILL_THERE",
            )
        log.info("Smartair %s room %s PIN %s confirmed", operation, ours.room_id,
                 mask_code(pin))


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
        CredentialField(
            "use_http",
            "Plain HTTP (no encryption)",
            required=False,
            advanced=True,
            switch=True,
            help="Only if your Smartair installer set the server up without HTTPS: the "
            "operator password then crosses the hotel network unencrypted.",
        ),
        CredentialField(
            "server_timezone",
            "Server time zone",
            required=False,
            help="Leave empty: the server keeps the hotel's time zone. Only if the connection "
            "check shows the server's clock in another zone, type that zone, e.g. "
            "Europe/Madrid.",
        ),
    ),
    capabilities=SMARTAIR_CAPABILITIES,
    factory=_factory,
    lock_noun="room",
    description="TESA Smartair wireless locks, through the Smartair server at your property.",
    # ASSUMED: one on-site server behind every room, its capacity undocumented; two calls at
    # once overlap one call's network wait with the other's work without queueing it.
    call_limits=CallLimits(calls_at_once=2),
)
