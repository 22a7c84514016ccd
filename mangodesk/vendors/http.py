"""What every REST lock vendor and the PMS share: sending a request, one classification of
what went wrong on the way (:class:`Failure`, Retry-After in both forms), reading a body
safely, and one clear message per kind of failure (the words staff read in alerts), before
the vendor's own error body is read.

The fix texts never promise that Mangodesk "keeps trying": the same error may end in a
give-up alert, and the engine says by itself when it will try again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

from mangodesk.vendors.base import AmbiguousError, PermanentError, TransientError, VendorError

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=10.0, pool=10.0)
# Bodies larger than this are not parsed: no vendor answer Mangodesk reads is near it.
MAX_BODY_BYTES = 5_000_000

CHECK_INTERNET = "Check this computer's internet connection."
IF_IT_LASTS = "If this keeps happening, contact Mangodesk support."


def json_client(base_url: str, timeout: httpx.Timeout,
                transport: httpx.BaseTransport | None = None,
                pace: Callable[[], None] | None = None) -> httpx.Client:
    """A client for a JSON REST vendor: its base URL, an explicit timeout (httpx's default
    is too short for a vendor that answers slowly, none would hang a worker), and ``pace``
    called before every request (see ``ConnectionConfig.pace``)."""
    hooks: dict[str, list[Callable[..., Any]]] = {}
    if pace is not None:
        hooks["request"] = [lambda _request: pace()]
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                        headers={"Accept": "application/json"}, event_hooks=hooks)


def json_or_none(response: httpx.Response) -> Any:
    """The reply's JSON, or None when it has none or it cannot be read safely (an HTML error
    page, an empty 204, bytes that are not UTF-8, a huge or absurdly nested body)."""
    if len(response.content) > MAX_BODY_BYTES:
        return None
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------- the messages


def unreachable(vendor: str) -> TransientError:
    """Nothing was sent: the vendor could not be reached at all."""
    return TransientError(f"Mangodesk could not reach {vendor}.", CHECK_INTERNET)


def no_answer(vendor: str) -> TransientError:
    """A read was sent but no answer came back in time (nothing changed at the vendor)."""
    return TransientError(f"{vendor} did not answer in time.", CHECK_INTERNET)


def unclear_outcome(vendor: str, outcome: str, check_place: str, *,
                    vendor_code: str | None = None) -> AmbiguousError:
    """A change was sent and the answer did not say it was done (none came, or it could not
    be read, or it did not say success): ``outcome`` ("the code was created") may be true."""
    return AmbiguousError(
        f"{vendor} did not confirm the change, so it is unclear whether {outcome}.",
        f"Mangodesk checks {check_place} before trying again.",
        vendor_code=vendor_code,
    )


def server_trouble(vendor: str, status: int, retry_after: float | None = None
                   ) -> TransientError:
    """429 and 5xx: the vendor is busy or broken right now (502/503 are not timeouts)."""
    if status == 429:
        return TransientError(f"{vendor} asked Mangodesk to make fewer calls for a moment.",
                              IF_IT_LASTS, vendor_code="HTTP 429", retry_after=retry_after)
    if status == 504:
        return TransientError(f"{vendor}'s server did not answer in time (error 504).",
                              IF_IT_LASTS, vendor_code="HTTP 504", retry_after=retry_after)
    return TransientError(f"{vendor}'s server is having a problem right now (error {status}).",
                          IF_IT_LASTS, vendor_code=f"HTTP {status}", retry_after=retry_after)


def unreadable(vendor: str) -> PermanentError:
    """A read came back in a form Mangodesk does not understand."""
    return PermanentError(
        f"{vendor} answered in a form Mangodesk does not understand.",
        f"Contact Mangodesk support: {vendor} may have changed its interface.",
    )


def garbled(vendor: str) -> TransientError:
    """A read came back as something that is not the vendor's JSON at all (an HTML page from
    a proxy, an empty answer): most likely a passing problem on the way."""
    return TransientError(f"{vendor}'s answer could not be read.", IF_IT_LASTS)


def bad_address(vendor: str) -> PermanentError:
    return PermanentError(f"The {vendor} server address is not valid.",
                          "Check the address in the connection settings.")


def bad_certificate(vendor: str) -> PermanentError:
    return PermanentError(f"The {vendor} server's security certificate could not be verified.",
                          "Check the server address and this computer's date and time.")


# --------------------------------------------------------------------------- classifying


class Failure(StrEnum):
    """What went wrong on the way to a server, before its own error body is read. The
    same for every vendor and the PMS; each maps it to its own words and error type."""

    NOT_CONNECTED = "not_connected"  # no connection was made: nothing was sent
    CONNECT_TIMED_OUT = "connect_timed_out"  # no connection in time: nothing was sent
    BAD_CERTIFICATE = "bad_certificate"  # the server's certificate failed: nothing was sent
    BAD_ADDRESS = "bad_address"  # the address cannot be used at all: nothing was sent
    ANSWER_TIMED_OUT = "answer_timed_out"  # sent (perhaps in part), no answer in time
    CUT_OFF = "cut_off"  # the connection broke while sending or reading
    LOST = "lost"  # another failure on the way (a proxy, the protocol): may have arrived
    THROTTLED = "throttled"  # 429: too many calls, come back after Retry-After
    GATEWAY_GAVE_UP = "gateway_gave_up"  # 502/504: a proxy in front gave up; may have arrived
    SERVER_ERROR = "server_error"  # another 5xx: the server is broken right now
    REFUSED = "refused"  # any other 4xx: the server read the request and said no


_MAY_HAVE_ARRIVED = frozenset({Failure.ANSWER_TIMED_OUT, Failure.CUT_OFF, Failure.LOST,
                               Failure.GATEWAY_GAVE_UP})


@dataclass(frozen=True)
class HttpFailure:
    kind: Failure
    status: int | None = None
    retry_after: float | None = None  # seconds, from the answer's Retry-After
    cause: str = ""  # the transport exception's class name, for logs and support

    @property
    def may_have_arrived(self) -> bool:
        """A write that failed this way may have been carried out: its outcome is unclear
        (read back before retrying), never "not done"."""
        return self.kind in _MAY_HAVE_ARRIVED

    @property
    def nothing_sent(self) -> bool:
        return self.kind in (Failure.NOT_CONNECTED, Failure.CONNECT_TIMED_OUT,
                             Failure.BAD_CERTIFICATE, Failure.BAD_ADDRESS)

    @property
    def timed_out(self) -> bool:
        return self.kind in (Failure.CONNECT_TIMED_OUT, Failure.ANSWER_TIMED_OUT)


class TransportFailure(Exception):
    """No HTTP answer arrived; ``failure`` says how (raised from httpx's exception)."""

    def __init__(self, failure: HttpFailure) -> None:
        super().__init__(failure.kind.value)
        self.failure = failure


def classify_exception(exc: Exception) -> HttpFailure:
    """The kind of a request that got no answer (an httpx transport error or bad URL)."""
    return HttpFailure(_transport_kind(exc), cause=type(exc).__name__)


def _transport_kind(exc: Exception) -> Failure:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return Failure.BAD_CERTIFICATE
        if isinstance(exc, httpx.ConnectError):
            return Failure.NOT_CONNECTED
        return Failure.CONNECT_TIMED_OUT
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Failure.BAD_ADDRESS
    if isinstance(exc, httpx.TimeoutException):
        return Failure.ANSWER_TIMED_OUT
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Failure.CUT_OFF
    return Failure.LOST


def classify_status(response: httpx.Response, now: datetime) -> HttpFailure | None:
    """The kind of an error status (None below 400). ``now`` (the injected clock) places an
    HTTP-date Retry-After."""
    status = response.status_code
    if status < 400:
        return None
    wait = retry_after(response.headers, now)
    if status == 429:
        return HttpFailure(Failure.THROTTLED, status, wait)
    if status in (502, 504):
        return HttpFailure(Failure.GATEWAY_GAVE_UP, status, wait)
    if status >= 500:
        return HttpFailure(Failure.SERVER_ERROR, status, wait)
    return HttpFailure(Failure.REFUSED, status, wait)


# A wait longer than this is not believed (a broken header), so the caller's own pace holds.
MAX_RETRY_AFTER = 24 * 3600.0


def retry_after(headers: httpx.Headers, now: datetime) -> float | None:
    """Retry-After in seconds from ``now``: delta-seconds ("120") or an HTTP-date ("Wed, 21
    Oct 2026 07:28:00 GMT"); a date already past is 0. None when absent, unreadable or
    longer than a day."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit() and value.isascii():
        seconds = float(int(value[:12]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max((when - now).total_seconds(), 0.0)
    return seconds if seconds <= MAX_RETRY_AFTER else None


def exchange(client: httpx.Client, method: str, path: str, **request: Any) -> httpx.Response:
    """One request; a failure without an answer raises :class:`TransportFailure`."""
    try:
        return client.request(method, path, **request)
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        raise TransportFailure(classify_exception(exc)) from exc


# --------------------------------------------------------------------------- vendor errors


def transport_error(failure: HttpFailure, vendor: str, outcome: str | None,
                    check_place: str) -> VendorError:
    """The vendor error for a request that got no answer. When it is a write (``outcome``
    says what it does, e.g. "the code was created") and it may have arrived, the outcome is
    unclear: the engine reads ``check_place`` back first."""
    if failure.kind is Failure.BAD_CERTIFICATE:
        return bad_certificate(vendor)
    if failure.kind is Failure.BAD_ADDRESS:
        return bad_address(vendor)
    if failure.nothing_sent:
        return unreachable(vendor)
    if outcome is not None:
        return unclear_outcome(vendor, outcome, check_place)
    return no_answer(vendor)


def send(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    vendor: str,
    outcome: str | None = None,
    check_place: str = "the lock's codes",
    **request: Any,
) -> httpx.Response:
    """One request. When it is a write (``outcome`` says what it does, e.g. "the code was
    created") a lost answer is ambiguous: the engine reads ``check_place`` back first."""
    try:
        return exchange(client, method, path, **request)
    except TransportFailure as exc:
        raise transport_error(exc.failure, vendor, outcome, check_place) from exc.__cause__


def raise_if_overloaded(response: httpx.Response, vendor: str, vendor_code: str | None, *,
                        now: datetime, default_wait: float | None = None,
                        outcome: str | None = None,
                        check_place: str = "the lock's codes") -> None:
    """429 and 5xx: the vendor is busy or broken right now; retry, honouring Retry-After
    (``default_wait`` when it gives none). With ``outcome`` (a write), a gateway that gave
    up (502/504) leaves it unclear whether the change was made."""
    failure = classify_status(response, now)
    if failure is None or failure.kind is Failure.REFUSED:
        return
    assert failure.status is not None
    if outcome is not None and failure.kind is Failure.GATEWAY_GAVE_UP:
        raise unclear_outcome(vendor, outcome, check_place,
                              vendor_code=vendor_code or f"HTTP {failure.status}")
    wait = failure.retry_after
    if wait is None and failure.kind is Failure.THROTTLED:
        wait = default_wait
    error = server_trouble(vendor, failure.status, wait)
    error.vendor_code = vendor_code or error.vendor_code
    raise error
