"""Take the README screenshots of the Communications window (template editor with the
Variables list, the sent log) against the demo hotel and its local mail sink:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/capture_comms.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter, QPixmap

from mangodesk.app import attach_engine
from mangodesk.demo import start_demo
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.ui.application import make_qapplication
from mangodesk.ui.comms_window import CommunicationsWindow
from mangodesk.ui.tasks import TaskRunner

OUT = Path(__file__).resolve().parent


def main() -> int:
    app = make_qapplication()
    demo = start_demo(Paths.under(Path(tempfile.mkdtemp(prefix="mangodesk-comms-"))),
                      Settings())
    context = demo.context
    engine = attach_engine(context)
    engine.plan_and_enqueue()
    engine.run_due()
    context.services.comms.deliver()
    runner = TaskRunner()
    window = CommunicationsWindow(context, runner)
    window.show()
    tab = window.templates
    tab.list.setCurrentRow(0)
    menu = tab.variables_menu
    menu.popup(window.mapToGlobal(QPoint(0, 0)))
    app.processEvents()
    editor = window.grab()
    listing = menu.grab()
    combined = QPixmap(editor.width(), editor.height())
    painter = QPainter(combined)
    painter.drawPixmap(0, 0, editor)
    button = tab.variables.mapTo(window, QPoint(0, tab.variables.height()))
    painter.drawPixmap(min(button.x(), editor.width() - listing.width()), button.y(), listing)
    painter.end()
    combined.save(str(OUT / "comms-templates-variables.png"))
    menu.hide()
    window.tabs.setCurrentWidget(window.sent_log)
    window.sent_log.refresh()
    log = window.sent_log
    sent = [i for i, row in enumerate(log.rows) if row.status == "sent"]
    first_sent = next((i for i in sent if "•" in (log.rows[i].body_masked or "")), sent[0])
    log.table.setCurrentCell(first_sent, 0)
    app.processEvents()
    window.grab().save(str(OUT / "comms-sent-log.png"))
    window.close()
    runner.shutdown()
    context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
