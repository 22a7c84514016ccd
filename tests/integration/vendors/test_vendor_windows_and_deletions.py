"""Each REST vendor adapter against its simulator over loopback: moving a code's start, end or
both reaches the vendor; a code deleted in the vendor's own app is "already gone" on a move
(the engine then replaces it) and success on a revoke; a 2xx that does not say success is
never taken for a done write; TTLock adopts only its own code after −3007, at the window asked
for (issue #11 items 4–6)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.flexipass import FlexipassSimulator
from mangodesk.sim.inlet import InletSimulator
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    VendorAdapter,
    VendorCode,
)
from mangodesk.vendors.flexipass import FlexipassAdapter
from mangodesk.vendors.inlet import InletAdapter
from mangodesk.vendors.ttlock import TTLockAdapter, to_ms

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=48)  # inside Inlet's 72-hour rule
END = START + timedelta(days=3)
OSLO = ZoneInfo("Europe/Oslo")
TIMEOUT = httpx.Timeout(connect=5.0, read=1.0, write=5.0, pool=5.0)
TTLOCK_ROOM_101 = 21318606


@dataclass
class Vendor:
    """One simulator and the adapter talking to it, with the test's view of the vendor."""

    name: str
    sim: Any
    adapter: VendorAdapter
    lock_id: str
    request: CodeRequest
    held: Callable[[VendorCode], tuple[datetime, datetime] | None]
    delete_in_app: Callable[[VendorCode], None]
    move_path: Callable[[VendorCode], str] = lambda code: ""


def _ttlock(clock: FixedClock) -> tuple[Vendor, Callable[[], None]]:
    sim = TTLockSimulator(clock).start()
    values = sim.connection_values()
    config = ConnectionConfig(1, VendorKind.TTLOCK,
                              {"username": values["username"], "client_id": values["client_id"],
                               "api_base": values["api_base"], "timeout_seconds": "2"},
                              {"password": values["password"],
                               "client_secret": values["client_secret"]})
    adapter = TTLockAdapter(config, clock=clock, sleep=lambda _seconds: None)

    def held(code: VendorCode) -> tuple[datetime, datetime] | None:
        found = sim.code(TTLOCK_ROOM_101, code.pin or "")
        if found is None:
            return None
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        # What the door itself enforces, not only the cloud record.
        return (epoch + timedelta(milliseconds=found.lock_start_ms),
                epoch + timedelta(milliseconds=found.lock_end_ms))

    vendor = Vendor("ttlock", sim, adapter, str(TTLOCK_ROOM_101),
                    CodeRequest(START, END, pin="480317", guest_name="Ana Smith",
                                label="Mangodesk 42"),
                    held, lambda code: sim.delete_in_app(TTLOCK_ROOM_101, code.pin or ""))
    return vendor, lambda: (adapter.close(), sim.stop())  # type: ignore[func-returns-value]


def _inlet(clock: FixedClock) -> tuple[Vendor, Callable[[], None]]:
    sim = InletSimulator(clock=clock).start()
    config = ConnectionConfig(7, VendorKind.INLET, {"base_url": sim.base_url},
                              {"api_token": sim.token})
    adapter = InletAdapter(config, clock=clock, timeout=TIMEOUT)

    def held(code: VendorCode) -> tuple[datetime, datetime] | None:
        grant = sim.grants.get(code.vendor_ref)
        if grant is None or grant.grant.start is None or grant.grant.end is None:
            return None
        return grant.grant.start, grant.grant.end

    vendor = Vendor("inlet", sim, adapter, "salto-101",
                    CodeRequest(START, END, guest_name="Ana Smith", label="Mangodesk 42"),
                    held, lambda code: sim.delete_in_app(code.vendor_ref),
                    lambda code: f"/GrantAccess/{code.vendor_ref}")
    return vendor, lambda: (adapter.close(), sim.stop())  # type: ignore[func-returns-value]


def _flexipass(clock: FixedClock) -> tuple[Vendor, Callable[[], None]]:
    sim = FlexipassSimulator().start()
    config = ConnectionConfig(3, VendorKind.FLEXIPASS,
                              {"base_url": sim.base_url, "username": sim.username,
                               "time_zone": "Europe/Oslo"},
                              {"password": sim.password, "company_token": sim.company_token})
    adapter = FlexipassAdapter(config, clock=clock, timeout=TIMEOUT)

    def held(code: VendorCode) -> tuple[datetime, datetime] | None:
        key = sim.keys.get(code.vendor_ref)
        if key is None:
            return None
        return (key.check_in.replace(tzinfo=OSLO).astimezone(UTC),
                key.check_out.replace(tzinfo=OSLO).astimezone(UTC))

    vendor = Vendor("flexipass", sim, adapter, "103",
                    CodeRequest(START, END, guest_name="Ana Smith",
                                guest_email="ana@example.com", label="Mangodesk 42"),
                    held, lambda code: sim.delete_in_app(code.vendor_ref),
                    lambda code: "/Flexipass/rest/webapi/updateMobileKey")
    return vendor, lambda: (adapter.close(), sim.stop())  # type: ignore[func-returns-value]


MAKERS = {"ttlock": _ttlock, "inlet": _inlet, "flexipass": _flexipass}


@pytest.fixture(params=sorted(MAKERS))
def vendor(request: pytest.FixtureRequest) -> Iterator[Vendor]:
    made, stop = MAKERS[request.param](FixedClock(NOW))
    yield made
    stop()


@pytest.fixture(params=["inlet", "flexipass"])
def json_vendor(request: pytest.FixtureRequest) -> Iterator[Vendor]:
    made, stop = MAKERS[request.param](FixedClock(NOW))
    yield made
    stop()


# --------------------------------------------------------------------------- moves (item 5)


@pytest.mark.parametrize(
    ("move", "new_start", "new_end"),
    [
        ("start only, later", START + timedelta(hours=2), END),
        ("start only, earlier", START - timedelta(hours=3), END),
        ("end only, later", START, END + timedelta(days=1)),
        ("end only, earlier", START, END - timedelta(days=1)),
        ("both", START + timedelta(days=1), END + timedelta(days=2)),
    ],
)
def test_every_move_reaches_the_vendor(vendor: Vendor, move: str, new_start: datetime,
                                       new_end: datetime) -> None:
    created = vendor.adapter.create_code(vendor.lock_id, vendor.request)
    assert vendor.held(created) == (START, END)
    moved = vendor.adapter.update_code(vendor.lock_id, created, new_start, new_end)
    assert vendor.held(created) == (new_start, new_end), move
    assert (moved.valid_from, moved.valid_to) == (new_start, new_end)
    assert moved.vendor_ref == created.vendor_ref


def test_a_second_move_starts_from_the_window_the_vendor_holds(vendor: Vendor) -> None:
    created = vendor.adapter.create_code(vendor.lock_id, vendor.request)
    first = vendor.adapter.update_code(vendor.lock_id, created, START + timedelta(hours=1),
                                       END)
    second = vendor.adapter.update_code(vendor.lock_id, first, START + timedelta(hours=1),
                                        END + timedelta(hours=5))
    assert vendor.held(created) == (START + timedelta(hours=1), END + timedelta(hours=5))
    assert (second.valid_from, second.valid_to) == vendor.held(created)


# --------------------------------------------------------------------------- deleted outside


def test_a_code_deleted_in_the_vendor_app_is_already_gone_on_a_move(vendor: Vendor) -> None:
    created = vendor.adapter.create_code(vendor.lock_id, vendor.request)
    vendor.delete_in_app(created)
    with pytest.raises(AlreadyGoneError) as caught:
        vendor.adapter.update_code(vendor.lock_id, created, START, END + timedelta(days=1))
    message = str(caught.value)
    assert "outside Mangodesk" in message
    assert created.vendor_ref not in message  # no vendor-internal id in staff's words


def test_a_code_deleted_in_the_vendor_app_is_a_done_revoke(vendor: Vendor) -> None:
    created = vendor.adapter.create_code(vendor.lock_id, vendor.request)
    vendor.delete_in_app(created)
    vendor.adapter.revoke_code(vendor.lock_id, created)
    assert vendor.held(created) is None


# --------------------------------------------------------------------------- 2xx is not success


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"success": false}'),
        (200, b"<html><body>Service temporarily unavailable</body></html>"),
        (204, b""),
        (301, b""),
        (200, b'{"error": {"code": "LockOffline", "message": "offline"}}'),
    ],
)
def test_a_revoke_answered_without_success_is_ambiguous(json_vendor: Vendor, status: int,
                                                        body: bytes) -> None:
    created = json_vendor.adapter.create_code(json_vendor.lock_id, json_vendor.request)
    json_vendor.sim.reply_next(status, body)  # not carried out, but answered "2xx"
    with pytest.raises(AmbiguousError):
        json_vendor.adapter.revoke_code(json_vendor.lock_id, created)
    assert json_vendor.held(created) == (START, END)  # the door still opens: not "done"


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b'{"success": false}'), (204, b""), (302, b""), (200, b"<html></html>")],
)
def test_a_move_answered_without_success_is_ambiguous(json_vendor: Vendor, status: int,
                                                      body: bytes) -> None:
    created = json_vendor.adapter.create_code(json_vendor.lock_id, json_vendor.request)
    json_vendor.sim.reply_next(status, body, path=json_vendor.move_path(created))
    with pytest.raises(AmbiguousError):
        json_vendor.adapter.update_code(json_vendor.lock_id, created, START,
                                        END + timedelta(days=1))
    assert json_vendor.held(created) == (START, END)


def test_a_create_answered_without_a_reference_or_pin_is_ambiguous(json_vendor: Vendor) -> None:
    create_path = {"inlet": "/GrantAccess",
                   "flexipass": "/Flexipass/rest/webapi/createMobileKey"}[json_vendor.name]
    json_vendor.sim.reply_next(200, b'{"ReferenceId": [], "mkID": [], "result": "success"}',
                               after_apply=True, path=create_path)
    with pytest.raises(AmbiguousError):
        json_vendor.adapter.create_code(json_vendor.lock_id, json_vendor.request)


# --------------------------------------------------------------------------- TTLock −3007


@pytest.fixture
def ttlock() -> Iterator[Vendor]:
    made, stop = _ttlock(FixedClock(NOW))
    yield made
    stop()


def test_ttlock_adopts_its_own_code_after_a_lost_answer_and_moves_it_to_the_new_dates(
    ttlock: Vendor,
) -> None:
    """The create's answer is lost and the read-back fails too; the engine then folds a date
    change into the queued create. The retry meets −3007 for our own code (our label, the
    old dates): it must end with the NEW dates on the door, not report them falsely."""
    sim: TTLockSimulator = ttlock.sim
    sim.lose_answers("/v3/keyboardPwd/add")
    sim.inject_http_status("/v3/lock/listKeyboardPwd", 503)
    with pytest.raises(AmbiguousError):
        ttlock.adapter.create_code(ttlock.lock_id, ttlock.request)
    new_end = END + timedelta(days=2)
    moved_request = CodeRequest(START, new_end, pin="480317", guest_name="Ana Smith",
                                label="Mangodesk 42")
    adopted = ttlock.adapter.create_code(ttlock.lock_id, moved_request)
    assert (adopted.valid_from, adopted.valid_to) == (START, new_end)
    assert ttlock.held(adopted) == (START, new_end)
    assert len([c for c in sim.codes_on(TTLOCK_ROOM_101) if c.pwd == "480317"]) == 1


def test_ttlock_never_adopts_a_strangers_code_with_the_same_digits(ttlock: Vendor) -> None:
    sim: TTLockSimulator = ttlock.sim
    sim.add_existing_code(TTLOCK_ROOM_101, "480317", "Ana Smith",
                          start=START - timedelta(days=20), end=START - timedelta(days=18))
    staff_request = CodeRequest(START, END, pin="480317", guest_name="Ana Smith")
    with pytest.raises(CodeConflictError):
        ttlock.adapter.create_code(ttlock.lock_id, staff_request)
    stranger = sim.code(TTLOCK_ROOM_101, "480317")
    assert stranger is not None
    assert stranger.end_ms == to_ms(START - timedelta(days=18))  # left as it was


@pytest.mark.parametrize("path", ["/v3/keyboardPwd/delete", "/v3/keyboardPwd/change"])
def test_ttlock_a_200_without_errcode_is_not_a_done_change(ttlock: Vendor, path: str) -> None:
    """A proxy (or a TTLock hiccup) answers 200 with a body that has no errcode and the
    request was never carried out: the door keeps the code, so it must not count as done."""
    sim: TTLockSimulator = ttlock.sim
    created = ttlock.adapter.create_code(ttlock.lock_id, ttlock.request)
    sim.inject_http_status(path, 200)
    with pytest.raises(AmbiguousError):
        if path.endswith("delete"):
            ttlock.adapter.revoke_code(ttlock.lock_id, created)
        else:
            ttlock.adapter.update_code(ttlock.lock_id, created, START, END + timedelta(days=1))
    assert ttlock.held(created) == (START, END)
