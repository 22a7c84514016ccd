"""Smart Locks setup ("Get Started"): the pages of the ConnectWizard state machine.

All navigation decisions are the state machine's; this dialog only shows the current step
and runs the connection check on a worker while a progress bar turns.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.types import VendorKind
from mangodesk.services.connections import ConnectResult
from mangodesk.services.views import ConnectionView
from mangodesk.services.wizard import ConnectRequest, ConnectWizard, WizardStep
from mangodesk.sim.base import DemoVendor
from mangodesk.ui.forms import ERROR_COLOUR, FieldForm
from mangodesk.ui.tasks import TaskRunner
from mangodesk.vendors.base import ConnectionReport

OK_COLOUR = "#1d6b36"
DEMO_NOTE = ("Demo — simulated: every provider here is a simulator on this computer. "
             "Nothing you type is sent to a real lock provider.")
MESSAGE_LINES = 3  # the error area keeps this height, so the form never jumps


def demo_routing(vendor: DemoVendor) -> dict[str, str]:
    """The values that decide where a connection goes (server addresses, pinned
    certificates): in the demo they always point at the simulator, whatever was typed."""
    routing = dict(vendor.settings)
    for name, value in vendor.values.items():
        if value.startswith(("http://", "https://")) or "127.0.0.1" in value \
                or name in {"server_address", "api_base", "base_url"}:
            routing[name] = value
    return routing


class ConnectWizardDialog(QDialog):
    connected = Signal(object)  # ConnectionView, or the re-authenticated connection's id

    def __init__(self, context: Context, runner: TaskRunner, *,
                 existing: ConnectionView | None = None, parent: QWidget | None = None,
                 demo: dict[VendorKind, DemoVendor] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard")
        self.context, self.runner = context, runner
        self.demo = demo  # None outside the demo; in it, every connection goes to a simulator
        specs = context.vendors.specs()
        self.wizard = (ConnectWizard.for_existing(specs, existing) if existing
                       else ConnectWizard(specs))
        title = (f"Sign in again — {existing.display_name}" if existing
                 else "Smart Locks — Get Started")
        self.setWindowTitle(f"{title} (Demo — simulated)" if demo is not None else title)
        # Non-modal: staff keep working in the main window while a lock server answers.
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setMinimumSize(600, 460)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        title_font = self.title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        self.title.setFont(title_font)
        layout.addWidget(self.title)
        if demo is not None:
            note = QLabel(DEMO_NOTE, self)
            note.setObjectName("demo_note")
            note.setWordWrap(True)
            note.setStyleSheet("background: #e4edf8; color: #1f4f8a; padding: 6px; "
                               "border-radius: 4px;")
            layout.addWidget(note)
        # A fixed, word-wrapped error area: always there (empty when all is well), as tall as
        # three lines, so an error appearing never pushes the buttons around.
        self.message = QLabel(self)
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The area keeps its height; a longer text scrolls inside it instead of being cut.
        self.message_area = QScrollArea(self)
        self.message_area.setObjectName("message_area")
        self.message_area.setWidgetResizable(True)
        self.message_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.message_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.message_area.setFixedHeight(
            self.message.fontMetrics().lineSpacing() * MESSAGE_LINES + 6)
        self.message_area.setWidget(self.message)

        self.pages = QStackedWidget(self)
        self.provider_page = self._provider_page()
        self.credentials_page = QWidget(self)
        self.credentials_layout = QVBoxLayout(self.credentials_page)
        self.credentials_layout.setContentsMargins(0, 0, 0, 0)
        self.connecting_page = self._connecting_page()
        self.certificate_page = self._certificate_page()
        self.done_page = QWidget(self)
        self.done_layout = QVBoxLayout(self.done_page)
        self.done_layout.setContentsMargins(0, 0, 0, 0)
        for page in (self.provider_page, self.credentials_page, self.connecting_page,
                     self.certificate_page, self.done_page):
            self.pages.addWidget(page)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message_area)

        buttons = QHBoxLayout()
        # The account is connected already: sign in again on that connection instead.
        self.sign_in_again_button = QPushButton("Sign in again", self)
        self.sign_in_again_button.setObjectName("sign_in_again")
        self.sign_in_again_button.setAutoDefault(False)
        self.sign_in_again_button.clicked.connect(self.sign_in_again_on_duplicate)
        self.sign_in_again_button.hide()
        self.back_button = QPushButton("Back", self)
        self.back_button.setObjectName("back")
        self.back_button.clicked.connect(self.go_back)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.next_button = QPushButton("Next", self)
        self.next_button.setObjectName("next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.go_next)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.sign_in_again_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.next_button)
        layout.addLayout(buttons)
        self.form: FieldForm | None = None
        self.advanced_form = FieldForm()
        self.inputs: dict[str, QLineEdit] = {}
        self.switches: dict[str, QCheckBox] = {}
        self.show_step()

    # ------------------------------------------------------------------ pages

    def _provider_page(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 6, 0, 0)
        intro = QLabel("Choose how your doors are opened. You can connect more than one "
                       "provider; each unit is then linked to one lock.")
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.provider_group = QButtonGroup(page)
        for number, spec in enumerate(self.wizard.specs):
            button = QRadioButton(spec.display_name, page)
            button.setObjectName(f"provider_{spec.kind.value}")
            font = button.font()
            font.setBold(True)
            button.setFont(font)
            self.provider_group.addButton(button, number)
            column.addWidget(button)
            if spec.description:
                about = QLabel(spec.description, page)
                about.setWordWrap(True)
                about.setContentsMargins(24, 0, 0, 6)
                about.setStyleSheet("color: palette(placeholder-text);")
                column.addWidget(about)
        self.provider_group.idClicked.connect(self._provider_chosen)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        return scroll

    def _build_credentials(self) -> None:
        while self.credentials_layout.count():
            item = self.credentials_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        holder = QWidget(self.credentials_page)
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 6, 0, 0)
        spec = self.wizard.spec
        if self.wizard.existing is not None:
            intro_text = ("Change what you need. Passwords and tokens left empty keep the "
                          "ones stored in this computer's keyring.")
        else:
            intro_text = f"Enter your {spec.display_name} details, then press Connect."
        intro = QLabel(intro_text)
        intro.setWordWrap(True)
        column.addWidget(intro)
        self.form = FieldForm()
        self.advanced_form = FieldForm()
        self.inputs = {}
        self.switches = {}
        for credential in spec.fields:
            form = self.advanced_form if credential.advanced else self.form
            if credential.switch:
                box = QCheckBox(credential.label, holder)
                box.setObjectName(f"field_{credential.name}")
                box.setChecked(self.wizard.values.get(credential.name, "") == "true")
                box.toggled.connect(lambda on, name=credential.name:
                                    self._value_edited(name, "true" if on else ""))
                form.add_field(credential.name, "", box, hint=credential.help)
                self.switches[credential.name] = box
                continue
            edit = QLineEdit(holder)
            edit.setObjectName(f"field_{credential.name}")
            if credential.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
                if self.wizard.existing is not None:
                    edit.setPlaceholderText("unchanged")
            edit.setText(self.wizard.values.get(credential.name, ""))
            edit.textEdited.connect(
                lambda value, name=credential.name: self._value_edited(name, value))
            label = credential.label if self.wizard.field_is_required(credential) \
                else f"{credential.label} (optional)"
            form.add_field(credential.name, label, edit, hint=credential.help)
            self.inputs[credential.name] = edit
        if self.wizard.existing is None:
            name_edit = QLineEdit(holder)
            name_edit.setObjectName("field_display_name")
            name_edit.setPlaceholderText(f"e.g. {spec.display_name} main building")
            name_edit.setText(self.wizard.display_name)
            name_edit.textEdited.connect(self.wizard.set_display_name)
            self.form.add_field("display_name", "Name in Mangodesk (optional)", name_edit)
        column.addLayout(self.form)
        # Settings of the installation (set once by the IT person) stay out of staff's way.
        self.advanced_toggle = QToolButton(holder)
        self.advanced_toggle.setObjectName("advanced_toggle")
        self.advanced_toggle.setText("Advanced (set once by the IT person)")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_box = QWidget(holder)
        self.advanced_box.setObjectName("advanced_box")
        self.advanced_box.setLayout(self.advanced_form)
        self.advanced_box.setVisible(False)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        has_advanced = any(c.advanced for c in spec.fields)
        self.advanced_toggle.setVisible(has_advanced)
        column.addWidget(self.advanced_toggle)
        column.addWidget(self.advanced_box)
        if has_advanced and any(c.advanced and self.wizard.field_is_required(c)
                                and not self.wizard.values.get(c.name)
                                for c in spec.fields):
            self.advanced_toggle.setChecked(True)  # nothing known yet: the IT person fills it
        column.addStretch(1)
        scroll = QScrollArea(self.credentials_page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Fields and wrapped hints follow the dialog's width; only tall forms scroll.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)
        self.credentials_layout.addWidget(scroll)

    def _connecting_page(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.addStretch(1)
        self.connecting_label = QLabel(page)
        self.connecting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.connecting_label.setWordWrap(True)
        column.addWidget(self.connecting_label)
        self.progress = QProgressBar(page)
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        column.addWidget(self.progress)
        hint = QLabel("A lock server on the hotel network can take up to a minute to answer. "
                      "You can keep working in the main window.")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: palette(placeholder-text);")
        column.addWidget(hint)
        column.addStretch(2)
        return page

    def _certificate_page(self) -> QWidget:
        page = QWidget(self)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 6, 0, 0)
        self.certificate_text = QLabel(page)
        self.certificate_text.setWordWrap(True)
        column.addWidget(self.certificate_text)
        self.fingerprint = QLabel(page)
        self.fingerprint.setObjectName("fingerprint")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.fingerprint.setFont(mono)
        self.fingerprint.setWordWrap(True)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setStyleSheet("padding: 8px; background: palette(alternate-base);"
                                       " border: 1px solid palette(mid);")
        column.addWidget(self.fingerprint)
        self.certificate_fix = QLabel(page)
        self.certificate_fix.setWordWrap(True)
        column.addWidget(self.certificate_fix)
        column.addStretch(1)
        return page

    def _build_done(self) -> None:
        while self.done_layout.count():
            item = self.done_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        report = self.wizard.report
        result = self.wizard.result
        summary = QLabel(report.summary if report else "Connected.", self.done_page)
        summary.setObjectName("summary")
        summary.setWordWrap(True)
        summary.setStyleSheet(f"color: {OK_COLOUR}; font-weight: bold;")
        self.done_layout.addWidget(summary)
        if report is not None:
            self.done_layout.addWidget(self._steps(report, self.done_page))
        if result is not None:
            noun = self.wizard.spec.lock_noun
            if self.wizard.spec.capabilities.automated:
                count = len(result.locks)
                found = f"{count} {noun}{'s' if count != 1 else ''} found."
                after = (f"Next: select a unit in the main window, press Link (Ctrl+L) and "
                         f"pick its {noun}. From then on Mangodesk creates each guest's code "
                         "about 48 hours before check-in.")
            else:
                found = "No hardware account is needed."
                after = ("Next: select a unit, press Link (Ctrl+L) and type a lock name; "
                         "then add its key codes under Passcodes.")
            next_steps = QLabel(f"{found}\n\n{after}", self.done_page)
            next_steps.setObjectName("next_steps")
            next_steps.setWordWrap(True)
            self.done_layout.addWidget(next_steps)
        self.done_layout.addStretch(1)

    @staticmethod
    def _steps(report: ConnectionReport, parent: QWidget) -> QWidget:
        holder = QWidget(parent)
        holder.setObjectName("report_steps")
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 4, 0, 4)
        column.setSpacing(2)
        for step in report.steps:
            mark, colour = ("✓", OK_COLOUR) if step.ok else ("✗", ERROR_COLOUR)
            line = QLabel(f"<span style='color:{colour}'>{mark}</span> <b>{step.name}</b>: "
                          f"{_escape(step.message)}"
                          + (f"<br><i>{_escape(step.fix)}</i>" if step.fix else ""), holder)
            line.setWordWrap(True)
            line.setTextFormat(Qt.TextFormat.RichText)
            column.addWidget(line)
        return holder

    # ------------------------------------------------------------------ showing a step

    def show_step(self) -> None:
        wizard = self.wizard
        step = wizard.step
        spec_name = wizard.spec.display_name if wizard.kind is not None else ""
        titles = {
            WizardStep.PROVIDER: "Choose your lock provider",
            WizardStep.CREDENTIALS: f"Connect {spec_name}",
            WizardStep.CONNECTING: f"Connecting to {spec_name}…",
            WizardStep.CERTIFICATE: "Accept the server's certificate?",
            WizardStep.DONE: f"{spec_name} is connected",
        }
        self.title.setText(titles[step])
        pages = {
            WizardStep.PROVIDER: self.provider_page,
            WizardStep.CREDENTIALS: self.credentials_page,
            WizardStep.CONNECTING: self.connecting_page,
            WizardStep.CERTIFICATE: self.certificate_page,
            WizardStep.DONE: self.done_page,
        }
        if step == WizardStep.CREDENTIALS:
            self._build_credentials()
            self._show_field_errors()
        elif step == WizardStep.CONNECTING:
            self.connecting_label.setText(f"Checking the connection with {spec_name}…")
        elif step == WizardStep.CERTIFICATE:
            self._fill_certificate()
        elif step == WizardStep.DONE:
            self._build_done()
        self.pages.setCurrentWidget(pages[step])
        self._show_message()
        self.back_button.setVisible(step not in (WizardStep.DONE,) and
                                    (wizard.can_go_back() or step == WizardStep.PROVIDER))
        self.back_button.setEnabled(wizard.can_go_back())
        next_labels = {
            WizardStep.PROVIDER: "Connect" if wizard.kind is not None and not wizard.fields
            else "Next",
            WizardStep.CREDENTIALS: "Connect",
            WizardStep.CONNECTING: "Connect",
            WizardStep.CERTIFICATE: "Accept and connect",
            WizardStep.DONE: "Finish",
        }
        self.next_button.setText(next_labels[step])
        self.next_button.setEnabled(step == WizardStep.DONE or wizard.can_connect())
        self.cancel_button.setVisible(step != WizardStep.DONE)
        duplicate = wizard.duplicate
        self.sign_in_again_button.setVisible(
            duplicate is not None and duplicate.kind != VendorKind.MANUAL
            and step != WizardStep.DONE)
        if duplicate is not None:
            self.sign_in_again_button.setText(f"Sign in again on “{duplicate.display_name}”")
        if step == WizardStep.CREDENTIALS and self.inputs:
            first_empty = next((e for e in self.inputs.values() if not e.text()),
                               next(iter(self.inputs.values())))
            first_empty.setFocus()

    def _show_message(self) -> None:
        message = self.wizard.message
        step = self.wizard.step
        report = self.wizard.report
        if step == WizardStep.CREDENTIALS and report is not None and not report.ok \
                and report.steps:
            self.message.setText(message or report.summary)
            self.message.show()
            steps = self._steps(report, self.credentials_page)
            self.credentials_layout.addWidget(steps)
            return
        shown = message if message and step != WizardStep.CERTIFICATE else ""
        self.message.setText(shown or "")
        self.message.setToolTip(shown or "")

    def _show_advanced(self, shown: bool) -> None:
        self.advanced_box.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)

    def _show_field_errors(self) -> None:
        if self.form is None:
            return
        self.form.clear_errors()
        self.advanced_form.clear_errors()
        for name, reason in self.wizard.errors.items():
            if not self.form.show_error(name, reason) \
                    and self.advanced_form.show_error(name, reason):
                self.advanced_toggle.setChecked(True)  # the reason is never hidden

    def _fill_certificate(self) -> None:
        report = self.wizard.report
        failing = next((s for s in report.steps if not s.ok), None) if report else None
        self.certificate_text.setText(
            failing.message.split(" Its fingerprint is")[0] if failing else
            "The server presents a certificate Mangodesk does not know yet.")
        self.fingerprint.setText(_grouped(self.wizard.fingerprint or ""))
        self.certificate_fix.setText(
            failing.fix if failing and failing.fix else
             "Compare this fingerprint with the one shown on the server. If they match, "
             "accept it; Mangodesk will then only ever talk to this server.")

    # ------------------------------------------------------------------ actions

    def _provider_chosen(self, number: int) -> None:
        kind = self.wizard.specs[number].kind
        self.wizard.choose(kind)
        self.wizard.message = None
        # What the IT person set for this installation (e.g. TTLock's Open Platform app) is
        # filled in: staff type only their own sign-in.
        self.wizard.values.update(self.context.services.connections.installation_values(kind))
        if self.demo is not None:
            vendor = self.demo.get(kind)
            if vendor is not None:
                self.wizard.values = {**self.wizard.values, **vendor.values}
            elif kind != VendorKind.MANUAL:
                self.wizard.message = (f"{self.wizard.spec.display_name} has no simulator in "
                                       "this demo, so it cannot be connected here.")
        self.show_step()
        if self.demo is not None and self.demo.get(kind) is None \
                and kind != VendorKind.MANUAL:
            self.next_button.setEnabled(False)

    def _value_edited(self, name: str, value: str) -> None:
        self.wizard.set_value(name, value)
        if self.form is not None:
            self.form.clear_error(name)
            self.advanced_form.clear_error(name)

    def go_back(self) -> None:
        if self.wizard.can_go_back():
            self.wizard.back()
            self.show_step()

    def go_next(self) -> None:
        if self.wizard.step == WizardStep.DONE:
            self.accept()
            return
        if self.wizard.step == WizardStep.CONNECTING:
            return
        request = self.wizard.next()
        self.show_step()
        if request is not None:
            self._run(request)

    def open(self) -> None:
        """Shown without blocking the main window (a lock server can take a minute)."""
        self.show()
        self.activateWindow()

    def request_values(self, request: ConnectRequest) -> dict[str, str]:
        """What is sent: in the demo, the address always points at the local simulator."""
        if self.demo is None:
            return dict(request.values)
        vendor = self.demo.get(request.kind)
        if vendor is None:
            if request.kind == VendorKind.MANUAL:
                return dict(request.values)
            raise WizardRefused(f"{request.kind} has no simulator in this demo.")
        return {**request.values, **demo_routing(vendor)}

    def _run(self, request: ConnectRequest) -> None:
        connections = self.context.services.connections
        try:
            values = self.request_values(request)
        except WizardRefused as refused:
            self._failed(refused)
            return

        def work() -> ConnectResult | ConnectionReport:
            if request.connection_id is not None:
                return connections.update_credentials(request.connection_id, values)
            return connections.connect(request.kind, values, request.display_name)

        self.runner.run(work, self._succeeded, self._failed, owner=self,
                        label=f"Connecting to {self.wizard.spec.display_name}…")

    def sign_in_again_on_duplicate(self) -> None:
        """Turn this wizard into "Sign in again" on the connection the account already has
        (what was typed is kept; nothing is sent until Connect)."""
        existing = self.wizard.duplicate
        if existing is None:
            return
        typed = dict(self.wizard.values)
        self.wizard = ConnectWizard.for_existing(self.wizard.specs, existing)
        for credential in self.wizard.fields:
            if typed.get(credential.name):
                self.wizard.set_value(credential.name, typed[credential.name])
        title = f"Sign in again — {existing.display_name}"
        self.setWindowTitle(f"{title} (Demo — simulated)" if self.demo is not None else title)
        self.show_step()

    def _succeeded(self, result: ConnectResult | ConnectionReport) -> None:
        self.wizard.connect_succeeded(result)
        self.show_step()
        if isinstance(result, ConnectResult):
            self.connected.emit(result.connection)
        elif self.wizard.existing is not None:
            self.connected.emit(self.wizard.existing)

    def _failed(self, error: Exception) -> None:
        self.wizard.connect_failed(error)
        self.show_step()


class WizardRefused(ValidationError):
    """The demo refuses to connect a provider it has no simulator for."""


def _grouped(fingerprint: str, per_line: int = 16) -> str:
    """A long fingerprint in lines of 16 pairs, as certificate viewers show it, so it can
    be compared with the server's screen pair by pair."""
    pairs = fingerprint.split(":")
    if len(pairs) <= per_line:
        return fingerprint
    return "\n".join(":".join(pairs[i:i + per_line]) for i in range(0, len(pairs), per_line))


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
