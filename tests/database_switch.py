"""The test suite's database switch: ``MANGODESK_TEST_DATABASE=postgresql`` runs every test on
PostgreSQL instead of SQLite, without changing a test.

Tests build their databases the way the product does, as a SQLite file in a profile
(``Database(sqlite_url(path))``, directly or through ``build_context``). With the switch on,
:class:`~mangodesk.store.db.Database` is wrapped so that each SQLite file path opens its own
fresh PostgreSQL database on the machine's server instead: the same path always maps to the same
database (a test and the ``mangodesk run`` it starts in a child process share it), and two paths
never share one. Child Python processes get the same wrapping from ``tests/pg_site`` (its
``sitecustomize`` is on the ``PYTHONPATH`` they inherit).

Every database is named ``mdt_<run>_<hash of the path>``; a test's new databases are dropped
when it ends, the rest (a module fixture's) when the run ends.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

SWITCH = "MANGODESK_TEST_DATABASE"
RUN_PREFIX = "MANGODESK_TEST_PG_PREFIX"
ADMIN_DSN = "MANGODESK_TEST_PG_ADMIN"
DEFAULT_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SITE_DIR = Path(__file__).resolve().parent / "pg_site"
REPO = Path(__file__).resolve().parents[1]

_admin: Any = None
_created: set[str] = set()
# SQLAlchemy engines that opened a connection since close_pools last ran. Held strongly: a
# test's Database often dies with the test's locals, while its engine (kept by SQLAlchemy's
# own reference cycles) and the connections in its pool live on until the cyclic collector
# runs, in whichever later test that is, and psycopg warns about every open one it deletes.
_connected: set[Any] = set()
_connected_lock = threading.Lock()


def enabled() -> bool:
    value = os.environ.get(SWITCH, "sqlite").strip().lower()
    if value in ("", "sqlite"):
        return False
    if value in ("postgresql", "postgres", "pg"):
        return True
    raise RuntimeError(f"{SWITCH}={value!r}: use sqlite (the default) or postgresql")


def admin_dsn() -> str:
    return os.environ.get(ADMIN_DSN, DEFAULT_ADMIN_DSN)


def _connection() -> Any:
    global _admin
    import psycopg

    if _admin is None or _admin.closed:
        _admin = psycopg.connect(admin_dsn(), autocommit=True)
    return _admin


def server_url(database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the admin DSN's server."""
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(admin_dsn())
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    user = info.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port}/{database}"


def database_for(path: str) -> str:
    """The PostgreSQL database standing in for the SQLite file at ``path`` (created on first
    use; a concurrent creation by another process is fine)."""
    import psycopg
    from psycopg import errors, sql

    prefix = os.environ[RUN_PREFIX]
    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16]
    name = f"{prefix}_{digest}"
    if name in _created:
        return name
    conn = _connection()
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(str(path))))
    except (errors.DuplicateDatabase, errors.UniqueViolation):
        pass  # another process on the same path made it: it upgrades it too
    except psycopg.Error as exc:
        raise RuntimeError(f"could not create test database {name}: {exc}") from exc
    else:
        _upgrade(name)
    _created.add(name)
    return name


def _upgrade(name: str) -> None:
    """What IT does once for a shared database (``mangodesk db upgrade``): the product itself
    never migrates a server's schema at start-up."""
    from mangodesk.store.db import Database

    database = Database(server_url(name))
    try:
        database.upgrade()
    finally:
        database.dispose()


def redirect(url: str) -> str:
    """``url`` itself, or for a SQLite file the URL of the database standing in for it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return url
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return url
    return server_url(database_for(path))


def patch_database_class(module: Any) -> None:
    """Make ``module.Database`` (mangodesk.store.db) open PostgreSQL for SQLite file URLs."""
    from sqlalchemy import event

    database = module.Database
    if getattr(database, "_redirected_to_postgresql", False):
        return
    original = database.__init__

    def __init__(self: Any, url: str, **kwargs: Any) -> None:
        original(self, redirect(url), **kwargs)
        engine = self.engine

        def connected(*_: Any) -> None:
            with _connected_lock:
                _connected.add(engine)

        event.listen(engine, "connect", connected)

    database.__init__ = __init__
    database._redirected_to_postgresql = True


def child_pythonpath(*first: str | Path) -> str:
    """A PYTHONPATH for a child Python process: ``first``, then what this process has (which
    carries the switch's ``pg_site`` when it is on)."""
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([*(str(p) for p in first), *filter(None, [inherited])])


def install() -> None:
    """Switch this process and the Python processes it starts to PostgreSQL."""
    if RUN_PREFIX not in os.environ:
        os.environ[RUN_PREFIX] = f"mdt_{os.getpid()}_{os.urandom(3).hex()}"
    paths = [str(SITE_DIR), str(REPO)]
    inherited = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [inherited])])
    import mangodesk.store.db

    patch_database_class(mangodesk.store.db)


def existing() -> set[str]:
    """This run's databases on the server."""
    rows = _connection().execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s",
        (os.environ[RUN_PREFIX] + "\\_%",)).fetchall()
    return {str(row[0]) for row in rows}


def close_pools() -> None:
    """Close the idle connections of every Database that connected since the last call,
    whether or not the Database itself is still referenced (a test that never disposed its
    own would leave them to the garbage collector, which psycopg warns about). A Database
    still in use stays usable: it reconnects, and is closed again by the next call."""
    with _connected_lock:
        engines = list(_connected)
        _connected.clear()
    for engine in engines:
        engine.dispose()


def drop(names: set[str]) -> None:
    from psycopg import sql

    conn = _connection()
    for name in sorted(names):
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        _created.discard(name)


def close() -> None:
    if _admin is not None:
        _admin.close()
