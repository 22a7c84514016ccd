"""What a lock provider can do, as the planner, the engine and the desk all read it.

One type for every layer: adapters declare it, the planner decides from it, services show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from mangodesk.domain.pinrules import PinRules


class PinScope(StrEnum):
    """Which existing codes a vendor compares a new PIN against before it accepts it; a PIN
    Mangodesk proposes must be free in the same scope, or the vendor refuses it."""

    LOCK_LIVE = "lock_live"  # codes on the same lock whose windows overlap the new one
    LOCK_ALL = "lock_all"  # every code stored on the lock, expired ones included (TTLock)
    SITE_OVERLAPPING = "site_overlapping"  # overlapping stays anywhere on the site (Smartair)


@dataclass(frozen=True)
class Capabilities:
    automated: bool
    pin_rules: PinRules | None = field(default_factory=PinRules)
    vendor_generates_pin: bool = False
    mobile_key: bool = False  # delivers a mobile key to the guest's email instead of a PIN
    needs_guest_email: bool = False
    can_move_start: bool = True
    can_move_end: bool = True
    can_change_pin: bool = False  # staff may edit the PIN of an existing code in place
    time_granularity: timedelta = timedelta(minutes=1)
    max_codes_per_lock: int | None = None
    needs_gateway: bool = False
    max_lead: timedelta | None = None  # the vendor refuses codes issued earlier than this
    pin_scope: PinScope = PinScope.LOCK_LIVE
    # A code created after its start has passed starts at the vendor's own "now" (a Smartair
    # check-in), so a read-back shows that start instead of the one sent; its end is exact.
    live_start_is_vendor_now: bool = False

    @property
    def keeps_chosen_pin(self) -> bool:
        """Whether we can ask this vendor for a PIN of our choosing."""
        return self.pin_rules is not None and not self.vendor_generates_pin and not self.mobile_key
