"""The state of a PMS sync as the status command and the desk show it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from mangodesk.pms.sync.alerts import sync_alert_key
from mangodesk.store.alerts import open_alert
from mangodesk.store.db import Database
from mangodesk.store.models import Booking, Property, SyncState, Unit


@dataclass
class SyncStatus:
    """For the status command and the GUI: when the last sync worked, what failed, counts."""

    source: str
    configured: bool
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    cursor: str | None = None
    properties: int = 0
    units_active: int = 0
    units_inactive: int = 0
    bookings: int = 0
    bookings_by_status: dict[str, int] = field(default_factory=dict)
    alert_open: bool = False
    # Bookings a full load no longer returned (deleted in the PMS): staff decide about them.
    missing_from_pms: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("last_success_at", "last_attempt_at", "last_error_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def read_sync_status(db: Database, source: str) -> SyncStatus:
    with db.session() as session:
        state = session.scalars(select(SyncState).where(SyncState.source == source)).first()
        status = SyncStatus(source=source, configured=bool(state and state.settings))
        if state is not None:
            status.last_success_at = state.last_success_at
            status.last_attempt_at = state.last_attempt_at
            status.last_error_at = state.last_error_at
            status.last_error = state.last_error
            status.consecutive_failures = state.consecutive_failures
            status.cursor = state.cursor
        status.properties = session.scalar(
            select(func.count()).select_from(Property).where(Property.pms_id.is_not(None))
        ) or 0
        for active, count in session.execute(
            select(Unit.active, func.count()).where(Unit.pms_id.is_not(None)).group_by(Unit.active)
        ):
            if active:
                status.units_active = count
            else:
                status.units_inactive = count
        for booking_status, count in session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)
        ):
            status.bookings_by_status[str(booking_status)] = count
            status.bookings += count
        status.alert_open = open_alert(session, sync_alert_key(source)) is not None
        status.missing_from_pms = session.scalar(
            select(func.count()).select_from(Booking)
            .where(Booking.missing_from_pms_since.is_not(None))
        ) or 0
    return status
