"""A throwaway PostgreSQL database on the machine's server (127.0.0.1:5432), for tests of
several desks sharing one database. Skips the test where no server runs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create an empty database, yield its URL, and drop it (and its sessions) afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"mangodesk_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({exc.orig})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def terminate_sessions(url: str, application_name_prefix: str) -> int:
    """End every session of ``url``'s database whose application name starts with the
    prefix, as a server restart or a cut network would (returns how many)."""
    database = url.rsplit("/", 1)[1]
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND application_name LIKE :prefix"),
                {"db": database, "prefix": application_name_prefix + "%"}).all())
    finally:
        admin.dispose()
