"""The access-code variable exactly as the product text promises."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.stay import local_instant
from mangodesk.domain.template import (
    NO_CODE_TEXT,
    TemplateContext,
    UnitKey,
    render_access_codes,
)
from mangodesk.domain.types import CodeOrigin, CodeState
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.store.models import AccessCode, Booking
from tests.unit.services.conftest import unit_id

OK = TemplateContext.SCHEDULED_CHECKIN


def key(name: str, order: int, code: str | None = None, *, lock: bool = True,
        unit: int = 0, mobile: str | None = None) -> UnitKey:
    return UnitKey(name, order, unit, lock, code, mobile)


def test_one_unit() -> None:
    text = render_access_codes([key("Room 101", 0, "H91L72")], provider_connected=True,
                               context=OK)
    assert text == "Room 101: H91L72"


def test_several_units_one_line_each_in_a_stable_order() -> None:
    units = [key("Room Marta", 2, "385291", unit=2), key("Double room 1", 1, "H91L72", unit=1)]
    expected = "Double room 1: H91L72\nRoom Marta: 385291"
    assert render_access_codes(units, provider_connected=True, context=OK) == expected
    assert render_access_codes(list(reversed(units)), provider_connected=True,
                               context=OK) == expected


def test_same_order_sorts_by_natural_name() -> None:
    units = [key("Room 10", 0, "111", unit=1), key("Room 9", 0, "222", unit=2)]
    assert render_access_codes(units, provider_connected=True, context=OK).splitlines() == [
        "Room 9: 222", "Room 10: 111"]


def test_lock_but_no_code_yet() -> None:
    text = render_access_codes([key("Double room 1", 0)], provider_connected=True, context=OK)
    assert text == f"Double room 1: {NO_CODE_TEXT}"
    assert text == "Double room 1: No access code for these dates"


def test_unit_without_lock_is_left_out() -> None:
    units = [key("Room 101", 0, "H91L72"), key("Garage", 1, lock=False)]
    assert render_access_codes(units, provider_connected=True, context=OK) == "Room 101: H91L72"


def test_mobile_key_says_where_it_was_sent() -> None:
    text = render_access_codes([key("Room 7", 0, mobile="ana@example.com")],
                               provider_connected=True, context=OK)
    assert text == "Room 7: Mobile key sent to ana@example.com"


def test_no_provider_connected_is_empty() -> None:
    assert render_access_codes([key("Room 101", 0, "H91L72")], provider_connected=False,
                               context=OK) == ""


@pytest.mark.parametrize("context", [c for c in TemplateContext if c.allows_access_codes])
def test_booking_communications_allow_it(context: TemplateContext) -> None:
    assert render_access_codes([key("Room 1", 0, "1")], provider_connected=True,
                               context=context) == "Room 1: 1"


@pytest.mark.parametrize("context", [TemplateContext.BIRTHDAY, TemplateContext.CANCELLATION])
def test_birthday_and_cancellation_are_refused(context: TemplateContext) -> None:
    with pytest.raises(ValidationError, match="not available"):
        render_access_codes([key("Room 1", 0, "1")], provider_connected=True, context=context)


# ---------------------------------------------------------------- through the service


def _booking(ctx: Context, ref: str) -> Booking:
    with ctx.db.session() as session:
        booking = session.scalars(select(Booking).where(Booking.pms_id == ref)).one()
        session.expunge(booking)
        return booking


def test_service_renders_a_multi_unit_booking(ctx: Context) -> None:
    booking = _booking(ctx, "B-1004")  # Double room 1 + Room Marta, arrives tomorrow
    assert ctx.services.messages.render_access_codes(booking.id, OK) == ""  # nothing connected
    for name in ("Double room 1", "Room Marta"):
        ctx.services.links.link(unit_id(ctx, name), manual_lock_name=f"{name} keypad")
    assert ctx.services.messages.render_access_codes(booking.id, OK) == (
        f"Double room 1: {NO_CODE_TEXT}\nRoom Marta: {NO_CODE_TEXT}")
    check_in = local_instant(booking.arrival, time(15), "Europe/Oslo")
    check_out = local_instant(booking.departure, time(11), "Europe/Oslo")
    ctx.services.passcodes.create(unit_id(ctx, "Room Marta"),
                                  PasscodeInput(check_in, check_out, code="385291"))
    with ctx.db.transaction() as session:  # a booking code issued by automation
        marta = session.get(Booking, booking.id)
        assert marta is not None
        double = unit_id(ctx, "Double room 1")
        lock_id = ctx.services.units.unit(double).lock_id
        assert lock_id is not None
        session.add(AccessCode(unit_id=double, lock_id=lock_id, origin=CodeOrigin.BOOKING,
                               booking_id=booking.id, code="H91L72", valid_from=check_in,
                               valid_to=check_out, state=CodeState.ACTIVE,
                               created_at=check_in, updated_at=check_in))
    assert ctx.services.messages.render_access_codes(booking.id, OK) == (
        "Double room 1: H91L72\nRoom Marta: 385291")


def test_a_code_for_other_dates_does_not_count(ctx: Context) -> None:
    booking = _booking(ctx, "B-1003")
    uid = unit_id(ctx, "Room 103")
    ctx.services.links.link(uid, manual_lock_name="Room 103 keypad")
    ctx.services.passcodes.create(uid, PasscodeInput(
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 3, tzinfo=UTC), code="5512"))
    assert booking.arrival > date(2026, 1, 1)
    assert ctx.services.messages.render_access_codes(booking.id, OK) == (
        f"Room 103: {NO_CODE_TEXT}")
