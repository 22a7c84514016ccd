"""What every REST lock vendor shares: sending a request and classifying what went wrong in
transport, before the vendor's own error body is read."""

from __future__ import annotations

from typing import Any

import httpx

from mangodesk.vendors.base import AmbiguousError, PermanentError, TransientError

RETRY_LATER = "Mangodesk will try again in a few minutes."
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=10.0, pool=10.0)


def json_client(base_url: str, timeout: httpx.Timeout) -> httpx.Client:
    """A client for a JSON REST vendor: its base URL, an explicit timeout (httpx's default
    is too short for a vendor that answers slowly, none would hang a worker)."""
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                        headers={"Accept": "application/json"})


def json_or_none(response: httpx.Response) -> Any:
    """The reply's JSON, or None when it has none (an HTML error page, an empty 204)."""
    try:
        return response.json()
    except ValueError:
        return None


def send(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    vendor: str,
    created_thing: str | None = None,
    check_place: str = "the lock's codes",
    **request: Any,
) -> httpx.Response:
    """One request. When it may create something (``created_thing``, e.g. "the code") a lost
    answer is ambiguous: the thing may exist, so the engine reads ``check_place`` back first."""
    try:
        return client.request(method, path, **request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientError(
            f"Mangodesk could not reach {vendor}.",
            "Check this computer's internet connection. " + RETRY_LATER,
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentError(
            f"The {vendor} server address is not valid.",
            "Check the address in the connection settings.",
        ) from exc
    except httpx.TransportError as exc:
        if created_thing is not None:
            raise AmbiguousError(
                f"{vendor} did not answer after the request was sent, so {created_thing} "
                "may exist.",
                f"Mangodesk will check {check_place} before trying again.",
            ) from exc
        raise TransientError(f"{vendor} did not answer in time.", RETRY_LATER) from exc


def raise_if_overloaded(response: httpx.Response, vendor: str, vendor_code: str | None) -> None:
    """429 and 5xx: the vendor is busy or broken right now; retry, honouring Retry-After."""
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        raise TransientError(
            f"{vendor} is not answering properly right now (error {status}).",
            RETRY_LATER,
            vendor_code=vendor_code,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
