"""Sending through the hotel's own SMTP server, and the step-by-step "Send test message".

Security is STARTTLS or implicit TLS with the certificate verified the ordinary way; a
server with a self-signed certificate is trusted by its SHA-256 fingerprint, exactly like a
Smartair server (the handshake refuses any other certificate before the password is sent).
Plain SMTP is only accepted to this computer itself (the demo's local mail sink).

Each message is one transaction on a kept-open connection; just before the final "." that
makes the server accept the message, :meth:`SmtpSender.send` calls a checkpoint so the
outbox can record "handed over" first: a crash after that point never sends it again.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, make_msgid
from enum import StrEnum
from typing import Any

from mangodesk.domain.errors import MangodeskError, ValidationError
from mangodesk.vendors.smartair.tls import (
    CertificateChangedError,
    PinnedSSLContext,
    fetch_certificate,
    fingerprint_of,
    normalise_fingerprint,
)

PASSWORD_KEY = "smtp:password"  # noqa: S105 - the keyring entry's name, not a password
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")


class Security(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


@dataclass
class SmtpSettings:
    """Non-secret SMTP settings (kept in the database); the password is in the keyring."""

    host: str = ""
    port: int = 587
    security: str = Security.STARTTLS
    username: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str = ""
    pinned_sha256: str = ""
    default_language: str = "en"
    timeout: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SmtpSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def validate(self) -> None:
        if not self.host.strip():
            raise ValidationError("Enter the mail server's address.", field="host")
        if not 0 < int(self.port) < 65536:
            raise ValidationError("The port is a number from 1 to 65535 (usually 587 or 465).",
                                  field="port")
        if self.security not in tuple(Security):
            raise ValidationError("Choose STARTTLS or TLS for the connection.", field="security")
        if self.security == Security.NONE and self.host not in LOCAL_HOSTS:
            raise ValidationError(
                "Mail to another computer must be encrypted (STARTTLS or TLS).",
                field="security",
                fix="Unencrypted sending is only for a mail program on this computer.")
        if "@" not in self.from_address:
            raise ValidationError("Enter the sender address guests see, like "
                                  "frontdesk@hotel.example.", field="from_address")
        if self.reply_to and "@" not in self.reply_to:
            raise ValidationError("The reply-to address is not an email address.",
                                  field="reply_to")
        if self.pinned_sha256:
            try:
                self.pinned_sha256 = normalise_fingerprint(self.pinned_sha256)
            except ValueError as exc:
                raise ValidationError(
                    "The certificate fingerprint is not a SHA-256 fingerprint.",
                    field="pinned_sha256",
                    fix="It has 64 hexadecimal digits, as the test shows it.") from exc


class MailError(MangodeskError):
    """A message could not be handed over; ``temporary`` says whether trying later helps."""

    def __init__(self, message: str, fix: str | None = None, *, temporary: bool,
                 setup: bool = False, after_handover: bool = False) -> None:
        super().__init__(message, fix)
        self.temporary = temporary
        # The whole message, final "." included, reached the server before the failure.
        self.after_handover = after_handover
        # The server's setup (password, certificate) is at fault, not this one message.
        self.setup = setup


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    if settings.pinned_sha256:
        return PinnedSSLContext(settings.pinned_sha256)
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def build_message(settings: SmtpSettings, *, to: str, to_name: str | None, subject: str,
                  body: str, message_id: str) -> EmailMessage:
    """A plain-text UTF-8 message; names outside ASCII are encoded per RFC 2047."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = formataddr((settings.from_name, settings.from_address)) \
        if settings.from_name else settings.from_address
    message["To"] = formataddr((to_name, to)) if to_name else to
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message


def new_message_id(settings: SmtpSettings) -> str:
    domain = settings.from_address.rpartition("@")[2] or "mangodesk.local"
    return make_msgid(idstring="mangodesk", domain=domain)


def _describe_reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


class SmtpSender:
    """One connection to the hotel's server, logged in, for a batch of messages."""

    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        s = self.settings
        try:
            if s.security == Security.TLS:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=tls_context(s))
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == Security.STARTTLS:
                    smtp.starttls(context=tls_context(s))
            self._smtp = smtp
            if smtp.sock is not None:
                # The final "." goes out as its own small write after the checkpoint; without
                # this, Nagle and delayed ACKs hold each message for tens of milliseconds.
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo_or_helo_if_needed()
            if s.username:
                smtp.login(s.username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailError(
                f"The mail server refused the login for {s.username} "
                f"({_describe_reply(exc.smtp_code, exc.smtp_error)}).",
                "Check the user name and password in Communications › Mail server.",
                temporary=True, setup=True) from exc
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            raise MailError(f"The mail server at {s.host} does not offer {s.security.upper()}"
                            " or a login.", "Try the other connection type or port.",
                            temporary=True, setup=True) from exc
        except ssl.SSLError as exc:
            self.close()
            raise _tls_error(s, exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"Could not reach the mail server {s.host}:{s.port} ({exc}).",
                            "Mangodesk tries again in a few minutes.", temporary=True) from exc

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, message: EmailMessage, to: str,
             checkpoint: Callable[[], None] | None = None) -> None:
        """Send one message; ``checkpoint`` runs just before the final "." is written."""
        if self._smtp is None:
            self.open()
        smtp = self._smtp
        assert smtp is not None
        try:
            code, reply = smtp.mail(self.settings.from_address)
            if not 200 <= code < 300:
                # Every message has this sender: the setup is wrong, not this message.
                raise MailError(
                    f"The mail server refused the sender {self.settings.from_address} "
                    f"({_describe_reply(code, reply)}).",
                    "Use a sender address this mail account may send as.",
                    temporary=True, setup=True)
            code, reply = smtp.rcpt(to)
            _check(code, reply, f"The mail server refused the address {to}")
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            _check(code, reply, "The mail server refused the message")
            data = message.as_bytes(policy=SMTP_POLICY)
            data = re.sub(rb"(?m)^\.", b"..", data)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            smtp.send(data)
            if checkpoint is not None:
                checkpoint()
            smtp.send(b".\r\n")
        except MailError:
            # The server answered with a refusal: end this transaction, keep the connection.
            try:
                smtp.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"The connection to the mail server broke ({exc}).",
                            "Mangodesk tries again in a few minutes.", temporary=True) from exc
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"The mail server closed the connection after receiving the "
                            f"message, without confirming it ({exc}).", temporary=True,
                            after_handover=True) from exc
        try:
            _check(code, reply, "The mail server did not accept the message")
        except MailError:
            # The server answered with a refusal: end this transaction, keep the connection.
            try:
                smtp.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise MailError(f"The connection to the mail server broke ({exc}).",
                            "Mangodesk tries again in a few minutes.", temporary=True) from exc

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


def _check(code: int, reply: bytes, what: str) -> None:
    if code == 354 or 200 <= code < 300:
        return
    if code == -1 or 400 <= code < 500:
        raise MailError(f"{what} for now ({_describe_reply(code, reply)}).",
                        "Mangodesk tries again later.", temporary=True)
    raise MailError(f"{what} ({_describe_reply(code, reply)}).",
                    "Check the address; Mangodesk does not try this message again.",
                    temporary=False)


def _tls_error(settings: SmtpSettings, exc: ssl.SSLError) -> MailError:
    if isinstance(exc, CertificateChangedError):
        return MailError(
            f"The mail server {settings.host} presented a different certificate "
            f"({exc.presented}) from the one trusted ({exc.expected}).",
            "If the server's certificate was renewed, accept the new fingerprint in "
            "Communications › Mail server; otherwise ask IT.", temporary=True, setup=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(
            f"The mail server's certificate could not be verified ({exc.verify_message}).",
            "If the server uses its own (self-signed) certificate, trust it by its "
            "fingerprint: run `mangodesk smtp-test` to see it.", temporary=True, setup=True)
    return MailError(f"The encrypted connection to {settings.host} failed ({exc}).",
                     "Check the port and connection type (587 STARTTLS, 465 TLS).",
                     temporary=True, setup=True)


@dataclass
class DiagnosisStep:
    name: str
    ok: bool
    detail: str


@dataclass
class Diagnosis:
    steps: list[DiagnosisStep] = field(default_factory=list)
    certificate_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append(DiagnosisStep(name, ok, detail))
        return ok


def diagnose(settings: SmtpSettings, password: str | None, *, test_recipient: str | None,
             send_test: Callable[[SmtpSender], None] | None = None) -> Diagnosis:
    """DNS, connect, TLS, login, sender (and the test message): each step in words an IT
    person understands, stopping at the first one that fails."""
    report = Diagnosis()
    s = settings
    try:
        addresses = socket.getaddrinfo(s.host, s.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        report.add("DNS", False, f"The name {s.host} does not resolve ({exc}).")
        return report
    ips = sorted({str(a[4][0]) for a in addresses})
    report.add("DNS", True, f"{s.host} is {', '.join(ips)}.")
    try:
        with socket.create_connection((s.host, s.port), timeout=s.timeout):
            pass
    except OSError as exc:
        report.add("Connect", False, f"Nothing answers on {s.host} port {s.port} ({exc}); "
                   "check the port and any firewall.")
        return report
    report.add("Connect", True, f"Port {s.port} answers.")
    if s.security == Security.TLS:
        try:
            report.certificate_fingerprint = fingerprint_of(
                fetch_certificate(s.host, s.port, s.timeout))
        except (OSError, ssl.SSLError):
            report.certificate_fingerprint = None
    sender = SmtpSender(s, password)
    try:
        sender.open()
    except MailError as exc:
        cause = exc.__cause__
        if isinstance(cause, smtplib.SMTPAuthenticationError):
            step = "Login"
        elif isinstance(cause, ssl.SSLError) or exc.setup:
            step = "TLS"
        else:
            step = "Greeting"
        if step == "TLS" and s.security == Security.STARTTLS:
            report.certificate_fingerprint = _starttls_fingerprint(s)
        detail = exc.message
        if step == "TLS" and report.certificate_fingerprint and not s.pinned_sha256:
            detail += (" The server's certificate fingerprint is "
                       f"{report.certificate_fingerprint}; trust it only if IT confirms it.")
        report.add(step, False, detail)
        return report
    try:
        if s.security != Security.NONE:
            report.add("TLS", True, "The connection is encrypted and the certificate "
                       + ("matches the trusted fingerprint." if s.pinned_sha256
                          else "is valid."))
        report.add("Login", True, f"Logged in as {s.username}." if s.username
                   else "No login configured (the server allows sending without one).")
        smtp = sender._smtp
        assert smtp is not None
        code, reply = smtp.mail(s.from_address)
        if not report.add("Sender", 200 <= code < 300,
                          f"The server accepts {s.from_address} as sender." if code < 300
                          else f"The server refuses {s.from_address} as sender "
                          f"({_describe_reply(code, reply)})."):
            return report
        smtp.rset()
        if send_test is not None and test_recipient:
            try:
                send_test(sender)
            except MailError as exc:
                report.add("Test message", False, exc.message)
                return report
            report.add("Test message", True, f"A test message went to {test_recipient}.")
    except (OSError, smtplib.SMTPException) as exc:
        report.add("Sender", False, f"The connection broke ({exc}).")
    finally:
        sender.close()
    return report


def _starttls_fingerprint(settings: SmtpSettings) -> str | None:
    """Read the certificate a STARTTLS server offers, sending no login."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            code, _ = smtp.docmd("STARTTLS")
            if code != 220:
                return None
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # only reads the certificate to show it
            assert smtp.sock is not None
            tls = context.wrap_socket(smtp.sock, server_hostname=settings.host)
            der = tls.getpeercert(binary_form=True)
            tls.close()
            return fingerprint_of(der) if der else None
    except (OSError, smtplib.SMTPException):
        return None
