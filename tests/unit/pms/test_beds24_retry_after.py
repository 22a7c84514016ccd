"""Beds24's 429 back-off honours Retry-After in its HTTP-date form, measured from the
adapter's clock (before, a date was not read and the back-off waited a guessed minute)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.pms.beds24 import REFRESH_TOKEN_KEY, Beds24Adapter, Beds24Settings
from mangodesk.store.secrets import SecretStore

BASE = "https://beds24.test/api/v2"
LIMIT = {"success": False, "code": 429, "error": "limit"}
EMPTY = {"success": True, "pages": {"nextPageExists": False}, "data": []}


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/authentication/token").respond(json={"token": "tok", "expiresIn": 86400})
        yield router


@pytest.fixture
def adapter(secret_store: SecretStore, clock: FixedClock,
            slept: list[float]) -> Iterator[Beds24Adapter]:
    secret_store.set(REFRESH_TOKEN_KEY, "refresh-secret")
    instance = Beds24Adapter(secrets=secret_store, clock=clock,
                             settings=Beds24Settings(base_url=BASE, timezone="Europe/Berlin"),
                             sleep=slept.append, monotonic=lambda: 1000.0)
    yield instance
    instance.close()


def throttled_once(api: respx.MockRouter, retry_after: str) -> None:
    api.get("/bookings").mock(side_effect=[
        httpx.Response(429, json=LIMIT, headers={"Retry-After": retry_after}),
        httpx.Response(200, json=EMPTY),
    ])


def test_a_retry_after_date_is_waited_for_until_that_moment(
        api: respx.MockRouter, adapter: Beds24Adapter, clock: FixedClock,
        slept: list[float]) -> None:
    throttled_once(api, format_datetime(clock.now() + timedelta(seconds=90), usegmt=True))
    list(adapter.bookings_changed_since("2026-03-10T10:00:00Z"))
    assert slept == [90.0]


def test_a_retry_after_date_already_past_waits_the_shortest_pause(
        api: respx.MockRouter, adapter: Beds24Adapter, clock: FixedClock,
        slept: list[float]) -> None:
    throttled_once(api, format_datetime(clock.now() - timedelta(hours=1), usegmt=True))
    list(adapter.bookings_changed_since("2026-03-10T10:00:00Z"))
    assert slept == [1.0]


def test_retry_after_in_seconds_still_counts(
        api: respx.MockRouter, adapter: Beds24Adapter, slept: list[float]) -> None:
    throttled_once(api, "25")
    list(adapter.bookings_changed_since("2026-03-10T10:00:00Z"))
    assert slept == [25.0]
