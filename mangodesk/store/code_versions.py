"""Every write that changes what a desk shows of a passcode moves its version, whoever makes
it: a desk's edit, revoke or unlink, and the engine settling a call, planning a new window or
choosing a new PIN after a conflict. A desk that saves with the version it showed is then
refused whenever anything changed since, not only another desk's save.

One ``before_flush`` hook on the database's sessions does it, so the engine's write sites
need no change. A staff save moves the version itself first thing in its transaction, from
the version the desk showed (``take_version`` in the passcode checks), and marks the code
with :func:`mark_version_taken` so its own writes do not move it twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session, SessionTransaction

from mangodesk.store.models import AccessCode

# What the desk shows of a code and what decides what staff may do with it. Attempts, errors
# and the vendor's bookkeeping move with every retry: moving the version with them would
# refuse a desk's save for nothing staff could see.
SHOWN_CODE_COLUMNS = ("code", "valid_from", "valid_to", "guest_name", "state", "managed",
                      "origin", "unit_id", "lock_id", "booking_id", "mobile_key_sent_to")
_TAKEN = "mangodesk.code_versions_taken"


def mark_version_taken(session: Session, code_id: int) -> None:
    """The code's version already moved in this transaction (a staff save took it)."""
    session.info.setdefault(_TAKEN, set()).add(code_id)


def move_code_versions(session: Session, _context: Any, _instances: Any) -> None:
    """Before each flush: a code whose shown columns change gets ``version + 1``, computed
    by the database so two writers cannot both move it to the same number."""
    taken: set[int] = session.info.get(_TAKEN, set())
    for obj in session.dirty:
        if not isinstance(obj, AccessCode) or obj.id in taken:
            continue
        attrs = inspect(obj).attrs
        if any(attrs[name].history.has_changes() for name in SHOWN_CODE_COLUMNS):
            obj.version = AccessCode.version + 1


def forget_taken_versions(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_TAKEN, None)
