"""A changed password or setting takes effect in the running engine at once (contract 8)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mangodesk.app import Context, attach_engine, build_context
from mangodesk.domain.types import AlertSeverity, AlertSubject, ConnectionStatus, VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.alerts import open_alert, raise_alert
from mangodesk.store.models import Connection
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.manual import MANUAL_SPEC
from mangodesk.vendors.registry import VendorRegistry
from mangodesk.vendors.ttlock import TTLOCK_SPEC


def sign_in_alert_key(connection_id: int) -> str:
    return f"connection:{connection_id}:sign-in"  # contract 8


@pytest.fixture
def sim() -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def context(tmp_path: Path, secret_store: SecretStore) -> Iterator[Context]:
    built = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store,
                          vendors=VendorRegistry([MANUAL_SPEC, replace(TTLOCK_SPEC)]), actor="desk")
    yield built
    built.close()


def _sign_in_rejected(context: Context, connection_id: int) -> None:
    """What the engine records when the vendor rejects the account."""
    with context.db.transaction() as session:
        conn = session.get(Connection, connection_id)
        assert conn is not None
        conn.status = ConnectionStatus.NEEDS_ATTENTION
        conn.status_message = "Sign-in needed: TTLock rejected the password."
        raise_alert(session, dedupe_key=sign_in_alert_key(connection_id),
                    severity=AlertSeverity.ERROR, subject_kind=AlertSubject.CONNECTION,
                    subject_id=connection_id, message="Sign-in needed", fix=None,
                    now=context.clock.now())


def test_a_new_password_replaces_the_running_engines_adapter(
        context: Context, sim: TTLockSimulator) -> None:
    result = context.services.connections.connect(VendorKind.TTLOCK, sim.connection_values())
    connection_id = result.connection.id
    engine = attach_engine(context)
    woken: list[bool] = []
    engine.wake = lambda: woken.append(True)  # type: ignore[method-assign]
    stale = engine.adapters.adapter(connection_id)
    sim.password = "changed-in-the-app"
    _sign_in_rejected(context, connection_id)

    context.services.connections.update_credentials(connection_id,
                                                    {"password": "changed-in-the-app"})

    view = context.services.connections.get(connection_id)
    assert view.status == ConnectionStatus.CONNECTED
    with context.db.session() as session:
        assert open_alert(session, sign_in_alert_key(connection_id)) is None
    fresh = engine.adapters.adapter(connection_id)
    assert fresh is not stale
    assert fresh.list_locks()  # signs in with the new password
    assert woken == [True]


@pytest.mark.parametrize("name", ["Annex\nTTLock", "Annex\x1b[2J", "Annex\u202egnp.exe"])
def test_a_connection_name_with_control_characters_is_refused(
        context: Context, name: str) -> None:
    from mangodesk.domain.errors import ValidationError

    view = context.services.connections.ensure_manual()
    with pytest.raises(ValidationError, match="control characters"):
        context.services.connections.rename(view.id, name)
    assert context.services.connections.get(view.id).display_name == "Manual"
