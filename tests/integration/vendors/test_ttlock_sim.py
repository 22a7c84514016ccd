"""The TTLock adapter against the TTLock simulator over real loopback HTTP."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.stay import stay_window
from mangodesk.domain.types import VendorKind
from mangodesk.sim.ttlock import TTLockSimulator, start_for_demo
from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    TransientError,
    VendorError,
)
from mangodesk.vendors.ttlock import TTLockAdapter, to_ms

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROOM_101 = "21318606"
ROOM_102 = "21318611"
ROOM_103 = "21318623"
ROOM_104_NO_GATEWAY = "21318655"
BIKE_SHED_NO_KEYPAD = "21318667"
OLD_DOOR_VERSION_3 = "21318679"
GARDEN_STUDIO_WIFI = "21318688"
LOBBY_GATEWAY = 1461158


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator(clock).start()
    yield simulator
    simulator.stop()


def config_for(sim: TTLockSimulator, **overrides: str) -> ConnectionConfig:
    values = {**sim.connection_values(), **overrides}
    return ConnectionConfig(
        connection_id=1,
        kind=VendorKind.TTLOCK,
        settings={"username": values["username"], "client_id": values["client_id"],
                  "api_base": values["api_base"],
                  "timeout_seconds": values.get("timeout_seconds", "10")},
        secrets={"password": values["password"], "client_secret": values["client_secret"]},
        hotel_timezone="Europe/Oslo",
    )


@pytest.fixture
def pauses() -> list[float]:
    """The seconds the adapter waited before asking a busy gateway again (not slept)."""
    return []


@pytest.fixture
def adapter(sim: TTLockSimulator, clock: FixedClock,
            pauses: list[float]) -> Iterator[TTLockAdapter]:
    instance = TTLockAdapter(config_for(sim), clock=clock, sleep=pauses.append)
    yield instance
    instance.close()


def stay(arrival: date, departure: date) -> tuple[datetime, datetime]:
    window = stay_window(arrival, departure, "Europe/Oslo", arrival_time=None,
                         departure_time=None, default_checkin=time(15, 0),
                         default_checkout=time(11, 0))
    return window.check_in_at, window.check_out_at


def test_whole_lifecycle_link_import_create_move_revoke(adapter: TTLockAdapter,
                                                         sim: TTLockSimulator) -> None:
    locks = {lock.vendor_lock_id: lock for lock in adapter.list_locks()}
    assert locks[ROOM_101].manageable and locks[ROOM_101].serial_key == f"gateway:{LOBBY_GATEWAY}"

    # Link: the codes already on the lock are imported (and must be avoided).
    existing = adapter.list_codes(ROOM_101)
    assert {(c.pin, c.name) for c in existing} == {
        ("2580", "Housekeeping"), ("0427", "Booking 1234 (old guest)")}
    taken = {c.pin for c in existing}

    # T−48 h: the code is created with the stay window.
    check_in, check_out = stay(date(2026, 3, 12), date(2026, 3, 15))
    assert "731946" not in taken
    created = adapter.create_code(ROOM_101, CodeRequest(
        check_in, check_out, pin="731946", guest_name="Ana Smith", label="B-1002 Smith"))
    on_lock = sim.code(int(ROOM_101), "731946")
    assert on_lock is not None and on_lock.on_lock
    assert (on_lock.lock_start_ms, on_lock.lock_end_ms) == (to_ms(check_in), to_ms(check_out))
    assert on_lock.pwd_type == 3 and on_lock.name == "B-1002 Smith"
    assert created.vendor_ref == str(on_lock.keyboard_pwd_id)

    # The guest extends by a night: same PIN, the door's window moves.
    new_in, new_out = stay(date(2026, 3, 12), date(2026, 3, 16))
    moved = adapter.update_code(ROOM_101, created, new_in, new_out)
    assert (moved.vendor_ref, moved.pin) == (created.vendor_ref, "731946")
    on_lock = sim.code(int(ROOM_101), "731946")
    assert on_lock is not None
    assert (on_lock.lock_start_ms, on_lock.lock_end_ms) == (to_ms(new_in), to_ms(new_out))

    # Cancellation: the code is gone from the cloud and from the door.
    adapter.revoke_code(ROOM_101, moved)
    assert sim.code(int(ROOM_101), "731946") is None
    assert sim.ghost_codes(int(ROOM_101)) == []
    adapter.revoke_code(ROOM_101, moved)  # already gone = success
    assert {c.pin for c in adapter.list_codes(ROOM_101)} == taken

    writes = [r for r in sim.requests if "keyboardPwd/" in r.path]
    assert [r.params.get("addType") or r.params.get("changeType") or r.params.get("deleteType")
            for r in writes] == ["2", "2", "2", "2"]


def test_the_simulated_locks_cover_the_awkward_cases(adapter: TTLockAdapter) -> None:
    locks = {lock.vendor_lock_id: lock for lock in adapter.list_locks()}
    assert locks[ROOM_104_NO_GATEWAY].manageable
    assert locks[ROOM_104_NO_GATEWAY].codes_not_automatic_reason == (
        "codes not automatic: no gateway")
    assert "no keypad" in (locks[BIKE_SHED_NO_KEYPAD].unmanageable_reason or "")
    assert "version 3" in (locks[OLD_DOOR_VERSION_3].unmanageable_reason or "")
    assert locks[GARDEN_STUDIO_WIFI].manageable
    assert locks[ROOM_103].attributes["battery"] == 15


@pytest.mark.parametrize(
    ("lock_id", "expected", "vendor_code"),
    [
        (ROOM_104_NO_GATEWAY, TransientError, "-2012"),
        (BIKE_SHED_NO_KEYPAD, PermanentError, "-4043"),
        (OLD_DOOR_VERSION_3, PermanentError, "-4043"),
        ("99999999", PermanentError, "-1003"),
    ],
)
def test_locks_that_cannot_take_codes_refuse_them(adapter: TTLockAdapter, lock_id: str,
                                                  expected: type[VendorError],
                                                  vendor_code: str) -> None:
    with pytest.raises(expected) as caught:
        adapter.create_code(lock_id, CodeRequest(NOW, NOW + timedelta(days=1), pin="5555"))
    assert caught.value.vendor_code == vendor_code


def test_a_wifi_lock_takes_codes_without_a_gateway(adapter: TTLockAdapter,
                                                   sim: TTLockSimulator) -> None:
    adapter.create_code(GARDEN_STUDIO_WIFI, CodeRequest(NOW, NOW + timedelta(days=1), pin="6071"))
    code = sim.code(int(GARDEN_STUDIO_WIFI), "6071")
    assert code is not None and code.on_lock


def test_gateway_offline_is_transient_and_shown_in_details(
    adapter: TTLockAdapter, sim: TTLockSimulator, clock: FixedClock
) -> None:
    sim.set_gateway_online(LOBBY_GATEWAY, False)
    with pytest.raises(TransientError) as caught:
        adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1), pin="4812"))
    assert caught.value.vendor_code == "-3002"
    assert sim.code(int(ROOM_101), "4812") is None
    # TTLock keeps reporting the gateway online until its 8-minute heartbeat runs out.
    assert "online" in dict(adapter.lock_details(ROOM_101).items)["Gateway"]
    clock.advance(timedelta(minutes=9))
    details = adapter.lock_details(ROOM_101)
    assert "offline" in dict(details.items)["Gateway"]
    assert any("gateway is offline" in warning for warning in details.warnings)
    sim.set_gateway_online(LOBBY_GATEWAY, True)
    adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1), pin="4812"))
    assert sim.code(int(ROOM_101), "4812") is not None


def test_details_warn_about_battery_and_a_factory_time_zone(adapter: TTLockAdapter) -> None:
    details = adapter.lock_details(ROOM_103)
    items = dict(details.items)
    assert items["Battery"] == "15 %"
    assert items["Lock time zone"] == "UTC+08:00"
    joined = " ".join(details.warnings)
    assert "battery is low" in joined and "Europe/Oslo" in joined


def test_gateway_busy_is_asked_again_in_seconds(adapter: TTLockAdapter, sim: TTLockSimulator,
                                                pauses: list[float]) -> None:
    sim.make_gateway_busy(LOBBY_GATEWAY)
    request = CodeRequest(NOW, NOW + timedelta(days=1), pin="90817")
    assert adapter.create_code(ROOM_101, request).pin == "90817"
    assert pauses == [2.0]
    sim.make_gateway_busy(LOBBY_GATEWAY, times=4)
    with pytest.raises(TransientError) as caught:
        adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1), pin="90818"))
    assert caught.value.vendor_code == "-3003" and caught.value.retry_after == 15
    assert pauses == [2.0, 2.0, 4.0, 6.0]


def test_writes_through_one_gateway_are_serialised(sim: TTLockSimulator,
                                                   clock: FixedClock) -> None:
    """The simulated gateway answers −3003 to a second write while it is writing; two
    adapters writing at once through the same gateway must never meet that."""
    sim.gateway_write_seconds = 0.2
    busy_waits: list[float] = []  # a −3003 would be asked again: it must not happen at all
    adapters = [TTLockAdapter(config_for(sim), clock=clock, sleep=busy_waits.append)
                for _ in range(2)]
    errors: list[BaseException] = []

    def create(adapter: TTLockAdapter, lock_id: str, pin: str) -> None:
        try:
            adapter.create_code(lock_id, CodeRequest(NOW, NOW + timedelta(days=1), pin=pin))
        except BaseException as exc:  # collected and asserted on the test thread
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(adapters[0], ROOM_101, "1357")),
               threading.Thread(target=create, args=(adapters[1], ROOM_102, "2468"))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        for adapter in adapters:
            adapter.close()
    assert errors == [] and busy_waits == []
    assert sim.code(int(ROOM_101), "1357") is not None
    assert sim.code(int(ROOM_102), "2468") is not None


def test_the_250_code_limit(adapter: TTLockAdapter, sim: TTLockSimulator) -> None:
    sim.fill_lock(int(ROOM_101), 248)  # plus the two codes already there
    assert len(adapter.list_codes(ROOM_101)) == 250  # two pages of 200
    with pytest.raises(PermanentError) as caught:
        adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1), pin="3141"))
    assert caught.value.vendor_code == "-3009"
    assert "250" in caught.value.message


def test_a_pin_already_on_the_lock_is_a_conflict(adapter: TTLockAdapter) -> None:
    with pytest.raises(CodeConflictError):
        adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1), pin="2580",
                                                  label="B-9 Guest"))


def test_a_lost_answer_to_a_create_never_makes_a_duplicate(adapter: TTLockAdapter,
                                                           sim: TTLockSimulator) -> None:
    request = CodeRequest(NOW, NOW + timedelta(days=2), pin="864213", label="B-7 Lost")
    sim.lose_answers("/v3/keyboardPwd/add")
    sim.lose_answers("/v3/lock/listKeyboardPwd")  # the immediate read-back is lost too
    with pytest.raises(AmbiguousError):
        adapter.create_code(ROOM_101, request)
    assert sim.code(int(ROOM_101), "864213") is not None  # it was carried out
    # The retry meets −3007 and finds its own code instead of failing or duplicating.
    again = adapter.create_code(ROOM_101, request)
    matching = [c for c in sim.codes_on(int(ROOM_101)) if c.pwd == "864213"]
    assert len(matching) == 1 and again.vendor_ref == str(matching[0].keyboard_pwd_id)


def test_a_lost_answer_is_read_back_at_once(adapter: TTLockAdapter,
                                            sim: TTLockSimulator) -> None:
    sim.lose_answers("/v3/keyboardPwd/add")
    created = adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1),
                                                        pin="5096", label="B-8"))
    code = sim.code(int(ROOM_101), "5096")
    assert code is not None and created.vendor_ref == str(code.keyboard_pwd_id)


def test_a_lost_answer_to_a_delete_then_retry_is_success(adapter: TTLockAdapter,
                                                         sim: TTLockSimulator) -> None:
    created = adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1),
                                                        pin="7702"))
    sim.lose_answers("/v3/keyboardPwd/delete")
    with pytest.raises(AmbiguousError):
        adapter.revoke_code(ROOM_101, created)
    adapter.revoke_code(ROOM_101, created)  # −2009 on the retry: already gone
    assert sim.code(int(ROOM_101), "7702") is None


def test_a_slow_answer_to_a_write_is_ambiguous(sim: TTLockSimulator,
                                               clock: FixedClock) -> None:
    adapter = TTLockAdapter(config_for(sim, timeout_seconds="0.2"), clock=clock)
    try:
        created = adapter.create_code(ROOM_101, CodeRequest(NOW, NOW + timedelta(days=1),
                                                            pin="6203"))
        sim.latency = 5.0  # far beyond the client's timeout; stop() cuts the wait short
        with pytest.raises(AmbiguousError):
            adapter.update_code(ROOM_101, created, NOW, NOW + timedelta(days=2))
    finally:
        adapter.close()


def test_expired_tokens_are_renewed_transparently(adapter: TTLockAdapter,
                                                  sim: TTLockSimulator) -> None:
    adapter.list_codes(ROOM_101)
    sim.expire_tokens()
    assert len(adapter.list_codes(ROOM_101)) == 2
    token_calls = [r for r in sim.requests if r.path == "/oauth2/token"]
    assert [r.params.get("grant_type") for r in token_calls] == [None, "refresh_token"]
    sim.expire_tokens()
    sim.revoke_refresh_tokens()
    assert len(adapter.list_codes(ROOM_101)) == 2
    token_calls = [r for r in sim.requests if r.path == "/oauth2/token"]
    assert [r.params.get("grant_type") for r in token_calls][-2:] == ["refresh_token", None]


def test_a_token_near_its_end_is_refreshed_ahead(adapter: TTLockAdapter, sim: TTLockSimulator,
                                                 clock: FixedClock) -> None:
    adapter.list_codes(ROOM_101)
    clock.advance(timedelta(days=90) - timedelta(minutes=10))
    adapter.list_codes(ROOM_101)
    token_calls = [r for r in sim.requests if r.path == "/oauth2/token"]
    assert [r.params.get("grant_type") for r in token_calls] == [None, "refresh_token"]


def test_a_wrong_computer_clock_fails_the_date_check(sim: TTLockSimulator) -> None:
    skewed = FixedClock(NOW + timedelta(minutes=6))
    adapter = TTLockAdapter(config_for(sim), clock=skewed)
    try:
        with pytest.raises(TransientError) as caught:
            adapter.list_codes(ROOM_101)
    finally:
        adapter.close()
    assert caught.value.vendor_code == "80000"
    assert "clock" in caught.value.message


def test_within_five_minutes_is_fine(sim: TTLockSimulator) -> None:
    adapter = TTLockAdapter(config_for(sim), clock=FixedClock(NOW - timedelta(minutes=4)))
    try:
        assert len(adapter.list_codes(ROOM_101)) == 2
    finally:
        adapter.close()


def test_quota_exhaustion_is_permanent_with_a_plain_fix(adapter: TTLockAdapter,
                                                        sim: TTLockSimulator) -> None:
    adapter.list_codes(ROOM_101)
    sim.exhaust_quota()
    with pytest.raises(PermanentError) as caught:
        adapter.list_codes(ROOM_101)
    assert caught.value.vendor_code == "30007"
    assert "1st of next month" in (caught.value.fix or "")


def test_wrong_password_fails_the_connection_check(sim: TTLockSimulator,
                                                  clock: FixedClock) -> None:
    adapter = TTLockAdapter(config_for(sim, password="not-it"), clock=clock)
    try:
        report = adapter.test_connection()
        with pytest.raises(AuthError):
            adapter.list_locks()
    finally:
        adapter.close()
    assert not report.ok and "username or password" in report.summary


def test_connection_check_against_the_simulator(adapter: TTLockAdapter) -> None:
    report = adapter.test_connection()
    assert report.ok and report.summary == "Connected to TTLock: 8 locks found."


def test_the_simulator_keeps_ttlocks_traps(sim: TTLockSimulator) -> None:
    """Type 1 writes never reach the door; a change without startDate changes nothing."""
    with httpx.Client(base_url=sim.base_url) as client:
        token = client.post("/oauth2/token", data={
            "clientId": sim.client_id, "clientSecret": sim.client_secret,
            "username": sim.username,
            "password": hashlib.md5(sim.password.encode()).hexdigest(),  # noqa: S324
        }).json()["access_token"]
        common = {"clientId": sim.client_id, "accessToken": token, "date": str(to_ms(NOW))}
        start, end = to_ms(NOW), to_ms(NOW + timedelta(days=1))
        added = client.post("/v3/keyboardPwd/add", data={
            **common, "lockId": ROOM_101, "keyboardPwd": "1122", "startDate": str(start),
            "endDate": str(end)}).json()
        code = sim.code(int(ROOM_101), "1122")
        assert code is not None and not code.on_lock  # listed in the cloud, not on the door
        changed = client.post("/v3/keyboardPwd/change", data={
            **common, "lockId": ROOM_101, "keyboardPwdId": str(added["keyboardPwdId"]),
            "changeType": "2", "endDate": str(end + 3_600_000)}).json()
        assert changed["errcode"] == 0
        code = sim.code(int(ROOM_101), "1122")
        assert code is not None and code.end_ms == end  # "success", nothing changed
        deleted = client.post("/v3/keyboardPwd/delete", data={
            **common, "lockId": ROOM_101, "keyboardPwdId": str(added["keyboardPwdId"])}).json()
        assert deleted["errcode"] == 0
        duplicate = client.post("/v3/keyboardPwd/add", data={
            **common, "lockId": ROOM_101, "keyboardPwd": "2580", "addType": "2",
            "startDate": str(start), "endDate": str(end)})
        assert duplicate.status_code == 200
        assert duplicate.json()["errcode"] == -3007
        assert "\u00a0" in duplicate.json()["errmsg"]


def test_the_demo_starter_connects_the_adapter(clock: FixedClock) -> None:
    vendor = start_for_demo()
    try:
        assert vendor.kind == VendorKind.TTLOCK
        values = vendor.values
        config = ConnectionConfig(None, VendorKind.TTLOCK,
                                  {k: values[k] for k in ("username", "client_id", "api_base")},
                                  {k: values[k] for k in ("password", "client_secret")})
        adapter = TTLockAdapter(config)
        try:
            assert adapter.test_connection().ok
        finally:
            adapter.close()
    finally:
        vendor.stop()


def test_injected_faults_reach_the_adapter_classified(adapter: TTLockAdapter,
                                                      sim: TTLockSimulator) -> None:
    sim.inject_errcode("/v3/lock/listKeyboardPwd", 30006)
    with pytest.raises(TransientError) as slow_down:
        adapter.list_codes(ROOM_101)
    assert slow_down.value.vendor_code == "30006" and slow_down.value.retry_after == 60
    sim.inject_http_status("/v3/lock/listKeyboardPwd", 503)
    with pytest.raises(TransientError) as server_error:
        adapter.list_codes(ROOM_101)
    assert server_error.value.vendor_code == "HTTP 503"
    assert len(adapter.list_codes(ROOM_101)) == 2  # faults are used up
