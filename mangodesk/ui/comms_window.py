"""The Communications window: guest message templates (with a Variables button), the sent
log (codes masked, the message viewable, Resend), and the hotel's mail server with a
step-by-step "Send test message"."""

from __future__ import annotations

from datetime import time

from PySide6.QtCore import QTime
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from mangodesk.app import Context
from mangodesk.comms.schedule import SCHEDULED, describe
from mangodesk.comms.smtp import Diagnosis, Security, SmtpSettings
from mangodesk.comms.templates import VARIABLES
from mangodesk.domain.template import TemplateContext
from mangodesk.services.comms import MessageView, TemplateInput
from mangodesk.ui.forms import ERROR_COLOUR, plain_message
from mangodesk.ui.tasks import TaskRunner


class TemplatesTab(QWidget):
    def __init__(self, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("templates_tab")
        self.list = QListWidget()
        self.list.setObjectName("template_list")
        self.list.currentTextChanged.connect(self._load)
        self.name = QLineEdit()
        self.kind = QComboBox()
        for context_kind in TemplateContext:
            self.kind.addItem(context_kind.label, context_kind.value)
        self.language = QLineEdit("en")
        self.days = QSpinBox()
        self.days.setRange(-30, 365)
        self.hours = QSpinBox()
        self.hours.setRange(0, 23)
        self.at_time = QCheckBox("at")
        self.at = QTimeEdit(QTime(10, 0))
        self.hold = QCheckBox("Hold until every room's code exists, at the latest")
        self.hold_hours = QSpinBox()
        self.hold_hours.setRange(0, 72)
        self.hold_hours.setSuffix(" h before check-in")
        self.resend = QCheckBox("Send again when a guest's code changes")
        self.subject = QLineEdit()
        self.subject.setObjectName("template_subject")
        self.body = QPlainTextEdit()
        self.body.setObjectName("template_body")
        self.variables = QPushButton("Variables")
        self.variables.setObjectName("variables_button")
        self.variables_menu = self._variables_menu()
        self.variables.setMenu(self.variables_menu)
        self.save = QPushButton("Save template")
        self.save.setObjectName("save_template")
        self.save.clicked.connect(self.save_template)
        self.status = QLabel()
        self.status.setObjectName("template_status")
        self.status.setWordWrap(True)

        schedule = QHBoxLayout()
        schedule.addWidget(QLabel("Days before:"))
        schedule.addWidget(self.days)
        schedule.addWidget(QLabel("hours:"))
        schedule.addWidget(self.hours)
        schedule.addWidget(self.at_time)
        schedule.addWidget(self.at)
        hold = QHBoxLayout()
        hold.addWidget(self.hold)
        hold.addWidget(self.hold_hours)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Sent:", self.kind)
        form.addRow("Schedule:", schedule)
        form.addRow("", hold)
        form.addRow("", self.resend)
        form.addRow("Language:", self.language)
        form.addRow("Subject:", self.subject)
        editor = QVBoxLayout()
        editor.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(QLabel("Text:"))
        row.addStretch()
        row.addWidget(self.variables)
        editor.addLayout(row)
        editor.addWidget(self.body)
        editor.addWidget(self.status)
        editor.addWidget(self.save)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(editor, 3)
        self.refresh()

    def _variables_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("variables_menu")
        group = None
        for variable in VARIABLES:
            if variable.group != group:
                group = variable.group
                menu.addSection(group)
            action = QAction(f"{variable.placeholder}  {variable.description}", menu)
            action.setData(variable.placeholder)
            action.triggered.connect(lambda _=False, v=variable.placeholder: self.insert(v))
            menu.addAction(action)
        return menu

    def insert(self, placeholder: str) -> None:
        """Put a variable where the cursor is in the text."""
        self.body.insertPlainText(placeholder)
        self.body.setFocus()

    def refresh(self) -> None:
        current = self.list.currentItem().text() if self.list.currentItem() else None
        self.list.clear()
        for view in self.context.services.comms.templates():
            self.list.addItem(view.name)
        if current:
            for index in range(self.list.count()):
                if self.list.item(index).text() == current:
                    self.list.setCurrentRow(index)

    def _load(self, name: str) -> None:
        if not name:
            return
        view = self.context.services.comms.template(name)
        self.name.setText(view.name)
        self.kind.setCurrentIndex(self.kind.findData(view.context))
        self.days.setValue(view.offset_minutes // 1440)
        self.hours.setValue((view.offset_minutes % 1440) // 60)
        self.at_time.setChecked(view.send_at_local is not None)
        if view.send_at_local is not None:
            self.at.setTime(QTime(view.send_at_local.hour, view.send_at_local.minute))
        self.hold.setChecked(view.hold_for_codes)
        self.hold_hours.setValue(view.hold_latest_hours)
        self.resend.setChecked(view.resend_on_code_change)
        language = self.language.text() if self.language.text() in view.languages \
            else next(iter(sorted(view.languages)), "en")
        self.language.setText(language)
        subject, body = view.languages.get(language, ("", ""))
        self.subject.setText(subject)
        self.body.setPlainText(body)
        self._show(view.warning or describe(TemplateContext(view.context),
                                            view.offset_minutes, view.send_at_local),
                   error=bool(view.warning))

    def _show(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {ERROR_COLOUR}" if error else "")

    def save_template(self) -> None:
        kind = TemplateContext(self.kind.currentData())
        send_at = None
        if kind in SCHEDULED and self.at_time.isChecked():
            chosen = self.at.time()
            send_at = time(chosen.hour(), chosen.minute())
        try:
            self.context.services.comms.save_template(TemplateInput(
                name=self.name.text(), context=kind, subject=self.subject.text(),
                body=self.body.toPlainText(), language=self.language.text().strip() or "en",
                offset_minutes=(self.days.value() * 1440 + self.hours.value() * 60)
                if kind in SCHEDULED else 0,
                send_at_local=send_at, hold_for_codes=self.hold.isChecked(),
                hold_latest_hours=self.hold_hours.value(),
                resend_on_code_change=self.resend.isChecked()))
        except Exception as exc:  # shown in the window, in words
            self._show(plain_message(exc), error=True)
            return
        self.refresh()
        view = self.context.services.comms.template(self.name.text().strip())
        self._show(view.warning or "Saved.", error=bool(view.warning))


class SentLogTab(QWidget):
    COLUMNS = ("When", "Status", "Template", "To", "Subject")

    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = runner
        self.setObjectName("sent_log_tab")
        self.rows: list[MessageView] = []
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("sent_log")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.currentCellChanged.connect(lambda row, *_: self._show(row))
        self.body = QPlainTextEdit()
        self.body.setObjectName("sent_body")
        self.body.setReadOnly(True)
        self.resend = QPushButton("Send again")
        self.resend.setObjectName("resend")
        self.resend.clicked.connect(self.send_again)
        self.status = QLabel()
        self.status.setObjectName("sent_status")
        self.status.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addStretch()
        buttons.addWidget(self.resend)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel("The message as sent (door codes masked):"))
        layout.addWidget(self.body, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        zone = self.context.services.audit.zone()
        self.rows = self.context.services.comms.messages()
        self.table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            when = (row.sent_at or row.due_at).astimezone(zone)
            for column, text in enumerate((f"{when:%Y-%m-%d %H:%M}", row.status,
                                           row.template or "", row.to or "",
                                           row.subject or "")):
                self.table.setItem(index, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.resend.setEnabled(bool(self.rows))

    def _show(self, index: int) -> None:
        if 0 <= index < len(self.rows):
            row = self.rows[index]
            self.body.setPlainText(row.body_masked or "")
            self.status.setText(row.last_error or f"Message-ID {row.message_id}")

    def send_again(self) -> None:
        index = self.table.currentRow()
        if not 0 <= index < len(self.rows):
            self.status.setText("Choose a message in the list first.")
            return
        comms = self.context.services.comms
        message_id = self.rows[index].id

        def work() -> MessageView:
            view = comms.resend(message_id)
            comms.deliver()
            return view

        def done(view: MessageView) -> None:
            self.refresh()
            self.status.setText(f"Sent again to {view.to or 'the guest'}.")

        self.runner.run(work, done, lambda exc: self.status.setText(plain_message(exc)),
                        owner=self, label="Sending…")


class MailServerTab(QWidget):
    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = runner
        self.setObjectName("mail_server_tab")
        current = context.services.comms.smtp_settings()
        self.host = QLineEdit(current.host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(current.port)
        self.security = QComboBox()
        for value, label in ((Security.STARTTLS, "STARTTLS (usually port 587)"),
                             (Security.TLS, "TLS (usually port 465)"),
                             (Security.NONE, "None (a mail program on this computer only)")):
            self.security.addItem(label, value.value)
        self.security.setCurrentIndex(max(0, self.security.findData(current.security)))
        self.username = QLineEdit(current.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("unchanged" if current.username else "")
        self.from_address = QLineEdit(current.from_address)
        self.from_name = QLineEdit(current.from_name)
        self.reply_to = QLineEdit(current.reply_to)
        self.fingerprint = QLineEdit(current.pinned_sha256)
        self.fingerprint.setPlaceholderText("only for a server with its own certificate")
        self.test_to = QLineEdit()
        self.test_to.setPlaceholderText("send the test message to…")
        save = QPushButton("Save")
        save.setObjectName("save_smtp")
        save.clicked.connect(self.save)
        self.test = QPushButton("Send test message")
        self.test.setObjectName("smtp_test")
        self.test.clicked.connect(self.run_test)
        self.report = QPlainTextEdit()
        self.report.setObjectName("smtp_report")
        self.report.setReadOnly(True)
        form = QFormLayout()
        for label, widget in (("Server:", self.host), ("Port:", self.port),
                              ("Encryption:", self.security), ("User name:", self.username),
                              ("Password:", self.password), ("From address:", self.from_address),
                              ("From name:", self.from_name), ("Reply-To:", self.reply_to),
                              ("Certificate fingerprint:", self.fingerprint)):
            form.addRow(label, widget)
        buttons = QHBoxLayout()
        buttons.addWidget(save)
        buttons.addStretch()
        buttons.addWidget(self.test_to)
        buttons.addWidget(self.test)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.report)

    def save(self) -> bool:
        previous = self.context.services.comms.smtp_settings()
        settings = SmtpSettings(
            host=self.host.text().strip(), port=self.port.value(),
            security=self.security.currentData(), username=self.username.text().strip(),
            from_address=self.from_address.text().strip(), from_name=self.from_name.text(),
            reply_to=self.reply_to.text().strip(), pinned_sha256=self.fingerprint.text(),
            default_language=previous.default_language)
        try:
            self.context.services.comms.save_smtp_settings(
                settings, self.password.text() or None)
        except Exception as exc:  # shown in the window, in words
            self.report.setPlainText(plain_message(exc))
            return False
        self.password.clear()
        self.report.setPlainText("Saved. Use Send test message to check the server.")
        return True

    def run_test(self) -> None:
        if not self.save():
            return
        recipient = self.test_to.text().strip() or None
        comms = self.context.services.comms
        self.test.setEnabled(False)
        self.report.setPlainText("Testing the mail server…")

        def done(report: Diagnosis) -> None:
            self.test.setEnabled(True)
            lines = [f"{'OK ' if s.ok else 'FAIL'}  {s.name}: {s.detail}" for s in report.steps]
            if report.ok:
                lines.append("The mail server is ready for guest emails.")
            self.report.setPlainText("\n".join(lines))

        def failed(exc: Exception) -> None:
            self.test.setEnabled(True)
            self.report.setPlainText(plain_message(exc))

        self.runner.run(lambda: comms.test_smtp(recipient), done, failed, owner=self,
                        label="Testing the mail server…")


class CommunicationsWindow(QDialog):
    def __init__(self, context: Context, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("communications_window")
        self.setWindowTitle("Communications")
        self.resize(900, 600)
        self.tabs = QTabWidget()
        self.templates = TemplatesTab(context)
        self.sent_log = SentLogTab(context, runner)
        self.mail_server = MailServerTab(context, runner)
        self.tabs.addTab(self.templates, "Templates")
        self.tabs.addTab(self.sent_log, "Sent log")
        self.tabs.addTab(self.mail_server, "Mail server")
        self.tabs.currentChanged.connect(
            lambda index: self.sent_log.refresh() if self.tabs.widget(index) is self.sent_log
            else None)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
