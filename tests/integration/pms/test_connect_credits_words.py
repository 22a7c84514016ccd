"""Issue #12 items 7-10 and #13 item 14, against the Beds24 simulator over loopback:
connecting never burns the invite code, write-back without write access is an alert and never
touches another tool's info item, credits are spent carefully (overlap, group fetches, counts,
progress, resume, waiting is explained), words staff understand, and a clean stop."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mangodesk.app import Context, build_context
from mangodesk.cli import main
from mangodesk.cli.sync import INVITE_CODE_ENV
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import BookingStatus
from mangodesk.paths import Paths
from mangodesk.pms.base import PmsError
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.connect import connect_beds24, load_beds24_settings
from mangodesk.pms.sync import SyncEngine, SyncProgress
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.store.db import Database
from mangodesk.store.models import Alert, Booking, BookingUnit, SyncState
from mangodesk.store.secrets import SecretStore
from tests.integration.pms.conftest import FAST_TIMEOUT, EngineFactory


@pytest.fixture
def context(tmp_path: Path, db: Database, secret_store: SecretStore,
            clock: FixedClock) -> Iterator[Context]:
    built = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                          clock=clock, database=db)
    yield built
    built.services.close()


def open_alerts(db: Database, fragment: str) -> list[Alert]:
    with db.session() as session:
        return list(session.scalars(select(Alert).where(
            Alert.dedupe_key.contains(fragment), Alert.cleared_at.is_(None))))


def booking_queries(sim: Beds24Simulator) -> list[dict[str, list[str]]]:
    found = []
    for exchange in sim.exchanges:
        if exchange.path.endswith("/bookings") and exchange.method == "GET":
            query: dict[str, list[str]] = {}
            for key, value in exchange.query:
                query.setdefault(key, []).append(value)
            found.append(query)
    return found


def group_fetches(sim: Beds24Simulator) -> int:
    """Extra reads of booking groups (a fetch of several pages counts once)."""
    return sum(1 for q in booking_queries(sim) if "masterId" in q and "page" not in q)


# ---------------------------------------------------------------------- 7 connecting


def test_connecting_without_the_accounts_scope_never_burns_the_invite_code(
    sim: Beds24Simulator, db: Database, secret_store: SecretStore, clock: FixedClock
) -> None:
    code = sim.create_invite_code(("bookings", "bookings-personal", "properties"))
    with pytest.raises(PmsError) as caught:
        connect_beds24(db, secret_store, clock, code, Beds24Settings(base_url=sim.base_url))
    assert "--timezone" in str(caught.value)
    assert "without an invite code" in str(caught.value)
    # The same person retries with the time zone and no new code: it finishes.
    report = connect_beds24(db, secret_store, clock, None,
                            Beds24Settings(base_url=sim.base_url, timezone="Europe/Berlin"))
    assert report.properties == ["Hotel Mango"]
    settings = load_beds24_settings(db)
    assert settings is not None and settings.timezone == "Europe/Berlin"


def test_the_readme_lists_exactly_the_scopes_connecting_uses() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Connecting Beds24.**"):]
    section = section[:section.index("\n\n")]
    for scope in ("bookings", "bookings-personal", "properties", "accounts"):
        assert f"`{scope}`" in section


# ---------------------------------------------------------------------- 8 write-back


def _writer_setup(
    context: Context, sim: Beds24Simulator, db: Database, secret_store: SecretStore,
    clock: FixedClock, scopes: tuple[str, ...],
) -> tuple[SyncEngine, Booking]:
    connect_beds24(db, secret_store, clock, sim.create_invite_code(scopes),
                   Beds24Settings(base_url=sim.base_url))
    settings = load_beds24_settings(db)
    assert settings is not None
    adapter = Beds24Adapter(secrets=secret_store, clock=clock, settings=settings,
                            timeout=FAST_TIMEOUT)
    sync = SyncEngine(db, adapter, clock, context.events, source="beds24")
    assert sync.run_once().ok
    with db.session() as session:
        booking, unit_id = session.execute(
            select(Booking, BookingUnit.unit_id)
            .join(BookingUnit, BookingUnit.booking_id == Booking.id)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.arrival > clock.now().date())
            .order_by(Booking.arrival)
        ).first()  # type: ignore[misc]
        session.expunge(booking)
    context.services.links.link(unit_id, manual_lock_name="Keypad")
    start = clock.now() + timedelta(days=1)
    context.services.passcodes.create(unit_id, PasscodeInput(
        start, start + timedelta(days=2), code="5821", booking_id=booking.id))
    clock.advance(timedelta(seconds=1))
    return sync, booking


@pytest.mark.expect_log(
    r"write-back to beds\d+ refused: Beds\d+ refused access",
    logger="mangodesk.services")
def test_write_back_without_write_access_is_one_alert_and_keeps_its_place(
    context: Context, sim: Beds24Simulator, db: Database, secret_store: SecretStore,
    clock: FixedClock,
) -> None:
    sync, booking = _writer_setup(context, sim, db, secret_store, clock,
                                  ("read:bookings", "bookings-personal", "properties",
                                   "accounts"))
    writer = context.services.write_back
    try:
        assert writer.run_once(sync.adapter, sync.source) == 0
        assert writer.run_once(sync.adapter, sync.source) == 0
        [alert] = open_alerts(db, "write-back")
        assert "write access" in alert.message
        with db.session() as session:
            state = session.scalars(select(SyncState)).one()
            assert "write_back_cursor" not in (state.settings or {})
    finally:
        sync.close()
    assert sim.booking(int(booking.pms_id)).info_items == []


def test_write_back_never_overwrites_another_tools_info_item(
    context: Context, sim: Beds24Simulator, db: Database, secret_store: SecretStore,
    clock: FixedClock,
) -> None:
    sync, booking = _writer_setup(context, sim, db, secret_store, clock,
                                  ("bookings", "bookings-personal", "properties", "accounts"))
    theirs = {"id": 5, "bookingId": int(booking.pms_id), "code": "LOCK_PIN", "text": "9999",
              "createTime": "2026-03-01T10:00:00Z"}
    sim.booking(int(booking.pms_id)).info_items.append(dict(theirs))
    try:
        assert context.services.write_back.run_once(sync.adapter, sync.source) == 1
    finally:
        sync.close()
    items = sim.booking(int(booking.pms_id)).info_items
    assert theirs in items
    assert [i["code"] for i in items if i["id"] != 5] == ["MANGODESK_PIN"]


# ---------------------------------------------------------------------- 9 credits


def test_an_incremental_poll_reads_back_only_the_overlap(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    assert engine.run_once().ok
    sent = clock.now()
    # Changed 30 minutes before the last sync: long since read, outside the 10-min overlap.
    old = sim.booking(max(sim.bookings))
    old.modified_time = sent - timedelta(minutes=30)
    recent = {b.master_id or b.id for b in sim.bookings.values()
              if b.modified_time >= sent - timedelta(minutes=10)}
    clock.advance(timedelta(minutes=3))
    sim.exchanges.clear()
    result = engine.run_once()
    assert result.ok and result.bookings == len(recent)
    [query] = booking_queries(sim)
    asked = datetime.fromisoformat(query["modifiedFrom"][0]).replace(tzinfo=ZoneInfo(sim.timezone))
    assert asked == sent - timedelta(minutes=10)


def test_a_full_load_fetches_groups_at_most_once_and_counts_them_once(
    engine: SyncEngine, sim: Beds24Simulator
) -> None:
    result = engine.run_once()
    assert group_fetches(sim) <= 1
    window = sim.today - timedelta(days=7)
    keys = {b.master_id or b.id for b in sim.bookings.values() if b.departure >= window}
    assert result.bookings == len(keys)


def test_a_group_split_by_a_page_boundary_is_fetched_once_and_counted_once(
    engine: SyncEngine, sim: Beds24Simulator
) -> None:
    room = sim.properties[0].rooms[0]
    arrival = sim.today + timedelta(days=80)
    lead = sim.add_booking(room.id, room.units[0][0], arrival, arrival + timedelta(days=2))
    sim.add_booking(room.id, room.units[1][0], arrival, arrival + timedelta(days=2),
                    master_id=lead)
    sim.set_group(lead, lead)
    window = sim.today - timedelta(days=7)
    ordered = sorted(b.id for b in sim.bookings.values() if b.departure >= window)
    sim.page_size = ordered.index(lead) + 1  # the group's two rooms fall on two pages
    result = engine.run_once()
    assert result.ok and result.pages >= 2
    assert group_fetches(sim) <= 1
    keys = {b.master_id or b.id for b in sim.bookings.values() if b.departure >= window}
    assert result.bookings == len(keys)


def test_an_incremental_poll_fetches_partly_changed_groups_in_one_request(
    engine: SyncEngine, sim: Beds24Simulator, clock: FixedClock
) -> None:
    assert engine.run_once().ok
    clock.advance(timedelta(minutes=5))
    sim.mutate_randomly(60)
    members: dict[int, list[int]] = {}
    for booking in sim.live_bookings():
        if booking.master_id and booking.arrival > sim.today:
            members.setdefault(booking.master_id, []).append(booking.id)
    for ids in members.values():
        sim.set_status(max(ids), "confirmed")  # one room of each group changes
    clock.advance(timedelta(minutes=5))
    sim.exchanges.clear()
    result = engine.run_once()
    assert result.ok and result.pages >= 2
    assert group_fetches(sim) == 1


def test_a_full_load_shows_pages_expected_and_time_left(
    engine: SyncEngine, sim: Beds24Simulator, clock: FixedClock
) -> None:
    for run in ("first load: pages counted up front", "later: the last load's count"):
        seen: list[SyncProgress] = []
        sim.exchanges.clear()
        assert engine.run_once(seen.append, full=True).ok, run
        estimates = [u for u in seen if u.has_more]
        assert estimates and all(u.expected_pages and u.remaining_seconds is not None
                                 for u in estimates), run
        assert estimates[0].expected_pages == len(seen), run
        probes = len(booking_queries(sim)) - len(seen)
        # Later loads count from the last one's page count: one probe and page 1 read again
        # after it (pms.paging: the check that no booking slid past a page boundary).
        limit = 2 * len(seen).bit_length() + 2 if run.startswith("first") else 2
        assert probes <= limit, run


@pytest.mark.expect_log(r"beds\d+ sync failed: Beds\d+ had a problem", logger="mangodesk.pms")
def test_a_full_load_resumes_after_a_crash_from_the_last_committed_page(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    page_one_reads = 0

    def fail_page_four_once_counted(path: str, page: int) -> None:
        # Page 1 is read, the list counted (probing later pages), then page 1 read again
        # for real: from there on a failing page 4 is the load's own read.
        nonlocal page_one_reads
        if path == "/bookings" and page == 1:
            page_one_reads += 1
            if page_one_reads == 2:
                sim.fail_next("/bookings", 500, page=4)

    sim.before_request = fail_page_four_once_counted
    assert not engine.run_once().ok
    sim.before_request = None
    sim.exchanges.clear()
    clock.advance(timedelta(minutes=1))
    result = engine.run_once()
    assert result.ok and result.full
    first = booking_queries(sim)[0]
    assert first.get("page") == ["4"]
    with db.session() as session:
        stored = set(session.scalars(select(Booking.pms_id)))
    window = sim.today - timedelta(days=7)
    assert {str(b.master_id or b.id) for b in sim.bookings.values()
            if b.departure >= window} <= stored


@pytest.mark.expect_log(r"beds\d+ sync failed", level="ERROR", logger="mangodesk.pms")
def test_a_full_load_interrupted_after_its_last_page_finishes_on_the_next_run(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the power went out")

    with monkeypatch.context() as patch:
        patch.setattr(engine, "_check_full_load", crash)
        assert not engine.run_once().ok
    clock.advance(timedelta(minutes=1))
    result = engine.run_once()
    assert result.ok and result.cursor is not None
    assert engine.run_once().full is False


def test_sync_says_what_it_waits_for_during_a_429_back_off(
    make_engine: EngineFactory, sim: Beds24Simulator, clock: FixedClock
) -> None:
    from mangodesk.cli.sync import report_waits

    engine = make_engine(sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)))
    assert engine.run_once().ok
    sim.set_credits(used=10_000)
    stream = io.StringIO()
    report_waits(engine, stream)
    clock.advance(timedelta(minutes=1))
    assert engine.run_once().ok
    said = stream.getvalue()
    assert "slow down" in said and "waiting 4 min" in said


# ---------------------------------------------------------------------- 10 words


@pytest.mark.expect_log(
    r"beds\d+ sync failed: Beds\d+ closed the connection",
    logger="mangodesk.pms")
def test_a_connection_dropped_by_beds24_is_not_blamed_on_this_computer(
    engine: SyncEngine, sim: Beds24Simulator
) -> None:
    assert engine.run_once().ok
    sim.drop_next("/bookings")
    result = engine.run_once()
    assert not result.ok
    assert "closed the connection" in (result.error or "")
    assert "internet" not in (result.error or "")


def test_render_finds_a_group_by_any_of_its_booking_numbers(
    context: Context, engine: SyncEngine, sim: Beds24Simulator
) -> None:
    assert engine.run_once().ok
    members: dict[int, list[int]] = {}
    for booking in sim.live_bookings():
        if booking.master_id:
            members.setdefault(booking.master_id, []).append(booking.id)
    master, ids = next((m, sorted(i)) for m, i in sorted(members.items()) if len(i) >= 2)
    for number in ids:
        assert context.services.units.find_booking(str(number)).pms_id == str(master)


def test_units_shows_dorm_beds_with_distinct_names(
    profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Beds24Simulator(rooms=6, page_size=20) as sim:
        dorm = sim.properties[0].rooms[-1]
        dorm.name = "Mixed dormitory with lockers"
        dorm.units = [(uid, "Bed") for uid, _name in dorm.units]
        with pytest.MonkeyPatch.context() as env:
            env.setenv(INVITE_CODE_ENV, sim.create_invite_code())
            assert main(["--data-dir", str(profile_dir), "pms-connect",
                         "--base-url", sim.base_url]) == 0
        assert main(["--data-dir", str(profile_dir), "sync"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(profile_dir), "units"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "dormitory" in line]
    names = [line[6:].split("  ")[0].strip() for line in lines]
    assert len(names) == 7 and len(set(names)) == 7


# ---------------------------------------------------------------------- #13.14 clean stop


def test_a_clean_stop_lets_a_running_sync_end_without_a_recorded_failure(
    engine: SyncEngine, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    reached, release = threading.Event(), threading.Event()

    def hold_page_two(path: str, page: int) -> None:
        if path == "/bookings" and page == 2:
            reached.set()
            release.wait(5)

    sim.before_request = hold_page_two
    results = []
    runner = threading.Thread(target=lambda: results.append(engine.run_once()))
    runner.start()
    assert reached.wait(5)
    closer = threading.Thread(target=engine.close)
    closer.start()
    closer.join(0.3)
    release.set()
    runner.join(10)
    closer.join(10)
    [result] = results
    assert not result.ok and "stopped" in (result.error or "")
    with db.session() as session:
        state = session.scalars(select(SyncState)).one()
        assert state.consecutive_failures == 0 and state.last_error is None
    assert open_alerts(db, "sync:beds24") == []


def test_a_clean_stop_during_a_credit_back_off_does_not_wait_it_out(
    make_engine: EngineFactory, sim: Beds24Simulator, db: Database, clock: FixedClock
) -> None:
    engine = make_engine()  # the real, interruptible wait (up to five minutes)
    assert engine.run_once().ok
    sim.set_credits(used=10_000)
    results = []
    runner = threading.Thread(target=lambda: results.append(engine.run_once()))
    runner.start()
    adapter = engine.adapter
    assert isinstance(adapter, Beds24Adapter)
    for _ in range(500):
        if adapter.credits.waited_seconds:
            break
        threading.Event().wait(0.01)
    assert adapter.credits.waited_seconds > 60  # it is in a long back-off now
    stopped = threading.Event()
    threading.Thread(target=lambda: (engine.close(), stopped.set())).start()
    assert stopped.wait(5)
    runner.join(5)
    [result] = results
    assert not result.ok and "stopped" in (result.error or "")
    with db.session() as session:
        state = session.scalars(select(SyncState)).one()
        assert state.consecutive_failures == 0 and state.last_error is None
