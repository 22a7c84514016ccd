"""The composition root: builds the application from injected parts, with no side effects at
import time. GUI, CLI, headless service and tests all go through :func:`build_context`."""

from __future__ import annotations

import gc
import getpass
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.errors import ConfigError
from mangodesk.domain.events import EventBus
from mangodesk.paths import Paths, create_private_file
from mangodesk.settings import Settings, save_settings
from mangodesk.store.db import (
    Database,
    database_password_key,
    schema_heads,
    sqlite_schema_revision,
    sqlite_url,
    with_password,
    without_password,
)
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry, default_registry

if TYPE_CHECKING:
    from mangodesk.engine.adapters import AdapterPool
    from mangodesk.engine.engine import Engine
    from mangodesk.services.facade import Services

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Everything a front end needs, built once per process."""

    paths: Paths
    settings: Settings
    db: Database
    secrets: SecretStore
    clock: Clock
    vendors: VendorRegistry
    events: EventBus
    actor: str
    # One live adapter per lock-provider connection, shared by the engine and the services.
    adapters: AdapterPool
    services: Services = field(init=False)
    # The lifecycle engine, when this process runs it (see :func:`attach_engine`).
    engine: Engine | None = field(default=None, init=False)

    def close(self) -> None:
        self.services.close()
        self.adapters.close()
        self.engine = None
        self.db.dispose()


@dataclass(frozen=True)
class DeskOptions:
    """How the desk window was asked to open (the CLI parses it, the Qt side obeys it)."""

    demo: bool = False
    minimized: bool = False  # autostart: only the tray icon
    unit: str | None = None  # open this unit's passcodes


def default_actor(settings: Settings) -> str:
    if settings.staff_name:
        return settings.staff_name
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return "staff"


def build_context(
    paths: Paths,
    settings: Settings,
    *,
    secrets: SecretStore | None = None,
    clock: Clock | None = None,
    vendors: VendorRegistry | None = None,
    events: EventBus | None = None,
    database: Database | None = None,
    actor: str | None = None,
    migrate: bool = True,
) -> Context:
    from mangodesk.engine.adapters import AdapterPool
    from mangodesk.services.base import ServiceDeps
    from mangodesk.services.facade import Services

    paths.ensure()
    owns_database = database is None
    base_store = secrets or SecretStore()
    if database is None and not settings.database_url:
        create_private_file(paths.database_file)  # SQLite gives -wal/-shm the same mode
    if database is None and settings.database_url:
        url = with_password(move_database_password(paths, settings, base_store), base_store)
        database = Database(url)
    db = database or Database(sqlite_url(paths.database_file))
    try:
        if migrate:
            db.migrate()
        identity = db.identity()
    except BaseException:
        if owns_database:
            db.dispose()  # refused (e.g. an out-of-date shared schema): no connection left open
        raise
    store = base_store.scoped(identity.uuid, adopt_legacy=identity.adopts_legacy_secrets)
    registry = vendors or default_registry()
    context = Context(
        paths=paths,
        settings=settings,
        db=db,
        secrets=store,
        clock=clock or SystemClock(),
        vendors=registry,
        events=events or EventBus(),
        actor=actor or default_actor(settings),
        adapters=AdapterPool(db, registry, store),
    )
    context.services = Services(ServiceDeps(
        db=context.db,
        secrets=context.secrets,
        clock=context.clock,
        events=context.events,
        vendors=context.vendors,
        settings=context.settings,
        actor=context.actor,
        adapters=context.adapters,
    ))
    return context


def move_database_password(paths: Paths, settings: Settings, secrets: SecretStore) -> str:
    """A database password written into ``database_url`` in settings.json (older versions
    could only keep it there) moves into the keyring, and the file keeps the address only.
    Returns the URL without the password."""
    assert settings.database_url is not None
    url, password = without_password(settings.database_url)
    if password is None:
        return url
    if not secrets.available():
        raise ConfigError(
            f"The settings file {paths.settings_file} holds the database password in plain "
            "text, and this computer has no secure password store to move it to.",
            "Install and unlock a keyring, then start Mangodesk again; it moves the password "
            "there itself. Mangodesk did not change the file.")
    secrets.set(database_password_key(url), password)
    settings.database_url = url
    save_settings(paths.settings_file, settings)
    log.info("moved the database password from %s into the password store",
             paths.settings_file)
    return url


def shipped_schema() -> list[str]:
    """The schema revision(s) this version migrates a database to (for ``--version``)."""
    return schema_heads()


def profile_schema(paths: Paths) -> str | None:
    """The schema revision of a profile's SQLite database, read without changing it (None
    when it has none yet)."""
    return sqlite_schema_revision(paths.database_file)


def save_database_password(url: str, read_password: Callable[[], str],
                           secrets: SecretStore | None = None) -> None:
    """Keep a shared database's password in the password store under its address, for the
    desk's next start. Refuses before asking for the password when there is no store."""
    store = secrets or SecretStore()
    store.require()
    store.set(database_password_key(url), read_password())


@dataclass(frozen=True)
class SchemaUpgrade:
    """What ``mangodesk db upgrade`` did: the schema before and after, and which roles were
    granted their access (None: a SQLite profile, or the roles do not exist yet)."""

    where: str
    before: set[str]
    after: set[str]
    granted: dict[str, str] | None
    missing_roles: tuple[str, ...] = ()


def upgrade_database(paths: Paths, settings: Settings, *, owner: str | None,
                     owner_password: Callable[[str], str | None],
                     desk_role: str | None = None,
                     service_role: str | None = None) -> SchemaUpgrade:
    """The explicit schema upgrade: a SQLite profile's file, or a shared server's schema with
    the owner's login (asked through ``owner_password``), then the desk and service roles'
    grants (``store.roles``)."""
    from sqlalchemy.engine import make_url

    from mangodesk.store import roles

    if not settings.database_url:
        paths.ensure()
        create_private_file(paths.database_file)  # this user only, as every start makes it
        database = Database(sqlite_url(paths.database_file))
        try:
            before, after = _upgrade(database)
            return SchemaUpgrade(database.describe(), before, after, None)
        finally:
            database.dispose()
    owner = owner or roles.DEFAULT_OWNER
    url = make_url(settings.database_url).set(username=owner, password=None)
    password = owner_password(owner)
    if password is not None:
        url = url.set(password=password)
    database = Database(url.render_as_string(hide_password=False))
    try:
        before, after = _upgrade(database)
        desk = desk_role or roles.DEFAULT_DESK
        service = service_role or roles.DEFAULT_SERVICE
        missing = tuple(r for r in (desk, service) if not roles.role_exists(database.engine, r))
        if missing:
            return SchemaUpgrade(database.describe(), before, after, None, missing)
        roles.apply_grants(database.engine, desk=desk, service=service)
        return SchemaUpgrade(database.describe(), before, after,
                             {"desk": desk, "service": service})
    finally:
        database.dispose()


def _upgrade(database: Database) -> tuple[set[str], set[str]]:
    try:
        return database.upgrade()
    except ConfigError:
        database.dispose()
        raise


def may_run_automation(context: Context) -> bool:
    """Whether this process's database login may run the automation (a desk login of a
    shared server may not: see ``store.roles``)."""
    from mangodesk.store.roles import may_run_automation as login_may_run

    return login_may_run(context.db.engine)


def attach_engine(context: Context) -> Engine:
    """Build the lifecycle engine for this context (not started). The process that runs the
    automation — the GUI, or ``mangodesk run`` — calls this once and starts it."""
    from mangodesk.engine.engine import Engine, EngineConfig

    if context.engine is None:
        engine = Engine(
            context.db,
            context.vendors,
            context.secrets,
            context.clock,
            context.events,
            EngineConfig.from_settings(context.settings),
            adapters=context.adapters,
        )
        # Guest emails: plan what is owed and send what is due, every minute.
        engine.add_periodic_job(
            "guest-mail", context.services.comms.run_scheduled, 60.0, leader_only=True)
        context.engine = engine
        context.services.engine = engine
    return context.engine


def detach_engine(context: Context) -> None:
    """Forget an engine that could not start, so services stop nudging it."""
    context.engine = None
    context.services.engine = None


def schedule_pms_sync(context: Context, engine: Engine) -> Callable[[], None] | None:
    """Run the Beds24 sync on the engine's scheduler when Beds24 is connected. Returns what
    closes the sync's HTTP client, or None when no PMS is connected."""
    from mangodesk.pms.base import PmsAuthError

    try:
        sync = context.services.pms.build_sync()
    except PmsAuthError as exc:
        log.warning("no PMS sync: %s", exc)
        return None
    interval = context.settings.sync_interval_minutes * 60
    engine.add_periodic_job("pms-sync", sync.run_scheduled, interval, leader_only=True)
    if context.settings.write_back_codes:
        engine.add_periodic_job(
            "pms-write-back",
            lambda: context.services.write_back.run_scheduled(sync.adapter, sync.source),
            min(interval, 60.0), leader_only=True,
        )
    return sync.close


def settle_long_lived_objects() -> None:
    """Move everything alive once start-up is done (modules, the context, the window or the
    engine) out of the garbage collector's reach. A full collection walks every
    tracked object while holding the GIL: with them, one triggered by a worker loading 2,000
    units froze the desk's GUI thread for 200–280 ms, and one triggered by a planning pass
    cost the pass 40–60 ms; without them it is a few milliseconds. (No collection first: that
    alone would take as long; what little garbage there is stays.)"""
    gc.freeze()
