"""TTLock Open API v3: custom passcodes pushed to the lock through its gateway.

Wire facts (shared/reference/vendors-http.md §1): reads are GET with query parameters, writes
are form-encoded POSTs; every ``/v3`` call carries ``clientId``, ``accessToken`` and ``date``
(epoch ms, within ±5 min of TTLock's clock); errors arrive with HTTP 200 as ``{"errcode": …}``.
Passcode writes must say ``addType``/``changeType``/``deleteType`` = 2, or they only change the
cloud record and never reach the door. A period change must send both dates.

Settings (``ConnectionConfig.settings``): ``username``, ``client_id``, ``api_base`` (EU host by
default), optional ``password_is_md5`` (TTHotel exports hand out an already hashed password)
and ``timeout_seconds``; ``ConnectionConfig.hotel_timezone`` for the time-zone check. Secrets:
``password`` and ``client_secret``. The access token is kept in memory and, through the injected
``ConnectionConfig.token_cache`` (the keyring), across processes until it expires.

The package: :mod:`.errors` (the errcode table), :mod:`.client` (transport, token, paging),
:mod:`.details` (pure reading of TTLock's answers), :mod:`.adapter` (the VendorAdapter).
"""

from __future__ import annotations

from mangodesk.vendors.ttlock.adapter import TTLOCK_CAPABILITIES, TTLOCK_SPEC, TTLockAdapter
from mangodesk.vendors.ttlock.client import TTLockClient
from mangodesk.vendors.ttlock.details import (
    EU_API_BASE,
    NO_GATEWAY_REASON,
    ceil_minute_ms,
    floor_minute_ms,
    format_offset,
    from_ms,
    has_feature,
    timezone_warning,
    to_ms,
    unmanageable_reason,
)
from mangodesk.vendors.ttlock.errors import ERRCODES, error_for

__all__ = [
    "ERRCODES",
    "EU_API_BASE",
    "NO_GATEWAY_REASON",
    "TTLOCK_CAPABILITIES",
    "TTLOCK_SPEC",
    "TTLockAdapter",
    "TTLockClient",
    "ceil_minute_ms",
    "error_for",
    "floor_minute_ms",
    "format_offset",
    "from_ms",
    "has_feature",
    "timezone_warning",
    "to_ms",
    "unmanageable_reason",
]
