"""The dry run: replay the planner at every instant something would happen, without doing it.

Staff run ``mangodesk plan --until`` before switching automation on; what it prints is what
the planner will decide at those instants if the bookings stay as they are (a vendor that
generates its own PINs shows "a PIN from the provider").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import count

from mangodesk.domain.errors import ValidationError
from mangodesk.domain.planner import (
    CreateCode,
    ExpireCode,
    IssueBlocked,
    PlanCode,
    PlannedAction,
    RevokeCode,
    UpdateWindow,
    booking_window,
    issue_at,
    plan,
)
from mangodesk.domain.types import CodeOrigin, CodeState
from mangodesk.engine.snapshot import Snapshot


@dataclass(frozen=True)
class DryRunStep:
    at: datetime
    action: PlannedAction
    kind: str  # create / update / revoke / expire / alert
    unit: str
    lock: str
    booking: str
    guest: str
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "kind": self.kind, "unit": self.unit,
                "lock": self.lock, "booking": self.booking, "guest": self.guest,
                "summary": self.summary}


def _instants(snapshot: Snapshot, now: datetime, until: datetime) -> dict[datetime, set[int]]:
    """When each booking's plan can change: its issue time and its check-out."""
    moments: dict[datetime, set[int]] = defaultdict(set)
    for booking in snapshot.bookings:
        prop = snapshot.properties.get(booking.property_id)
        if prop is None:
            continue
        try:
            stay = booking_window(booking, prop)
        except ValidationError:
            continue
        candidates = {stay.check_out_at}
        for unit_id in booking.unit_ids:
            link = snapshot.links.get(unit_id)
            if link is not None:
                candidates.add(issue_at(stay, prop, link.traits))
        for moment in candidates:
            if now < moment <= until:
                moments[moment].add(booking.id)
    return moments


def simulate(snapshot: Snapshot, now: datetime, until: datetime) -> list[DryRunStep]:
    codes: dict[int, PlanCode] = {c.id: c for c in snapshot.codes}
    by_id = {b.id: b for b in snapshot.bookings}
    fake_ids = count(-1, -1)
    steps: list[DryRunStep] = []
    blocked_seen: set[tuple[int, int]] = set()

    def step(at: datetime, action: PlannedAction) -> None:
        if isinstance(action, CreateCode):
            new_id = next(fake_ids)
            codes[new_id] = PlanCode(
                id=new_id, lock_id=action.lock_id, unit_id=action.unit_id,
                origin=CodeOrigin.BOOKING, state=CodeState.ACTIVE, valid_from=action.valid_from,
                valid_to=action.valid_to, booking_id=action.booking_id, pin=action.pin,
            )
        elif isinstance(action, UpdateWindow):
            codes[action.code_id] = codes[action.code_id]._replace(
                valid_from=action.valid_from, valid_to=action.valid_to)
        elif isinstance(action, RevokeCode):
            codes[action.code_id] = codes[action.code_id]._replace(state=CodeState.REVOKED)
        elif isinstance(action, ExpireCode):
            codes[action.code_id] = codes[action.code_id]._replace(state=CodeState.EXPIRED)
        else:
            key = (action.booking_id, action.unit_id)
            if key in blocked_seen:
                return
            blocked_seen.add(key)
        steps.append(_describe(snapshot, codes, at, action))

    for action in plan(now, snapshot.properties, snapshot.bookings, snapshot.links,
                       list(codes.values())):
        step(now, action)
    for moment, booking_ids in sorted(_instants(snapshot, now, until).items()):
        bookings = [by_id[i] for i in sorted(booking_ids)]
        relevant = [c for c in codes.values() if c.booking_id in booking_ids]
        for action in plan(moment, snapshot.properties, bookings, snapshot.links, relevant):
            step(moment, action)
    return steps


def _describe(snapshot: Snapshot, codes: dict[int, PlanCode], at: datetime,
              action: PlannedAction) -> DryRunStep:
    if isinstance(action, CreateCode | IssueBlocked):
        unit_id: int | None = action.unit_id
        lock_id = action.lock_id
        booking_id: int | None = action.booking_id
    else:
        code = codes[action.code_id]
        unit_id, lock_id, booking_id = code.unit_id, code.lock_id, code.booking_id
    unit = snapshot.unit_names.get(unit_id, "") if unit_id is not None else ""
    lock = snapshot.lock_names.get(lock_id, str(lock_id))
    booking = snapshot.booking_refs.get(booking_id, "") if booking_id is not None else ""
    guest = next((b.guest_name or "" for b in snapshot.bookings if b.id == booking_id), "")
    if isinstance(action, CreateCode):
        kind = "create"
        how = "the same code as before" if action.pin else "a new code"
        summary = (f"Create {how} for {guest or 'the guest'} on {lock}, valid "
                   f"{action.valid_from:%Y-%m-%d %H:%M} to {action.valid_to:%Y-%m-%d %H:%M} UTC.")
    elif isinstance(action, UpdateWindow):
        kind = "update"
        summary = (f"Change the dates to {action.valid_from:%Y-%m-%d %H:%M} – "
                   f"{action.valid_to:%Y-%m-%d %H:%M} UTC. {action.reason}")
    elif isinstance(action, RevokeCode):
        kind = "revoke"
        summary = f"Revoke the code. {action.reason}"
    elif isinstance(action, ExpireCode):
        kind = "expire"
        summary = "Mark the code expired (the lock ends it by itself)."
    else:
        kind = "alert"
        summary = f"{action.message} {action.fix}"
    return DryRunStep(at=at, action=action, kind=kind, unit=unit, lock=lock, booking=booking,
                      guest=guest, summary=summary)
