"""The database handle: engine, sessions, SQLite pragmas, and migrations at start-up."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mangodesk.domain.errors import ConfigError
from mangodesk.store.code_versions import forget_taken_versions, move_code_versions
from mangodesk.store.secrets import SecretStore

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration's revision. A start whose database already stands here reads it with
# plain SQL and never imports Alembic (about a third of a read-only CLI command's start-up);
# a test checks it equals Alembic's own head, so adding a migration without it fails there.
SCHEMA_HEAD = "0014_plan_reads"

log = logging.getLogger(__name__)

UPGRADE_COMMAND = "mangodesk db upgrade --owner mangodesk_owner"


class SchemaOutOfDate(ConfigError):
    """A shared database whose schema is older than this version: only the owner role, with
    ``mangodesk db upgrade``, may change it."""


@dataclass(frozen=True)
class DatabaseId:
    uuid: str
    adopts_legacy_secrets: bool


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


def database_password_key(url: str) -> str:
    """The keyring name of a database server's password: the account and the database, never
    the password itself (settings.json names the server; the keyring holds the password)."""
    parsed = make_url(url)
    return (f"database:{parsed.get_backend_name()}://{parsed.username or ''}@"
            f"{parsed.host or ''}:{parsed.port or ''}/{parsed.database or ''}")


def without_password(url: str) -> tuple[str, str | None]:
    """``url`` with its password removed, and that password (None if it had none)."""
    parsed = make_url(url)
    if parsed.password is None:
        return url, None
    return (parsed._replace(password=None).render_as_string(hide_password=False),
            str(parsed.password))


def with_password(url: str, secrets: SecretStore) -> str:
    """``url`` completed with the password kept in the keyring for it (if any)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" or parsed.password is not None:
        return url
    if not secrets.available():
        return url  # a server that needs no password still works; one that does says so
    password = secrets.get(database_password_key(url))
    if password is None:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("mangodesk.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


class Database:
    """One engine per process; a short-lived session per unit of work (not thread-safe)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_on_connect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", move_code_versions)
        event.listen(self._sessions, "after_transaction_end", forget_taken_versions)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def batch_transaction(self, *, savepoints: bool) -> Iterator[Session]:
        """:meth:`transaction` for several units of work that may each run in a SAVEPOINT.
        pysqlite opens SQLite's transaction only at the first write, so a SAVEPOINT before it
        would itself be the outermost transaction and its RELEASE would commit: there the
        transaction is opened first, IMMEDIATE (it writes anyway; taking the write lock up
        front waits for it, where upgrading a read snapshot later could fail at once)."""
        with self.transaction() as session:
            if savepoints and self.is_sqlite:
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session

    # ------------------------------------------------------------------ migrations

    def current_revisions(self) -> set[str]:
        """The schema revision(s) the database stands at (empty: a new database), read with
        plain SQL."""
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "alembic_version"):
                return set()
            return {str(row[0]) for row in conn.execute(
                text("SELECT version_num FROM alembic_version"))}

    def known_revisions(self) -> set[str]:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_alembic_config(self.engine))
        return {rev.revision for rev in script.walk_revisions()}

    def migrate(self) -> None:
        """Make sure the schema is this version's. A SQLite profile (one desk) upgrades itself;
        a shared database server is only checked: its schema changes with the owner role, from
        an explicit ``mangodesk db upgrade``, never behind the backs of the other desks.
        A database from a newer version is refused either way."""
        current, heads = self._schema_state()
        if current == heads:
            return  # already current: every start of a CLI command or the desk skips Alembic's run
        if not self.is_sqlite:
            raise SchemaOutOfDate(
                f"The shared database at {self.describe()} "
                + (f"has schema {', '.join(sorted(current))}" if current
                   else "has no Mangodesk tables yet")
                + f"; this version of Mangodesk needs schema {', '.join(sorted(heads))}.",
                f"Ask whoever looks after the database server to run “{UPGRADE_COMMAND}” with "
                "the schema owner's login, then start Mangodesk again. Nothing was changed.")
        self._upgrade()

    def upgrade(self) -> tuple[set[str], set[str]]:
        """The explicit upgrade (``mangodesk db upgrade``): bring the schema to this version's
        head on any database. Returns the revisions before and after."""
        current, heads = self._schema_state()
        if current != heads:
            self._upgrade()
        return current, heads

    def _schema_state(self) -> tuple[set[str], set[str]]:
        """(the database's revisions, this version's heads); refuses a newer database."""
        try:
            current = self.current_revisions()
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"The database at {self.describe()} cannot be opened ({exc.__class__.__name__}).",
                "Check that the file is not damaged and that this account may write to it."
                if self.is_sqlite else
                "Check that the server is running, its address in the settings and the login.",
            ) from exc
        if current == {SCHEMA_HEAD}:
            return current, {SCHEMA_HEAD}  # already current: a start skips Alembic altogether
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_alembic_config(self.engine))
        unknown = current - {rev.revision for rev in script.walk_revisions()}
        if unknown:
            raise ConfigError(
                f"The database at {self.describe()} was written by a newer version of Mangodesk "
                f"(schema {', '.join(sorted(unknown))}).",
                "Install the newer version again, or point this one at its own database. "
                "Nothing was changed.",
            )
        return current, set(script.get_heads())

    def _upgrade(self) -> None:
        from alembic import command

        try:
            command.upgrade(_alembic_config(self.engine), "heads")
        except (OperationalError, ProgrammingError) as exc:
            raise ConfigError(
                f"The database at {self.describe()} could not be updated: {exc.orig}.",
                "Close other copies of Mangodesk and try again." if self.is_sqlite else
                "Run the upgrade with the schema owner's login (mangodesk db upgrade "
                "--owner NAME); the desk and service logins may not change tables.",
            ) from exc

    def identity(self) -> DatabaseId:
        """The database's own UUID (created by its migration; made here for a database built
        some other way). Names this profile's secrets in the keyring."""
        from mangodesk.store.models import DatabaseIdentity

        with self.transaction() as session:
            row = session.scalars(select(DatabaseIdentity).order_by(DatabaseIdentity.id)).first()
            if row is None:
                row = DatabaseIdentity(id=1, uuid=str(uuid.uuid4()),
                                       created_at=datetime.now(UTC),
                                       adopts_legacy_secrets=False)
                session.add(row)
            return DatabaseId(row.uuid, row.adopts_legacy_secrets)

    def describe(self) -> str:
        """The URL without any password, for messages and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
    finally:
        cursor.close()


def schema_heads() -> list[str]:
    """The schema revision(s) this version of Mangodesk migrates a database to (Alembic's
    own reading of the migrations; ``SCHEMA_HEAD`` must equal it)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("mangodesk.store") / "migrations"))
    return sorted(ScriptDirectory.from_config(cfg).get_heads())


def sqlite_schema_revision(path: Path) -> str | None:
    """The schema revision of an existing SQLite database file, read without changing it
    (None when the file does not exist or has no revision yet)."""
    import sqlite3

    if not path.is_file():
        return None
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()
    return ", ".join(sorted(str(row[0]) for row in rows)) or None
