"""TTLock adapter against mocked HTTP (respx): wire format, token handling, errcode taxonomy."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    AuthError,
    CodeConflictError,
    CodeRequest,
    ConnectionConfig,
    PermanentError,
    TransientError,
    VendorAdapter,
    VendorCode,
    VendorError,
)
from mangodesk.vendors.registry import default_specs
from mangodesk.vendors.ttlock import (
    EU_API_BASE,
    TTLOCK_SPEC,
    TTLockAdapter,
    has_feature,
    timezone_warning,
    to_ms,
    unmanageable_reason,
)

PASSWORD = "s3cret-Pässword"
CLIENT_SECRET = "client-secret-value"
TOKEN = "9f0c2e4b7a1d4c39b8e5f6a7d2c1b0e9"
REFRESH = "4be1c0f9a2d84e6f9b7c3a5d1e2f0a8b"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FV_KEYPAD = "F44354CD5F3"
FV_WIFI = format(int(FV_KEYPAD, 16) | (1 << 56), "X")
OK_BODY = {"errcode": 0, "errmsg": "none error message or means yes", "description": "表示成功或是"}


def make_config(hotel_timezone: str | None = None, **settings: Any) -> ConnectionConfig:
    return ConnectionConfig(
        connection_id=7,
        kind=VendorKind.TTLOCK,
        settings={"username": "desk@hotel.example", "client_id": "app-client-id", **settings},
        secrets={"password": PASSWORD, "client_secret": CLIENT_SECRET},
        hotel_timezone=hotel_timezone,
    )


def form(request: httpx.Request) -> dict[str, str]:
    """The parameters of a request, from its form body or its query string."""
    if request.method == "POST":
        return {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}
    return {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}


def errbody(errcode: int, errmsg: str = "error") -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": errmsg, "description": "错误"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=EU_API_BASE, assert_all_called=False) as router:
        router.post("/oauth2/token", name="token").respond(json={
            "access_token": TOKEN, "uid": 2340, "refresh_token": REFRESH, "expires_in": 7776000,
        })
        yield router


@pytest.fixture
def adapter(clock: FixedClock, api: respx.MockRouter) -> Iterator[TTLockAdapter]:
    instance = TTLockAdapter(make_config(), clock=clock, sleep=lambda _seconds: None)
    yield instance
    instance.close()


def code(ref: str = "39656536", pin: str = "482915") -> VendorCode:
    return VendorCode(ref, pin, NOW + timedelta(days=2), NOW + timedelta(days=4), "Smith")


def request_for(pin: str = "482915") -> CodeRequest:
    return CodeRequest(valid_from=NOW + timedelta(days=2, seconds=30),
                       valid_to=NOW + timedelta(days=4, seconds=10), pin=pin,
                       guest_name="Ana Smith", label="Mangodesk B-1002 Smith")


def route_gateway_of_lock(api: respx.MockRouter, gateway_id: int = 1461158) -> None:
    api.get("/v3/gateway/listByLock").respond(json={"list": [
        {"gatewayId": gateway_id, "gatewayName": "G2", "rssi": -60}]})


# --------------------------------------------------------------------------- spec


def test_spec_is_registered_and_declares_ttlock_capabilities() -> None:
    assert TTLOCK_SPEC in default_specs()
    caps = TTLOCK_SPEC.capabilities
    assert caps.automated and caps.needs_gateway and not caps.vendor_generates_pin
    assert caps.pin_rules is not None and caps.pin_rules.lengths == (4, 5, 6, 7, 8, 9)
    assert caps.pin_rules.default_length == 6
    assert caps.max_codes_per_lock == 250
    assert caps.can_move_start and caps.can_move_end
    assert caps.time_granularity == timedelta(minutes=1)
    secret_fields = {f.name for f in TTLOCK_SPEC.fields if f.secret}
    assert secret_fields == {"password", "client_secret"}
    assert {f.name for f in TTLOCK_SPEC.fields} >= {"username", "client_id", "api_base"}
    adapter = TTLOCK_SPEC.factory(make_config())
    try:
        assert isinstance(adapter, VendorAdapter)
    finally:
        adapter.close()


# --------------------------------------------------------------------------- auth


def test_password_grant_sends_md5_of_password_and_app_credentials(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1, "total": 0})
    adapter.list_codes("1")
    adapter.list_codes("1")
    assert api["token"].call_count == 1  # the token is kept in memory and reused
    sent = form(api["token"].calls[0].request)
    assert sent == {
        "clientId": "app-client-id",
        "clientSecret": CLIENT_SECRET,
        "username": "desk@hotel.example",
        "password": hashlib.md5(PASSWORD.encode()).hexdigest(),  # noqa: S324
    }
    assert api["token"].calls[0].request.headers["content-type"] == (
        "application/x-www-form-urlencoded")


def test_an_already_hashed_password_is_sent_as_is(clock: FixedClock,
                                                  api: respx.MockRouter) -> None:
    hashed = "E10ADC3949BA59ABBE56E057F20F883E"
    config = ConnectionConfig(7, VendorKind.TTLOCK,
                              {"username": "u", "client_id": "c", "password_is_md5": "yes"},
                              {"password": hashed, "client_secret": "s"})
    api.get("/v3/lock/list").respond(json={"list": [], "pages": 1, "total": 0})
    adapter = TTLockAdapter(config, clock=clock)
    try:
        adapter.test_connection()
    finally:
        adapter.close()
    assert form(api["token"].calls[0].request)["password"] == hashed.lower()


def test_every_call_carries_client_id_token_and_date_in_ms(
    adapter: TTLockAdapter, api: respx.MockRouter, clock: FixedClock
) -> None:
    route_gateway_of_lock(api)
    reads = api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1})
    writes = api.post("/v3/keyboardPwd/delete").respond(json=OK_BODY)
    adapter.list_codes("21318606")
    clock.advance(timedelta(seconds=5))
    adapter.revoke_code("21318606", code())
    for call, expected_ms in ((reads.calls[0], to_ms(NOW)),
                              (writes.calls[0], to_ms(NOW + timedelta(seconds=5)))):
        sent = form(call.request)
        assert sent["clientId"] == "app-client-id"
        assert sent["accessToken"] == TOKEN
        assert sent["date"] == str(expected_ms)
        assert len(sent["date"]) == 13
    assert writes.calls[0].request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert writes.calls[0].request.url.query == b""  # writes are form-encoded, not query


def test_token_is_refreshed_before_it_expires(
    adapter: TTLockAdapter, api: respx.MockRouter, clock: FixedClock
) -> None:
    listing = api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1})
    adapter.list_codes("1")
    api["token"].respond(json={"access_token": "new-token", "refresh_token": "new-refresh",
                               "expires_in": 7776000})
    clock.advance(timedelta(days=90) - timedelta(minutes=30))  # inside the refresh margin
    adapter.list_codes("1")
    refresh = form(api["token"].calls[1].request)
    assert refresh == {"clientId": "app-client-id", "clientSecret": CLIENT_SECRET,
                       "grant_type": "refresh_token", "refresh_token": REFRESH}
    assert form(listing.calls[1].request)["accessToken"] == "new-token"


@pytest.mark.parametrize("errcode", [10003, 10004])
def test_a_refused_token_is_refreshed_and_the_call_repeated_once(
    adapter: TTLockAdapter, api: respx.MockRouter, errcode: int
) -> None:
    listing = api.get("/v3/lock/listKeyboardPwd").mock(side_effect=[
        httpx.Response(200, json=errbody(errcode, "invalid grant")),
        httpx.Response(200, json={"list": [{"keyboardPwdId": 5, "keyboardPwd": "1234",
                                            "keyboardPwdType": 2}], "pages": 1}),
    ])
    codes = adapter.list_codes("1")
    assert [c.pin for c in codes] == ["1234"]
    assert listing.call_count == 2
    assert form(api["token"].calls[1].request)["grant_type"] == "refresh_token"


def test_an_invalid_refresh_token_falls_back_to_the_password(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    api.get("/v3/lock/listKeyboardPwd").mock(side_effect=[
        httpx.Response(200, json=errbody(10004)),
        httpx.Response(200, json={"list": [], "pages": 1}),
    ])
    api["token"].mock(side_effect=[
        httpx.Response(200, json={"access_token": TOKEN, "refresh_token": REFRESH,
                                  "expires_in": 7776000}),
        httpx.Response(200, json=errbody(10011, "invalid refresh_token")),
        httpx.Response(200, json={"access_token": "fresh", "refresh_token": "r2",
                                  "expires_in": 7776000}),
    ])
    assert adapter.list_codes("1") == []
    grants = [form(call.request) for call in api["token"].calls]
    assert [g.get("grant_type") for g in grants] == [None, "refresh_token", None]
    assert grants[2]["username"] == "desk@hotel.example"


def test_a_token_refused_twice_is_an_auth_error(adapter: TTLockAdapter,
                                                api: respx.MockRouter) -> None:
    api.get("/v3/lock/listKeyboardPwd").respond(json=errbody(10004))
    with pytest.raises(AuthError) as caught:
        adapter.list_codes("1")
    assert "sign-in" in caught.value.message


def test_wrong_username_or_password_is_an_auth_error_with_a_plain_fix(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    api["token"].respond(json=errbody(10007, "invalid account or invalid password"))
    report = adapter.test_connection()
    assert not report.ok
    assert report.steps[0].name == "Sign in to TTLock" and not report.steps[0].ok
    assert "username or password" in report.summary
    assert report.steps[0].fix and "developer" in report.steps[0].fix
    with pytest.raises(AuthError):
        adapter.list_codes("1")


def test_missing_secrets_are_reported_before_any_call(clock: FixedClock,
                                                      api: respx.MockRouter) -> None:
    config = ConnectionConfig(7, VendorKind.TTLOCK, {"username": "u", "client_id": "c"}, {})
    adapter = TTLockAdapter(config, clock=clock)
    try:
        with pytest.raises(AuthError, match="password is missing"):
            adapter.list_codes("1")
    finally:
        adapter.close()
    assert api["token"].call_count == 0


def test_connection_report_counts_the_locks(adapter: TTLockAdapter,
                                            api: respx.MockRouter) -> None:
    api.get("/v3/lock/list").respond(json={"list": [{"lockId": 1}], "pages": 3, "total": 250})
    report = adapter.test_connection()
    assert report.ok
    assert report.summary == "Connected to TTLock: 250 locks found."


def test_plain_http_is_refused_except_on_loopback(clock: FixedClock,
                                                  api: respx.MockRouter) -> None:
    insecure = TTLockAdapter(make_config(api_base="http://euapi.ttlock.com"), clock=clock)
    try:
        with pytest.raises(PermanentError, match="not a secure https address"):
            insecure.list_codes("1")
        report = insecure.test_connection()
        assert not report.ok and "https" in report.summary
    finally:
        insecure.close()
    assert api["token"].call_count == 0


# --------------------------------------------------------------------------- errcodes


@pytest.mark.parametrize(
    ("errcode", "expected", "retry_after"),
    [
        (1, TransientError, None),
        (-3, PermanentError, None),
        (10000, AuthError, None),
        (10001, AuthError, None),
        (20002, PermanentError, None),
        (-2018, PermanentError, None),
        (30001, PermanentError, None),
        (30006, TransientError, 60),
        (30007, PermanentError, None),
        (30008, PermanentError, None),
        (80000, TransientError, 300),
        (80002, PermanentError, None),
        (90000, TransientError, 60),
        (-1003, PermanentError, None),
        (-2025, PermanentError, None),
        (-4043, PermanentError, None),
        (-4056, PermanentError, None),
        (-1007, PermanentError, None),
        (-1026, PermanentError, None),
        (-2012, TransientError, 900),
        (-3002, TransientError, 300),
        (-3003, TransientError, 15),
        (-3034, PermanentError, None),
        (-3035, TransientError, 300),
        (-3036, TransientError, 300),
        (-3037, TransientError, 15),
        (-3006, PermanentError, None),
        (-3008, PermanentError, None),
        (-3009, PermanentError, None),
        (-4037, PermanentError, None),
        (-2032, CodeConflictError, None),
    ],
)
def test_errcodes_arrive_with_http_200_and_map_to_the_reference_classes(
    adapter: TTLockAdapter, api: respx.MockRouter, errcode: int,
    expected: type[VendorError], retry_after: float | None,
) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/change").respond(200, json=errbody(errcode))
    with pytest.raises(VendorError) as caught:
        adapter.update_code("21318606", code(), NOW, NOW + timedelta(days=1))
    assert type(caught.value) is expected
    assert caught.value.vendor_code == str(errcode)
    assert caught.value.retry_after == retry_after
    assert caught.value.message and caught.value.message[-1] in ".)"


def test_an_unknown_errcode_is_permanent_and_keeps_ttlocks_words(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    api.get("/v3/lock/listKeyboardPwd").respond(json=errbody(-9999, "Something\u00a0odd"))
    with pytest.raises(PermanentError) as caught:
        adapter.list_codes("1")
    assert "error -9999 (Something odd)" in caught.value.message


def test_a_missing_code_on_change_is_already_gone(adapter: TTLockAdapter,
                                                  api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/change").respond(json=errbody(-2009, "Invalid Password"))
    with pytest.raises(AlreadyGoneError):
        adapter.update_code("21318606", code(), NOW, NOW + timedelta(days=1))


def test_deleting_a_code_that_is_already_gone_is_success(adapter: TTLockAdapter,
                                                         api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    delete = api.post("/v3/keyboardPwd/delete").respond(json=errbody(-2009))
    assert adapter.revoke_code("21318606", code()) is None
    assert delete.call_count == 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(503), TransientError),
        (httpx.Response(500), TransientError),
        (httpx.Response(429, headers={"Retry-After": "30"}), TransientError),
        (httpx.Response(404), PermanentError),
        (httpx.Response(200, text="<html>gateway</html>"), TransientError),
        (httpx.ConnectError("refused"), TransientError),
        (httpx.ReadTimeout("slow"), TransientError),
    ],
)
def test_transport_failures_on_reads(adapter: TTLockAdapter, api: respx.MockRouter,
                                     response: Any, expected: type[VendorError]) -> None:
    api.get("/v3/lock/listKeyboardPwd").mock(side_effect=[response])
    with pytest.raises(expected) as caught:
        adapter.list_codes("1")
    if isinstance(response, httpx.Response) and response.status_code == 429:
        assert caught.value.retry_after == 30


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.ReadTimeout("no answer"), AmbiguousError),
        (httpx.RemoteProtocolError("Server disconnected"), AmbiguousError),
        (httpx.Response(504), AmbiguousError),
        (httpx.Response(200, text="not json"), AmbiguousError),
        (httpx.ConnectError("refused"), TransientError),
        (httpx.ConnectTimeout("no route"), TransientError),
        (httpx.Response(503), TransientError),
    ],
)
def test_a_write_sent_without_an_answer_is_ambiguous(
    adapter: TTLockAdapter, api: respx.MockRouter, response: Any,
    expected: type[VendorError],
) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/change").mock(side_effect=[response])
    with pytest.raises(expected):
        adapter.update_code("21318606", code(), NOW, NOW + timedelta(days=1))


def test_secrets_never_reach_logs_or_error_text(
    adapter: TTLockAdapter, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").respond(json=errbody(-3003, "The gateway is busy."))
    with pytest.raises(TransientError) as caught:
        adapter.create_code("21318606", request_for("482915"))
    text = caplog.text + str(caught.value) + repr(caught.value.args)
    md5 = hashlib.md5(PASSWORD.encode()).hexdigest()  # noqa: S324
    for secret in (PASSWORD, md5, CLIENT_SECRET, TOKEN, REFRESH, "482915"):
        assert secret not in text
    assert "gateway is busy" in str(caught.value)


# --------------------------------------------------------------------------- locks


def lock_row(lock_id: int, alias: str, *, has_gateway: int = 1,
             feature_value: str = FV_KEYPAD) -> dict[str, Any]:
    return {"lockId": lock_id, "lockName": f"S31_{lock_id}", "lockAlias": alias,
            "electricQuantity": 80, "featureValue": feature_value, "hasGateway": has_gateway,
            "lockData": "opaque-secret-lock-data", "groupName": "Floor 1"}


def test_list_locks_pages_reads_details_and_marks_what_can_be_managed(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    pages = api.get("/v3/lock/list").mock(side_effect=[
        httpx.Response(200, json={"list": [lock_row(1, "Room 101"), lock_row(2, "Room 104",
                                                                             has_gateway=0)],
                                  "pageNo": 1, "pages": 2, "total": 6}),
        httpx.Response(200, json={"list": [
            lock_row(3, "Bike shed", feature_value="C27442140F5F4"),
            lock_row(4, "Old door"),
            lock_row(5, "Garden studio", has_gateway=0, feature_value=FV_WIFI),
            lock_row(6, "No management", feature_value="1"),
        ], "pageNo": 2, "pages": 2, "total": 6}),
    ])
    versions = {"1": 4, "2": 4, "3": 4, "4": 3, "5": 5, "6": 4}

    def detail(request: httpx.Request) -> httpx.Response:
        lock_id = form(request)["lockId"]
        return httpx.Response(200, json={"lockId": int(lock_id),
                                         "keyboardPwdVersion": versions[lock_id],
                                         "timezoneRawOffset": 3600000, "modelNum": "SN9206"})

    api.get("/v3/lock/detail").mock(side_effect=detail)
    api.get("/v3/gateway/list").respond(json={"list": [
        {"gatewayId": 11, "gatewayName": "G2 lobby", "isOnline": 1},
        {"gatewayId": 12, "gatewayName": "G3 annex", "isOnline": 0}], "pages": 1, "total": 2})

    def gateway_locks(request: httpx.Request) -> httpx.Response:
        if form(request)["gatewayId"] == "11":
            return httpx.Response(200, json={"list": [{"lockId": 1, "rssi": -80},
                                                      {"lockId": 3, "rssi": -60}]})
        return httpx.Response(200, json={"list": [{"lockId": 1, "rssi": -60},
                                                  {"lockId": 4, "rssi": -70},
                                                  {"lockId": 6, "rssi": -70}]})

    api.get("/v3/gateway/listLock").mock(side_effect=gateway_locks)
    locks = {lock.name: lock for lock in adapter.list_locks()}

    assert [form(c.request)["pageNo"] for c in pages.calls] == ["1", "2"]
    room = locks["Room 101"]
    assert room.vendor_lock_id == "1" and room.manageable and room.unmanageable_reason is None
    assert room.serial_key == "gateway:12"  # the gateway with the best signal
    assert room.attributes["battery"] == 80
    assert room.attributes["gateway_id"] == "12"
    assert room.attributes["gateway_online"] is False
    assert room.attributes["timezone_offset_minutes"] == 60
    assert "lockData" not in str(room.attributes) and "opaque" not in str(room.attributes)
    no_gateway = locks["Room 104"]
    assert no_gateway.manageable and no_gateway.unmanageable_reason is None
    assert no_gateway.codes_not_automatic_reason == "codes not automatic: no gateway"
    assert no_gateway.serial_key == "lock:2"
    assert "no keypad" in (locks["Bike shed"].unmanageable_reason or "")
    assert "version 3" in (locks["Old door"].unmanageable_reason or "")
    assert locks["Garden studio"].manageable  # Wi-Fi locks need no gateway
    assert locks["Garden studio"].codes_not_automatic_reason is None
    assert locks["Garden studio"].attributes["wifi"] is True
    assert "managed from a distance" in (locks["No management"].unmanageable_reason or "")


def test_feature_bits_are_read_from_the_hex_string() -> None:
    assert has_feature("F44354CD5F3", 0) and has_feature("F44354CD5F3", 7)
    assert not has_feature("C27442140F5F4", 0)
    assert has_feature(FV_WIFI, 56) and not has_feature(FV_KEYPAD, 56)
    assert not has_feature("not-hex", 0)


def test_lock_details_show_battery_gateway_state_and_time_zone(
    clock: FixedClock, api: respx.MockRouter
) -> None:
    adapter = TTLockAdapter(make_config(hotel_timezone="Europe/Oslo"), clock=clock)
    api.get("/v3/lock/detail").respond(json={
        "lockId": 1, "lockAlias": "Room 101", "electricQuantity": 12,
        "featureValue": FV_KEYPAD, "hasGateway": 1, "keyboardPwdVersion": 4,
        "timezoneRawOffset": 28800000, "firmwareRevision": "6.0.6"})
    api.get("/v3/gateway/listByLock").respond(json={"list": [
        {"gatewayId": 11, "gatewayName": "G2 lobby", "rssi": -68}]})
    api.get("/v3/gateway/detail").respond(json={"gatewayId": 11, "isOnline": 0})
    try:
        details = adapter.lock_details("1")
    finally:
        adapter.close()
    items = dict(details.items)
    assert items["Battery"] == "12 %"
    assert items["Gateway"] == "G2 lobby (offline, signal strong)"
    assert items["Lock time zone"] == "UTC+08:00"
    assert items["Remote codes"] == "Yes"
    joined = " ".join(details.warnings)
    assert "battery is low" in joined
    assert "gateway is offline" in joined
    assert "UTC+08:00" in joined and "Europe/Oslo" in joined


def test_lock_details_of_a_lock_without_gateway(adapter: TTLockAdapter,
                                                api: respx.MockRouter) -> None:
    api.get("/v3/lock/detail").respond(json={
        "lockId": 2, "lockAlias": "Room 104", "electricQuantity": 90,
        "featureValue": FV_KEYPAD, "hasGateway": 0, "keyboardPwdVersion": 4})
    api.get("/v3/gateway/listByLock").respond(json={"list": []})
    details = adapter.lock_details("2")
    assert dict(details.items)["Gateway"] == "None"
    assert dict(details.items)["Remote codes"] == "No"
    assert any("gateway" in warning for warning in details.warnings)


def test_time_zone_check_knows_summer_time() -> None:
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    assert timezone_warning(3_600_000, "Europe/Oslo", winter) is None
    warning = timezone_warning(3_600_000, "Europe/Oslo", summer)
    assert warning is not None and "summer time" in warning and "1 hour" in warning
    assert timezone_warning(7_200_000, "Europe/Oslo", summer) is None
    far = timezone_warning(28_800_000, "America/New_York", winter)
    assert far is not None and "13 hours" in far


# --------------------------------------------------------------------------- codes


def test_list_codes_pages_with_order_and_parses_loose_types(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    start, end = to_ms(NOW), to_ms(NOW + timedelta(days=2))
    listing = api.get("/v3/lock/listKeyboardPwd").mock(side_effect=[
        httpx.Response(200, json={"list": [
            {"keyboardPwdId": 3234293, "keyboardPwd": "034234", "keyboardPwdName": "Jack",
             "keyboardPwdType": "3", "startDate": start, "endDate": end, "isCustom": 1}],
            "pageNo": 1, "pageSize": 200, "pages": 2, "total": 2}),
        httpx.Response(200, json={"list": [
            {"keyboardPwdId": 17, "keyboardPwd": "2580", "keyboardPwdName": "Housekeeping",
             "keyboardPwdType": 2, "startDate": 0, "endDate": 0}],
            "pageNo": 2, "pageSize": 200, "pages": 2, "total": 2}),
    ])
    codes = adapter.list_codes("532323")
    sent = [form(call.request) for call in listing.calls]
    assert [s["pageNo"] for s in sent] == ["1", "2"]
    assert {s["pageSize"] for s in sent} == {"200"}
    assert {s["orderBy"] for s in sent} == {"1"}
    assert {s["lockId"] for s in sent} == {"532323"}
    assert codes == [
        VendorCode("3234293", "034234", NOW, NOW + timedelta(days=2), "Jack"),
        VendorCode("17", "2580", None, None, "Housekeeping"),
    ]


def test_create_sends_a_period_code_through_the_gateway_to_the_minute(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    route_gateway_of_lock(api)
    add = api.post("/v3/keyboardPwd/add").respond(json={"keyboardPwdId": 39656536})
    created = adapter.create_code("21318606", request_for("0427"))
    sent = form(add.calls[0].request)
    start = NOW + timedelta(days=2)  # 30 s dropped: the start is floored to the minute
    end = NOW + timedelta(days=4, minutes=1)  # the end is rounded up to the next minute
    assert sent["lockId"] == "21318606"
    assert sent["keyboardPwd"] == "0427"  # leading zero kept
    assert sent["keyboardPwdType"] == "3"
    assert sent["addType"] == "2"
    assert sent["startDate"] == str(to_ms(start))
    assert sent["endDate"] == str(to_ms(end))
    assert sent["keyboardPwdName"] == "Mangodesk B-1002 Smith"
    assert created == VendorCode("39656536", "0427", start, end, "Mangodesk B-1002 Smith")


def test_add_change_delete_always_go_through_the_gateway_and_changes_send_both_dates(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    """The trap: type 1 (the default) changes only the cloud record, and a period change
    without startDate answers success and does nothing."""
    route_gateway_of_lock(api)
    add = api.post("/v3/keyboardPwd/add").respond(json={"keyboardPwdId": 99})
    change = api.post("/v3/keyboardPwd/change").respond(json=OK_BODY)
    delete = api.post("/v3/keyboardPwd/delete").respond(json=OK_BODY)
    created = adapter.create_code("21318606", request_for())
    assert created.valid_from is not None and created.valid_to is not None
    # Only the end moves (late check-out), then only the start (early check-in).
    adapter.update_code("21318606", created, created.valid_from,
                        created.valid_to + timedelta(hours=3))
    adapter.update_code("21318606", created, created.valid_from - timedelta(hours=2),
                        created.valid_to + timedelta(hours=3))
    adapter.revoke_code("21318606", created)

    assert form(add.calls[0].request)["addType"] == "2"
    assert change.call_count == 2
    for call in change.calls:
        sent = form(call.request)
        assert sent["changeType"] == "2"
        assert "startDate" in sent and "endDate" in sent
        assert sent["keyboardPwdId"] == "99"
    first, second = (form(call.request) for call in change.calls)
    assert first["startDate"] == str(to_ms(created.valid_from))
    assert first["endDate"] == str(to_ms(created.valid_to + timedelta(hours=3)))
    assert second["startDate"] == str(to_ms(created.valid_from - timedelta(hours=2)))
    assert form(delete.calls[0].request)["deleteType"] == "2"
    assert form(delete.calls[0].request)["keyboardPwdId"] == "99"


@pytest.mark.parametrize("pin", [None, "123", "1234567890", "12a4", "١٢٣٤"])
def test_invalid_pins_are_refused_before_any_call(adapter: TTLockAdapter,
                                                  api: respx.MockRouter,
                                                  pin: str | None) -> None:
    add = api.post("/v3/keyboardPwd/add").respond(json={"keyboardPwdId": 1})
    with pytest.raises(PermanentError, match="digits"):
        adapter.create_code("1", request_for(pin) if pin else CodeRequest(NOW, NOW, None))
    assert add.call_count == 0


def test_duplicate_pin_of_our_own_lost_create_is_resolved_by_lookup(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").respond(json=errbody(
        -3007, "The same passcode\u00a0already exists. Please use another one."))
    request = request_for("482915")
    lookup = api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [
        {"keyboardPwdId": 4242, "keyboardPwd": "482915",
         "keyboardPwdName": "Mangodesk B-1002 Smith", "keyboardPwdType": 3,
         "startDate": to_ms(NOW + timedelta(days=2)),
         "endDate": to_ms(NOW + timedelta(days=4, minutes=1))}], "pages": 1})
    found = adapter.create_code("21318606", request)
    assert found.vendor_ref == "4242" and found.pin == "482915"
    assert form(lookup.calls[0].request)["searchStr"] == "482915"


def test_duplicate_pin_of_someone_elses_code_is_a_conflict(adapter: TTLockAdapter,
                                                           api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").respond(json=errbody(-3007))
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [
        {"keyboardPwdId": 17, "keyboardPwd": "482915", "keyboardPwdName": "Housekeeping",
         "keyboardPwdType": 2, "startDate": 0, "endDate": 0}], "pages": 1})
    with pytest.raises(CodeConflictError) as caught:
        adapter.create_code("21318606", request_for("482915"))
    assert caught.value.vendor_code == "-3007"


def test_a_lost_answer_to_a_create_is_read_back(adapter: TTLockAdapter,
                                                api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").mock(side_effect=httpx.ReadTimeout("lost"))
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [
        {"keyboardPwdId": 4243, "keyboardPwd": "482915",
         "keyboardPwdName": "Mangodesk B-1002 Smith", "keyboardPwdType": 3,
         "startDate": 1, "endDate": 2}], "pages": 1})
    change = api.post("/v3/keyboardPwd/change").respond(json=OK_BODY)
    adopted = adapter.create_code("21318606", request_for("482915"))
    assert adopted.vendor_ref == "4243"
    # Ours by its label but with other dates: brought to the requested window on the lock.
    sent = form(change.calls.last.request)
    assert (int(sent["startDate"]), int(sent["endDate"])) == (
        to_ms(adopted.valid_from), to_ms(adopted.valid_to))


def test_a_lost_answer_that_cannot_be_read_back_stays_ambiguous(
    adapter: TTLockAdapter, api: respx.MockRouter
) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").mock(side_effect=httpx.ReadTimeout("lost"))
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1})
    with pytest.raises(AmbiguousError):
        adapter.create_code("21318606", request_for("482915"))


def test_gateway_busy_is_transient_with_a_short_retry(adapter: TTLockAdapter,
                                                      api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    api.post("/v3/keyboardPwd/add").respond(json=errbody(-3003, "The gateway is busy."))
    with pytest.raises(TransientError) as caught:
        adapter.create_code("21318606", request_for())
    assert caught.value.retry_after == 15


def test_writes_through_one_gateway_share_one_mutex(clock: FixedClock,
                                                    api: respx.MockRouter) -> None:
    def by_lock(request: httpx.Request) -> httpx.Response:
        gateway = {"1": 11, "2": 11, "3": 12}[form(request)["lockId"]]
        return httpx.Response(200, json={"list": [{"gatewayId": gateway, "rssi": -60}]})

    api.get("/v3/gateway/listByLock").mock(side_effect=by_lock)
    first, second = (TTLockAdapter(make_config(), clock=clock) for _ in range(2))
    try:
        same_gateway = first._gateway_serialised("1"), second._gateway_serialised("2")
        other_gateway = first._gateway_serialised("3")
    finally:
        first.close()
        second.close()
    assert same_gateway[0] is same_gateway[1]
    assert other_gateway is not same_gateway[0]


def test_a_code_without_a_numeric_reference_cannot_be_changed(adapter: TTLockAdapter,
                                                              api: respx.MockRouter) -> None:
    route_gateway_of_lock(api)
    with pytest.raises(PermanentError, match="code number"):
        adapter.revoke_code("1", code(ref="manual:1"))


def test_request_count_tracks_calls_against_the_quota(adapter: TTLockAdapter,
                                                      api: respx.MockRouter) -> None:
    api.get("/v3/lock/listKeyboardPwd").respond(json={"list": [], "pages": 1})
    adapter.list_codes("1")
    adapter.list_codes("1")
    assert adapter.request_count == 3  # one sign-in and two reads


def test_lock_details_explain_a_lock_that_cannot_take_codes(adapter: TTLockAdapter,
                                                            api: respx.MockRouter) -> None:
    api.get("/v3/lock/detail").respond(json={
        "lockId": 3, "lockAlias": "Old door", "electricQuantity": 70,
        "featureValue": FV_KEYPAD, "hasGateway": 1, "keyboardPwdVersion": 3})
    api.get("/v3/gateway/listByLock").respond(json={"list": [
        {"gatewayId": 11, "gatewayName": "G2 lobby", "rssi": -90}]})
    api.get("/v3/gateway/detail").respond(json={"gatewayId": 11, "isOnline": 1})
    details = adapter.lock_details("3")
    items = dict(details.items)
    assert items["Gateway"] == "G2 lobby (online, signal weak)"
    assert items["Remote codes"] == "No"
    assert items["Passcode version"] == "3"
    assert [w for w in details.warnings if "version 3" in w]
    assert not [w for w in details.warnings if "gateway" in w]


def test_a_bare_host_means_https(clock: FixedClock, api: respx.MockRouter) -> None:
    adapter = TTLockAdapter(make_config(api_base=" euapi.ttlock.com/ "), clock=clock)
    try:
        assert adapter.api_base == EU_API_BASE
    finally:
        adapter.close()


def test_only_a_known_old_passcode_version_blocks_a_lock() -> None:
    lock = {"featureValue": FV_KEYPAD, "hasGateway": 1}
    assert unmanageable_reason({**lock, "keyboardPwdVersion": 4}) is None
    assert unmanageable_reason(lock) is None  # field missing: not blocking
    old = unmanageable_reason({**lock, "keyboardPwdVersion": "2"})
    assert old is not None and "version 2" in old
