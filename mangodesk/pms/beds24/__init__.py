"""Beds24 API v2 adapter (official contract: shared/pms-data/beds24/apiV2.yaml).

Auth: an invite code (made once by the owner in Beds24) buys a refresh token, kept in the OS
keyring; the refresh token mints 24 h access tokens, which live only in memory. Calls are made
one at a time per account and slow down when the five-minute credit budget runs low, as Beds24
asks. Bookings are always requested with every status, cancelled included (Beds24 leaves
cancelled ones out unless asked), and a booking group (``masterId``) becomes one booking with
one unit per room.

The package: :mod:`.errors` (what staff read), :mod:`.settings` (connection settings, credit
budget), :mod:`.client` (tokens, transport, paging), :mod:`.parsing` (pure reading of
answers), :mod:`.adapter` (the PmsAdapter).
"""

from __future__ import annotations

from mangodesk.pms.beds24.adapter import ALL_STATUSES, Beds24Adapter
from mangodesk.pms.beds24.client import REFRESH_TOKEN_KEY, Beds24Client, TokenInfo
from mangodesk.pms.beds24.errors import CONNECT_FIX, RETRY_FIX
from mangodesk.pms.beds24.parsing import (
    format_cursor,
    map_status,
    merge_groups,
    parse_arrival_time,
    parse_cursor,
    parse_property,
    parse_room_units,
    read_bookings,
    unit_pms_id,
)
from mangodesk.pms.beds24.settings import (
    BEDS24_BASE_URL,
    INFO_ITEM_CODE,
    Beds24Settings,
    CreditBudget,
)

__all__ = [
    "ALL_STATUSES",
    "BEDS24_BASE_URL",
    "CONNECT_FIX",
    "INFO_ITEM_CODE",
    "REFRESH_TOKEN_KEY",
    "RETRY_FIX",
    "Beds24Adapter",
    "Beds24Client",
    "Beds24Settings",
    "CreditBudget",
    "TokenInfo",
    "format_cursor",
    "map_status",
    "merge_groups",
    "parse_arrival_time",
    "parse_cursor",
    "parse_property",
    "parse_room_units",
    "read_bookings",
    "unit_pms_id",
]
