"""Keep the local copy of the PMS right: properties, units and bookings, upserted by PMS id.

Rules (DESIGN "PMS sync"): one transaction per page; the cursor moves only after the last page
is committed; a failed, partial or empty sync changes nothing already stored and never causes a
revoke — bookings are never deleted, a booking missing from a reply is not cancelled, a unit
missing from its property is only marked inactive. Consecutive failures raise one sync alert,
cleared by the next sync that reads something.

Bookings are matched by PMS number alone (a move to another property moves the row) and group
membership by content (which rooms the PMS lists now). A booking a full load no longer returns
is checked by number, then flagged ``missing_from_pms_since`` with one alert; a full load that
returns nothing while stays are upcoming is a failure; a booking that cannot be read keeps its
last good copy with one alert naming it; a property list that loses most of its units is held
with an alert; a full load resumes from its last committed page after a crash.

The package by concern: ``engine`` runs a sync (properties, pages, the checks of a full load,
success and failure); ``apply`` writes a page of bookings and a property's units; ``alerts``
raises and clears the alerts the sync raises, in one shape; ``resume`` keeps where a crashed
full load resumes; ``read_ahead`` fetches the next page while one is stored; ``progress`` and
``status`` are what staff see.
"""

from mangodesk.pms.sync.alerts import (
    booking_places,
    missing_alert_key,
    sync_alert_key,
    tentative_alert_key,
    units_alert_key,
    unreadable_alert_key,
)
from mangodesk.pms.sync.engine import SyncEngine
from mangodesk.pms.sync.progress import (
    SyncProgress,
    SyncResult,
    describe_progress,
    format_duration,
)
from mangodesk.pms.sync.status import SyncStatus, read_sync_status

__all__ = [
    "SyncEngine",
    "SyncProgress",
    "SyncResult",
    "SyncStatus",
    "booking_places",
    "describe_progress",
    "format_duration",
    "missing_alert_key",
    "read_sync_status",
    "sync_alert_key",
    "tentative_alert_key",
    "units_alert_key",
    "unreadable_alert_key",
]
