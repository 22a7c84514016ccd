"""The simulator reproduces the Beds24 behaviours the adapter must cope with (raw HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.sim.beds24 import Beds24Simulator, start_for_demo


@pytest.fixture
def client(sim: Beds24Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as http:
        reply = http.get("/authentication/setup", headers={"code": sim.create_invite_code()})
        http.headers["token"] = reply.json()["token"]
        yield http


def ids(reply: httpx.Response) -> set[int]:
    return {b["id"] for b in reply.json()["data"]}


def test_cancelled_bookings_only_when_asked_for(
    client: httpx.Client, sim: Beds24Simulator
) -> None:
    departure_from = {"departureFrom": (sim.today - timedelta(days=30)).isoformat()}
    cancelled = {b.id for b in sim.bookings.values() if b.status == "cancelled"}
    default = client.get("/bookings", params={**departure_from, "page": 1})
    assert not ids(default) & cancelled
    asked = client.get("/bookings", params=[*departure_from.items(), ("status", "cancelled")])
    assert ids(asked) and ids(asked) <= cancelled


def test_without_a_date_filter_only_upcoming_bookings_come_back(
    client: httpx.Client, sim: Beds24Simulator
) -> None:
    statuses = [("status", s) for s in ("confirmed", "cancelled", "new", "request")]
    seen: set[int] = set()
    page = 1
    while True:
        reply = client.get("/bookings", params=[*statuses, ("page", str(page))])
        seen |= ids(reply)
        if not reply.json()["pages"]["nextPageExists"]:
            break
        page += 1
    assert seen and all(sim.booking(i).departure >= sim.today for i in seen)
    assert any(b.departure < sim.today for b in sim.bookings.values())


def test_credits_run_out_with_a_429_and_reset_after_five_minutes(
    client: httpx.Client, sim: Beds24Simulator, clock: FixedClock
) -> None:
    sim.set_credits(limit=3, used=0)
    replies = [client.get("/accounts") for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert replies[2].headers["X-FiveMinCreditLimit-Remaining"] == "0"
    assert int(replies[3].headers["X-FiveMinCreditLimit-ResetsIn"]) <= 300
    clock.advance(timedelta(minutes=5))
    assert client.get("/accounts").status_code == 200


def test_expired_tokens_get_401_and_a_refresh_token_mints_a_new_one(
    client: httpx.Client, sim: Beds24Simulator
) -> None:
    refresh = client.get("/authentication/setup",
                         headers={"code": sim.create_invite_code()}).json()["refreshToken"]
    sim.expire_tokens()
    assert client.get("/accounts").status_code == 401
    renewed = client.get("/authentication/token", headers={"refreshToken": refresh})
    assert renewed.status_code == 200 and renewed.json()["expiresIn"] == 86400
    assert client.get("/accounts", headers={"token": renewed.json()["token"]}).status_code == 200


def test_a_stopped_simulator_refuses_connections(sim: Beds24Simulator) -> None:
    with httpx.Client(base_url=sim.base_url, timeout=2.0) as http:
        assert http.get("/accounts").status_code == 401  # keep-alive connection is open
        sim.stop()
        with pytest.raises(httpx.TransportError):
            http.get("/accounts")


def test_start_for_demo_gives_what_connecting_needs() -> None:
    simulator, values = start_for_demo(rooms=6)
    try:
        assert set(values) == {"base_url", "invite_code", "timezone"}
        with httpx.Client(base_url=values["base_url"], timeout=5.0) as http:
            reply = http.get("/authentication/setup", headers={"code": values["invite_code"]})
        assert reply.status_code == 200 and reply.json()["refreshToken"]
    finally:
        simulator.stop()
