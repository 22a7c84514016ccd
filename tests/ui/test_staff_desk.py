"""Issue #11 at the desk: the revoke question for a booking's code (stop or new code, Cancel
by default), lifting a stop from the panel, the shared-lock confirmation, and locks that get
no automatic codes shown on the grid and refused at New passcode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select as sql_select

from mangodesk.app import Context
from mangodesk.domain.types import CodeOrigin, CodeState, VendorKind
from mangodesk.store.models import AccessCode, Alert, Booking, Lock, Unit
from mangodesk.ui.application import Desk
from mangodesk.ui.unit_model import Column
from tests.ui.conftest import click_box, find_box, idle
from tests.ui.test_desk import cell, open_passcodes, refreshed, select, unit_id


def booking_code_on_vendor_lock(qtbot: Any, desk: Desk, clock: Any) -> int:
    """Room 104 on the fake provider with an active code automation issued for B-1003."""
    context = desk.context
    result = context.services.connections.connect(VendorKind.TTLOCK,
                                                  {"username": "desk", "password": "secret"})
    target = unit_id(context, "Room 104")
    context.services.links.link(target, lock_id=result.locks[0].id)
    now = clock.now()
    with context.db.transaction() as session:
        unit = session.get(Unit, target)
        booking = session.scalars(sql_select(Booking).where(Booking.pms_id == "B-1003")).one()
        assert unit is not None and unit.link is not None
        code = AccessCode(unit_id=target, lock_id=unit.link.lock_id, origin=CodeOrigin.BOOKING,
                          booking_id=booking.id, code="582913", vendor_ref="ref-1",
                          valid_from=now, valid_to=now + timedelta(days=2),
                          guest_name=booking.guest_name, state=CodeState.ACTIVE, managed=True,
                          attempts=0, created_at=now, updated_at=now)
        session.add(code)
        session.flush()
        code_id = code.id
    refreshed(qtbot, desk)
    return code_id


def test_revoke_of_a_booking_code_asks_stop_or_new_code_with_cancel_default(
        qtbot: Any, desk: Desk, clock: Any) -> None:
    code_id = booking_code_on_vendor_lock(qtbot, desk, clock)
    dialog = open_passcodes(qtbot, desk, "Room 104")
    dialog.select_code(code_id)
    assert dialog.resume_button.isHidden()
    dialog.revoke_button.click()
    box = find_box(qtbot, "confirm_revoke")
    assert [b.text() for b in box.buttons()] == [
        "Revoke and stop codes for this booking", "Revoke and issue a new code", "Cancel"]
    default = box.defaultButton()
    assert default is not None and default.text() == "Cancel"
    said = click_box(qtbot, "confirm_revoke", "Cancel")
    assert "Resume codes" in said and "tell" in said
    idle(qtbot, desk.runner)
    assert desk.context.services.passcodes.get(code_id).state == CodeState.ACTIVE

    dialog.revoke_button.click()
    click_box(qtbot, "confirm_revoke", "Revoke and stop codes for this booking")
    idle(qtbot, desk.runner)
    view = desk.context.services.passcodes.get(code_id)
    assert view.state == CodeState.REVOKING and view.booking_codes_stopped
    dialog.select_code(code_id)
    assert not dialog.resume_button.isHidden()
    dialog.resume_button.click()
    idle(qtbot, desk.runner)
    assert not desk.context.services.passcodes.get(code_id).booking_codes_stopped


def test_revoke_and_issue_a_new_code_shows_the_new_code_and_raises_a_notice(
        qtbot: Any, desk: Desk, clock: Any) -> None:
    code_id = booking_code_on_vendor_lock(qtbot, desk, clock)
    dialog = open_passcodes(qtbot, desk, "Room 104")
    dialog.select_code(code_id)
    dialog.revoke_button.click()
    click_box(qtbot, "confirm_revoke", "Revoke and issue a new code")
    idle(qtbot, desk.runner)
    pending = [c for c in dialog.model.codes if c.state == CodeState.PENDING]
    assert len(pending) == 1 and pending[0].code not in (None, "582913")
    with desk.context.db.session() as session:
        notices = [a.message for a in session.scalars(sql_select(Alert))
                   if a.message.startswith("Tell ")]
    assert notices and "Room 104" in notices[0]


def test_linking_a_lock_of_another_unit_asks_first_and_the_grid_shows_it_shared(
        qtbot: Any, desk: Desk) -> None:
    select(desk, "Room 104")
    dialog = desk.window.link_unit()
    assert dialog is not None
    qtbot.keyClicks(dialog.lock_name, "Room 101 keypad")
    dialog.link_button.click()
    box = find_box(qtbot, "confirm_shared_lock")
    default = box.defaultButton()
    assert default is not None and default.text() == "Cancel"
    said = click_box(qtbot, "confirm_shared_lock", "Cancel")
    assert "Room 101 keypad already opens Room 101; both units' guests will get codes" in said
    idle(qtbot, desk.runner)
    assert desk.context.services.units.unit(unit_id(desk.context, "Room 104")).lock_id is None
    with qtbot.waitSignal(dialog.linked):
        dialog.link_button.click()
        click_box(qtbot, "confirm_shared_lock", "Link as a shared door")
    idle(qtbot, desk.runner)
    refreshed(qtbot, desk)
    assert "shared with Room 101" in cell(desk.window, "Room 104", Column.LOCK)
    assert "shared with Room 104" in cell(desk.window, "Room 101", Column.LOCK)


def test_a_lock_without_gateway_is_shown_and_new_passcode_says_why(
        qtbot: Any, desk: Desk, context: Context, clock: Any) -> None:
    booking_code_on_vendor_lock(qtbot, desk, clock)
    with context.db.transaction() as session:
        unit = session.get(Unit, unit_id(context, "Room 104"))
        assert unit is not None and unit.link is not None
        lock = session.get(Lock, unit.link.lock_id)
        assert lock is not None
        lock.codes_not_automatic_reason = "no gateway"
    refreshed(qtbot, desk)
    assert "codes not automatic: no gateway" in cell(desk.window, "Room 104", Column.LOCK)
    dialog = open_passcodes(qtbot, desk, "Room 104")
    dialog.new_button.click()
    box = find_box(qtbot, "cannot_take_codes")
    assert box.icon() == QMessageBox.Icon.Warning
    said = click_box(qtbot, "cannot_take_codes", "OK")
    assert "no gateway" in said
    assert dialog.editor is None


def test_the_new_passcode_dialog_states_the_retry_rule(qtbot: Any, desk: Desk,
                                                       clock: Any) -> None:
    booking_code_on_vendor_lock(qtbot, desk, clock)
    dialog = open_passcodes(qtbot, desk, "Room 104")
    dialog.new_button.click()
    editor = dialog.editor
    assert editor is not None
    texts = " ".join(label.text() for label in editor.findChildren(type(dialog.error_line)))
    assert "tries again every 5 minutes, up to 30 times" in texts
    editor.reject()


def test_the_demo_menu_changes_a_booking_in_the_simulated_pms(qtbot: Any,
                                                               tmp_path: Any) -> None:
    from PySide6.QtWidgets import QInputDialog

    from mangodesk.demo import DemoPowers, start_demo
    from mangodesk.paths import Paths
    from mangodesk.settings import Settings
    from tests.ui.conftest import close_desk, find_widget

    demo = start_demo(Paths.under(tmp_path / "demo"), Settings())
    try:
        desk = Desk(demo.context, use_tray=False, demo=DemoPowers(demo))
        desk.start()
        qtbot.waitUntil(lambda: desk.window.model.rowCount() > 0 and desk.runner.running == 0)
        menu = desk.window.demo_menu
        names = [a.objectName() for a in menu.menu.actions()]
        assert {"demo_move_later", "demo_shorten", "demo_cancel"} <= set(names)
        today = demo.context.clock.now().date()
        future = next(b for b in menu.powers.bookings()
                  if demo.pms.booking(b.pms_id).arrival > today)
        next(a for a in menu.menu.actions() if a.objectName() == "demo_cancel").trigger()
        picker = find_widget(qtbot, QInputDialog, "demo_pick_booking")
        picker.setTextValue(future.label)
        picker.accept()
        idle(qtbot, desk.runner)
        assert "cancelled in the PMS" in desk.window.statusBar().currentMessage()
        booking = demo.context.services.units.find_booking(str(future.pms_id))
        assert booking.status == "cancelled"
        close_desk(qtbot, desk)
    finally:
        demo.context.close()


def test_the_guests_expected_arrival_is_shown_not_used(qtbot: Any, desk: Desk,
                                                        context: Context) -> None:
    from datetime import time

    from PySide6.QtCore import Qt

    with context.db.transaction() as session:
        booking = session.scalars(sql_select(Booking).where(Booking.pms_id == "B-1003")).one()
        booking.arrival_time = time(9, 0)
    refreshed(qtbot, desk)
    row = [desk.window.proxy.index(r, Column.UNIT).data()
           for r in range(desk.window.proxy.rowCount())].index("Room 103")
    tip = desk.window.proxy.index(row, Column.ARRIVAL).data(Qt.ItemDataRole.ToolTipRole)
    assert "expects to arrive at 09:00" in tip and "check-in time" in tip


def test_a_pin_clash_in_the_dialog_names_the_other_code(qtbot: Any, desk: Desk) -> None:
    dialog = open_passcodes(qtbot, desk, "Room 101")
    guest = dialog.model.codes[0].guest_name
    dialog.new_button.click()
    editor = dialog.editor
    assert editor is not None
    editor.code_edit.setText("482915")  # the current guest's code on the same keypad
    editor.save_button.click()
    qtbot.waitUntil(lambda: bool(editor.form.error_text("code")))
    said = editor.form.error_text("code")
    # Issue 14.16: the code typed is named (staff just typed it), and whose code it clashes
    # with; the activity log and logs keep it masked.
    assert f"{guest}'s code on Room 101" in said and said.startswith("The code 482915 ")
    editor.reject()
