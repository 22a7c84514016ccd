""""Is this code ours?": one rule per adapter (VendorAdapter.matches_sent), used by the
engine's read-back and by the adapters' own look-ups after a lost answer. The shared rule
(SentCodeMatcher) and where each vendor differs, pinned per vendor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    Capabilities,
    ConnectionConfig,
    SentCode,
    SentCodeMatcher,
    VendorAdapter,
    VendorCode,
    matches_sent,
)
from mangodesk.vendors.flexipass import FlexipassAdapter
from mangodesk.vendors.inlet import InletAdapter
from mangodesk.vendors.manual import ManualAdapter
from mangodesk.vendors.smartair import SmartairAdapter
from mangodesk.vendors.ttlock import TTLockAdapter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)
END = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)
SENT = SentCode(attempts=(("482915", START, END),), label="Mangodesk 4711")
MINUTE = timedelta(minutes=1)


def code(pin: str | None = "482915", start: datetime | None = START,
         end: datetime | None = END, name: str | None = None, ref: str = "77",
         email: str | None = None) -> VendorCode:
    return VendorCode(ref, pin, start, end, name, email)


# --------------------------------------------------------------------------- the shared rule


def shared(candidate: VendorCode, sent: SentCode = SENT, *,
           live_start_is_vendor_now: bool = False) -> bool:
    capabilities = Capabilities(automated=True,
                                live_start_is_vendor_now=live_start_is_vendor_now)
    return matches_sent(candidate, sent, capabilities)


def test_a_code_with_our_label_is_ours_whatever_its_pin_and_window() -> None:
    assert shared(code(pin="000000", start=None, end=None, name="Mangodesk 4711"))
    assert shared(code(pin=None, name="Mangodesk 4711 Smith"))  # the label, then more


def test_a_label_that_only_begins_like_ours_is_not_ours() -> None:
    assert not shared(code(pin="000000", name="Mangodesk 47110"))
    assert not shared(code(pin="000000", name="Mangodesk 471"))


def test_exactly_a_pin_and_window_we_sent_is_ours_to_the_minute() -> None:
    assert shared(code())
    assert shared(code(start=START + timedelta(seconds=59), end=END - timedelta(seconds=59)))


@pytest.mark.parametrize("candidate", [
    code(start=START + MINUTE),  # another window: another stay, or an old one
    code(end=END + MINUTE),
    code(pin="482916"),
    code(start=None, end=None),  # a permanent code with our digits
    code(pin=None),
])
def test_a_pin_alone_proves_nothing(candidate: VendorCode) -> None:
    assert not shared(candidate)


def test_any_of_the_creates_we_sent_counts() -> None:
    sent = SentCode(attempts=(("111111", START - timedelta(days=1), END),
                              ("482915", START, END)))
    assert shared(code(), sent)
    assert not shared(code(pin="111111"), sent)  # that PIN went out with another window


def test_a_mobile_key_is_ours_by_the_guests_email_and_a_window_we_sent() -> None:
    sent = SentCode(attempts=((None, START, END),), guest_email="Anna@Example.com",
                    mobile_key=True)
    assert shared(code(pin=None, email="anna@example.com"), sent)
    assert shared(code(pin=None, start=None, end=None, email="anna@example.com"), sent)
    assert not shared(code(pin=None, email="anna@example.com", start=START + MINUTE), sent)
    assert not shared(code(pin=None, email="bob@example.com"), sent)
    no_mobile_key = SentCode(attempts=sent.attempts, guest_email="anna@example.com")
    assert not shared(code(pin=None, email="anna@example.com"), no_mobile_key)


def test_a_start_the_vendor_set_to_its_own_now_is_ours_only_before_we_claimed_it() -> None:
    claimed = SentCode(attempts=(("482915", START, END),), claimed_at=START + timedelta(hours=1))
    late_start = code(start=START + timedelta(minutes=30))
    assert shared(late_start, claimed, live_start_is_vendor_now=True)
    assert not shared(late_start, claimed)  # a vendor that keeps our start
    assert not shared(code(start=START + timedelta(hours=2)), claimed,
                      live_start_is_vendor_now=True)


# --------------------------------------------------------------------------- per vendor


@pytest.fixture
def adapters() -> Iterator[dict[str, VendorAdapter]]:
    built: dict[str, VendorAdapter] = {
        "ttlock": TTLockAdapter(ConnectionConfig(
            1, VendorKind.TTLOCK, {"username": "desk@hotel.example", "client_id": "app"},
            {"password": "pw", "client_secret": "secret"}), clock=FixedClock(NOW)),
        "inlet": InletAdapter(ConnectionConfig(
            2, VendorKind.INLET, {"base_url": "https://inlet.test"}, {"api_token": "tok"}),
            clock=FixedClock(NOW)),
        "flexipass": FlexipassAdapter(ConnectionConfig(
            3, VendorKind.FLEXIPASS, {"base_url": "https://flexipass.test", "username": "desk",
                                      "time_zone": "Europe/Oslo"},
            {"password": "pw", "company_token": "company"}), clock=FixedClock(NOW)),
        "smartair": SmartairAdapter(ConnectionConfig(
            4, VendorKind.SMARTAIR, {"server_address": "10.0.0.5", "operator_name": "desk"},
            {"operator_password": "x"}), clock=FixedClock(NOW)),
        "manual": ManualAdapter(ConnectionConfig(5, VendorKind.MANUAL, {}, {})),
    }
    yield built
    for adapter in built.values():
        adapter.close()


@pytest.mark.parametrize("vendor", ["ttlock", "inlet", "manual"])
def test_these_vendors_use_the_shared_rule(adapters: dict[str, VendorAdapter],
                                           vendor: str) -> None:
    adapter = adapters[vendor]
    assert isinstance(adapter, SentCodeMatcher)
    assert type(adapter).matches_sent is SentCodeMatcher.matches_sent
    assert adapter.matches_sent(code(name="Mangodesk 4711"), SENT)
    assert adapter.matches_sent(code(), SENT)
    assert not adapter.matches_sent(code(start=START + MINUTE), SENT)


def test_every_adapter_answers_the_question(adapters: dict[str, VendorAdapter]) -> None:
    for adapter in adapters.values():
        assert isinstance(adapter, VendorAdapter)


def flexi_sent(email: str = "anna@example.com") -> SentCode:
    return SentCode(attempts=((None, START + timedelta(microseconds=250), END),),
                    guest_email=email, mobile_key=True)


def test_flexipass_a_key_is_ours_by_email_and_the_window_to_the_second(
        adapters: dict[str, VendorAdapter]) -> None:
    flexipass = adapters["flexipass"]
    assert flexipass.matches_sent(code(pin=None, email="ANNA@example.com"), flexi_sent())
    # Flexipass keeps seconds: a key 30 s off is another key (the shared rule's minute is
    # for vendors that keep minutes).
    off = code(pin=None, email="anna@example.com", start=START + timedelta(seconds=30))
    assert not flexipass.matches_sent(off, flexi_sent())
    assert shared(off, flexi_sent())
    assert not flexipass.matches_sent(code(pin=None, email="bob@example.com"), flexi_sent())
    # A key shows the guest's name, never our label: a name proves nothing.
    assert not flexipass.matches_sent(code(pin=None, name="Mangodesk 4711"),
                                      SentCode(label="Mangodesk 4711"))


def smartair_code(live: bool, start: datetime, end: datetime = END,
                  pin: str = "482915") -> VendorCode:
    ref = "checkin:101:202603121500" if live else "pre:101:9:202603121500"
    return VendorCode(ref, pin, start, end)


def test_smartair_a_live_check_in_is_ours_by_its_end_and_a_start_inside_our_window(
        adapters: dict[str, VendorAdapter]) -> None:
    smartair = adapters["smartair"]
    later = START + timedelta(hours=20)  # checked in by the server after our start
    assert smartair.matches_sent(smartair_code(True, later), SENT)
    assert smartair.matches_sent(smartair_code(True, START), SENT)
    assert not smartair.matches_sent(smartair_code(True, END), SENT)  # not inside
    assert not smartair.matches_sent(smartair_code(True, later, END + MINUTE), SENT)
    assert not smartair.matches_sent(smartair_code(True, later, pin="000000"), SENT)


def test_smartair_a_pre_check_in_is_ours_only_at_exactly_our_start(
        adapters: dict[str, VendorAdapter]) -> None:
    smartair = adapters["smartair"]
    assert smartair.matches_sent(smartair_code(False, START), SENT)
    assert not smartair.matches_sent(smartair_code(False, START + timedelta(hours=20)), SENT)


def test_smartair_stays_carry_no_label_of_ours(adapters: dict[str, VendorAdapter]) -> None:
    stay = VendorCode("pre:101:9:202603121500", "000000", START + MINUTE, END,
                      "Mangodesk 4711")
    assert not adapters["smartair"].matches_sent(stay, SENT)
