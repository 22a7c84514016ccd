"""The one HTTP failure classification every vendor and the PMS use (vendors/http.py):
transport failures by whether anything was sent, statuses by kind, Retry-After in both of
its forms measured from the injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from mangodesk.vendors import http
from mangodesk.vendors.base import AmbiguousError, PermanentError, TransientError
from mangodesk.vendors.http import Failure

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
BASE = "https://vendor.test"


def failing_with(exc: Exception) -> httpx.Client:
    """A client whose every request fails the way ``exc`` says, as httpx raises it."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.Client(base_url=BASE, transport=httpx.MockTransport(handler))


def answering(status: int, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=BASE, transport=httpx.MockTransport(
        lambda request: httpx.Response(status, headers=headers)))


def http_date(instant: datetime) -> str:
    return format_datetime(instant, usegmt=True)


# --------------------------------------------------------------------------- no answer


@pytest.mark.parametrize(
    ("exc", "kind", "nothing_sent", "may_have_arrived"),
    [
        (httpx.ConnectError("connection refused"), Failure.NOT_CONNECTED, True, False),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
         Failure.BAD_CERTIFICATE, True, False),
        (httpx.ConnectTimeout("connect"), Failure.CONNECT_TIMED_OUT, True, False),
        (httpx.PoolTimeout("pool"), Failure.CONNECT_TIMED_OUT, True, False),
        (httpx.ReadTimeout("read"), Failure.ANSWER_TIMED_OUT, False, True),
        (httpx.WriteTimeout("write"), Failure.ANSWER_TIMED_OUT, False, True),
        (httpx.ReadError("reset by peer"), Failure.CUT_OFF, False, True),
        (httpx.WriteError("broken pipe"), Failure.CUT_OFF, False, True),
        (httpx.RemoteProtocolError("server disconnected"), Failure.CUT_OFF, False, True),
        (httpx.ProxyError("proxy said no"), Failure.LOST, False, True),
    ],
)
def test_a_request_without_an_answer_says_whether_it_may_have_arrived(
        exc: Exception, kind: Failure, nothing_sent: bool, may_have_arrived: bool) -> None:
    with failing_with(exc) as client, pytest.raises(http.TransportFailure) as caught:
        http.exchange(client, "POST", "/codes", json={"pin": "1234"})
    failure = caught.value.failure
    assert failure.kind is kind
    assert failure.nothing_sent is nothing_sent
    assert failure.may_have_arrived is may_have_arrived
    assert failure.cause == type(exc).__name__
    assert caught.value.__cause__ is exc


def test_an_address_httpx_cannot_use_is_a_bad_address() -> None:
    with httpx.Client() as client, pytest.raises(http.TransportFailure) as caught:
        http.exchange(client, "GET", "ftp://vendor.test/locks")
    assert caught.value.failure.kind is Failure.BAD_ADDRESS
    assert caught.value.failure.nothing_sent


def test_timeouts_are_timeouts_whether_or_not_anything_was_sent() -> None:
    assert http.classify_exception(httpx.ConnectTimeout("c")).timed_out
    assert http.classify_exception(httpx.ReadTimeout("r")).timed_out
    assert not http.classify_exception(httpx.ReadError("r")).timed_out


@pytest.mark.parametrize(
    ("exc", "on_write", "on_read"),
    [
        (httpx.ConnectError("refused"), TransientError, TransientError),
        (httpx.ReadTimeout("slow"), AmbiguousError, TransientError),
        (httpx.RemoteProtocolError("gone"), AmbiguousError, TransientError),
        (httpx.ConnectError("CERTIFICATE_VERIFY_FAILED"), PermanentError, PermanentError),
    ],
)
def test_vendor_words_for_a_lost_request_depend_on_whether_it_was_a_write(
        exc: Exception, on_write: type[Exception], on_read: type[Exception]) -> None:
    with failing_with(exc) as client:
        with pytest.raises(on_write) as write:
            http.send(client, "POST", "/codes", vendor="Acme", outcome="the code was created")
        with pytest.raises(on_read):
            http.send(client, "GET", "/codes", vendor="Acme")
    if on_write is AmbiguousError:
        assert "unclear whether the code was created" in str(write.value)


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, Failure.THROTTLED), (500, Failure.SERVER_ERROR), (503, Failure.SERVER_ERROR),
     (502, Failure.GATEWAY_GAVE_UP), (504, Failure.GATEWAY_GAVE_UP), (400, Failure.REFUSED),
     (401, Failure.REFUSED), (404, Failure.REFUSED)],
)
def test_error_statuses_are_classified(status: int, kind: Failure) -> None:
    failure = http.classify_status(httpx.Response(status), NOW)
    assert failure is not None
    assert (failure.kind, failure.status) == (kind, status)
    assert failure.may_have_arrived is (kind is Failure.GATEWAY_GAVE_UP)


@pytest.mark.parametrize("status", [200, 201, 204, 301, 302])
def test_statuses_below_400_are_no_failure(status: int) -> None:
    assert http.classify_status(httpx.Response(status), NOW) is None


@respx.mock(base_url=BASE)
def test_a_429_through_respx_carries_its_retry_after(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/locks").respond(429, headers={"Retry-After": "120"})
    with httpx.Client(base_url=BASE) as client:
        response = http.exchange(client, "GET", "/locks")
    failure = http.classify_status(response, NOW)
    assert failure is not None
    assert (failure.kind, failure.retry_after) == (Failure.THROTTLED, 120.0)


# --------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 45 ", 45.0),
        (http_date(NOW + timedelta(seconds=90)), 90.0),
        (http_date(NOW + timedelta(hours=2)), 7200.0),
        ("Tue, 10 Mar 2026 12:05:00 GMT", 300.0),  # the IMF-fixdate form itself
        ("Tuesday, 10-Mar-26 12:01:00 GMT", 60.0),  # the obsolete RFC 850 form
        (http_date(NOW - timedelta(minutes=5)), 0.0),  # already past: now
        (http_date(NOW), 0.0),
        ("86400", 86400.0),
        ("86401", None),  # longer than a day: not believed
        (http_date(NOW + timedelta(days=3)), None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),  # delta-seconds are whole numbers
        ("9" * 40, None),
        (b"\xb2", None),  # "²" (latin-1): a digit to str.isdigit, not to HTTP
        ("Wed, 99 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_retry_after_in_both_forms_from_the_clock(value: str | bytes,
                                                  seconds: float | None) -> None:
    assert http.retry_after(httpx.Headers({"Retry-After": value}), NOW) == seconds


def test_retry_after_absent_is_none() -> None:
    assert http.retry_after(httpx.Headers(), NOW) is None


def test_an_http_date_is_measured_from_the_injected_clock_not_the_computer() -> None:
    headers = httpx.Headers({"Retry-After": "Tue, 10 Mar 2026 12:10:00 GMT"})
    assert http.retry_after(headers, NOW) == 600.0
    assert http.retry_after(headers, NOW + timedelta(minutes=4)) == 360.0


# --------------------------------------------------------------------------- overloaded


def overloaded(status: int, *, outcome: str | None = None, default_wait: float | None = None,
               **headers: str) -> Callable[[], None]:
    response = httpx.Response(status, headers=headers)
    return lambda: http.raise_if_overloaded(response, "Acme", None, now=NOW,
                                            default_wait=default_wait, outcome=outcome)


def test_a_throttled_vendor_is_transient_with_the_dates_wait() -> None:
    with pytest.raises(TransientError) as caught:
        overloaded(429, **{"Retry-After": http_date(NOW + timedelta(seconds=30))})()
    assert caught.value.retry_after == 30.0
    assert caught.value.vendor_code == "HTTP 429"


def test_a_throttled_vendor_without_retry_after_uses_the_callers_default() -> None:
    with pytest.raises(TransientError) as caught:
        overloaded(429, default_wait=60.0, **{"Retry-After": "garbage"})()
    assert caught.value.retry_after == 60.0


def test_a_gateway_that_gave_up_on_a_write_leaves_it_unclear() -> None:
    with pytest.raises(AmbiguousError) as caught:
        overloaded(504, outcome="the code was removed")()
    assert caught.value.vendor_code == "HTTP 504"
    with pytest.raises(TransientError):
        overloaded(504)()  # a read: just try again
    with pytest.raises(TransientError):
        overloaded(503, outcome="the code was removed")()  # 503: the server did nothing


@pytest.mark.parametrize("status", [200, 204, 400, 404, 409])
def test_statuses_that_are_not_overload_pass(status: int) -> None:
    overloaded(status)()
