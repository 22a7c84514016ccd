"""Every vendor honours Retry-After in its HTTP-date form too (RFC 9110 §10.2.3), measured
from the adapter's clock: before, only delta-seconds were read and a date fell back to a
guess (TTLock 60 s, Inlet and Flexipass none)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import respx

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import ConnectionConfig, TransientError, VendorAdapter
from mangodesk.vendors.flexipass import FlexipassAdapter
from mangodesk.vendors.inlet import InletAdapter
from mangodesk.vendors.ttlock import EU_API_BASE, TTLockAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
INLET = "https://inlet.test"
FLEXI = "https://flexipass.test"
IN_90_SECONDS = {"Retry-After": format_datetime(NOW + timedelta(seconds=90), usegmt=True)}
AN_HOUR_AGO = {"Retry-After": format_datetime(NOW - timedelta(hours=1), usegmt=True)}


def ttlock(router: respx.MockRouter, headers: dict[str, str]) -> VendorAdapter:
    router.post(f"{EU_API_BASE}/oauth2/token").respond(json={
        "access_token": "a" * 32, "refresh_token": "r" * 32, "expires_in": 7776000})
    router.get(f"{EU_API_BASE}/v3/lock/listKeyboardPwd").respond(429, headers=headers)
    config = ConnectionConfig(1, VendorKind.TTLOCK,
                              {"username": "desk@hotel.example", "client_id": "app"},
                              {"password": "pw", "client_secret": "secret"})
    return TTLockAdapter(config, clock=FixedClock(NOW), sleep=lambda _seconds: None)


def inlet(router: respx.MockRouter, headers: dict[str, str]) -> VendorAdapter:
    router.get(f"{INLET}/GrantAccess").respond(429, headers=headers)
    config = ConnectionConfig(2, VendorKind.INLET, {"base_url": INLET}, {"api_token": "tok"})
    return InletAdapter(config, clock=FixedClock(NOW))


def flexipass(router: respx.MockRouter, headers: dict[str, str]) -> VendorAdapter:
    router.post(url__regex=r"^https://flexipass\.test/.*getMobileKeyList").respond(
        429, headers=headers)
    config = ConnectionConfig(3, VendorKind.FLEXIPASS,
                              {"base_url": FLEXI, "username": "desk",
                               "time_zone": "Europe/Oslo"},
                              {"password": "pw", "company_token": "company"})
    return FlexipassAdapter(config, clock=FixedClock(NOW))


VENDORS = {"ttlock": ttlock, "inlet": inlet, "flexipass": flexipass}


def throttled(build: Callable[[respx.MockRouter, dict[str, str]], VendorAdapter],
              headers: dict[str, str]) -> TransientError:
    with respx.mock(assert_all_called=False) as router:
        adapter = build(router, headers)
        try:
            with pytest.raises(TransientError) as caught:
                adapter.list_codes("101")
        finally:
            adapter.close()
    return caught.value


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_retry_after_date_is_the_wait_until_that_moment(vendor: str) -> None:
    error = throttled(VENDORS[vendor], IN_90_SECONDS)
    assert error.retry_after == 90.0
    assert error.vendor_code == "HTTP 429"


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_retry_after_date_already_past_means_now(vendor: str) -> None:
    assert throttled(VENDORS[vendor], AN_HOUR_AGO).retry_after == 0.0


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_retry_after_in_seconds_still_counts(vendor: str) -> None:
    assert throttled(VENDORS[vendor], {"Retry-After": "30"}).retry_after == 30.0
