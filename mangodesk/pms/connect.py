"""Set up the Beds24 connection and build its SyncEngine, shared by the CLI, the GUI and the
demo. Non-secret settings (base URL, property filter, time zone) live in the ``sync_state``
row of source "beds24" (JSON); the refresh token lives in the keyring."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx
from sqlalchemy import select

from mangodesk.domain.clock import Clock
from mangodesk.domain.events import EventBus
from mangodesk.pms.base import PmsAuthError, PmsError
from mangodesk.pms.beds24 import CONNECT_FIX, Beds24Adapter, Beds24Settings
from mangodesk.pms.sync import SyncEngine
from mangodesk.store.db import Database
from mangodesk.store.models import SyncState
from mangodesk.store.secrets import SecretStore

BEDS24_SOURCE = "beds24"


class SyncParts(Protocol):
    """The parts of mangodesk.app.Context the sync needs (tests pass a plain object)."""

    db: Database
    secrets: SecretStore
    clock: Clock
    events: EventBus

    @property
    def settings(self) -> Any: ...


def load_beds24_settings(db: Database) -> Beds24Settings | None:
    """The saved connection settings, or None when Beds24 was never connected."""
    with db.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.source == BEDS24_SOURCE)).first()
        if state is None or not state.settings or not state.settings.get("base_url"):
            return None
        try:
            return Beds24Settings.from_json(state.settings)
        except (TypeError, ValueError) as exc:
            raise PmsError(
                "The saved Beds24 connection settings are damaged.",
                "Connect Beds24 again (mangodesk pms-connect) to replace them.",
                transient=False,
            ) from exc


def save_beds24_settings(
    db: Database, settings: Beds24Settings, *, restart_sync: bool = False
) -> None:
    """Store the settings; ``restart_sync`` forgets the sync position so the next sync is a
    full load (after connecting, possibly to another account or with other properties)."""
    with db.transaction() as session:
        state = session.scalars(select(SyncState).where(SyncState.source == BEDS24_SOURCE)).first()
        if state is None:
            state = SyncState(source=BEDS24_SOURCE, consecutive_failures=0, bookings_seen=0)
            session.add(state)
        state.settings = settings.to_json()
        if restart_sync:
            state.cursor = None


@dataclass
class ConnectReport:
    """What staff see after connecting: what Mangodesk can read, and what it cannot."""

    properties: list[str] = field(default_factory=list)
    units: int = 0
    timezone: str = ""
    scopes: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


def connect_beds24(
    db: Database,
    secrets: SecretStore,
    clock: Clock,
    invite_code: str | None,
    settings: Beds24Settings,
    *,
    transport: httpx.BaseTransport | None = None,
) -> ConnectReport:
    """Trade the invite code for a refresh token (keyring), check what the token can read,
    and save the settings. Raises PmsError with a plain-language message on failure.

    The invite code works once, so the refresh token is kept as soon as Beds24 gives it:
    when a later step fails (no time zone, say), connecting again with ``invite_code=None``
    finishes the set-up from the kept token instead of needing a new code."""
    with Beds24Adapter(
        secrets=secrets, clock=clock, settings=settings, transport=transport
    ) as adapter:
        if invite_code is not None:
            adapter.connect_with_invite_code(invite_code)
        elif not adapter.is_connected():
            raise PmsAuthError("There is no Beds24 invite code to connect with.", CONNECT_FIX)
        try:
            report = _check_access(adapter)
        except PmsError as exc:
            if isinstance(exc, PmsAuthError):
                raise
            raise PmsError(
                exc.message,
                " ".join(part for part in (
                    exc.fix,
                    "Mangodesk kept the access the invite code gave: connect again without "
                    "an invite code to finish (mangodesk pms-connect --finish); no new code "
                    "is needed.",
                ) if part),
                transient=exc.transient,
            ) from exc
    if settings.timezone is None:
        settings = replace(settings, timezone=report.timezone)
    save_beds24_settings(db, settings, restart_sync=True)
    return report


def _check_access(adapter: Beds24Adapter) -> ConnectReport:
    report = ConnectReport()
    info = adapter.token_info()
    report.scopes = info.scopes
    if not info.can_read_guests:
        report.warnings.append(
            "This invite code cannot read guest names and e-mails (scope "
            "“bookings-personal”); codes still work but the desk will not see who is "
            "staying. Create a new invite code with that scope to fix it."
        )
    if info.scopes and not info.can_write_bookings:
        report.warnings.append(
            "This invite code cannot write to bookings, so door codes cannot be copied to "
            "the Beds24 booking (write-back). Everything else works."
        )
    report.timezone = adapter.account_timezone()
    properties = adapter.list_properties()
    report.properties = [p.name for p in properties]
    report.units = sum(len(p.units) for p in properties)
    return report


def build_beds24_sync(
    parts: SyncParts,
    *,
    transport: httpx.BaseTransport | None = None,
    alert_after_failures: int | None = None,
) -> SyncEngine:
    """The Beds24 SyncEngine for a context; PmsAuthError when Beds24 is not connected."""
    settings = load_beds24_settings(parts.db)
    if settings is None:
        raise PmsAuthError("Mangodesk is not connected to Beds24 yet.", CONNECT_FIX)
    threshold = alert_after_failures or int(
        getattr(parts.settings, "sync_alert_after_failures", 3) or 3
    )
    adapter = Beds24Adapter(
        secrets=parts.secrets, clock=parts.clock, settings=settings, transport=transport
    )
    return SyncEngine(
        parts.db,
        adapter,
        parts.clock,
        parts.events,
        alert_after_failures=threshold,
        source=BEDS24_SOURCE,
    )
