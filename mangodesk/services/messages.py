"""Guest communications: the access-code variable for a booking, as the guest will see it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.stay import stay_window
from mangodesk.domain.template import TemplateContext, UnitKey, render_access_codes
from mangodesk.domain.types import CodeOrigin, CodeState, ConnectionStatus
from mangodesk.services.base import ServiceBase
from mangodesk.store.models import AccessCode, Booking, Connection, Property


class MessageService(ServiceBase):
    def render_access_codes(self, booking_id: int, context: TemplateContext) -> str:
        keys, connected = self.unit_keys(booking_id)
        return render_access_codes(keys, provider_connected=connected, context=context)

    def unit_keys(self, booking_id: int) -> tuple[list[UnitKey], bool]:
        """Each booked unit's lock and code for the stay, and whether a provider is
        connected: what the access-code variable is made of."""
        with self.db.session() as session:
            return self.unit_keys_in(session, booking_id)

    def unit_keys_in(self, session: Session, booking_id: int, *,
                     connected: bool | None = None) -> tuple[list[UnitKey], bool]:
        """:meth:`unit_keys` inside the caller's session (a burst of messages shares one,
        and may pass ``connected`` it already knows)."""
        booking = session.get(Booking, booking_id)
        if booking is None:
            raise NotFoundError(f"There is no booking number {booking_id}.")
        if connected is None:
            connected = self.provider_connected(session)
        prop = session.get(Property, booking.property_id)
        assert prop is not None
        window = stay_window(
            booking.arrival, booking.departure, prop.timezone,
            # The code's window: the property's times or staff's early/late override,
            # never the guest's typed arrival time.
            arrival_time=booking.checkin_override,
            departure_time=booking.checkout_override,
            default_checkin=prop.checkin_time, default_checkout=prop.checkout_time,
        )
        keys = []
        for booking_unit in booking.units:
            unit = booking_unit.unit
            code = None
            if unit.link is not None:
                code = self._code_for_stay(session, booking, unit.id, window.check_in_at,
                                           window.check_out_at)
            keys.append(UnitKey(
                unit_name=unit.name,
                sort_order=unit.sort_order,
                unit_id=unit.id,
                has_lock=unit.link is not None,
                code=code.code if code else None,
                mobile_key_sent_to=code.mobile_key_sent_to if code else None,
            ))
        return keys, connected

    @staticmethod
    def provider_connected(session: Session) -> bool:
        """Whether any lock provider is connected (else the variable renders empty)."""
        return bool(session.scalar(
            select(func.count(Connection.id))
            .where(Connection.status != ConnectionStatus.DISCONNECTED)
        ))

    @staticmethod
    def _code_for_stay(session: object, booking: Booking, unit_id: int,
                       check_in: object, check_out: object) -> AccessCode | None:
        """This booking's own active code on the unit; else a hand-made code on the unit that
        covers the whole stay (the Manual provider's way of keying a guest)."""
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        own = session.scalars(
            select(AccessCode).where(
                AccessCode.booking_id == booking.id,
                AccessCode.unit_id == unit_id,
                AccessCode.state == CodeState.ACTIVE,
            ).order_by(AccessCode.id.desc())
        ).first()
        if own is not None:
            return own
        slack = timedelta(hours=12)  # a code for the dates, set a little later or earlier
        return session.scalars(
            select(AccessCode).where(
                AccessCode.unit_id == unit_id,
                AccessCode.booking_id.is_(None),
                AccessCode.origin == CodeOrigin.MANUAL,
                AccessCode.state == CodeState.ACTIVE,
                AccessCode.valid_from <= check_in + slack,  # type: ignore[operator]
                AccessCode.valid_to >= check_out - slack,  # type: ignore[operator]
            ).order_by(AccessCode.valid_from.desc())
        ).first()
