"""Screenshots of the revoke question and the shared-lock confirmation. Run from the
worktree: PYTHONPATH=$PWD QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python
docs/screenshots/capture_staff.py docs/screenshots"""
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import select

from mangodesk.app import build_context
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import CodeOrigin, CodeState, VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, Booking, Unit
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from tests.ui.fakes import FakeServer, fake_spec

out = Path(sys.argv[1])
app = make_qapplication()
clock = SystemClock()
ctx = build_context(Paths.under(Path(tempfile.mkdtemp())), Settings(),
                    secrets=SecretStore(MemoryKeyring()), clock=clock,
                    vendors=VendorRegistry([MANUAL_SPEC, fake_spec(FakeServer())]), actor="Anna")
seed_hotel(ctx, clock.now())
seed_manual_locks(ctx, clock.now())
result = ctx.services.connections.connect(VendorKind.TTLOCK,
                                          {"username": "desk", "password": "secret"})
units = {r.name: r.id for r in ctx.services.units.list_units()}
ctx.services.links.link(units["Room 104"], lock_id=result.locks[0].id)
now = clock.now()
with ctx.db.transaction() as s:
    unit = s.get(Unit, units["Room 104"])
    booking = s.scalars(select(Booking).where(Booking.pms_id == "B-1003")).one()
    code = AccessCode(unit_id=unit.id, lock_id=unit.link.lock_id, origin=CodeOrigin.BOOKING,
                      booking_id=booking.id, code="582913", vendor_ref="ref-1", valid_from=now,
                      valid_to=now + timedelta(days=2), guest_name=booking.guest_name,
                      state=CodeState.ACTIVE, managed=True, attempts=0, created_at=now,
                      updated_at=now)
    s.add(code)
    s.flush()
    code_id = code.id
desk = Desk(ctx, use_tray=False)
desk.start()


def grab(name: str, file: str, then) -> None:
    def shoot() -> None:
        box = next(w for w in QApplication.topLevelWidgets()
                   if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible())
        box.grab().save(str(out / file))
        box.reject()
        QTimer.singleShot(300, then)
    QTimer.singleShot(800, shoot)


def revoke() -> None:
    desk.window.select_unit(units["Room 104"])
    dialog = desk.window.show_passcodes()

    def ask() -> None:
        dialog.select_code(code_id)
        dialog.revoke_button.click()
        grab("confirm_revoke", "revoke-booking-code-question.png", shared)
    QTimer.singleShot(800, ask)


def shared() -> None:
    for w in QApplication.topLevelWidgets():
        if w is not desk.window and w.isVisible():
            w.close()
    desk.window.select_unit(units["Room 104"])
    dialog = desk.window.link_unit()
    manual = dialog.connection_box.findText("Manual (type a lock name)")
    dialog.connection_box.setCurrentIndex(manual)
    dialog.lock_name.setText("Room 101 keypad")
    dialog.link_button.click()
    grab("confirm_shared_lock", "shared-lock-confirmation.png", app.quit)


QTimer.singleShot(1000, lambda: (desk.window.refresh(), QTimer.singleShot(800, revoke)))
app.exec()
desk.close()
ctx.close()
