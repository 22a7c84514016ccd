"""Scheduled messages land on the hotel's wall clock across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from mangodesk.comms.schedule import describe, due_at
from mangodesk.domain.stay import local_instant
from mangodesk.domain.template import TemplateContext

BERLIN = "Europe/Berlin"


def test_days_before_at_local_time_across_spring_forward() -> None:
    # Check-in Mon 30 March 2026 15:00 CEST (UTC+2); clocks changed on Sunday 29 March.
    anchor = local_instant(date(2026, 3, 30), time(15, 0), BERLIN)
    due = due_at(anchor=anchor, offset_minutes=2 * 1440, send_at_local=time(10, 0),
                 zone_name=BERLIN)
    # Saturday 28 March 10:00 is still CET (UTC+1): 09:00 UTC, not 08:00.
    assert due == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)


def test_days_before_at_local_time_across_fall_back() -> None:
    anchor = local_instant(date(2026, 10, 26), time(15, 0), BERLIN)  # CET, UTC+1
    due = due_at(anchor=anchor, offset_minutes=1440, send_at_local=time(10, 0),
                 zone_name=BERLIN)
    assert due == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)  # Sunday, already CET
    due = due_at(anchor=anchor, offset_minutes=2 * 1440, send_at_local=time(10, 0),
                 zone_name=BERLIN)
    assert due == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # Saturday, still CEST


def test_hours_before_is_exact_elapsed_time() -> None:
    anchor = local_instant(date(2026, 3, 29), time(15, 0), BERLIN)
    due = due_at(anchor=anchor, offset_minutes=24 * 60, send_at_local=None, zone_name=BERLIN)
    assert (anchor - due).total_seconds() == 24 * 3600


def test_at_checkout_and_after() -> None:
    anchor = local_instant(date(2026, 7, 3), time(11, 0), BERLIN)
    assert due_at(anchor=anchor, offset_minutes=0, send_at_local=None,
                  zone_name=BERLIN) == anchor
    after = due_at(anchor=anchor, offset_minutes=-1440, send_at_local=time(9, 0),
                   zone_name=BERLIN)
    assert after == datetime(2026, 7, 4, 7, 0, tzinfo=UTC)


def test_described_in_words() -> None:
    assert describe(TemplateContext.SCHEDULED_CHECKIN, 2880, time(10, 0)) == \
        "2 day(s) before check-in, at 10:00 hotel time"
    assert describe(TemplateContext.SCHEDULED_CHECKOUT, 0, None) == "at check-out"
