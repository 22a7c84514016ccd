"""When a template is due for a booking, in the property's own time zone (DST-correct).

"2 days before check-in at 10:00" means 10:00 on the hotel's wall clock two calendar days
before arrival, whatever the UTC offset is on either day; without a time of day it means the
check-in instant minus the offset.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from mangodesk.domain.stay import local_instant, zone
from mangodesk.domain.template import TemplateContext

SCHEDULED = (TemplateContext.SCHEDULED_CHECKIN, TemplateContext.SCHEDULED_CHECKOUT)
ON_STATUS = (TemplateContext.BOOKING_CONFIRMED, TemplateContext.BOOKING_REQUESTED)


def due_at(
    *,
    anchor: datetime,
    offset_minutes: int,
    send_at_local: time | None,
    zone_name: str,
) -> datetime:
    """The UTC instant a scheduled message is due. ``anchor`` is the check-in or check-out
    instant; ``offset_minutes`` is how long before it (negative: after)."""
    if send_at_local is None:
        return anchor - timedelta(minutes=offset_minutes)
    # Whole days before the anchor's local date, then the wall time on that date.
    local_anchor = anchor.astimezone(zone(zone_name))
    day = (local_anchor - timedelta(minutes=offset_minutes)).date()
    if offset_minutes % (24 * 60) == 0:
        day = local_anchor.date() - timedelta(days=offset_minutes // (24 * 60))
    return local_instant(day, send_at_local, zone_name)


def describe(context: TemplateContext, offset_minutes: int, send_at_local: time | None) -> str:
    """The schedule in words, as the template list shows it."""
    if context not in SCHEDULED:
        return context.label
    anchor = "check-in" if context == TemplateContext.SCHEDULED_CHECKIN else "check-out"
    minutes = abs(offset_minutes)
    if minutes == 0:
        when = f"at {anchor}"
    else:
        amount = (f"{minutes // 1440} day(s)" if minutes % 1440 == 0
                  else f"{minutes // 60} hour(s)" if minutes % 60 == 0
                  else f"{minutes} minute(s)")
        when = f"{amount} {'before' if offset_minutes > 0 else 'after'} {anchor}"
    if send_at_local is not None:
        when += f", at {send_at_local:%H:%M} hotel time"
    return when
