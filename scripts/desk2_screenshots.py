"""Screenshots for issue 14 items 5 and 16: a code waiting to retry (grid and Passcodes
panel, with its next try and attempt) and the passcode dialog's fixed error area, at
1600x1000 and 1366x768.

Run (from the checkout, PYTHONPATH=.):
    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python scripts/desk2_screenshots.py \\
        docs/screenshots
"""
from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from PySide6.QtWidgets import QWidget
from screenshot_wait import settle
from sqlalchemy import select

from mangodesk.app import build_context
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.domain.clock import SystemClock
from mangodesk.domain.types import CodeState, OperationKind, OperationStatus
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.models import AccessCode, Operation, Unit
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.unit_model import UnitFilter

OUT = Path(sys.argv[1])
SIZES = [(1600, 1000), (1366, 768)]
app = make_qapplication()


def shot(desk: Desk, widget: QWidget, name: str) -> None:
    settle(desk)
    widget.grab().save(str(OUT / f"{name}.png"))
    print("saved", name)


def hotel() -> Desk:
    clock = SystemClock()
    context = build_context(Paths.under(Path(tempfile.mkdtemp())), Settings(),
                            secrets=SecretStore(MemoryKeyring()), clock=clock)
    seed_hotel(context, clock.now())
    seed_manual_locks(context, clock.now())
    now = clock.now()
    with context.db.transaction() as session:
        code = session.scalars(select(AccessCode).join(Unit, Unit.id == AccessCode.unit_id)
                               .where(Unit.name == "Room 102")).one()
        code.state = CodeState.PENDING
        code.attempts = 3
        code.last_error = ("The lock provider did not answer in time; the gateway may be "
                           "offline.")
        session.add(Operation(access_code_id=code.id, kind=OperationKind.CREATE,
                              status=OperationStatus.QUEUED, payload={}, attempts=3,
                              next_attempt_at=now + timedelta(minutes=7),
                              last_error_class="transient", last_error="timeout",
                              created_at=now, updated_at=now))
    return Desk(context, use_tray=False)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        tag = f"{size[0]}x{size[1]}"
        desk = hotel()
        window = desk.window
        window.resize(*size)
        desk.start()
        settle(desk, 600)
        window.set_filter(UnitFilter.ATTENTION)
        window.table.clearSelection()  # the row's own colours, not the selection's
        shot(desk, window, f"retrying-code-grid-{tag}")
        window.set_filter(UnitFilter.ALL)
        row = next(r for r in window.model.rows if r.name == "Room 102")
        window.select_unit(row.id)
        dialog = window.show_passcodes()
        assert dialog is not None
        dialog.resize(min(1000, size[0] - 100), 420)
        shot(desk, dialog, f"retrying-code-passcodes-{tag}")
        dialog.close()

        row = next(r for r in window.model.rows if r.name == "Room 101")
        window.select_unit(row.id)
        dialog = window.show_passcodes()
        assert dialog is not None
        settle(desk)
        taken = dialog.model.codes[0].code or ""
        dialog.new_button.click()
        editor = dialog.editor
        assert editor is not None
        settle(desk)
        shot(desk, editor, f"passcode-dialog-error-area-empty-{tag}")
        editor.code_edit.setText(taken)
        editor.save_button.click()
        settle(desk, 800)
        shot(desk, editor, f"passcode-dialog-error-area-{tag}")
        editor.reject()
        dialog.close()
        desk.close()
        desk.context.close()


main()
