from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.store.secrets import SecretStore
from tests.fakes.hotel import build_hotel

NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def now_clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ctx(tmp_path: Path, secret_store: SecretStore, now_clock: FixedClock) -> Iterator[Context]:
    context = build_context(Paths.under(tmp_path / "profile"), Settings(), secrets=secret_store,
                            clock=now_clock, actor="Anna")
    build_hotel(context, now_clock.now())
    yield context
    context.close()


def unit_id(ctx: Context, name: str) -> int:
    return next(r.id for r in ctx.services.units.list_units() if r.name == name)
