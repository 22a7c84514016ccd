"""The shared database's roles, on the machine's PostgreSQL: ``packaging/postgres-roles.sql``
makes an owner, a service and a desk role; only ``mangodesk db upgrade`` with the owner changes
the schema; a desk on an older schema refuses and names that command; the desk role cannot read
what a desk does not show. Every test makes its own database and roles and drops them."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from mangodesk.__main__ import main
from mangodesk.app import build_context
from mangodesk.demo import seed_hotel
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.errors import ConfigError
from mangodesk.domain.types import CodeState
from mangodesk.paths import Paths
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.settings import Settings, save_settings
from mangodesk.store import roles
from mangodesk.store.db import Database, SchemaOutOfDate, _alembic_config, sqlite_url
from mangodesk.store.models import AuditEvent, MailMessage
from mangodesk.store.secrets import SecretStore

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "packaging" / "postgres-roles.sql"
SERVER = "127.0.0.1:5432"
ADMIN_URL = f"postgresql+psycopg://postgres@{SERVER}/postgres"
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Server:
    db: str
    owner: str
    desk: str
    service: str

    def url(self, role: str) -> str:
        return f"postgresql+psycopg://{role}@{SERVER}/{self.db}"

    def cli(self, base: Path, role: str, *args: str) -> int:
        """``mangodesk`` for a profile whose settings point at this database as ``role``."""
        paths = Paths.under(base)
        if not paths.settings_file.exists():
            save_settings(paths.settings_file, Settings(database_url=self.url(role)))
        return main(["--data-dir", str(base), *args])

    def upgrade(self, base: Path, as_role: str) -> int:
        return self.cli(base, as_role, "db", "upgrade", "--owner", as_role, "--no-password",
                        "--desk-role", self.desk, "--service-role", self.service)


@pytest.fixture
def server() -> Iterator[Server]:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed")
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server on {SERVER} ({exc.orig})")
    token = secrets.token_hex(4)
    names = Server(db=f"mdr_{token}", owner=f"mdr_{token}_owner", desk=f"mdr_{token}_desk",
                   service=f"mdr_{token}_service")
    try:
        done = subprocess.run(
            [psql, "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q",
             "-v", "ON_ERROR_STOP=1", "-v", f"db={names.db}", "-v", f"owner={names.owner}",
             "-v", f"desk={names.desk}", "-v", f"service={names.service}", "-f", str(SCRIPT)],
            capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        yield names
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{names.db}" WITH (FORCE)'))
            for role in (names.desk, names.service, names.owner):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_the_script_makes_three_roles_and_can_run_twice(server: Server) -> None:
    again = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q",
         "-v", "ON_ERROR_STOP=1", "-v", f"db={server.db}", "-v", f"owner={server.owner}",
         "-v", f"desk={server.desk}", "-v", f"service={server.service}", "-f", str(SCRIPT)],
        capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    admin = create_engine(ADMIN_URL)
    with admin.connect() as conn:
        found = set(conn.execute(text(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": server.db + "%"})
            .scalars())
        owner = conn.execute(text(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"),
            {"d": server.db}).scalar()
    admin.dispose()
    assert found == {server.owner, server.desk, server.service}
    assert owner == server.owner


def test_only_db_upgrade_with_the_owner_changes_the_schema(
        server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk = tmp_path / "desk"
    # A desk on a database nobody upgraded yet: refused, naming the command to run.
    assert server.cli(desk, server.desk, "units") != 0
    err = capsys.readouterr().err
    assert "has no Mangodesk tables yet" in err and "mangodesk db upgrade" in err
    # The desk's own login may not change tables.
    assert server.upgrade(tmp_path / "as-desk", server.desk) != 0
    err = capsys.readouterr().err
    assert "could not be updated" in err and "owner" in err
    # The owner may; the desk and service roles are granted what they use.
    assert server.upgrade(tmp_path / "as-owner", server.owner) == 0
    out = capsys.readouterr().out
    assert "(was empty)" in out and f"desk role {server.desk}" in out
    assert server.cli(desk, server.desk, "units", "--json") == 0
    assert capsys.readouterr().out.strip() == "[]"
    # A second run changes nothing and says so.
    assert server.upgrade(tmp_path / "as-owner", server.owner) == 0
    assert "(it already was)" in capsys.readouterr().out


def test_a_desk_on_an_older_schema_refuses_until_it_is_upgraded(
        server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert server.upgrade(tmp_path / "owner", server.owner) == 0
    owner = Database(server.url(server.owner))
    command.downgrade(_alembic_config(owner.engine), "0007_comms")
    owner.dispose()
    capsys.readouterr()
    desk = Database(server.url(server.desk))
    with pytest.raises(SchemaOutOfDate) as refused:
        desk.migrate()
    desk.dispose()
    assert "has schema 0007_comms" in str(refused.value)
    assert "mangodesk db upgrade" in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert server.cli(tmp_path / "service", server.service, "status") == 2
    assert "mangodesk db upgrade" in capsys.readouterr().out
    assert server.upgrade(tmp_path / "owner", server.owner) == 0
    assert "(was 0007_comms)" in capsys.readouterr().out
    assert server.cli(tmp_path / "desk", server.desk, "units", "--json") == 0


def test_the_service_refuses_to_run_on_a_desk_login(
        server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert server.upgrade(tmp_path / "owner", server.owner) == 0
    assert server.cli(tmp_path / "desk", server.desk, "run") == 2
    assert "desk login, which may not run the automation" in capsys.readouterr().err


def test_the_desk_role_cannot_read_what_a_desk_does_not_show(
        server: Server, tmp_path: Path, secret_store: SecretStore) -> None:
    assert server.upgrade(tmp_path / "owner", server.owner) == 0
    clock = FixedClock(NOW)
    service = build_context(Paths.under(tmp_path / "service"),
                            Settings(database_url=server.url(server.service)),
                            secrets=secret_store, clock=clock, actor="automation")
    desk = build_context(Paths.under(tmp_path / "desk"),
                         Settings(database_url=server.url(server.desk)),
                         secrets=secret_store, clock=clock, actor="Anna")
    try:
        seed_hotel(service, NOW)
        with service.db.transaction() as session:
            session.add(MailMessage(
                dedupe_key="k", message_id="<m@hotel>", status="sent", due_at=NOW,
                next_attempt_at=NOW, attempts=1, to_address="guest@example.com",
                subject="Your stay", body="Your door code is 5821",
                body_masked="Your door code is •••1", created_at=NOW, updated_at=NOW))
        assert roles.may_run_automation(service.db.engine)
        assert not roles.may_run_automation(desk.db.engine)
        # The sent log, as the desk shows it, without the codes.
        (message,) = desk.services.comms.messages()
        assert message.body_masked == "Your door code is •••1"
        with desk.db.engine.connect() as conn, pytest.raises(ProgrammingError,
                                                             match="permission denied"):
            conn.execute(text("SELECT body FROM mail_message"))
        with service.db.session() as session:
            assert session.scalars(select(MailMessage.body)).one() == "Your door code is 5821"
        # The activity log is only added to; the engine's lease is the service's.
        for statement in ("DELETE FROM audit_event", "UPDATE audit_event SET summary = 'x'",
                          "UPDATE engine_lease SET holder = 'desk'",
                          "CREATE TABLE mine (id int)"):
            with desk.db.engine.connect() as conn, pytest.raises(ProgrammingError,
                                                                 match="permission denied"):
                conn.execute(text(statement))
        # What a desk does still works: link a lock, give a code (the audit trail grows).
        unit = desk.services.units.list_units()[0]
        desk.services.links.link(unit.id, manual_lock_name="Front Door")
        view = desk.services.passcodes.create(unit.id, PasscodeInput(
            NOW + timedelta(days=1), NOW + timedelta(days=2), code="5821"))
        assert view.state == CodeState.ACTIVE
        with desk.db.session() as session:
            assert session.scalars(select(AuditEvent.actor)).all().count("Anna") >= 2
    finally:
        desk.close()
        service.close()


def test_every_table_has_a_decided_grant() -> None:
    assert set(roles.POLICY) == roles.known_tables()


@pytest.mark.sqlite_only("upgrades a SQLite file from an older revision")
def test_a_single_desk_sqlite_profile_still_upgrades_itself(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = Database(sqlite_url(path))
    command.upgrade(_alembic_config(old.engine), "0007_comms")
    old.dispose()
    db = Database(sqlite_url(path))
    try:
        db.migrate()
        assert db.current_revisions() == set(db.upgrade()[1])
    finally:
        db.dispose()


def test_db_upgrade_on_a_sqlite_profile(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "p"), "db", "upgrade"]) == 0
    assert "is at schema" in capsys.readouterr().out
    if os.name == "posix":
        assert Paths.under(tmp_path / "p").database_file.stat().st_mode & 0o777 == 0o600


def test_a_server_that_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="Check that the server is running"):
        db.migrate()
    db.dispose()
