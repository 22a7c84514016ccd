"""Optimistic versions on the rows two desks can edit (a passcode, a unit's link): a change
moves the version first thing in its transaction, and only from the version the desk showed.
The UPDATE holds the row until commit (PostgreSQL), so of two desks saving at once the second
waits, then finds the version moved."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute, Session


def move_version(session: Session, row_id: InstrumentedAttribute[int],
                 version: InstrumentedAttribute[int], wanted_id: int,
                 expected: int | None) -> bool:
    """``version + 1`` on the row ``row_id == wanted_id``, only where the version is still
    ``expected`` when one is given. False if no row moved (changed since, or gone)."""
    condition = [row_id == wanted_id]
    if expected is not None:
        condition.append(version == expected)
    moved = session.execute(update(version.class_).where(*condition)
                            .values({version.key: version + 1})
                            .execution_options(synchronize_session=False))
    return int(moved.rowcount) > 0  # type: ignore[attr-defined]
