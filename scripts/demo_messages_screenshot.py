"""Screenshot for issue 17: the demo's Messages view (Demo ▸ Messages the guests received…)
showing the check-in email of a demo booking with its door codes, over the desk.

Run (from the checkout, PYTHONPATH=.):
    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python scripts/demo_messages_screenshot.py \\
        docs/screenshots
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget
from screenshot_wait import settle

from mangodesk.app import attach_engine
from mangodesk.demo import DemoPowers, start_demo
from mangodesk.domain.template import NO_CODE_TEXT
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.demo_messages import DemoMessagesDialog

OUT = Path(sys.argv[1])
SIZES = [(1600, 1000), (1366, 768)]
app = make_qapplication()


def whole_screen(widget: QWidget, name: str) -> None:
    """The window and its dialog as a person sees them (the screen area of the window)."""
    screen = QApplication.primaryScreen()
    frame = widget.frameGeometry()
    screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height()).save(
        str(OUT / f"{name}.png"))
    print("saved", name)


def main() -> None:
    demo = start_demo(Paths.under(Path(tempfile.mkdtemp()) / "demo"), Settings())
    try:
        engine = attach_engine(demo.context)
        engine.plan_and_enqueue()
        engine.run_due()
        demo.context.services.comms.deliver()
        for width, height in SIZES:
            desk = Desk(demo.context, use_tray=False, demo=DemoPowers(demo))
            window = desk.window
            window.resize(width, height)
            window.move(0, 0)
            desk.start()
            settle(desk, 600)
            action = next(a for a in window.demo_menu.menu.actions()
                          if a.objectName() == "demo_messages_action")
            action.trigger()
            dialog = next(w for w in QApplication.topLevelWidgets()
                          if isinstance(w, DemoMessagesDialog) and w.isVisible())
            dialog.resize(min(980, width - 120), min(620, height - 140))
            settle(desk, 600)
            # A guest whose door has a keypad: a PIN in the email (not a mobile key).
            for row in range(dialog.model.rowCount()):
                dialog.table.selectRow(row)
                codes = dialog.body.toPlainText().split("Your door codes:")[-1]
                if re.search(r": \d{4,}", codes) and NO_CODE_TEXT not in codes:
                    dialog.table.scrollTo(dialog.model.index(row, 0))
                    break
            settle(desk, 600)
            whole_screen(window, f"demo-messages-{width}x{height}")
            if width == SIZES[0][0]:
                dialog.grab().save(str(OUT / "demo-messages.png"))
            dialog.reject()
            desk.close()
            settle(desk, 600)
    finally:
        demo.context.close()


if __name__ == "__main__":
    main()
