"""Issue #18: a desk acting on what it showed never undoes a change made since, whoever made
it. Another desk re-linking a unit, or the engine settling a code, planning its new window
or choosing its new PIN, moves the version the desk passes back; the desk's link, unlink,
edit or revoke is then refused ("changed after you opened it, at another desk or by the
automation"; "the lock of … was changed at another desk") and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.domain.errors import ChangedElsewhereError
from mangodesk.domain.types import CodeState
from mangodesk.services.passcode_checks import CHANGED_ELSEWHERE
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.services.views import UnitRow
from mangodesk.store.models import AccessCode
from mangodesk.store.secrets import SecretStore
from tests.fakes.vendor import FakeVendor
from tests.unit.services.test_staff_codes import Desk, make_desk

CODE_MESSAGE = CHANGED_ELSEWHERE  # names the automation too: the engine moves versions


@pytest.fixture
def desk(tmp_path: Path, secret_store: SecretStore) -> Iterator[Desk]:
    built = make_desk(tmp_path, secret_store, FakeVendor())
    yield built
    built.engine.stop(5)
    built.ctx.close()


def shown(desk: Desk, unit: str) -> UnitRow:
    return next(r for r in desk.ctx.services.units.list_units() if r.name == unit)


def lock_of(desk: Desk, unit: str) -> str | None:
    return shown(desk, unit).lock_name


def link_message(unit: str) -> str:
    return f"The lock of {unit} was changed at another desk — reload and try again."


def test_unlinking_a_unit_another_desk_relinked_since_it_was_shown_is_refused(
        desk: Desk) -> None:
    desk.link("Room 103", "lock-103")
    seen = shown(desk, "Room 103")
    desk.link("Room 103", "lock-101", expected_version=seen.link_version)  # the other desk
    with pytest.raises(ChangedElsewhereError) as caught:
        desk.ctx.services.links.unlink(seen.id, revoke_codes=False,
                                       expected_version=seen.link_version)
    assert caught.value.message == link_message("Room 103")
    assert lock_of(desk, "Room 103") == "Door 101"


def test_linking_back_to_the_lock_it_showed_is_refused_when_unlinked_and_relinked_since(
        desk: Desk) -> None:
    """Same lock as shown, yet another desk unlinked and linked it again meanwhile: the
    desk decided on a state that no longer exists (and nothing changes)."""
    desk.link("Room 103", "lock-103")
    seen = shown(desk, "Room 103")
    desk.ctx.services.links.unlink(seen.id, revoke_codes=False)
    desk.link("Room 103", "lock-103")
    again = shown(desk, "Room 103").link_version
    with pytest.raises(ChangedElsewhereError):
        desk.link("Room 103", "lock-101", expected_version=seen.link_version)
    assert lock_of(desk, "Room 103") == "Door 103"
    assert shown(desk, "Room 103").link_version == again


def test_linking_with_the_version_shown_works_and_moves_it(desk: Desk) -> None:
    seen = shown(desk, "Room 103")
    desk.link("Room 103", "lock-103", expected_version=seen.link_version)
    after = shown(desk, "Room 103")
    assert after.lock_name == "Door 103" and after.link_version == seen.link_version + 1
    desk.ctx.services.links.unlink(seen.id, expected_version=after.link_version)
    assert shown(desk, "Room 103").lock_name is None


def pending_code(desk: Desk, unit: str) -> int:
    (code,) = [c for c in desk.codes(unit) if c.state == CodeState.PENDING]
    return code.id


def test_a_code_the_engine_settled_since_it_was_shown_is_not_saved_over(desk: Desk) -> None:
    desk.link("Room 102", "lock-102")
    desk.ctx.services.passcodes.create(
        desk.unit("Room 102"), PasscodeInput(desk.clock.now(), desk.clock.now()
                                             + timedelta(hours=5), code="739164"))
    code_id = pending_code(desk, "Room 102")
    seen = desk.ctx.services.passcodes.get(code_id)
    desk.run()  # the engine creates it on the lock: pending -> active
    assert desk.ctx.services.passcodes.get(code_id).state == CodeState.ACTIVE
    with pytest.raises(ChangedElsewhereError) as caught:
        desk.ctx.services.passcodes.revoke(code_id, expected_version=seen.version)
    assert caught.value.message == CODE_MESSAGE
    assert desk.ctx.services.passcodes.get(code_id).state == CodeState.ACTIVE


def test_a_window_the_engine_moved_since_it_was_shown_is_not_saved_over(desk: Desk) -> None:
    """The PMS moved the stay and the engine moved the code's window: a desk saving the
    old window with a new guest name would silently put the old stay back."""
    desk.link("Room 102", "lock-102")
    desk.run()
    (code,) = [c for c in desk.codes("Room 102") if c.state == CodeState.ACTIVE]
    seen = desk.ctx.services.passcodes.get(code.id)
    desk.set_booking("B-1002", departure=date(2026, 6, 14))
    desk.run(minutes=1)
    moved = desk.ctx.services.passcodes.get(code.id)
    assert moved.valid_to == seen.valid_to + timedelta(days=1)
    with pytest.raises(ChangedElsewhereError):
        desk.ctx.services.passcodes.edit(
            code.id, PasscodeInput(seen.valid_from, seen.valid_to, guest_name="Ingrid"),
            expected_version=seen.version)
    assert desk.ctx.services.passcodes.get(code.id).valid_to == moved.valid_to


def test_a_staff_save_moves_the_version_once_and_the_returned_view_carries_it(
        desk: Desk) -> None:
    """The desk keeps the view a save returns: its version must be the stored one, or the
    desk's next save of its own change would be refused."""
    desk.link("Room 101", "lock-101")
    view = desk.ctx.services.passcodes.create(
        desk.unit("Room 101"), PasscodeInput(desk.clock.now(), desk.clock.now()
                                             + timedelta(hours=5), code="739164"))
    saved = desk.ctx.services.passcodes.edit(
        view.id, PasscodeInput(view.valid_from, view.valid_to + timedelta(hours=1),
                               guest_name="Owner"), expected_version=view.version)
    with desk.ctx.db.session() as session:
        stored = session.scalars(select(AccessCode.version)
                                 .where(AccessCode.id == view.id)).one()
    assert saved.version == stored == view.version + 1
    again = desk.ctx.services.passcodes.edit(
        view.id, PasscodeInput(view.valid_from, view.valid_to, guest_name="Owner 2"),
        expected_version=saved.version)
    assert again.guest_name == "Owner 2"
