"""A PostgreSQL connection of its own, outside SQLAlchemy's pool.

The engine's leadership (a session-level advisory lock) and the change listener (LISTEN)
live as long as their session does: a pooled connection can be recycled, reset or handed
to another thread, which would drop the lock or the subscription without anyone noticing.
These connections are opened once, kept open, and checked with TCP keepalives on both ends:
here, so a vanished server or a cut cable shows up as an error within seconds instead of a
hang; and on the server, so a desk PC that loses power (it never closes its connection)
loses its session, and with it the automation's lock, within seconds instead of the
operating system's default of two hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_SECONDS = 5
# A dead peer is noticed after about idle + interval * count seconds of silence.
KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                             "keepalives_count": 3, "tcp_user_timeout": 11_000}
# The server's side, for this session only (ignored over a local socket, which cannot be cut):
# a silent client is dropped after about 4 + 1 * 3 seconds.
SERVER_KEEPALIVE = ("-c tcp_keepalives_idle=4 -c tcp_keepalives_interval=1 "
                    "-c tcp_keepalives_count=3 -c tcp_user_timeout=7000")
APPLICATION_NAME_MAX = 63  # PostgreSQL truncates longer names (NAMEDATALEN - 1)


def is_postgresql(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def connect_arguments(url: str | URL) -> dict[str, Any]:
    """libpq keyword arguments for ``url`` (an SQLAlchemy URL, password included)."""
    parsed = make_url(url)
    args: dict[str, Any] = {str(key): value for key, value in parsed.query.items()}
    args.update(parsed.translate_connect_args(username="user", database="dbname"))
    return args


def dedicated_connection(url: str | URL, application_name: str) -> psycopg.Connection[Any]:
    """A new autocommit connection to ``url``'s database, named ``application_name`` in
    ``pg_stat_activity`` (so an administrator, and ``current_leader``, can tell who it is)."""
    import psycopg

    args = connect_arguments(url)
    args["options"] = " ".join(part for part in (args.get("options"), SERVER_KEEPALIVE) if part)
    return psycopg.connect(
        **args, **KEEPALIVE, autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name=application_name[:APPLICATION_NAME_MAX],
    )
