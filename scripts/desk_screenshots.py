"""Screenshots of the desk for issue 14: first run, an alert naming unit and provider, the
activity log, the paused banner and the Quit question, at 1600x1000 and 1366x768.

Run (from the checkout, PYTHONPATH=.):
    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python scripts/desk_screenshots.py \
        docs/screenshots
"""
from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtWidgets import QWidget
from screenshot_wait import settle
from sqlalchemy import select

from mangodesk.app import build_context
from mangodesk.demo import seed_hotel, seed_manual_locks, start_demo
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import AlertSeverity, AlertSubject, VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store import alerts, audit
from mangodesk.store.models import AccessCode, Lock, UnitLink
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.engine_control import EngineControl
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry, default_specs

OUT = Path(sys.argv[1])
SIZES = [(1600, 1000), (1366, 768)]
app = make_qapplication()


def shot(widget: QWidget, name: str) -> None:
    settle(None)
    widget.grab().save(str(OUT / f"{name}.png"))
    print("saved", name)


class Paused:
    paused = True

    def stop(self) -> None: ...

    def wake(self) -> None: ...

    def resume(self) -> None:
        self.paused = False

    def pause(self) -> None:
        self.paused = True


def fresh(size: tuple[int, int]) -> None:
    from mangodesk.sim.beds24 import start_for_demo as beds24

    base = Path(tempfile.mkdtemp())
    context = build_context(Paths.under(base), Settings(), secrets=SecretStore(MemoryKeyring()),
                            vendors=VendorRegistry(default_specs()))
    desk = Desk(context, use_tray=False)
    desk.window.resize(*size)
    desk.start()
    settle(desk, 600)
    tag = f"{size[0]}x{size[1]}"
    shot(desk.window, f"first-run-1-welcome-{tag}")
    simulator, values = beds24(datetime.now(UTC).date(), rooms=12)
    dialog = desk.window.connect_pms()
    assert dialog is not None
    dialog.advanced.setChecked(True)
    dialog.server.setText(values["base_url"])
    shot(dialog, f"first-run-2-beds24-{tag}")
    dialog.invite.setText(values["invite_code"])
    dialog.connect_button.click()
    for _ in range(60):
        settle(desk, 200)
        if dialog.sync_result is not None:
            break
    shot(dialog, f"first-run-3-first-sync-{tag}")
    dialog.close()
    settle(desk, 600)
    shot(desk.window, f"first-run-4-connect-locks-{tag}")
    desk.close()
    context.close()
    simulator.stop()


def demo_alert(size: tuple[int, int]) -> None:
    base = Path(tempfile.mkdtemp())
    demo = start_demo(Paths.under(base), Settings())
    context = demo.context
    with context.db.transaction() as session:
        lock = session.scalars(select(Lock).join(UnitLink, UnitLink.lock_id == Lock.id)
                               .where(Lock.connection.has(kind=VendorKind.TTLOCK))).first()
        assert lock is not None
        alerts.raise_alert(
            session, dedupe_key="shot", severity=AlertSeverity.ERROR,
            subject_kind=AlertSubject.LOCK, subject_id=lock.id,
            message=(f"The gateway of {lock.name} has been offline for 2 hours: new codes "
                     "cannot reach the lock and the next guest arrives today at 15:00."),
            fix="Check that the TTLock gateway is plugged in and on Wi-Fi, then press Retry "
                "now on the guest's code.", now=datetime.now(UTC))
        code = session.scalars(select(AccessCode)).first()
        if code is not None:
            audit.record(session, actor=audit.AUTOMATION, action="code.create",
                         subject_kind="access_code", subject_id=code.id,
                         now=datetime.now(UTC) - timedelta(minutes=5),
                         summary="Code created on the lock after 1 attempt(s).")
    desk = Desk(context, use_tray=False)
    desk.window.set_demo(demo.vendors)
    desk.window.resize(*size)
    desk.start()
    settle(desk, 800)
    tag = f"{size[0]}x{size[1]}"
    desk.window.show_alerts()
    settle(desk, 600)
    shot(desk.window, f"alert-unit-and-provider-{tag}")
    desk.window.tabs.setCurrentWidget(desk.window.activity_panel)
    settle(desk, 600)
    shot(desk.window, f"activity-sentences-{tag}")
    desk.close()
    context.close()


def paused(size: tuple[int, int]) -> None:
    base = Path(tempfile.mkdtemp())
    context = build_context(Paths.under(base), Settings(), secrets=SecretStore(MemoryKeyring()),
                            vendors=VendorRegistry([MANUAL_SPEC]))
    seed_hotel(context, SystemClock().now())
    seed_manual_locks(context, SystemClock().now())
    desk = Desk(context, engine=EngineControl(Paused()), use_tray=False)
    desk.window.resize(*size)
    desk.start()
    settle(desk, 600)
    tag = f"{size[0]}x{size[1]}"
    shot(desk.window, f"paused-banner-{tag}")
    box = desk.window.quit()
    assert box is not None
    shot(box, f"quit-question-{tag}")
    box.close()
    desk.close()
    context.close()


for size in SIZES:
    fresh(size)
    demo_alert(size)
    paused(size)
