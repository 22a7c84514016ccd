"""A real SMTP server on loopback (aiosmtpd) with a self-signed certificate, and switches
for the failures a hotel's server shows: 4xx, 5xx, a dropped connection."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "desk"


class AiosmtpdLoginDataNotice(logging.Filter):
    """aiosmtpd warns "Session.login_data is deprecated" from its own AUTH code on every
    login (its legacy field, set by itself, not by us): that is its noise, not ours, and the
    log guard would fail every test that signs in."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Session.login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(AiosmtpdLoginDataNotice())

PASSWORD = "s3cret-pass"


def make_certificate(folder: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.hotel.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


@dataclass
class Handler:
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    temporary_failures: int = 0
    permanent_for: set[str] = field(default_factory=set)
    drop_on_data: int = 0
    drop_on_rcpt: int = 0
    # Seconds between taking a message and confirming it (a busy server).
    confirm_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if self.drop_on_rcpt:
            self.drop_on_rcpt -= 1
            server.transport.close()
            return "421 closing"
        if address in self.permanent_for:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.drop_on_data:
                self.drop_on_data -= 1
                server.transport.close()
                return "421 closing"
            if self.temporary_failures:
                self.temporary_failures -= 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.confirm_delay:
            await asyncio.sleep(self.confirm_delay)
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class ImplicitTlsController(Controller):
    def _trigger_server(self) -> None:  # the base class's probe speaks plain SMTP
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        import socket

        with socket.create_connection((self.hostname, self.port), timeout=5) as raw, \
                context.wrap_socket(raw) as tls:
            tls.recv(1024)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_plain(handler: Handler) -> Controller:
    """No TLS, no login: the local mail sink a desk may use on this computer."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def start(handler: Handler, cert: Path, key: Path, *, implicit_tls: bool) -> Controller:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    kwargs: dict[str, Any] = {"authenticator": _authenticator, "auth_require_tls": True}
    if implicit_tls:
        # aiosmtpd only counts STARTTLS as TLS for AUTH; this whole connection is TLS.
        kwargs["auth_require_tls"] = False
        controller: Controller = ImplicitTlsController(
            handler, hostname="127.0.0.1", port=free_port(), ssl_context=context, **kwargs)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                                tls_context=context, require_starttls=True, **kwargs)
    controller.start()
    return controller


