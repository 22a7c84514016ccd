"""``mangodesk --self-test``: proves an installation works end to end without touching the
hotel's data. A throwaway profile, Qt offscreen, the demo's simulated PMS and locks on
loopback; one passcode is created on a simulated lock and revoked again, and the desk window
is built and closed. Each step prints one line; success exits 0 with nothing on stderr."""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mangodesk import assets
from mangodesk.domain.types import CodeState, VendorKind

if TYPE_CHECKING:
    from mangodesk.ui.application import Desk

log = logging.getLogger(__name__)

SELF_TEST_GUEST = "Self-test guest"


class SelfTestFailed(Exception):
    """A step found the installation not working; the message says which part."""


def run_self_test(out: TextIO | None = None, err: TextIO | None = None) -> int:
    # A windowed build (Windows) has no console: sys.stdout is None; the exit code still says.
    out = out or sys.stdout or io.StringIO()
    err = err or sys.stderr or io.StringIO()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # also on a desktop: nothing may appear
    base = Path(tempfile.mkdtemp(prefix="mangodesk-self-test-"))
    root = logging.getLogger()
    handler = logging.FileHandler(base / "self-test.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)
    step = "starting"
    state: dict[str, object] = {}
    try:
        for step, check in _steps(base, state):
            detail = check()
            out.write(f"ok   {step}{': ' + detail if detail else ''}\n")
            out.flush()
        out.write("Mangodesk self-test passed.\n")
        return 0
    except Exception as exc:
        log.exception("self-test step %r failed", step)
        err.write(f"mangodesk: self-test failed at “{step}”: {exc}\n")
        return 1
    finally:
        leftover = state.pop("demo", None)
        if leftover is not None:
            leftover.context.close()  # type: ignore[attr-defined]
        restore = state.pop("restore_qt_messages", None)
        if callable(restore):
            restore()
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
        shutil.rmtree(base, ignore_errors=True)


def _steps(base: Path, state: dict[str, object]) -> list[tuple[str, Callable[[], str]]]:

    def shipped_files() -> str:
        missing = assets.missing()
        if missing:
            raise SelfTestFailed("missing shipped files: " + ", ".join(missing))
        return f"{len(assets.REQUIRED)} found"

    def qt() -> str:
        from PySide6.QtCore import qVersion

        from mangodesk.ui.application import install_qt_message_logging, make_qapplication
        from mangodesk.ui.notify import app_icon

        state["restore_qt_messages"] = install_qt_message_logging()  # Qt's chatter → the log
        app = make_qapplication()
        state["app"] = app
        if app_icon().isNull() or not app_icon().availableSizes():
            raise SelfTestFailed("the Mangodesk icon could not be loaded")
        return f"Qt {qVersion()} on {app.platformName()}"

    def demo() -> str:
        from mangodesk.demo import start_demo
        from mangodesk.paths import Paths
        from mangodesk.settings import Settings

        running = start_demo(Paths.under(base / "profile"), Settings())
        state["demo"] = running
        kinds = sorted(str(c.kind) for c in running.context.services.connections.list())
        return "connected " + ", ".join(kinds)

    def code_lifecycle() -> str:
        from mangodesk.app import attach_engine
        from mangodesk.demo import Demo
        from mangodesk.services.passcodes import PasscodeInput

        running = state["demo"]
        assert isinstance(running, Demo)
        context = running.context
        services = context.services
        engine = attach_engine(context)
        rows = [row for row in services.units.list_units()
                if row.provider == VendorKind.TTLOCK and row.lock_id is not None]
        if not rows:
            raise SelfTestFailed("no unit is linked to the simulated TTLock locks")
        now = context.clock.now()
        created = services.passcodes.create(rows[0].id, PasscodeInput(
            valid_from=now, valid_to=now + timedelta(hours=2), guest_name=SELF_TEST_GUEST))
        engine.run_due()
        active = services.passcodes.get(created.id)
        if active.state != CodeState.ACTIVE:
            raise SelfTestFailed(f"the new code is {active.state.value}, not active "
                                 f"({active.last_error or 'no error given'})")
        services.passcodes.revoke(created.id)
        engine.run_due()
        revoked = services.passcodes.get(created.id)
        if revoked.state != CodeState.REVOKED:
            raise SelfTestFailed(f"the revoked code is {revoked.state.value}, not revoked "
                                 f"({revoked.last_error or 'no error given'})")
        return f"created and revoked a code on {rows[0].name} ({active.lock_name})"

    def desk_window() -> str:
        from mangodesk.demo import Demo
        from mangodesk.ui.application import Desk

        running = state["demo"]
        assert isinstance(running, Demo)
        desk = Desk(running.context, use_tray=False)
        try:
            desk.window.show()
            desk.window.refresh()
            _wait_until_idle(desk)
            title = desk.window.windowTitle()
        finally:
            desk.close()
        return f"opened and closed “{title}”"

    def close_demo() -> str:
        from mangodesk.demo import Demo

        running = state.pop("demo")
        assert isinstance(running, Demo)
        running.context.close()
        return ""

    return [("shipped files", shipped_files), ("Qt", qt), ("demo hotel", demo),
            ("create and revoke a code", code_lifecycle), ("desk window", desk_window),
            ("close", close_demo)]


def _wait_until_idle(desk: Desk) -> None:
    """Let the window's background loads finish and deliver (up to 30 seconds)."""
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if not desk.runner.running:
            QApplication.processEvents()
            return
        time.sleep(0.01)
    raise SelfTestFailed("the desk window did not finish loading within 30 seconds")
