"""The access-code template variable, rendered exactly as the product promises guests see it.

One line per booked unit that has a lock: ``Room 101: H91L72``; a unit with a lock but no
code for the stay: ``Room 101: No access code for these dates``; a mobile key: where it was
sent. No provider connected: an empty string. Refused outside booking communications.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mangodesk.domain.errors import ValidationError

NO_CODE_TEXT = "No access code for these dates"
VARIABLE_NAME = "{{smart_lock_access_codes}}"


class TemplateContext(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_REQUESTED = "booking_requested"
    SCHEDULED_CHECKIN = "scheduled_checkin"
    SCHEDULED_CHECKOUT = "scheduled_checkout"
    MANUAL = "manual"
    BIRTHDAY = "birthday"
    CANCELLATION = "cancellation"

    @property
    def allows_access_codes(self) -> bool:
        return self not in (TemplateContext.BIRTHDAY, TemplateContext.CANCELLATION)

    @property
    def label(self) -> str:
        return _CONTEXT_LABELS[self]


_CONTEXT_LABELS = {
    TemplateContext.BOOKING_CONFIRMED: "Booking confirmed emails",
    TemplateContext.BOOKING_REQUESTED: "Booking requested emails",
    TemplateContext.SCHEDULED_CHECKIN: "Scheduled check-in emails",
    TemplateContext.SCHEDULED_CHECKOUT: "Scheduled checkout emails",
    TemplateContext.MANUAL: "Manually sent communications",
    TemplateContext.BIRTHDAY: "Birthday emails",
    TemplateContext.CANCELLATION: "Cancellation emails",
}


@dataclass(frozen=True)
class UnitKey:
    """What one booked unit contributes: its name, and its code for this stay if any."""

    unit_name: str
    sort_order: int
    unit_id: int
    has_lock: bool
    code: str | None = None
    mobile_key_sent_to: str | None = None


def _natural_key(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def render_access_codes(
    units: Sequence[UnitKey], *, provider_connected: bool, context: TemplateContext
) -> str:
    if not context.allows_access_codes:
        raise ValidationError(
            f"The access-code variable is not available in {context.label.lower()}.",
            field="context",
            fix="Use it in booking confirmations, check-in or checkout emails, or manual messages.",
        )
    if not provider_connected:
        return ""
    lines = []
    ordered = sorted(
        (u for u in units if u.has_lock),
        key=lambda u: (u.sort_order, _natural_key(u.unit_name), u.unit_id),
    )
    for unit in ordered:
        if unit.code:
            value = unit.code
        elif unit.mobile_key_sent_to:
            value = f"Mobile key sent to {unit.mobile_key_sent_to}"
        else:
            value = NO_CODE_TEXT
        lines.append(f"{unit.unit_name}: {value}")
    return "\n".join(lines)
