"""Take the README screenshots of the desk against the demo hotel (simulated vendors, the
engine running). Run under a virtual X server:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots/capture.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from mangodesk.demo import start_demo
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.ui.application import Desk, make_qapplication
from mangodesk.ui.engine_control import start_engine

OUT = Path(__file__).resolve().parent


def main() -> int:
    app = make_qapplication()
    base = Path(tempfile.mkdtemp(prefix="mangodesk-shots-"))
    demo = start_demo(Paths.under(base), Settings())
    engine = start_engine(demo.context)
    desk = Desk(demo.context, engine=engine, use_tray=False)
    desk.start()
    window = desk.window
    steps: list[Callable[[], None]] = []
    state: dict[str, QWidget] = {}

    def save(widget: QWidget, name: str) -> None:
        widget.grab().save(str(OUT / name))
        print("saved", OUT / name)

    def unit_named(kind: VendorKind) -> int:
        return next(r.id for r in window.model.rows if r.provider == kind)

    def main_window() -> None:
        window.refresh()

    def shoot_main() -> None:
        save(window, "main-window.png")

    def open_passcodes() -> None:
        window.select_unit(unit_named(VendorKind.TTLOCK))
        dialog = window.show_passcodes()
        assert dialog is not None
        state["passcodes"] = dialog

    def shoot_passcodes() -> None:
        save(state["passcodes"], "passcodes.png")
        dialog = state["passcodes"]
        dialog.new_passcode()  # type: ignore[attr-defined]
        editor = dialog.editor  # type: ignore[attr-defined]
        editor.code_edit.setText("1234")
        editor.guest_edit.setText("Plumber (Tuesday)")
        editor.submit()
        state["editor"] = editor

    def shoot_editor() -> None:
        save(state["editor"], "passcode-dialog-invalid.png")
        state["editor"].generate_button.click()  # type: ignore[attr-defined]

    def shoot_generated() -> None:
        save(state["editor"], "passcode-dialog.png")
        state["editor"].close()
        state["passcodes"].close()
        wizard = window.get_started()
        state["wizard"] = wizard

    def shoot_wizard() -> None:
        wizard = state["wizard"]
        save(wizard, "wizard-provider.png")
        wizard.findChild(QWidget, "provider_smartair").click()  # type: ignore[attr-defined]
        wizard.go_next()  # type: ignore[attr-defined]

    def shoot_credentials() -> None:
        wizard = state["wizard"]
        save(wizard, "wizard-smartair.png")
        smartair = next(v for v in demo.vendors if v.kind == VendorKind.SMARTAIR)
        for name, value in smartair.values.items():
            wizard.inputs[name].setText(value)  # type: ignore[attr-defined]
            wizard.wizard.set_value(name, value)  # type: ignore[attr-defined]
        for name, value in smartair.settings.items():
            if name != "pinned_sha256":  # leave the certificate to be accepted on screen
                wizard.wizard.values[name] = value  # type: ignore[attr-defined]
        wizard.go_next()  # type: ignore[attr-defined]

    def shoot_certificate() -> None:
        save(state["wizard"], "wizard-certificate.png")
        state["wizard"].close()
        window.tabs.setCurrentIndex(2)

    def shoot_activity() -> None:
        save(window, "activity.png")
        window.tabs.setCurrentIndex(0)
        app.quit()

    steps = [main_window, shoot_main, open_passcodes, shoot_passcodes, shoot_editor,
             shoot_generated, shoot_wizard, shoot_credentials, shoot_certificate,
             shoot_activity]
    delays = [6000, 1500, 100, 1500, 800, 800, 800, 600, 3000, 1500]
    total = 0
    for step, delay in zip(steps, delays, strict=True):
        total += delay
        QTimer.singleShot(total, step)
    app.exec()
    desk.close()
    demo.context.close()
    engine.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
