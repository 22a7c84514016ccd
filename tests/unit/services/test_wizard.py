"""The setup wizard's navigation, without Qt: driven by provider specs, against real services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.services.connections import ConnectError
from mangodesk.services.wizard import (
    PINNED_FIELD,
    ConnectWizard,
    WizardError,
    WizardStep,
)
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import (
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    ProviderSpec,
    ReportStep,
    SentCodeMatcher,
    VendorCode,
)
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry

FINGERPRINT = "AB:CD:EF:01"


@dataclass
class ServerState:
    """What the fake lock server accepts; tests change it between steps."""

    password: str = "right"
    fingerprint: str | None = None  # a self-signed certificate to accept first
    seen: list[dict[str, object]] = field(default_factory=list)


class FakeServerAdapter(SentCodeMatcher):
    kind = VendorKind.SMARTAIR
    capabilities = Capabilities(automated=True)

    def __init__(self, config: ConnectionConfig, state: ServerState) -> None:
        self._config = config
        self._state = state

    def test_connection(self) -> ConnectionReport:
        self._state.seen.append({**self._config.settings, **self._config.secrets})
        pinned = self._config.settings.get(PINNED_FIELD)
        if self._state.fingerprint and pinned != self._state.fingerprint:
            return ConnectionReport(
                ok=False, summary="The server's certificate is not trusted yet.",
                steps=(ReportStep("Certificate", False, "Not trusted yet.", "Compare it."),),
                details={"certificate_fingerprint": self._state.fingerprint,
                         "needs_certificate_acceptance": "true"},
            )
        if self._config.secrets.get("password") != self._state.password:
            return ConnectionReport(
                ok=False, summary="The operator password was not accepted.",
                steps=(ReportStep("Sign in", False, "Rejected.", "Check the password."),),
            )
        return ConnectionReport(ok=True, summary="Connected: 2 rooms.",
                                steps=(ReportStep("Sign in", True, "Accepted."),))

    def list_locks(self) -> list[LockInfo]:
        return [LockInfo("r1", "Room 1"), LockInfo("r2", "Room 2")]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Room", vendor_lock_id),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        return []

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        raise NotImplementedError

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        raise NotImplementedError

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


def server_spec(state: ServerState) -> ProviderSpec:
    return ProviderSpec(
        kind=VendorKind.SMARTAIR,
        display_name="Test server",
        fields=(
            CredentialField("server_address", "Server address"),
            CredentialField("operator", "Operator name"),
            CredentialField("password", "Operator password", secret=True),
            CredentialField("port", "Port", required=False, default="8181"),
        ),
        capabilities=FakeServerAdapter.capabilities,
        factory=lambda config: FakeServerAdapter(config, state),
        lock_noun="room",
    )


@pytest.fixture
def state() -> ServerState:
    return ServerState()


@pytest.fixture
def context(tmp_path: Path, secret_store: SecretStore, clock: FixedClock,
            state: ServerState) -> Iterator[Context]:
    vendors = VendorRegistry([MANUAL_SPEC, server_spec(state)])
    ctx = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store, clock=clock,
                        vendors=vendors)
    yield ctx
    ctx.close()


def connect(context: Context, wizard: ConnectWizard, request: object) -> None:
    from mangodesk.services.wizard import ConnectRequest

    assert isinstance(request, ConnectRequest)
    assert wizard.step == WizardStep.CONNECTING
    try:
        if request.connection_id is not None:
            wizard.connect_succeeded(context.services.connections.update_credentials(
                request.connection_id, request.values))
        else:
            wizard.connect_succeeded(context.services.connections.connect(
                request.kind, request.values, request.display_name))
    except Exception as exc:
        wizard.connect_failed(exc)


def test_the_providers_offered_are_the_registered_specs(context: Context) -> None:
    wizard = ConnectWizard(context.vendors.specs())
    assert [s.kind for s in wizard.specs] == [VendorKind.MANUAL, VendorKind.SMARTAIR]
    assert wizard.step == WizardStep.PROVIDER
    assert not wizard.can_connect()
    assert wizard.next() is None
    assert wizard.message == "Choose a lock provider."
    with pytest.raises(WizardError):
        wizard.choose(VendorKind.TTLOCK)


def test_manual_connects_without_asking_anything(context: Context) -> None:
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.MANUAL)
    request = wizard.next()
    assert request is not None and request.values == {}
    connect(context, wizard, request)
    assert wizard.step == WizardStep.DONE
    assert wizard.result is not None
    assert wizard.result.connection.kind == VendorKind.MANUAL
    assert [c.kind for c in context.services.connections.list()] == [VendorKind.MANUAL]


def test_fields_come_from_the_spec_and_are_checked_before_sending(
        context: Context, state: ServerState) -> None:
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.SMARTAIR)
    assert wizard.next() is None
    assert wizard.step == WizardStep.CREDENTIALS
    assert [f.name for f in wizard.fields] == ["server_address", "operator", "password", "port"]
    assert wizard.values == {"port": "8181"}  # defaults are filled in
    wizard.set_value("server_address", "   ")
    assert wizard.next() is None  # nothing sent
    assert wizard.step == WizardStep.CREDENTIALS
    assert set(wizard.errors) == {"server_address", "operator", "password"}
    assert wizard.errors["operator"] == "Enter the operator name."
    assert state.seen == []
    wizard.set_value("operator", "mango")
    assert "operator" not in wizard.errors  # typing clears the reason next to the field
    with pytest.raises(WizardError):
        wizard.set_value("api_key", "x")


def test_a_rejected_password_returns_to_the_fields_with_the_reason(
        context: Context, state: ServerState) -> None:
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.SMARTAIR)
    wizard.next()
    for name, value in [("server_address", " 10.0.0.5 "), ("operator", "mango"),
                        ("password", "wrong")]:
        wizard.set_value(name, value)
    request = wizard.next()
    assert request is not None
    assert request.values["server_address"] == "10.0.0.5"
    connect(context, wizard, request)
    assert wizard.step == WizardStep.CREDENTIALS
    assert wizard.message is not None and "password was not accepted" in wizard.message
    assert wizard.report is not None and not wizard.report.steps[0].ok
    assert context.services.connections.list() == []  # nothing stored
    wizard.set_value("password", "right")
    connect(context, wizard, wizard.next())
    assert wizard.step == WizardStep.DONE
    assert wizard.result is not None and len(wizard.result.locks) == 2


def test_a_certificate_is_shown_accepted_and_pinned(context: Context,
                                                    state: ServerState) -> None:
    state.fingerprint = FINGERPRINT
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.SMARTAIR)
    wizard.next()
    for name, value in [("server_address", "10.0.0.5"), ("operator", "mango"),
                        ("password", "right")]:
        wizard.set_value(name, value)
    connect(context, wizard, wizard.next())
    assert wizard.step == WizardStep.CERTIFICATE
    assert wizard.fingerprint == FINGERPRINT
    assert wizard.can_go_back()
    request = wizard.next()  # the primary button accepts
    assert request is not None and request.values[PINNED_FIELD] == FINGERPRINT
    connect(context, wizard, request)
    assert wizard.step == WizardStep.DONE
    stored = context.services.connections.list()[0]
    assert stored.settings[PINNED_FIELD] == FINGERPRINT
    assert "password" not in stored.settings  # secrets stay in the keyring


def test_back_from_the_certificate_and_from_the_fields(context: Context,
                                                       state: ServerState) -> None:
    state.fingerprint = FINGERPRINT
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.SMARTAIR)
    wizard.next()
    for name, value in [("server_address", "h"), ("operator", "o"), ("password", "p")]:
        wizard.set_value(name, value)
    connect(context, wizard, wizard.next())
    wizard.back()
    assert wizard.step == WizardStep.CREDENTIALS
    wizard.back()
    assert wizard.step == WizardStep.PROVIDER
    assert not wizard.can_go_back()
    with pytest.raises(WizardError):
        wizard.back()
    wizard.choose(VendorKind.MANUAL)
    assert wizard.values == {}  # another provider: its own inputs only


def test_re_authenticating_keeps_the_stored_secret_when_left_empty(
        context: Context, state: ServerState) -> None:
    result = context.services.connections.connect(
        VendorKind.SMARTAIR, {"server_address": "h", "operator": "o", "password": "right"},
        "Front building")
    wizard = ConnectWizard.for_existing(context.vendors.specs(), result.connection)
    assert wizard.step == WizardStep.CREDENTIALS
    assert wizard.values["server_address"] == "h"
    assert "password" not in wizard.values
    assert not wizard.can_go_back()  # the provider of a connection cannot change
    request = wizard.next()
    assert request is not None and request.connection_id == result.connection.id
    connect(context, wizard, request)
    assert wizard.step == WizardStep.DONE
    assert state.seen[-1]["password"] == "right"


def test_an_unexpected_error_is_put_in_plain_words(context: Context) -> None:
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.MANUAL)
    wizard.next()
    wizard.connect_failed(KeyError("boom"))
    assert wizard.step == WizardStep.PROVIDER
    assert wizard.message is not None and "unexpected problem" in wizard.message
    assert "boom" not in wizard.message


def test_connect_errors_carry_the_report(context: Context) -> None:
    report = ConnectionReport(ok=False, summary="No.", steps=())
    wizard = ConnectWizard(context.vendors.specs())
    wizard.choose(VendorKind.MANUAL)
    wizard.next()
    wizard.connect_failed(ConnectError(report))
    assert wizard.report is report
    assert wizard.message == "No."
