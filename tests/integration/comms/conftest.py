from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mangodesk.app import Context, build_context
from mangodesk.comms.smtp import SmtpSettings
from mangodesk.demo import seed_hotel, seed_manual_locks
from mangodesk.domain.clock import FixedClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from tests.integration.comms import smtp_server
from tests.integration.comms.smtp_server import Handler

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def mail_clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ctx(tmp_path: Path, secret_store: SecretStore, mail_clock: FixedClock) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                            clock=mail_clock, actor="Anna")
    seed_hotel(context, mail_clock.now())
    seed_manual_locks(context, mail_clock.now())
    yield context
    context.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return smtp_server.make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture(params=["starttls", "tls"])
def server(request: pytest.FixtureRequest, handler: Handler,
           certificate: tuple[Path, Path, bytes]) -> Iterator[tuple[str, int, bytes]]:
    cert, key, der = certificate
    controller = smtp_server.start(handler, cert, key, implicit_tls=request.param == "tls")
    yield request.param, int(controller.port), der
    controller.stop()


def pinned_settings(server: tuple[str, int, bytes]) -> SmtpSettings:
    from mangodesk.vendors.smartair.tls import fingerprint_of

    security, port, der = server
    return SmtpSettings(host="127.0.0.1", port=port, security=security,
                        username=smtp_server.USER, from_address="desk@hotel-mango.example",
                        from_name="Hotel Mango Front Desk", reply_to="info@hotel-mango.example",
                        pinned_sha256=fingerprint_of(der), timeout=5)


@pytest.fixture
def starttls_server(handler: Handler, certificate: tuple[Path, Path, bytes]
                    ) -> Iterator[tuple[str, int, bytes]]:
    cert, key, der = certificate
    controller = smtp_server.start(handler, cert, key, implicit_tls=False)
    yield "starttls", int(controller.port), der
    controller.stop()
