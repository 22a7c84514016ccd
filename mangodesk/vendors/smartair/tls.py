"""Trust for a Smartair server's self-signed certificate by pinning its SHA-256 fingerprint.

Smartair servers ship a self-signed certificate whose name rarely matches the address the
hotel uses, so ordinary verification always fails and every public client turns it off. We
do neither: the installer sees the fingerprint on first connect and accepts it; from then on
the TLS handshake itself compares the server's certificate with the accepted fingerprint and
refuses any other one, before a single byte of the request (and its password) is sent.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from typing import Any


def fingerprint_of(der_certificate: bytes) -> str:
    """The SHA-256 fingerprint as installers see it in browsers: ``AB:CD:…`` upper case."""
    digest = hashlib.sha256(der_certificate).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalise_fingerprint(text: str) -> str:
    """Accept a fingerprint typed or pasted with or without colons/spaces, in any case."""
    hex_digits = "".join(ch for ch in text if ch not in ": \t-").upper()
    if len(hex_digits) != 64 or any(ch not in "0123456789ABCDEF" for ch in hex_digits):
        raise ValueError("a SHA-256 fingerprint has 64 hexadecimal digits")
    return ":".join(hex_digits[i : i + 2] for i in range(0, 64, 2))


class CertificateChangedError(ssl.SSLCertVerificationError):
    """The server presented a certificate other than the pinned one."""

    def __init__(self, expected: str, presented: str) -> None:
        super().__init__(f"certificate fingerprint {presented} does not match the pinned one")
        self.expected = expected
        self.presented = presented


class _PinnedSSLSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        context = self.context
        if not isinstance(context, PinnedSSLContext):  # pragma: no cover - wiring guard
            raise ssl.SSLError("pinned socket used without a pinned context")
        der = self.getpeercert(binary_form=True)
        presented = fingerprint_of(der) if der else "(no certificate)"
        if presented != context.pinned_sha256:
            raise CertificateChangedError(context.pinned_sha256, presented)


class PinnedSSLContext(ssl.SSLContext):
    """A client context that trusts exactly one certificate, identified by its fingerprint.

    Chain and host name checks are replaced (not dropped): the handshake fails unless the
    peer's certificate hashes to ``pinned_sha256``.
    """

    sslsocket_class = _PinnedSSLSocket
    pinned_sha256: str

    def __new__(cls, pinned_sha256: str, *args: Any, **kwargs: Any) -> PinnedSSLContext:
        context = super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)
        return context

    def __init__(self, pinned_sha256: str, *args: Any, **kwargs: Any) -> None:
        self.pinned_sha256 = normalise_fingerprint(pinned_sha256)
        self.check_hostname = False
        self.verify_mode = ssl.CERT_NONE  # replaced by the fingerprint check in the handshake
        self.minimum_version = ssl.TLSVersion.TLSv1_2


def fetch_certificate(host: str, port: int, timeout: float) -> bytes:
    """Handshake once to read the server's certificate (DER), sending no request at all.

    Used to show the fingerprint before the installer trusts it; nothing is sent after the
    handshake, so no password reaches an unconfirmed server.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only reads the certificate; never used for a request
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def find_certificate_change(error: BaseException) -> CertificateChangedError | None:
    """Dig a pin mismatch out of the chain of exceptions httpx/httpcore wrap it in."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, CertificateChangedError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
