"""The Manual provider: no hardware. Locks are names staff type; codes are typed by staff.

It implements the adapter protocol so every layer can treat providers alike, but declares
itself not automated: the planner never issues codes on Manual locks.
"""

from __future__ import annotations

from datetime import datetime

from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    LockDetails,
    LockInfo,
    PermanentError,
    PinRules,
    ProviderSpec,
    SentCodeMatcher,
    VendorCode,
)

MANUAL_CAPABILITIES = Capabilities(
    automated=False,
    pin_rules=PinRules(
        lengths=tuple(range(3, 13)),
        default_length=6,
        alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ),
    can_change_pin=True,
)


class ManualAdapter(SentCodeMatcher):
    """Stores nothing remotely: creating a code just echoes it back as confirmed."""

    kind = VendorKind.MANUAL
    capabilities = MANUAL_CAPABILITIES

    def __init__(self, config: ConnectionConfig | None = None) -> None:
        self._config = config

    def test_connection(self) -> ConnectionReport:
        return ConnectionReport(ok=True, summary="Manual locks need no connection.")

    def list_locks(self) -> list[LockInfo]:
        return []

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Lock name", vendor_lock_id),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        return []

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        if not request.pin:
            raise PermanentError("A manual lock needs the code typed in.")
        return VendorCode(
            vendor_ref=f"manual:{vendor_lock_id}",
            pin=request.pin,
            valid_from=request.valid_from,
            valid_to=request.valid_to,
            name=request.guest_name,
        )

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        return VendorCode(code.vendor_ref, code.pin, valid_from, valid_to, code.name)

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        return None

    def close(self) -> None:
        return None


MANUAL_SPEC = ProviderSpec(
    kind=VendorKind.MANUAL,
    display_name="Manual",
    fields=(),
    capabilities=MANUAL_CAPABILITIES,
    factory=ManualAdapter,
    lock_noun="lock",
    description="Keypads, lockboxes and gate codes you change yourself. No hardware account.",
)
