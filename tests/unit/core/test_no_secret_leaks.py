"""No secret ever reaches the database file, the settings file or the log file."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from mangodesk.app import build_context
from mangodesk.cli.runtime import setup_logging
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.types import VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings, save_settings
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.base import (
    Capabilities,
    CodeRequest,
    ConnectionConfig,
    ConnectionReport,
    CredentialField,
    LockDetails,
    LockInfo,
    ProviderSpec,
    VendorCode,
)
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry

PASSWORD = "Pa55-w0rd-that-must-never-leak"
TOKEN = "tok_6d1f0e0c2b1f4a8eb1c7"

log = logging.getLogger("tests.leaky_vendor")


class ChattyAdapter:
    """A vendor adapter that logs a lot, as a real one does at debug level."""

    kind = VendorKind.INLET
    capabilities = Capabilities(automated=True)

    def __init__(self, config: ConnectionConfig) -> None:
        assert config.secrets["password"] == PASSWORD
        log.debug("connecting with settings %s", dict(config.settings))

    def test_connection(self) -> ConnectionReport:
        log.info("connection ok")
        return ConnectionReport(ok=True, summary="Signed in.")

    def list_locks(self) -> list[LockInfo]:
        return [LockInfo("L1", "Lobby")]

    def lock_details(self, vendor_lock_id: str) -> LockDetails:
        return LockDetails(items=(("Name", "Lobby"),))

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]:
        return []

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode:
        return VendorCode("ref", request.pin)

    def update_code(self, vendor_lock_id: str, code: VendorCode, valid_from: datetime,
                    valid_to: datetime) -> VendorCode:
        return code

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        return None

    def close(self) -> None:
        return None


SPEC = ProviderSpec(
    kind=VendorKind.INLET,
    display_name="Chatty",
    fields=(CredentialField("username", "Username"),
            CredentialField("password", "Password", secret=True),
            CredentialField("token", "Company token", secret=True)),
    capabilities=ChattyAdapter.capabilities,
    factory=ChattyAdapter,
)


def test_secrets_only_in_the_keyring(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "profile")
    keyring = MemoryKeyring()
    handler = setup_logging(paths, verbose=True)
    clock = FixedClock(datetime.fromisoformat("2026-06-10T10:00:00+00:00"))
    try:
        ctx = build_context(paths, Settings(staff_name="Anna"), secrets=SecretStore(keyring),
                            clock=clock, vendors=VendorRegistry([MANUAL_SPEC, SPEC]))
        save_settings(paths.settings_file, ctx.settings)
        seed_hotel(ctx, clock.now())
        result = ctx.services.connections.connect(
            VendorKind.INLET, {"username": "desk@hotel.test", "password": PASSWORD,
                               "token": TOKEN})
        unit = ctx.services.units.list_units()[0]
        ctx.services.links.link(unit.id, lock_id=result.locks[0].id)
        ctx.services.connections.update_credentials(result.connection.id,
                                                    {"password": PASSWORD})
        from mangodesk.services.passcodes import PasscodeInput

        ctx.services.passcodes.create(unit.id, PasscodeInput(
            clock.now() + timedelta(days=1), clock.now() + timedelta(days=2)))
        ctx.close()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()

    assert keyring.get_password(ctx.secrets.service,
                                f"connection:{result.connection.id}:password") == PASSWORD
    files = [p for p in (tmp_path / "profile").rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files)
    assert paths.log_file in files and paths.log_file.stat().st_size > 0
    for path in files:
        content = path.read_bytes()
        for secret in (PASSWORD, TOKEN):
            assert secret.encode() not in content, f"{secret!r} leaked into {path.name}"
