"""A local TTLock cloud: the Open API v3 endpoints Mangodesk uses, on loopback.

It follows shared/reference/vendors-http.md §1: OAuth password grant (MD5 password) and
refresh, ``clientId``/``accessToken``/``date`` on every ``/v3`` call with the ±5 min date check,
parameters merged from the query string and the form body, success bodies without ``errcode``
and errors as ``{"errcode": …}`` with HTTP 200. Passcodes keep the vendor's traps: type 1
writes change only the cloud record (the door never sees them), a period change without
``startDate`` answers success and changes nothing, the same digits twice give −3007, and a
lock holds at most 250 custom codes.

Where the public docs are silent the simulator decides (listed in ``ASSUMPTIONS``). Tests and
the demo drive it through the Python API: inspect the codes on a lock, take gateways offline,
make them busy, inject errcodes, HTTP errors, latency and lost answers, expire tokens and use
up the monthly quota.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.types import VendorKind
from mangodesk.sim.base import DemoVendor, LoopbackServer

ASSUMPTIONS = (
    "An unknown access token gives 10003, an expired one 10004, a bad refresh token 10011.",
    "An unknown clientId gives 10000; a known clientId with the wrong secret gives 10001.",
    "A password that is not 32 lowercase hex characters gives 30005, a wrong one 10007.",
    "The token endpoint is not subject to the date check or the monthly quota.",
    "Every /v3 call counts against the quota; past it every /v3 call gives 30007.",
    "Check order on /v3: clientId, token, date, quota, then the endpoint's own rules.",
    "Adding, changing or deleting through the gateway on a lock whose passcode version is "
    "below 4, or that has no keypad, gives −4043 (function not supported).",
    "A gateway write to a lock with no gateway link and no Wi-Fi gives −2012; with gateways "
    "that are all offline −3002; while the gateway is writing another request −3003.",
    "A gateway that goes offline refuses writes at once but is reported isOnline=1 for the "
    "8-minute heartbeat window; its link to the lock (hasGateway) stays.",
    "Changing or deleting an unknown keyboardPwdId gives −2009.",
    "Validity dates are stored to the minute (seconds dropped).",
    "The same digits on the lock give −3007 whatever their period, expired codes included.",
    "listKeyboardPwd lists expired codes until they are deleted; pageSize above 200 is "
    "treated as 200; a missing orderBy gives −3.",
    "A lost answer means the request was carried out, then the connection closed unanswered.",
)

DEMO_USERNAME = "frontdesk@hotel-mango.example"
DEMO_PASSWORD = "demo-lock-password"
DEMO_CLIENT_ID = "mangodesk-demo-client"
DEMO_CLIENT_SECRET = "mangodesk-demo-secret"

SUCCESS_BODY = {"errcode": 0, "errmsg": "none error message or means yes",
                "description": "表示成功或是"}

HEARTBEAT_TIMEOUT = timedelta(minutes=8)
DATE_TOLERANCE_MS = 5 * 60 * 1000
MAX_CUSTOM_CODES = 250
FEATURE_WIFI_BIT = 56

# Feature values from the reference (§1.6): a keypad lock, a keypad-less lock, an old lock.
FV_KEYPAD = "F44354CD5F3"
FV_NO_KEYPAD = "C27442140F5F4"
FV_OLD = "4D4E7"
FV_WIFI = format(int(FV_KEYPAD, 16) | (1 << FEATURE_WIFI_BIT), "X")

_MESSAGES: dict[int, tuple[str, str]] = {
    -3: ("invalid parameter", "参数错误"),
    1: ("failed or means no", "表示失败或否"),
    10000: ("invalid client_id", "client_id不存在"),
    10001: ("invalid client", "client_id或client_secret错误"),
    10003: ("invalid token", "token不存在"),
    10004: ("invalid grant", "token无授权，token已失效或被撤销授权"),
    10007: ("invalid account or invalid password", "用户名或密码错误"),
    10011: ("invalid refresh_token", "refresh_token无效"),
    30005: ("password must be md5 encrypted", "密码必须md5加密"),
    30006: ("API call frequency limit exceeded", "接口调用频率超出限制"),
    30007: ("API call quota of this month exceeded", "本月接口调用次数已用完"),
    80000: ("date must be current time, in 5 minutes", "date参数需为当前时间，5分钟内"),
    -1003: ("lock does not exist", "锁不存在"),
    -2009: ("Invalid Password", "密码不存在"),
    -2012: ("The lock is not connected to any gateway.", "锁未连接网关"),
    -3002: ("The gateway is offline. Please check and try again.", "网关离线，请检查后重试"),
    -3003: ("The gateway is busy. Please try again later.", "网关正忙，请稍后再试。"),
    -3006: ("Invalid passcode length", "密码长度无效"),
    -3007: ("The same passcode\u00a0already exists. Please use another one.",
            "已存在相同的密码，请更换。"),
    -3009: ("The passcode storage is full. Please delete some passcodes.", "密码存储已满"),
    -4037: ("No such gateway exists.", "网关不存在"),
    -4043: ("The function is not supported for this lock.", "该锁不支持此功能"),
}


class _ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class SimGateway:
    gateway_id: int
    name: str
    mac: str
    version: int = 2
    network_name: str = "Hotel-Staff"
    online: bool = True
    offline_since: datetime | None = None
    writing: bool = False  # busy writing to a lock (another write now gives −3003)


@dataclass
class SimLock:
    lock_id: int
    lock_name: str
    alias: str
    mac: str
    feature_value: str = FV_KEYPAD
    keyboard_pwd_version: int = 4
    battery: int = 90
    timezone_raw_offset: int = 3_600_000
    gateways: dict[int, int] = field(default_factory=dict)  # gateway id → rssi
    wifi_online: bool = True
    model: str = "SN9206_PV53"
    firmware: str = "6.0.6.210622"
    group_name: str = ""
    init_date: int = 1_669_690_212_000

    @property
    def is_wifi(self) -> bool:
        return bool((int(self.feature_value, 16) >> FEATURE_WIFI_BIT) & 1)

    @property
    def has_keypad(self) -> bool:
        return bool(int(self.feature_value, 16) & 1)


@dataclass
class SimCode:
    """A passcode as the cloud lists it, and what the door itself enforces."""

    keyboard_pwd_id: int
    lock_id: int
    pwd: str
    name: str
    pwd_type: int  # 2 permanent, 3 period
    start_ms: int
    end_ms: int
    send_ms: int
    on_lock: bool  # written to the lock through the gateway (type 2)
    lock_start_ms: int  # the window the door enforces (stale after a cloud-only change)
    lock_end_ms: int
    is_custom: int = 1
    sender: str = "hotel_admin"

    def as_json(self) -> dict[str, Any]:
        return {
            "keyboardPwdId": self.keyboard_pwd_id, "lockId": self.lock_id,
            "keyboardPwd": self.pwd, "keyboardPwdName": self.name,
            # The docs' example lists the type as a string; clients must parse it loosely.
            "keyboardPwdType": str(self.pwd_type),
            "startDate": self.start_ms if self.pwd_type == 3 else 0,
            "endDate": self.end_ms if self.pwd_type == 3 else 0,
            "sendDate": self.send_ms, "isCustom": self.is_custom,
            "senderUsername": self.sender,
        }


@dataclass(frozen=True)
class SimRequest:
    """One call as the simulator saw it (credentials and tokens removed)."""

    method: str
    path: str
    params: dict[str, str]


_REDACTED = {"accessToken", "clientSecret", "password", "refresh_token", "access_token"}


def _ms(instant: datetime) -> int:
    return int((instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def _minute(millis: int) -> int:
    return millis - millis % 60_000


class TTLockSimulator:
    """One TTLock account and developer app, served on 127.0.0.1 (any free port)."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        populate: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.username = username
        self.password = password
        self.client_id = client_id
        self.client_secret = client_secret
        self.uid = 8123456
        self.token_lifetime = timedelta(days=90)
        self.latency = 0.0  # seconds before every answer
        self.gateway_write_seconds = 0.0  # the gateway is busy this long per lock write
        self.quota_limit: int | None = None
        self.request_count = 0
        self.locks: dict[int, SimLock] = {}
        self.gateways: dict[int, SimGateway] = {}
        self.requests: list[SimRequest] = []
        self._codes: dict[int, list[SimCode]] = defaultdict(list)
        self._ghost_codes: dict[int, list[SimCode]] = defaultdict(list)
        self._tokens: dict[str, datetime] = {}
        self._refresh_tokens: set[str] = set()
        self._next_pwd_id = 39_656_524
        self._errcode_faults: dict[str, deque[int]] = defaultdict(deque)
        self._status_faults: dict[str, deque[int]] = defaultdict(deque)
        self._lost_answers: dict[str, int] = defaultdict(int)
        self._busy_writes: dict[int, int] = defaultdict(int)
        self._state = threading.RLock()
        self._stopping = threading.Event()
        self._server: LoopbackServer | None = None
        if populate:
            self._populate()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> TTLockSimulator:
        handler = type("TTLockHandler", (_Handler,), {"sim": self})
        self._server = LoopbackServer(handler).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> TTLockSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the TTLock simulator is not running")
        return self._server.base_url

    def connection_values(self) -> dict[str, str]:
        """What the connect wizard collects to reach this simulator (secrets included)."""
        return {
            "username": self.username,
            "password": self.password,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_base": self.base_url,
        }

    # ----------------------------------------------------------------- Python API

    def add_gateway(self, gateway_id: int, name: str, *, online: bool = True) -> SimGateway:
        mac = ":".join(f"{(gateway_id >> s) & 0xFF:02X}" for s in (40, 32, 24, 16, 8, 0))
        gateway = SimGateway(gateway_id, name, mac, online=online)
        with self._state:
            self.gateways[gateway_id] = gateway
        return gateway

    def add_lock(self, lock_id: int, alias: str, *, gateways: dict[int, int] | None = None,
                 **fields: Any) -> SimLock:
        mac = ":".join(f"{(lock_id >> s) & 0xFF:02X}" for s in (40, 32, 24, 16, 8, 0))
        lock = SimLock(lock_id, f"S31_{lock_id & 0xFFFFFF:06x}", alias, mac,
                       gateways=dict(gateways or {}), **fields)
        with self._state:
            self.locks[lock_id] = lock
        return lock

    def add_existing_code(self, lock_id: int, pwd: str, name: str, *,
                          start: datetime | None = None, end: datetime | None = None) -> SimCode:
        """A code already on the lock (set up in the TTLock app): permanent without dates."""
        with self._state:
            permanent = start is None or end is None
            start_ms = 0 if start is None else _minute(_ms(start))
            end_ms = 0 if end is None else _minute(_ms(end))
            code = SimCode(self._new_pwd_id(), lock_id, pwd, name, 2 if permanent else 3,
                           start_ms, end_ms, _ms(self.clock.now()), True, start_ms, end_ms)
            self._codes[lock_id].append(code)
            return replace(code)

    def delete_in_app(self, lock_id: int, pwd: str) -> None:
        """Staff delete the code in the TTLock app (through the gateway: the door forgets it
        too); Mangodesk is not told."""
        with self._state:
            code = next(c for c in self._codes[lock_id] if c.pwd == pwd)
            self._codes[lock_id].remove(code)

    def fill_lock(self, lock_id: int, count: int) -> None:
        """Put ``count`` permanent codes on a lock (for the 250-code limit)."""
        for index in range(count):
            self.add_existing_code(lock_id, f"{70000000 + index:08d}", f"Filler {index}")

    def codes_on(self, lock_id: int) -> list[SimCode]:
        """The codes the cloud lists for a lock (copies)."""
        with self._state:
            return [replace(code) for code in self._codes[lock_id]]

    def code(self, lock_id: int, pwd: str) -> SimCode | None:
        return next((c for c in self.codes_on(lock_id) if c.pwd == pwd), None)

    def ghost_codes(self, lock_id: int) -> list[SimCode]:
        """Codes deleted from the cloud with deleteType 1: the door still opens with them."""
        with self._state:
            return [replace(code) for code in self._ghost_codes[lock_id]]

    def set_gateway_online(self, gateway_id: int, online: bool) -> None:
        with self._state:
            gateway = self.gateways[gateway_id]
            if gateway.online and not online:
                gateway.offline_since = self.clock.now()
            if online:
                gateway.offline_since = None
            gateway.online = online

    def make_gateway_busy(self, gateway_id: int, times: int = 1) -> None:
        """The next ``times`` writes through this gateway answer −3003."""
        with self._state:
            self._busy_writes[gateway_id] += times

    def inject_errcode(self, path: str, errcode: int, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` (e.g. "/v3/keyboardPwd/add") fail so."""
        with self._state:
            self._errcode_faults[path].extend([errcode] * times)

    def inject_http_status(self, path: str, status: int, times: int = 1) -> None:
        with self._state:
            self._status_faults[path].extend([status] * times)

    def lose_answers(self, path: str, times: int = 1) -> None:
        """Carry out the next ``times`` calls to ``path``, then drop the connection unanswered."""
        with self._state:
            self._lost_answers[path] += times

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (10004); refresh tokens still work."""
        with self._state:
            past = self.clock.now() - timedelta(seconds=1)
            for token in self._tokens:
                self._tokens[token] = past

    def revoke_refresh_tokens(self) -> None:
        with self._state:
            self._refresh_tokens.clear()

    def exhaust_quota(self) -> None:
        with self._state:
            self.quota_limit = self.request_count

    def paths_called(self) -> list[str]:
        with self._state:
            return [request.path for request in self.requests]

    # ----------------------------------------------------------------- dispatch

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any, bool]:
        """Answer one call: (HTTP status, JSON body, lose the answer after applying)."""
        with self._state:
            self.requests.append(SimRequest(method, path, {
                k: ("•••" if k in _REDACTED else v) for k, v in params.items()}))
            status_faults = self._status_faults.get(path)
            if status_faults:
                return status_faults.popleft(), {"error": "injected"}, False
            lose = self._lost_answers.get(path, 0) > 0
            if lose:
                self._lost_answers[path] -= 1
        try:
            if path == "/oauth2/token":
                body: Any = self._token(params)
            elif path.startswith("/v3/"):
                body = self._v3(path, params)
            elif path == "/app/getMonthRequestCount":
                body = self._month_count(params)
            else:
                return 404, {"error": "not found"}, False
        except _ApiError as exc:
            errmsg, description = _MESSAGES.get(exc.errcode, ("error", ""))
            body = {"errcode": exc.errcode, "errmsg": exc.errmsg or errmsg,
                    "description": description}
        return 200, body, lose

    def _token(self, params: dict[str, str]) -> dict[str, Any]:
        with self._state:
            self._check_client(params.get("clientId") or params.get("client_id"),
                               params.get("clientSecret") or params.get("client_secret"))
            if params.get("grant_type") == "refresh_token":
                if params.get("refresh_token") not in self._refresh_tokens:
                    raise _ApiError(10011)
                self._refresh_tokens.discard(params["refresh_token"])
                return self._issue_token(with_uid=False)
            if params.get("username") != self.username:
                raise _ApiError(10007)
            password = params.get("password", "")
            if not re.fullmatch(r"[0-9a-f]{32}", password):
                raise _ApiError(30005)
            if password != hashlib.md5(self.password.encode()).hexdigest():  # noqa: S324
                raise _ApiError(10007)
            return self._issue_token(with_uid=True)

    def _issue_token(self, *, with_uid: bool) -> dict[str, Any]:
        access = secrets.token_hex(16)
        refresh = secrets.token_hex(16)
        self._tokens[access] = self.clock.now() + self.token_lifetime
        self._refresh_tokens.add(refresh)
        body: dict[str, Any] = {"access_token": access, "refresh_token": refresh,
                                "expires_in": int(self.token_lifetime.total_seconds())}
        if with_uid:
            body["uid"] = self.uid
        return body

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.client_id:
            raise _ApiError(10000)
        if client_secret is not None and client_secret != self.client_secret:
            raise _ApiError(10001)

    def _month_count(self, params: dict[str, str]) -> dict[str, Any]:
        with self._state:
            self._check_client(params.get("clientId"), params.get("clientSecret") or "")
            return {"monthRequestCount": self.request_count}

    def _v3(self, path: str, params: dict[str, str]) -> Any:
        with self._state:
            self._check_client(params.get("clientId"), None)
            token = params.get("accessToken", "")
            if token not in self._tokens:
                raise _ApiError(10003)
            if self.clock.now() >= self._tokens[token]:
                raise _ApiError(10004)
            date = _int(params, "date")
            if abs(date - _ms(self.clock.now())) > DATE_TOLERANCE_MS:
                raise _ApiError(80000)
            self.request_count += 1
            if self.quota_limit is not None and self.request_count > self.quota_limit:
                raise _ApiError(30007)
            faults = self._errcode_faults.get(path)
            if faults:
                raise _ApiError(faults.popleft())
            handler = _ROUTES.get(path)
            if handler is None:
                raise _ApiError(-3, f"unknown API {path}")
            type_param = _GATEWAY_WRITES.get(path)
            if type_param is not None:
                return self._gateway_write(handler, type_param, params)
            return handler(self, params)

    def _gateway_write(self, handler: Any, type_param: str, params: dict[str, str]) -> Any:
        """Writes of type 2 go through a gateway that does one thing at a time; the default
        type 1 only changes the cloud record."""
        lock = self._lock(params)
        via_gateway = _int(params, type_param, default=1) == 2
        if not via_gateway:
            return handler(self, params)
        gateway = self._route(lock)
        if gateway is None:  # a Wi-Fi lock talks to the cloud itself
            return handler(self, params)
        if self._busy_writes[gateway.gateway_id] > 0:
            self._busy_writes[gateway.gateway_id] -= 1
            raise _ApiError(-3003)
        if gateway.writing:
            raise _ApiError(-3003)
        if self.gateway_write_seconds <= 0:
            return handler(self, params)
        gateway.writing = True
        self._state.release()
        try:
            self._stopping.wait(self.gateway_write_seconds)
        finally:
            self._state.acquire()
            gateway.writing = False
        return handler(self, params)

    def _route(self, lock: SimLock) -> SimGateway | None:
        if not lock.has_keypad or lock.keyboard_pwd_version < 4:
            raise _ApiError(-4043)
        linked = [self.gateways[g] for g in lock.gateways if g in self.gateways]
        if not linked:
            if lock.is_wifi:
                if not lock.wifi_online:
                    raise _ApiError(-3036)
                return None
            raise _ApiError(-2012)
        online = [g for g in linked if g.online]
        if not online:
            raise _ApiError(-3002)
        return max(online, key=lambda g: lock.gateways[g.gateway_id])

    # ----------------------------------------------------------------- endpoints

    def _lock(self, params: dict[str, str]) -> SimLock:
        lock = self.locks.get(_int(params, "lockId"))
        if lock is None:
            raise _ApiError(-1003)
        return lock

    def _reported_online(self, gateway: SimGateway) -> bool:
        if gateway.online:
            return True
        since = gateway.offline_since
        return since is not None and self.clock.now() < since + HEARTBEAT_TIMEOUT

    def _lock_json(self, lock: SimLock) -> dict[str, Any]:
        return {
            "lockId": lock.lock_id, "lockName": lock.lock_name, "lockAlias": lock.alias,
            "lockMac": lock.mac, "electricQuantity": lock.battery,
            "featureValue": lock.feature_value, "hasGateway": 1 if lock.gateways else 0,
            "lockData": "<opaque>", "groupId": 0, "groupName": lock.group_name,
            "date": lock.init_date,
        }

    def ep_lock_list(self, params: dict[str, str]) -> dict[str, Any]:
        locks = sorted(self.locks.values(), key=lambda lock: lock.lock_id)
        return _page([self._lock_json(lock) for lock in locks], params, 1000)

    def ep_lock_detail(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        return {
            **self._lock_json(lock), "keyboardPwdVersion": lock.keyboard_pwd_version,
            "timezoneRawOffset": lock.timezone_raw_offset, "modelNum": lock.model,
            "hardwareRevision": "1.6", "firmwareRevision": lock.firmware,
            "autoLockTime": 5, "isFrozen": 2, "noKeyPwd": "<secret>",
        }

    def ep_gateway_list(self, params: dict[str, str]) -> dict[str, Any]:
        _require(params, "orderBy")
        rows = [self._gateway_json(g) for g in sorted(self.gateways.values(),
                                                      key=lambda g: g.name)]
        return _page(rows, params, 200)

    def _gateway_json(self, gateway: SimGateway) -> dict[str, Any]:
        lock_count = sum(1 for lock in self.locks.values() if gateway.gateway_id in lock.gateways)
        return {
            "gatewayId": gateway.gateway_id, "gatewayMac": gateway.mac,
            "gatewayName": gateway.name, "gatewayVersion": gateway.version,
            "networkName": gateway.network_name, "networkMac": "AA:BB:CC:00:11:22",
            "lockNum": lock_count, "isOnline": 1 if self._reported_online(gateway) else 0,
        }

    def ep_gateway_detail(self, params: dict[str, str]) -> dict[str, Any]:
        gateway = self.gateways.get(_int(params, "gatewayId"))
        if gateway is None:
            raise _ApiError(-4037)
        return self._gateway_json(gateway)

    def ep_gateway_list_lock(self, params: dict[str, str]) -> dict[str, Any]:
        gateway_id = _int(params, "gatewayId")
        if gateway_id not in self.gateways:
            raise _ApiError(-4037)
        now = _ms(self.clock.now())
        return {"list": [
            {"lockId": lock.lock_id, "lockMac": lock.mac, "lockName": lock.lock_name,
             "lockAlias": lock.alias, "rssi": lock.gateways[gateway_id], "updateDate": now}
            for lock in self.locks.values() if gateway_id in lock.gateways
        ]}

    def ep_gateway_list_by_lock(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        now = _ms(self.clock.now())
        return {"list": [
            {"gatewayId": g.gateway_id, "gatewayMac": g.mac, "gatewayName": g.name,
             "rssi": lock.gateways[g.gateway_id], "rssiUpdateDate": now}
            for g in (self.gateways[gid] for gid in lock.gateways if gid in self.gateways)
        ]}

    def ep_list_codes(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        order = _int(params, "orderBy")
        codes = list(self._codes[lock.lock_id])
        search = params.get("searchStr")
        if search:
            codes = [c for c in codes if c.pwd == search or search.lower() in c.name.lower()]
        if order == 1:
            codes.sort(key=lambda c: (c.send_ms, c.keyboard_pwd_id), reverse=True)
        else:
            codes.sort(key=lambda c: c.name.lower(), reverse=order == 2)
        return _page([c.as_json() for c in codes], params, 200)

    def ep_add_code(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        pwd = params.get("keyboardPwd", "")
        if not re.fullmatch(r"[0-9]{4,9}", pwd):
            raise _ApiError(-3006)
        pwd_type = _int(params, "keyboardPwdType", default=3)
        if pwd_type not in (2, 3):
            raise _ApiError(-3)
        start_ms = end_ms = 0
        if pwd_type == 3:
            start_ms = _minute(_int(params, "startDate"))
            end_ms = _minute(_int(params, "endDate"))
            if end_ms <= start_ms:
                raise _ApiError(-3)
        codes = self._codes[lock.lock_id]
        if any(code.pwd == pwd for code in codes):
            raise _ApiError(-3007)
        if sum(code.is_custom for code in codes) >= MAX_CUSTOM_CODES:
            raise _ApiError(-3009)
        on_lock = _int(params, "addType", default=1) == 2
        code = SimCode(self._new_pwd_id(), lock.lock_id, pwd, params.get("keyboardPwdName", ""),
                       pwd_type, start_ms, end_ms, _ms(self.clock.now()), on_lock,
                       start_ms, end_ms)
        codes.append(code)
        return {"keyboardPwdId": code.keyboard_pwd_id}

    def ep_change_code(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        code = self._find_code(lock, _int(params, "keyboardPwdId"))
        via_gateway = _int(params, "changeType", default=1) == 2
        if "keyboardPwdName" in params:
            code.name = params["keyboardPwdName"]
        new_pwd = params.get("newKeyboardPwd")
        if new_pwd:
            if not re.fullmatch(r"[0-9]{4,9}", new_pwd):
                raise _ApiError(-3006)
            if any(c.pwd == new_pwd and c is not code for c in self._codes[lock.lock_id]):
                raise _ApiError(-3007)
            code.pwd = new_pwd
        # The documented trap: without startDate a period change "succeeds" and does nothing.
        if "startDate" in params and "endDate" in params:
            start_ms = _minute(_int(params, "startDate"))
            end_ms = _minute(_int(params, "endDate"))
            if end_ms <= start_ms:
                raise _ApiError(-3)
            code.start_ms, code.end_ms = start_ms, end_ms
            code.pwd_type = 3
            if via_gateway and code.on_lock:
                code.lock_start_ms, code.lock_end_ms = start_ms, end_ms
        return dict(SUCCESS_BODY)

    def ep_delete_code(self, params: dict[str, str]) -> dict[str, Any]:
        lock = self._lock(params)
        code = self._find_code(lock, _int(params, "keyboardPwdId"))
        self._codes[lock.lock_id].remove(code)
        if _int(params, "deleteType", default=1) != 2 and code.on_lock:
            self._ghost_codes[lock.lock_id].append(code)
        return dict(SUCCESS_BODY)

    def _find_code(self, lock: SimLock, pwd_id: int) -> SimCode:
        for code in self._codes[lock.lock_id]:
            if code.keyboard_pwd_id == pwd_id:
                return code
        raise _ApiError(-2009)

    def _new_pwd_id(self) -> int:
        self._next_pwd_id += 1
        return self._next_pwd_id

    # ----------------------------------------------------------------- demo data

    def _populate(self) -> None:
        """A small hotel: two gateways, guest-room locks, and the awkward cases."""
        lobby = self.add_gateway(1461158, "G2_938b2b Lobby").gateway_id
        annex = self.add_gateway(1461270, "G3_a10c44 Annex").gateway_id
        self.add_lock(21318606, "Room 101", gateways={lobby: -62}, battery=90)
        self.add_lock(21318611, "Room 102", gateways={lobby: -71}, battery=76)
        self.add_lock(21318623, "Room 103", gateways={lobby: -83, annex: -88}, battery=15,
                      timezone_raw_offset=28_800_000)  # factory default UTC+8
        self.add_lock(21318640, "Apartment Sol", gateways={annex: -58}, battery=64)
        self.add_lock(21318655, "Room 104")  # no gateway near it
        self.add_lock(21318667, "Bike shed", gateways={annex: -77},
                      feature_value=FV_NO_KEYPAD, model="P2")
        self.add_lock(21318679, "Old annex door", gateways={annex: -80}, feature_value=FV_OLD,
                      keyboard_pwd_version=3, firmware="4.3.1")
        self.add_lock(21318688, "Garden studio", feature_value=FV_WIFI, battery=81)
        now = self.clock.now()
        self.add_existing_code(21318606, "2580", "Housekeeping")
        self.add_existing_code(21318606, "0427", "Booking 1234 (old guest)",
                               start=now - timedelta(days=10), end=now - timedelta(days=7))
        self.add_existing_code(21318611, "913375", "Plumber",
                               start=now + timedelta(days=1), end=now + timedelta(days=2))


# Writes that can go through the gateway, and the parameter that says so (2 = gateway).
_GATEWAY_WRITES = {
    "/v3/keyboardPwd/add": "addType",
    "/v3/keyboardPwd/change": "changeType",
    "/v3/keyboardPwd/delete": "deleteType",
}

_ROUTES: dict[str, Any] = {
    "/v3/lock/list": TTLockSimulator.ep_lock_list,
    "/v3/lock/detail": TTLockSimulator.ep_lock_detail,
    "/v3/gateway/list": TTLockSimulator.ep_gateway_list,
    "/v3/gateway/detail": TTLockSimulator.ep_gateway_detail,
    "/v3/gateway/listLock": TTLockSimulator.ep_gateway_list_lock,
    "/v3/gateway/listByLock": TTLockSimulator.ep_gateway_list_by_lock,
    "/v3/lock/listKeyboardPwd": TTLockSimulator.ep_list_codes,
    "/v3/keyboardPwd/add": TTLockSimulator.ep_add_code,
    "/v3/keyboardPwd/change": TTLockSimulator.ep_change_code,
    "/v3/keyboardPwd/delete": TTLockSimulator.ep_delete_code,
}

def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise _ApiError(-3, f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise _ApiError(-3, f"{name} must be a number") from None


def _require(params: dict[str, str], name: str) -> None:
    _int(params, name)


def _page(rows: list[dict[str, Any]], params: dict[str, str], max_size: int) -> dict[str, Any]:
    page_no = max(1, _int(params, "pageNo", default=1))
    page_size = min(max(1, _int(params, "pageSize", default=20)), max_size)
    total = len(rows)
    pages = max(1, -(-total // page_size))
    start = (page_no - 1) * page_size
    return {"list": rows[start:start + page_size], "pageNo": page_no, "pageSize": page_size,
            "pages": pages, "total": total}


class _Handler(BaseHTTPRequestHandler):
    sim: TTLockSimulator

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet: tests treat stray output as noise

    def _serve(self) -> None:
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8", "replace")
            params.update({k: v[-1] for k, v in
                           parse_qs(body, keep_blank_values=True).items()})
        if self.sim.latency > 0 and self.sim._stopping.wait(self.sim.latency):
            self.close_connection = True
            return
        status, payload, lose = self.sim.handle(self.command, url.path, params)
        if lose:
            self.close_connection = True
            return
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve


def start_for_demo() -> DemoVendor:
    """Start a simulated TTLock account and say how the connect wizard reaches it."""
    simulator = TTLockSimulator().start()
    return DemoVendor(
        kind=VendorKind.TTLOCK,
        display_name="TTLock (demo)",
        values=simulator.connection_values(),
        stop=simulator.stop,
    )
