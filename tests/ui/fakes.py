"""A lock provider for GUI tests: locks, codes and details held in memory, and a gate that
can hold a call for as long as a test wants (a slow lock server)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from mangodesk.domain.types import VendorKind
from mangodesk.vendors.base import (
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    PinRules,
    ProviderSpec,
    ReportStep,
    SentCodeMatcher,
    TransientError,
    VendorCode,
)

FAKE_CAPABILITIES = Capabilities(
    automated=True,
    pin_rules=PinRules(lengths=(6,), default_length=6),
    can_change_pin=False,
)


@dataclass
class FakeServer:
    """What the fake provider knows; tests set it up and inspect it."""

    password: str = "secret"
    locks: list[LockInfo] = field(default_factory=lambda: [
        LockInfo("L1", "Front door 1", {"battery": 80}),
        LockInfo("L2", "Front door 2", {"battery": 15}),
        LockInfo("L3", "Old lock", manageable=False,
                 unmanageable_reason="no gateway: codes cannot be sent"),
    ])
    codes: dict[str, list[VendorCode]] = field(default_factory=dict)
    details_gate: threading.Event | None = None  # lock_details waits for it when set
    details_gate_timeout: float = 30.0
    calls: list[str] = field(default_factory=list)


class FakeAdapter(SentCodeMatcher):
    kind = VendorKind.TTLOCK
    capabilities = FAKE_CAPABILITIES

    def __init__(self, config: ConnectionConfig, server: FakeServer) -> None:
        self._config = config
        self._server = server

    def test_connection(self) -> ConnectionReport:
        self._server.calls.append("test_connection")
        if self._config.secrets.get("password") != self._server.password:
            return ConnectionReport(
                ok=False, summary="TTLock did not accept the username or password.",
                steps=(ReportStep("Sign in", False, "The password was refused.",
                                  "Check the password in the TTLock app."),))
        return ConnectionReport(ok=True, summary="Connected to TTLock: 3 locks found.",
                                steps=(ReportStep("Sign in", True, "Signed in."),))

    def list_locks(self) -> list[LockInfo]:
        self._server.calls.append("list_locks")
        return list(self._server.locks)

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        self._server.calls.append("lock_details")
        gate = self._server.details_gate
        if gate is not None and not gate.wait(self._server.details_gate_timeout):
            raise TransientError("The lock server did not answer in time.")
        return LockDetails(items=(("Battery", "80 %"), ("Gateway", "online")),
                           warnings=("Battery low soon.",))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        self._server.calls.append("list_codes")
        return list(self._server.codes.get(vendor_lock_id, []))

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        raise TransientError("not used by GUI tests")

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        raise TransientError("not used by GUI tests")

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        raise TransientError("not used by GUI tests")

    def close(self) -> None:
        return None


def fake_spec(server: FakeServer) -> ProviderSpec:
    return ProviderSpec(
        kind=VendorKind.TTLOCK,
        display_name="TTLock",
        fields=(
            CredentialField("username", "Username", help="Your TTLock app e-mail."),
            CredentialField("password", "Password", secret=True),
        ),
        capabilities=FAKE_CAPABILITIES,
        factory=lambda config: FakeAdapter(config, server),
        description="A provider held in memory for tests.",
    )
