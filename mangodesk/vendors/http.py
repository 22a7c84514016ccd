"""What every REST lock vendor shares: sending a request, reading its body safely, and one
clear message per kind of failure (the words staff read in alerts), before the vendor's own
error body is read.

The fix texts never promise that Mangodesk "keeps trying": the same error may end in a
give-up alert, and the engine says by itself when it will try again.
"""

from __future__ import annotations

from typing import Any

import httpx

from mangodesk.vendors.base import AmbiguousError, PermanentError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=10.0, pool=10.0)
# Bodies larger than this are not parsed: no vendor answer Mangodesk reads is near it.
MAX_BODY_BYTES = 5_000_000

CHECK_INTERNET = "Check this computer's internet connection."
IF_IT_LASTS = "If this keeps happening, contact Mangodesk support."


def json_client(base_url: str, timeout: httpx.Timeout,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client for a JSON REST vendor: its base URL, an explicit timeout (httpx's default
    is too short for a vendor that answers slowly, none would hang a worker)."""
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                        headers={"Accept": "application/json"})


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


# --------------------------------------------------------------------------- sending


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
        return client.request(method, path, **request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise bad_certificate(vendor) from exc
        raise unreachable(vendor) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise bad_address(vendor) from exc
    except httpx.TransportError as exc:
        if outcome is not None:
            raise unclear_outcome(vendor, outcome, check_place) from exc
        raise no_answer(vendor) from exc


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() and len(value) < 8 else None


def raise_if_overloaded(response: httpx.Response, vendor: str, vendor_code: str | None) -> None:
    """429 and 5xx: the vendor is busy or broken right now; retry, honouring Retry-After."""
    status = response.status_code
    if status == 429 or status >= 500:
        error = server_trouble(vendor, status, retry_after_seconds(response))
        error.vendor_code = vendor_code or error.vendor_code
        raise error
