"""Shared by the screenshot scripts: let the desk finish its background work before a shot."""
from __future__ import annotations

from PySide6.QtCore import QEventLoop, QTimer

from mangodesk.ui.application import Desk


def settle(desk: Desk | None, ms: int = 400) -> None:
    """Spin the event loop until the desk's background tasks are done (or about 100 short
    waits have passed), then once more for ``ms`` so the last results are painted."""
    for _ in range(100):
        loop = QEventLoop()
        QTimer.singleShot(ms // 4, loop.quit)
        loop.exec()
        if desk is None or desk.runner.running == 0:
            break
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
