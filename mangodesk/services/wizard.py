"""The Smart Locks setup wizard ("Get Started") as a plain state machine, without Qt.

The GUI shows one page per :class:`WizardStep` and calls the transitions below; the
connection itself runs on a worker (the GUI's job), and its outcome is handed back with
:meth:`ConnectWizard.connect_succeeded` / :meth:`ConnectWizard.connect_failed`. Everything
here is driven by the providers' :class:`ProviderSpec` — no provider's fields are written
down in this module — so a new provider appears in the wizard by registering its spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from mangodesk.domain.errors import MangodeskError, ValidationError
from mangodesk.domain.types import VendorKind
from mangodesk.services.connections import ConnectError, ConnectResult, DuplicateConnection
from mangodesk.services.views import ConnectionView
from mangodesk.vendors.base import ConnectionReport, CredentialField, ProviderSpec

FINGERPRINT_DETAIL = "certificate_fingerprint"
NEEDS_ACCEPTANCE_DETAIL = "needs_certificate_acceptance"
PINNED_FIELD = "pinned_sha256"
MAX_NAME = 200


class WizardStep(StrEnum):
    PROVIDER = "provider"  # choose Manual, TTLock, Flexipass, Inlet, TESA Smartair…
    CREDENTIALS = "credentials"  # exactly the inputs the chosen provider needs
    CONNECTING = "connecting"  # the check runs in the background
    CERTIFICATE = "certificate"  # a self-signed server certificate to accept (Smartair)
    DONE = "done"  # connected: what was found, what to do next


@dataclass(frozen=True)
class ConnectRequest:
    """What the GUI must run in the background for the CONNECTING step."""

    kind: VendorKind
    values: Mapping[str, str]
    display_name: str | None
    connection_id: int | None = None  # set when re-authenticating an existing connection


class WizardError(MangodeskError):
    """A transition that is not possible from the current step (a GUI bug, not user input)."""


@dataclass
class ConnectWizard:
    specs: Sequence[ProviderSpec]
    step: WizardStep = WizardStep.PROVIDER
    kind: VendorKind | None = None
    values: dict[str, str] = field(default_factory=dict)
    display_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field name → reason, shown there
    message: str | None = None  # the latest problem in plain words, with its fix
    report: ConnectionReport | None = None
    result: ConnectResult | None = None
    existing: ConnectionView | None = None  # editing / re-authenticating this connection
    # The same account or server is connected already: offer "Sign in again" on it.
    duplicate: ConnectionView | None = None

    # ------------------------------------------------------------------ creation

    @classmethod
    def for_existing(cls, specs: Sequence[ProviderSpec],
                     connection: ConnectionView) -> ConnectWizard:
        """Re-authenticate or edit a connection: its provider is fixed, its non-secret
        settings are filled in, and secret fields left empty keep the stored secret."""
        wizard = cls(specs=specs, existing=connection, kind=connection.kind,
                     display_name=connection.display_name, step=WizardStep.CREDENTIALS)
        spec = wizard.spec
        for credential in spec.fields:
            stored = connection.settings.get(credential.name)
            if not credential.secret and stored is not None:
                wizard.values[credential.name] = str(stored)
        return wizard

    # ------------------------------------------------------------------ reading

    @property
    def spec(self) -> ProviderSpec:
        if self.kind is None:
            raise WizardError("No provider has been chosen yet.")
        for spec in self.specs:
            if spec.kind == self.kind:
                return spec
        raise WizardError(f"The provider “{self.kind}” is not available.")

    @property
    def fields(self) -> tuple[CredentialField, ...]:
        return self.spec.fields if self.kind is not None else ()

    def field_is_required(self, credential: CredentialField) -> bool:
        """Secrets of an existing connection may stay empty: the stored one is kept."""
        if self.existing is not None and credential.secret:
            return False
        return credential.required and not credential.default

    def can_go_back(self) -> bool:
        if self.step == WizardStep.CREDENTIALS:
            return self.existing is None
        return self.step == WizardStep.CERTIFICATE

    def can_connect(self) -> bool:
        """Whether the primary button (Connect / Accept) can be pressed on this step."""
        if self.step == WizardStep.PROVIDER:
            return self.kind is not None
        return self.step in (WizardStep.CREDENTIALS, WizardStep.CERTIFICATE)

    @property
    def fingerprint(self) -> str | None:
        if self.report is None:
            return None
        return self.report.details.get(FINGERPRINT_DETAIL)

    # ------------------------------------------------------------------ transitions

    def choose(self, kind: VendorKind) -> None:
        self._expect(WizardStep.PROVIDER)
        if kind not in {spec.kind for spec in self.specs}:
            raise WizardError(f"The provider “{kind}” is not available.")
        if kind != self.kind:
            self.values = {f.name: f.default for f in _spec_of(self.specs, kind).fields
                           if f.default}
            self.errors = {}
        self.kind = kind

    def next(self) -> ConnectRequest | None:
        """Provider → credentials; a provider without inputs (Manual) connects at once.
        Returns the request to run when the wizard enters CONNECTING."""
        if self.step == WizardStep.PROVIDER:
            if self.kind is None:
                self.message = "Choose a lock provider."
                return None
            self.message = None
            if not self.spec.fields:
                return self._start_connecting()
            self.step = WizardStep.CREDENTIALS
            return None
        if self.step == WizardStep.CREDENTIALS:
            return self.connect()
        if self.step == WizardStep.CERTIFICATE:
            return self.accept_certificate()
        raise WizardError(f"There is no next step from “{self.step}”.")

    def back(self) -> None:
        if not self.can_go_back():
            raise WizardError(f"There is no way back from “{self.step}”.")
        if self.step == WizardStep.CERTIFICATE:
            self.step = WizardStep.CREDENTIALS
            return
        self.step = WizardStep.PROVIDER
        self.errors = {}
        self.message = None

    def set_value(self, name: str, value: str) -> None:
        if name not in {f.name for f in self.fields}:
            raise WizardError(f"The provider has no input called “{name}”.")
        self.values[name] = value
        self.errors.pop(name, None)

    def set_display_name(self, name: str) -> None:
        self.display_name = name
        self.errors.pop("display_name", None)

    def validate(self) -> dict[str, str]:
        """Check the inputs before anything is sent; the reasons go next to the fields."""
        errors: dict[str, str] = {}
        for credential in self.fields:
            value = self.values.get(credential.name, "")
            present = bool(value) if credential.secret else bool(value.strip())
            if self.field_is_required(credential) and not present:
                errors[credential.name] = f"Enter the {credential.label.lower()}."
            elif value != value.strip() and not credential.secret:
                self.values[credential.name] = value.strip()
        if len(self.display_name.strip()) > MAX_NAME:
            errors["display_name"] = f"A name can be at most {MAX_NAME} characters."
        self.errors = errors
        return errors

    def connect(self) -> ConnectRequest | None:
        self._expect(WizardStep.CREDENTIALS)
        if self.validate():
            self.message = "Some details are missing; see the highlighted fields."
            return None
        return self._start_connecting()

    def accept_certificate(self) -> ConnectRequest:
        """Trust the certificate shown (after the installer compared it) and connect again."""
        self._expect(WizardStep.CERTIFICATE)
        fingerprint = self.fingerprint
        if not fingerprint:
            raise WizardError("There is no certificate to accept.")
        self.values[PINNED_FIELD] = fingerprint
        return self._start_connecting()

    def connect_succeeded(self, result: ConnectResult | ConnectionReport) -> None:
        self._expect(WizardStep.CONNECTING)
        if isinstance(result, ConnectResult):
            self.result, self.report = result, result.report
        else:
            self.report = result
        self.message = None
        self.errors = {}
        self.step = WizardStep.DONE

    def connect_failed(self, error: Exception) -> None:
        """Back to the inputs with the reason; to the certificate page when the server's
        certificate must be accepted first."""
        self._expect(WizardStep.CONNECTING)
        self.report = error.report if isinstance(error, ConnectError) else None
        self.duplicate = error.existing if isinstance(error, DuplicateConnection) else None
        if isinstance(error, ValidationError) and error.field and not isinstance(
                error, ConnectError):
            self.errors = {error.field: error.message}
        if isinstance(error, MangodeskError):
            self.message = str(error)
        else:
            self.message = ("Mangodesk could not finish connecting because of an unexpected "
                            f"problem ({type(error).__name__}). Try again; if it keeps "
                            "happening, send the log file to your IT contact.")
        if self._certificate_to_accept():
            self.step = WizardStep.CERTIFICATE
        elif self.spec.fields:
            self.step = WizardStep.CREDENTIALS
        else:
            self.step = WizardStep.PROVIDER

    # ------------------------------------------------------------------ helpers

    def _certificate_to_accept(self) -> bool:
        if self.report is None or not self.fingerprint:
            return False
        details = self.report.details
        if details.get(NEEDS_ACCEPTANCE_DETAIL) == "true":
            return True
        return self.values.get(PINNED_FIELD) not in (None, "", self.fingerprint)

    def _start_connecting(self) -> ConnectRequest:
        self.step = WizardStep.CONNECTING
        self.message = None
        values = {k: v for k, v in self.values.items() if v != "" or k == PINNED_FIELD}
        name = " ".join(self.display_name.split()) or None
        return ConnectRequest(self.spec.kind, values, name,
                              self.existing.id if self.existing else None)

    def _expect(self, *steps: WizardStep) -> None:
        if self.step not in steps:
            raise WizardError(f"This cannot be done on the “{self.step}” step.")


def _spec_of(specs: Sequence[ProviderSpec], kind: VendorKind) -> ProviderSpec:
    for spec in specs:
        if spec.kind == kind:
            return spec
    raise WizardError(f"The provider “{kind}” is not available.")
