"""Staff passcodes on Manual locks: create, edit, revoke, and the validation messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.errors import NotFoundError, ValidationError
from mangodesk.domain.types import (
    AuditAction,
    CodeState,
)
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.store.models import AuditEvent
from tests.unit.services.conftest import NOW, unit_id

START = NOW + timedelta(days=1)
END = NOW + timedelta(days=3)


def linked(ctx: Context, name: str = "Room 101", lock: str = "Front Door",
           shared: bool = False) -> int:
    uid = unit_id(ctx, name)
    ctx.services.links.link(uid, manual_lock_name=lock, shared=shared)
    return uid


def test_manual_code_is_active_at_once_and_audited_masked(ctx: Context) -> None:
    uid = linked(ctx)
    view = ctx.services.passcodes.create(uid, PasscodeInput(START, END, code="8675",
                                                            guest_name="  Ola  Nordmann "))
    assert view.state == CodeState.ACTIVE
    assert view.code == "8675"
    assert view.guest_name == "Ola Nordmann"
    with ctx.db.session() as session:
        summaries = [e.summary for e in session.scalars(select(AuditEvent))]
    created = [s for s in summaries if s.startswith("New passcode")]
    assert created and "8675" not in created[0] and "•••5" in created[0]
    assert all(e.actor == "Anna" for e in ctx.services.audit.list())


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (PasscodeInput(START, END, code=""), "code", "Enter the key code"),
        (PasscodeInput(START, END, code="12"), "code", "3 to 12"),
        (PasscodeInput(START, END, code="12 34"), "code", ""),
        (PasscodeInput(END, START, code="8675"), "valid_to", "after Valid From"),
        (PasscodeInput(START, START, code="8675"), "valid_to", "after Valid From"),
        (PasscodeInput(None, END, code="8675"), "valid_from", "Valid From"),
        (PasscodeInput(START, None, code="8675"), "valid_to", "Valid To"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(
    ctx: Context, data: PasscodeInput, field: str, words: str
) -> None:
    uid = linked(ctx)
    with pytest.raises(ValidationError) as caught:
        ctx.services.passcodes.create(uid, data)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert ctx.services.passcodes.list_for_unit(uid) == []


def test_unknown_and_unlinked_units_are_refused(ctx: Context) -> None:
    with pytest.raises(NotFoundError, match="no unit number 9999"):
        ctx.services.passcodes.create(9999, PasscodeInput(START, END, code="8675"))
    with pytest.raises(ValidationError, match="not linked to a lock") as caught:
        ctx.services.passcodes.create(unit_id(ctx, "Room 104"),
                                      PasscodeInput(START, END, code="8675"))
    assert caught.value.fix and "Link" in caught.value.fix


def test_same_code_for_overlapping_dates_on_one_lock_is_refused(ctx: Context) -> None:
    first = linked(ctx, "Room 101", "Front Door")
    second = linked(ctx, "Room 102", "Front Door", shared=True)  # one lock, two units
    ctx.services.passcodes.create(first, PasscodeInput(START, END, code="8675"))
    with pytest.raises(ValidationError, match="already"):
        ctx.services.passcodes.create(second, PasscodeInput(START, END, code="8675"))
    later = ctx.services.passcodes.create(
        second, PasscodeInput(END + timedelta(days=1), END + timedelta(days=2), code="8675"))
    assert later.code == "8675"


def test_edit_changes_code_and_dates_and_keeps_history(ctx: Context) -> None:
    uid = linked(ctx)
    view = ctx.services.passcodes.create(uid, PasscodeInput(START, END, code="8675"))
    edited = ctx.services.passcodes.edit(view.id, PasscodeInput(
        START, END + timedelta(days=2), code="5309"))
    assert (edited.code, edited.valid_to) == ("5309", END + timedelta(days=2))
    actions = [e.action for e in ctx.services.audit.list()]
    assert actions[0] == AuditAction.CODE_STAFF_EDIT


def test_revoke_on_manual_records_it(ctx: Context) -> None:
    uid = linked(ctx)
    view = ctx.services.passcodes.create(uid, PasscodeInput(START, END, code="8675"))
    revoked = ctx.services.passcodes.revoke(view.id)
    assert revoked.state == CodeState.REVOKED
    with pytest.raises(ValidationError, match="ended"):
        ctx.services.passcodes.edit(view.id, PasscodeInput(START, END, code="8675"))
    # The code is free again for the same dates once revoked.
    again = ctx.services.passcodes.create(uid, PasscodeInput(START, END, code="8675"))
    assert again.state == CodeState.ACTIVE


def test_manual_lock_needs_a_typed_code(ctx: Context) -> None:
    uid = linked(ctx)
    with pytest.raises(ValidationError, match="Enter the key code"):
        ctx.services.passcodes.create(uid, PasscodeInput(START, END))
    generated = ctx.services.passcodes.generate(uid)
    assert generated.isalnum()
