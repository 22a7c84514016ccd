"""The PMS (Beds24) for the front ends: connect with an invite code, sync now, and what the
last syncs did. The desk and the CLI go through here, never to ``mangodesk.pms`` itself, so
both connect and sync the same way.

The values these methods return (and the PMS's staff-worded error) are re-exported here for
the front ends that show them. The Beds24 client (and its HTTP library) is imported only when
a method talks to Beds24, so a CLI command that only reads the database stays quick."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mangodesk.pms.base import PmsError
from mangodesk.pms.sync import (
    SyncEngine,
    SyncProgress,
    SyncResult,
    SyncStatus,
    describe_progress,
    format_duration,
    read_sync_status,
)
from mangodesk.services.base import ServiceBase

if TYPE_CHECKING:
    import httpx

    from mangodesk.pms.beds24 import Beds24Settings
    from mangodesk.pms.connect import ConnectReport as ConnectReport

__all__ = [
    "PmsError",
    "PmsService",
    "SyncEngine",
    "SyncProgress",
    "SyncResult",
    "SyncStatus",
    "describe_progress",
    "format_duration",
]


class PmsService(ServiceBase):
    def default_server(self) -> str:
        """Beds24's own API address, offered until staff type another one."""
        from mangodesk.pms.beds24 import BEDS24_BASE_URL

        return BEDS24_BASE_URL

    def saved_settings(self) -> Beds24Settings | None:
        """The saved Beds24 connection, or None when Beds24 was never connected (PmsError
        when the saved settings are damaged)."""
        from mangodesk.pms.connect import load_beds24_settings

        return load_beds24_settings(self.db)

    def is_connected(self) -> bool:
        """Whether Beds24 was connected; damaged saved settings count as connected (the sync
        alert says what to repair)."""
        try:
            return self.saved_settings() is not None
        except PmsError:
            return True

    def connect(
        self,
        invite_code: str | None,
        *,
        base_url: str | None = None,
        property_ids: Sequence[int] = (),
        timezone: str | None = None,
        info_item_code: str | None = None,
        keep_saved: bool = True,
    ) -> ConnectReport:
        """Trade the invite code for access kept in the password store and save the
        settings (``invite_code=None`` finishes with the access an earlier code gave).

        Each setting not given is the saved one with ``keep_saved`` (connecting again keeps
        what an earlier connect chose), else Beds24's default."""
        from mangodesk.pms.beds24 import BEDS24_BASE_URL, INFO_ITEM_CODE, Beds24Settings
        from mangodesk.pms.connect import connect_beds24

        previous = self.saved_settings() if keep_saved else None
        settings = Beds24Settings(
            base_url=(base_url or (previous.base_url if previous else BEDS24_BASE_URL))
            .rstrip("/"),
            property_ids=tuple(property_ids or (previous.property_ids if previous else ())),
            timezone=timezone or (previous.timezone if previous else None),
            info_item_code=info_item_code or (previous.info_item_code if previous
                                              else INFO_ITEM_CODE),
        )
        return connect_beds24(self.db, self.secrets, self.deps.clock, invite_code, settings)

    def build_sync(self, *, transport: httpx.BaseTransport | None = None) -> SyncEngine:
        """The Beds24 sync (the caller closes it); PmsAuthError when not connected."""
        from mangodesk.pms.connect import build_beds24_sync

        return build_beds24_sync(self.deps, transport=transport)

    def sync_once(self, progress: Callable[[SyncProgress], None] | None = None, *,
                  full: bool = False) -> SyncResult:
        """One sync now, its client closed afterwards."""
        sync = self.build_sync()
        try:
            return sync.run_once(progress, full=full)
        finally:
            sync.close()

    def status(self) -> SyncStatus:
        """What the local copy holds and how the last syncs went."""
        from mangodesk.pms.connect import BEDS24_SOURCE

        return read_sync_status(self.db, BEDS24_SOURCE)
