"""Desk window at hotel-chain scale: 2,000 units and 20,000 codes.

Prints: time to show the main window (until the grid holds every unit), time per search
keystroke and per filter switch, and peak memory. Each figure comes with a baseline
measured in the same run, so the ratios mean something on any machine:
- showing the window vs. the bare service call that loads the same rows;
- a keystroke vs. a plain Python scan of the same rows for the same text.

And the longest the GUI thread is blocked (a 1 ms heartbeat timer on the GUI thread: the
longest gap between two beats) during start-up, each filter switch and each keystroke,
with the grid's old QSortFilterProxyModel (a Python ``lessThan`` per comparison and
``filterAcceptsRow`` per row; kept here as the "before") and no settling of long-lived
objects, then with the current proxy and settled as run_gui does, in the same run. The
start-up is two figures: building the window (Desk() and start(), one Python call here
and in run_gui) and filling the grid once the worker has the rows. The last line is the
worst block after the window is built over the 50 ms target.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QSortFilterProxyModel, QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import insert

from mangodesk.app import Context, build_context, settle_long_lived_objects
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import (
    BookingStatus,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    UnitKind,
    VendorKind,
)
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import (
    AccessCode,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Property,
    Unit,
    UnitLink,
)
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.ui import main_window as main_window_module
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.unit_model import (
    SORT_ROLE,
    AnyIndex,
    UnitFilter,
    UnitFilterProxy,
    UnitTableModel,
    _passes,
)

UNITS = 2_000
CODES_PER_UNIT = 10  # 20,000 codes
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GUESTS = ["Ingrid Berg", "Lars Hansen", "Sofia Rossi", "James Carter", "Amélie Dubois",
          "Kenji Watanabe", "Maria Nowak", "Olu Adeyemi", "Chen Wei", "Elena Petrova"]
STATES = [CodeState.EXPIRED] * 6 + [CodeState.ACTIVE, CodeState.SCHEDULED, CodeState.PENDING,
                                    CodeState.REVOKED]


def seed(context: Context) -> None:
    """Bulk rows straight into the tables: the benchmark measures the desk, not seeding."""
    with context.db.transaction() as session:
        prop = Property(name="Chain hotel", timezone="Europe/Oslo", pms_id="bench")
        session.add(prop)
        conn = Connection(kind=VendorKind.MANUAL, display_name="Manual", settings={},
                          status=ConnectionStatus.CONNECTED, created_at=NOW)
        session.add(conn)
        session.flush()
        session.execute(insert(Unit), [
            {"id": n + 1, "property_id": prop.id, "pms_id": f"u{n}", "name": f"Room {n + 1:04d}",
             "kind": UnitKind.ROOM, "active": True, "sort_order": n} for n in range(UNITS)])
        session.execute(insert(Lock), [
            {"id": n + 1, "connection_id": conn.id, "vendor_lock_id": f"L{n}",
             "name": f"Keypad {n + 1:04d}", "attributes": {}, "manageable": n % 97 != 0,
             "serial_key": f"L{n}", "present": True, "refreshed_at": NOW}
            for n in range(UNITS)])
        session.execute(insert(UnitLink), [
            {"unit_id": n + 1, "lock_id": n + 1, "linked_at": NOW, "linked_by": "bench"}
            for n in range(UNITS) if n % 10 != 9])  # a tenth stay unlinked
        session.execute(insert(Booking), [
            {"id": n + 1, "property_id": prop.id, "pms_id": f"B{n}",
             "status": BookingStatus.CONFIRMED,
             "arrival": (NOW + timedelta(days=n % 14)).date(),
             "departure": (NOW + timedelta(days=n % 14 + 3)).date(),
             "guest_name": f"{GUESTS[n % len(GUESTS)]} {n}", "pms_modified_at": NOW,
             "synced_at": NOW} for n in range(UNITS)])
        session.execute(insert(BookingUnit), [
            {"booking_id": n + 1, "unit_id": n + 1} for n in range(UNITS)])
        codes = []
        for n in range(UNITS):
            for k in range(CODES_PER_UNIT):
                state = STATES[k]
                if state == CodeState.PENDING and n % 50 == 0:
                    state = CodeState.FAILED
                start = NOW + timedelta(days=3 * (k - 6), hours=n % 24)
                codes.append({
                    "unit_id": n + 1, "lock_id": n + 1, "origin": CodeOrigin.MANUAL,
                    "code": f"{(n * CODES_PER_UNIT + k) % 1_000_000:06d}",
                    "vendor_ref": f"r{n}-{k}", "valid_from": start,
                    "valid_to": start + timedelta(days=3), "guest_name": GUESTS[k],
                    "state": state, "managed": True, "attempts": 0,
                    "created_at": NOW, "updated_at": NOW})
        session.execute(insert(AccessCode), codes)


def wait_for(app: QApplication, condition: object, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():  # type: ignore[operator]
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the desk did not finish in time")
        time.sleep(0.0005)


class LegacyProxy(QSortFilterProxyModel):
    """The grid's proxy before #16 item 4, for the "before" figures only."""

    def __init__(self) -> None:
        super().__init__()
        self._words: list[str] = []
        self._filter = UnitFilter.ALL
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    @property
    def unit_filter(self) -> UnitFilter:
        return self._filter

    def set_search(self, query: str) -> None:
        words = query.casefold().split()
        if words != self._words:
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_unit_filter(self, which: UnitFilter) -> None:
        if which != self._filter:
            self.beginFilterChange()
            self._filter = which
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, UnitTableModel)
        column = left.column()
        return bool(model.sort_key_at(left.row(), column)
                    < model.sort_key_at(right.row(), column))

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, UnitTableModel)
        if not _passes(self._filter, model.rows[source_row], model.today):
            return False
        haystack = model.search_text(source_row)
        return all(word in haystack for word in self._words)


class Heartbeat:
    """A 1 ms timer on the GUI thread; the longest gap between two beats is the longest
    time the thread could not process events."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._beat)
        self._clock = QElapsedTimer()
        self._last = 0
        self.longest_ms = 0.0

    def _beat(self) -> None:
        now = self._clock.nsecsElapsed()
        self.longest_ms = max(self.longest_ms, (now - self._last) / 1e6)
        self._last = now

    def start(self) -> None:
        self.longest_ms = 0.0
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._timer.start()

    def stop(self) -> float:
        self._beat()
        self._timer.stop()
        return self.longest_ms


def spin(app: QApplication, seconds: float = 0.02) -> None:
    """Let the heartbeat and any queued work run."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.0005)


def blocks(app: QApplication, context: Context, proxy: type,
           settle: bool) -> dict[str, list[float]]:
    """Longest GUI-thread block at start-up, per keystroke and per filter switch; ``settle``
    as run_gui does (long-lived objects out of the collector's reach) or not (before)."""
    main_window_module.UnitFilterProxy = proxy  # type: ignore[attr-defined,misc]
    try:
        beat = Heartbeat()
        beat.start()
        desk = Desk(context, use_tray=False)
        if settle:
            settle_long_lived_objects()
        desk.start()
        found: dict[str, list[float]] = {"build window": [beat.stop()]}
        beat.start()
        wait_for(app, lambda: desk.window.model.rowCount() == UNITS)
        spin(app)
        found.update({"fill grid": [beat.stop()], "keystroke": [], "filter switch": []})
        window = desk.window
        for end in range(1, len("room 12") + 1):
            beat.start()
            window.search.setText("room 12"[:end])
            spin(app)
            found["keystroke"].append(beat.stop())
        window.search.clear()
        spin(app)
        for which in [UnitFilter.ATTENTION, UnitFilter.UNLINKED, UnitFilter.ARRIVING_TODAY,
                      UnitFilter.ARRIVING_TOMORROW, UnitFilter.ALL]:
            beat.start()
            window.set_filter(which)
            spin(app)
            found["filter switch"].append(beat.stop())
        wait_for(app, lambda: desk.runner.running == 0)
        desk.close()
        return found
    finally:
        main_window_module.UnitFilterProxy = UnitFilterProxy  # type: ignore[attr-defined,misc]
        gc.unfreeze()


def main() -> int:
    app = make_qapplication()
    with tempfile.TemporaryDirectory() as base:
        context = build_context(Paths.under(Path(base)), Settings(),
                                secrets=SecretStore(MemoryKeyring()), clock=FixedClock(NOW))
        seed(context)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        started = time.perf_counter()
        rows = context.services.units.list_units()
        load_s = time.perf_counter() - started
        assert len(rows) == UNITS

        started = time.perf_counter()
        desk = Desk(context, use_tray=False)
        desk.start()
        wait_for(app, lambda: desk.window.model.rowCount() == UNITS)
        app.processEvents()
        show_s = time.perf_counter() - started

        # Memory in a second, separate pass: tracing slows Python down, so it must not
        # run during the timings.
        tracemalloc.start()
        traced = Desk(context, use_tray=False)
        traced.start()
        wait_for(app, lambda: traced.window.model.rowCount() == UNITS)
        app.processEvents()
        _, peak_show = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        wait_for(app, lambda: traced.runner.running == 0)
        traced.close()

        window = desk.window
        typed = "room 12"
        keystrokes = []
        for end in range(1, len(typed) + 1):
            started = time.perf_counter()
            window.search.setText(typed[:end])
            app.processEvents()
            keystrokes.append(time.perf_counter() - started)
        shown_after_typing = window.proxy.rowCount()
        scans = []
        haystacks = [window.model.search_text(r) for r in range(window.model.rowCount())]
        for end in range(1, len(typed) + 1):
            words = typed[:end].split()
            started = time.perf_counter()
            matches = sum(1 for h in haystacks if all(w in h for w in words))
            scans.append(time.perf_counter() - started)
        assert matches == shown_after_typing
        window.search.clear()
        switches = []
        for which in [UnitFilter.ATTENTION, UnitFilter.UNLINKED, UnitFilter.ARRIVING_TODAY,
                      UnitFilter.ARRIVING_TOMORROW, UnitFilter.ALL]:
            started = time.perf_counter()
            window.set_filter(which)
            app.processEvents()
            switches.append(time.perf_counter() - started)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wait_for(app, lambda: desk.runner.running == 0)
        desk.close()
        before = blocks(app, context, LegacyProxy, settle=False)
        after = blocks(app, context, UnitFilterProxy, settle=True)
        context.close()

    per_key = statistics.median(keystrokes)
    per_scan = statistics.median(scans)
    print(f"Desk GUI benchmark: {UNITS:,} units, {UNITS * CODES_PER_UNIT:,} codes "
          f"(Python {sys.version.split()[0]}, Qt platform {app.platformName()})")
    print(f"  load rows (service only, baseline)   {load_s * 1000:8.1f} ms")
    print(f"  show main window with every row      {show_s * 1000:8.1f} ms   "
          f"({show_s / load_s:.2f}x the bare load)")
    print(f"  search keystroke, median / worst     {per_key * 1000:8.2f} ms / "
          f"{max(keystrokes) * 1000:.2f} ms   ({per_key / per_scan:.1f}x a plain Python scan "
          f"of {per_scan * 1000:.2f} ms)")
    print(f"  filter switch, median / worst        {statistics.median(switches) * 1000:8.2f} ms"
          f" / {max(switches) * 1000:.2f} ms   (worst: back to all units, re-sorting them)")
    print("    " + ", ".join(f"{name} {t * 1000:.0f} ms" for name, t in
                             zip(["attention", "unlinked", "today", "tomorrow", "all"],
                                 switches, strict=True)))
    print(f"  Python heap peak while showing       {peak_show / 1e6:8.1f} MB")
    print(f"  process peak RSS                     {rss_after / 1024:8.1f} MB "
          f"(+{(rss_after - rss_before) / 1024:.1f} MB for the window)")
    print("  longest GUI-thread block (1 ms heartbeat), old proxy → this proxy:")
    for phase in before:
        print(f"    {phase:<14} worst {max(before[phase]):7.1f} ms → {max(after[phase]):6.1f} ms"
              f"   (each: {', '.join(f'{t:.0f}' for t in after[phase])} ms)")
    worst = max(max(times) for phase, times in after.items() if phase != "build window")
    print(f"ratio {worst / 50:.2f} (target 1.0: no block over 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
