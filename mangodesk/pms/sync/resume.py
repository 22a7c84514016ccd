"""Where a crashed full load resumes, and how big the last full load was.

Both live in the sync state's settings: the resume point is written with every commit of a full
load's pages (one UPDATE by key, batch.py) and dropped when the load completes; the page count
of the last complete full load gives the next one its progress estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from mangodesk.store.models import SyncState

# Where a crashed full load resumes (sync_state.settings).
RESUME_KEY = "full_load_resume"
# How many pages the last complete full load had (for the next one's progress estimate).
FULL_LOAD_PAGES_KEY = "full_load_pages"


def without_resume(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings with no resume point."""
    return {k: v for k, v in (settings or {}).items() if k != RESUME_KEY}


def resume_point(settings: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Where the last full load stopped, if it did not finish."""
    saved = (settings or {}).get(RESUME_KEY)
    return saved if isinstance(saved, dict) else None


def last_full_load_pages(settings: Mapping[str, Any] | None) -> int | None:
    pages = (settings or {}).get(FULL_LOAD_PAGES_KEY)
    return pages if isinstance(pages, int) else None


def save_resume(
    session: Session, state_id: int, run_settings: Mapping[str, Any], resume: dict[str, str]
) -> None:
    """Every commit of a full load's pages: one UPDATE by key (the settings read at the start
    of the run are the only other ones; nothing else writes them during a run)."""
    session.execute(
        update(SyncState).where(SyncState.id == state_id)
        .values(settings={**run_settings, RESUME_KEY: dict(resume)})
    )


def after_full_load(
    settings: Mapping[str, Any] | None, pages: int | None
) -> dict[str, Any]:
    """The settings once a full load ended: no resume point; its page count when given (a
    load that completed from its start)."""
    kept = without_resume(settings)
    if pages is not None:
        kept[FULL_LOAD_PAGES_KEY] = pages
    return kept
