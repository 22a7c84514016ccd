"""Screenshots of the crash dialog and of a second launch bringing the running desk to the
front with the unit it named. Run from the worktree:
PYTHONPATH=$PWD QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python \
docs/screenshots/capture_packaging.py docs/screenshots"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from mangodesk.app import build_context
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.crash import CrashReporter
from mangodesk.ui.single_instance import InstanceServer, instance_name

out = Path(sys.argv[1])
app = make_qapplication()
paths = Paths.under(Path(tempfile.mkdtemp()))
ctx = build_context(paths, Settings(), secrets=SecretStore(MemoryKeyring()), actor="Anna")
seed_hotel(ctx, ctx.clock.now())
seed_manual_locks(ctx, ctx.clock.now())
desk = Desk(ctx, use_tray=False)
desk.window.resize(1200, 700)
desk.start()


def settle(ms: int = 800) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def screen(name: str) -> None:
    settle(400)
    QApplication.primaryScreen().grabWindow(0).save(str(out / name))
    print("wrote", out / name)


settle(1500)

# 1. An error in a slot: the dialog over the running desk.
reporter = CrashReporter(paths, lambda: desk.window)
reporter.install()


def broken_refresh() -> None:
    rows = desk.window.model.rowCount()
    raise ZeroDivisionError(f"average nights over {rows - rows} units")


QTimer.singleShot(0, broken_refresh)
settle(800)
assert reporter.dialog is not None
reporter.dialog.grab().save(str(out / "crash-dialog.png"))
print("wrote", out / "crash-dialog.png")
screen("crash-dialog-over-desk.png")
reporter.dialog.close()
reporter.uninstall()

# 2. The desk sits in the tray (window hidden); a second launch names Room 102.
server = InstanceServer(instance_name(paths))
server.listen()
server.request_received.connect(desk.handle_request)
desk.window.hide()
settle(300)
screen("second-launch-1-before.png")
env = {**os.environ, "PYTHONPATH": os.getcwd()}
launch = subprocess.Popen([sys.executable, "-m", "mangodesk", "--data-dir",
                           str(paths.data_dir.parent), "--unit", "Room 102"], env=env)
while launch.poll() is None:
    settle(100)
print("second launch exited with", launch.returncode)
settle(1500)
screen("second-launch-2-after.png")
server.close()
desk.close()
ctx.close()
