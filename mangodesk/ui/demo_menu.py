"""The Demo menu (only with ``--demo``): change a booking in the simulated PMS, or make a
simulated vendor fail or lose a reply, and watch the desk and the locks react."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtWidgets import QDialog, QInputDialog, QMainWindow, QMenu

from mangodesk.demo import DemoPowers
from mangodesk.ui.tasks import TaskRunner

BookingChange = Callable[[DemoPowers, int], str]

BOOKING_CHANGES: list[tuple[str, str, BookingChange]] = [
    ("Move a booking one day later…", "demo_move_later",
     lambda powers, pms_id: powers.move_booking(pms_id, 1)),
    ("Move a booking one day earlier…", "demo_move_earlier",
     lambda powers, pms_id: powers.move_booking(pms_id, -1)),
    ("Shorten a stay: the guest left today…", "demo_shorten",
     lambda powers, pms_id: powers.shorten_booking(pms_id)),
    ("Cancel a booking…", "demo_cancel",
     lambda powers, pms_id: powers.cancel_booking(pms_id)),
]


class DemoMenu:
    """Builds the menu on ``window`` and runs each power on ``runner`` (never on the GUI
    thread: a booking change syncs the PMS). ``on_done`` gets the sentence to show."""

    def __init__(self, window: QMainWindow, runner: TaskRunner, powers: DemoPowers,
                 on_done: Callable[[str], None], on_error: Callable[[Exception], None]) -> None:
        self.window, self.runner, self.powers = window, runner, powers
        self.on_done, self.on_error = on_done, on_error
        self.menu = window.menuBar().addMenu("&Demo")
        self.menu.setObjectName("demo_menu")
        self.picker: QInputDialog | None = None
        for label, name, change in BOOKING_CHANGES:
            action = self.menu.addAction(label)
            action.setObjectName(name)
            action.setEnabled(powers.has_pms)
            action.triggered.connect(partial(self.pick_booking, label, change))
        self.menu.addSeparator()
        fail = QMenu("Make a vendor fail (3 calls)", self.menu)
        fail.setObjectName("demo_fail")
        lose = QMenu("Lose a vendor's next reply", self.menu)
        lose.setObjectName("demo_lose")
        for name in powers.vendor_names():
            fail.addAction(name).triggered.connect(
                partial(self._run, partial(powers.fail_vendor, name)))
            lose.addAction(name).triggered.connect(
                partial(self._run, partial(powers.lose_reply, name)))
        self.menu.addMenu(fail)
        self.menu.addMenu(lose)
        self.menu.addSeparator()
        messages = self.menu.addAction("Messages the guests received…")
        messages.setObjectName("demo_messages_action")
        messages.setEnabled(powers.has_mail)
        messages.triggered.connect(self.show_messages)
        self.messages: QDialog | None = None

    def show_messages(self, _checked: bool = False) -> None:
        """The emails the demo's mail server received (the check-in email with its codes)."""
        from mangodesk.ui.demo_messages import DemoMessagesDialog

        if self.messages is not None and self.messages.isVisible():
            self.messages.raise_()
            return
        self.messages = DemoMessagesDialog(self.powers.mail_received, self.powers.hotel_zone(),
                                           self.window)
        self.messages.open()

    def pick_booking(self, title: str, change: BookingChange, _checked: bool = False) -> None:
        """Ask which booking (a non-blocking list), then change it in the simulated PMS."""
        bookings = self.powers.bookings()
        if not bookings:
            self.on_done("The simulated PMS has no current bookings.")
            return
        picker = QInputDialog(self.window)
        picker.setObjectName("demo_pick_booking")
        picker.setWindowTitle(title.rstrip("…"))
        picker.setLabelText("Booking in the simulated PMS:")
        picker.setComboBoxItems([b.label for b in bookings])
        picker.setComboBoxEditable(False)
        picker.setOkButtonText("Change it")

        def chosen(label: str) -> None:
            booking = next(b for b in bookings if b.label == label)
            self._run(partial(change, self.powers, booking.pms_id))

        picker.textValueSelected.connect(chosen)
        self.picker = picker
        picker.open()

    def _run(self, work: Callable[[], str], _checked: bool = False) -> None:
        self.runner.run(work, self.on_done, self.on_error, owner=self.window,
                        label="Demo: changing the simulation…")
