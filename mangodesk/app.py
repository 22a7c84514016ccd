"""The composition root: builds the application from injected parts, with no side effects at
import time. GUI, CLI, headless service and tests all go through :func:`build_context`."""

from __future__ import annotations

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
    sqlite_url,
    with_password,
    without_password,
)
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry, default_registry

if TYPE_CHECKING:
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
    services: Services = field(init=False)

    def close(self) -> None:
        self.services.close()
        self.db.dispose()


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
    context = Context(
        paths=paths,
        settings=settings,
        db=db,
        secrets=store,
        clock=clock or SystemClock(),
        vendors=vendors or default_registry(),
        events=events or EventBus(),
        actor=actor or default_actor(settings),
    )
    context.services = Services(context)
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


def attach_engine(context: Context) -> Engine:
    """Build the lifecycle engine for this context (not started). The process that runs the
    automation — the GUI, or ``mangodesk run`` — calls this once and starts it."""
    from mangodesk.engine.engine import Engine, EngineConfig

    if context.services.engine is None:
        context.services.engine = Engine(
            context.db,
            context.vendors,
            context.secrets,
            context.clock,
            context.events,
            EngineConfig.from_settings(context.settings),
        )
        # Guest emails: plan what is owed and send what is due, every minute.
        context.services.engine.add_periodic_job(
            "guest-mail", context.services.comms.run_scheduled, 60.0, leader_only=True)
    engine: Engine = context.services.engine
    return engine


def schedule_pms_sync(context: Context, engine: Engine) -> Callable[[], None] | None:
    """Run the Beds24 sync on the engine's scheduler when Beds24 is connected. Returns what
    closes the sync's HTTP client, or None when no PMS is connected."""
    from mangodesk.pms.base import PmsAuthError
    from mangodesk.pms.connect import build_beds24_sync

    try:
        sync = build_beds24_sync(context)
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
