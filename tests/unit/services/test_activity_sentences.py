"""The activity log and alerts read as sentences in hotel time (issue 14, items 3, 6, 7)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mangodesk.app import Context, build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    VendorKind,
)
from mangodesk.paths import Paths
from mangodesk.services.activity import ActivityEntry, AlertLine
from mangodesk.settings import Settings
from mangodesk.store import alerts, audit
from mangodesk.store.models import AccessCode, Connection, Lock, Unit, UnitLink
from mangodesk.store.secrets import SecretStore

# 21:00 UTC is 22:00 in Oslo (the demo hotel's zone) in winter.
NOW = datetime(2026, 1, 20, 21, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path, secret_store: SecretStore) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                            clock=FixedClock(NOW), actor="Anna")
    seed_hotel(context, NOW)
    yield context
    context.close()


def add_ttlock_code(ctx: Context, unit_name: str, *, pin: str | None = "295818",
                    mobile_to: str | None = None) -> int:
    """A TTLock lock called Room 101 linked to ``unit_name`` with one code on it."""
    with ctx.db.transaction() as session:
        unit = next(u for u in session.query(Unit) if u.name == unit_name)
        conn = Connection(kind=VendorKind.TTLOCK, display_name="TTLock", settings={},
                          status=ConnectionStatus.CONNECTED, created_at=NOW)
        session.add(conn)
        session.flush()
        lock = Lock(connection_id=conn.id, vendor_lock_id=f"L{unit.id}", name="Room 101",
                    attributes={})
        session.add(lock)
        session.flush()
        session.add(UnitLink(unit_id=unit.id, lock_id=lock.id, linked_at=NOW, linked_by="t"))
        code = AccessCode(unit_id=unit.id, lock_id=lock.id, origin=CodeOrigin.BOOKING,
                          code=pin, mobile_key_sent_to=mobile_to, valid_from=NOW,
                          valid_to=NOW + timedelta(days=2), guest_name="Ana Ruiz",
                          state=CodeState.ACTIVE, created_at=NOW, updated_at=NOW)
        session.add(code)
        session.flush()
        return code.id


def record(ctx: Context, action: AuditAction, code_id: int, summary: str,
           after: dict[str, object] | None = None, actor: str = audit.AUTOMATION) -> None:
    with ctx.db.transaction() as session:
        audit.record(session, actor=actor, action=action, subject_kind=AuditSubject.CODE,
                     subject_id=code_id, summary=summary, now=NOW, after=after)


def newest(ctx: Context) -> ActivityEntry:
    entry = ctx.services.audit.list()[0]
    assert isinstance(entry, ActivityEntry)
    return entry


def test_a_created_code_reads_as_a_sentence_with_provider_unit_and_guest(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol")
    record(ctx, AuditAction.CODE_CREATE, code_id,
           "Code •••••8 created on the lock Room 101 after 1 attempt(s).")
    assert newest(ctx).sentence == (
        "Code •••••8 created on TTLock lock Room 101 for Apartment Sol (Ana Ruiz) "
        "after 1 attempt")


def test_a_mobile_key_leaves_no_double_space_and_no_dotted_action(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol", pin=None, mobile_to="ana@example.com")
    record(ctx, AuditAction.CODE_CREATE, code_id,
           "Code  created on the lock Room 101 after 3 attempt(s).")
    record(ctx, AuditAction.CODE_PLAN_CREATE, code_id,
           "Queued a code  for Ana Ruiz on Apartment Sol: arrives tomorrow",
           after={"code": "", "valid_from": NOW.isoformat(),
                  "valid_to": (NOW + timedelta(days=2)).isoformat()})
    sentences = [e.sentence for e in ctx.services.audit.list()[:2]]  # type: ignore[attr-defined]
    for sentence in sentences:
        assert "  " not in sentence and "code." not in sentence and "plan_" not in sentence
        assert "TTLock lock Room 101" in sentence and "Apartment Sol" in sentence
    assert "Mobile key for ana@example.com" in sentences[0] + sentences[1]
    assert any("after 3 attempts" in s for s in sentences)


def test_times_in_sentences_are_hotel_time_with_the_zone_named(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol")
    record(ctx, AuditAction.CODE_STAFF_CREATE, code_id, "New passcode •••••8 for Apartment Sol",
           after={"code": "•••••8", "valid_from": NOW.isoformat(),
                  "valid_to": (NOW + timedelta(days=1)).isoformat()}, actor="Anna")
    sentence = newest(ctx).sentence
    assert "20 Jan 22:00 → 21 Jan 22:00 (Europe/Oslo)" in sentence
    assert "UTC" not in sentence


def test_csv_export_carries_iso_8601_with_the_hotel_offset(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol")
    record(ctx, AuditAction.CODE_CREATE, code_id, "Code •••••8 created on the lock Room 101 after "
           "1 attempt(s).")
    rows = list(csv.reader(ctx.services.audit.export_csv(ctx.services.audit.list())
                           .splitlines()))
    assert rows[0][0] == "when (Europe/Oslo)"
    assert rows[1][0] == "2026-01-20T22:00:00+01:00"
    assert rows[1][5].startswith("Code •••••8 created on TTLock lock Room 101")


def test_search_finds_words_of_the_sentence(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol")
    record(ctx, AuditAction.CODE_CREATE, code_id, "Code •••••8 created on the lock Room 101 after "
           "1 attempt(s).")
    assert [e.subject_id for e in ctx.services.audit.list(text="ttlock")] == [code_id]
    assert ctx.services.audit.list(text="Flexipass") == []


def test_an_alert_names_unit_and_provider_first(ctx: Context) -> None:
    code_id = add_ttlock_code(ctx, "Apartment Sol")
    with ctx.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key=f"code:{code_id}", severity=AlertSeverity.ERROR,
                           subject_kind=AlertSubject.CODE, subject_id=code_id,
                           message="The door code of Ana Ruiz on Room 101 could not be created.",
                           fix="Check the lock.", now=NOW)
    alert = ctx.services.alerts.list()[0]
    assert isinstance(alert, AlertLine)
    assert alert.where.label == "Apartment Sol · TTLock lock Room 101"
    assert alert.headline.startswith("Apartment Sol · TTLock lock Room 101 — The door code")
    assert alert.where.unit_id is not None


def test_cli_audit_says_which_zone_its_times_are_in(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from mangodesk.__main__ import main

    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, NOW)
    code_id = add_ttlock_code(context, "Apartment Sol")
    record(context, AuditAction.CODE_CREATE, code_id,
           "Code •••••8 created on the lock Room 101 after 1 attempt(s).")
    context.close()
    assert main(["--data-dir", str(base), "audit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Times in Europe/Oslo (hotel time).")
    assert "2026-01-20 22:00" in out and "created on TTLock lock Room 101" in out


def test_a_link_names_the_provider_and_a_sync_reads_as_words(ctx: Context) -> None:
    add_ttlock_code(ctx, "Apartment Sol")
    with ctx.db.transaction() as session:
        unit = next(u for u in session.query(Unit) if u.name == "Apartment Sol")
        audit.record(session, actor="Anna", action=AuditAction.UNIT_LINK,
                     subject_kind=AuditSubject.UNIT, subject_id=unit.id, now=NOW,
                     summary="Linked Apartment Sol to Room 101 and imported 1 existing code(s)",
                     after={"lock": "Room 101", "imported": 1})
        audit.record(session, actor=audit.AUTOMATION, action=AuditAction.SYNC_RUN,
                     subject_kind=AuditSubject.SYNC, subject_id=1, now=NOW + timedelta(seconds=1),
                     summary="Full beds24 sync: 12 bookings read in 1 pages, 12 new, 0 changed.",
                     after={"full": True, "bookings": 12, "created": 12, "updated": 0,
                            "units_added": 3})
    sync, link = ctx.services.audit.list()[:2]
    assert isinstance(sync, ActivityEntry) and isinstance(link, ActivityEntry)
    assert link.sentence == ("Linked Apartment Sol to TTLock lock Room 101 and took over 1 code "
                             "already on the lock")
    assert sync.sentence == "Full sync from Beds24: 12 read (12 new, 0 changed), 3 units added"


def test_cli_alerts_name_the_unit_first_in_hotel_time(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from mangodesk.__main__ import main

    base = tmp_path / "desk"
    context = build_context(Paths.under(base), Settings(), actor="setup")
    seed_hotel(context, NOW)
    code_id = add_ttlock_code(context, "Apartment Sol")
    with context.db.transaction() as session:
        alerts.raise_alert(session, dedupe_key="x", severity=AlertSeverity.ERROR,
                           subject_kind=AlertSubject.CODE, subject_id=code_id,
                           message="Could not be created.", fix=None, now=NOW)
    context.close()
    assert main(["--data-dir", str(base), "alerts"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Times in Europe/Oslo (hotel time).")
    assert "2026-01-20 22:00  Apartment Sol · TTLock lock Room 101 — Could not be created." in out
