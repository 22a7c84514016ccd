"""One front desk in its own process, for the many-desks load test (issue #18): it edits
passcodes and links at random through the services layer, each save with the version it
showed, and follows the database the way the desk's views do (the change counter polled;
the grid reloaded when it moves).

Every line it prints is JSON: ``save``/``refused`` for each attempt (what it expected, what
it wrote), ``error`` for anything else a save raised, ``view`` with a digest of what it
shows after each reload, and ``edited`` once its editing time (counted from the first code
it finds to edit) is over. It keeps following the database until SIGTERM.

Run: ``python -m tests.fakes.desk_process URL NAME SEED SECONDS HOT_ROOMS SPARE_UNITS``.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mangodesk.app import Context, build_context
from mangodesk.domain.errors import ChangedElsewhereError
from mangodesk.domain.types import ENDING_CODE_STATES
from mangodesk.paths import Paths
from mangodesk.services.changes import ChangeCounter
from mangodesk.services.passcode_checks import CHANGED_ELSEWHERE
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.services.views import UnitRow
from mangodesk.settings import Settings

POLL_SECONDS = 0.4  # the desk's views poll the change counter this often (ui/events.py)
SPARE_PREFIX = "Spare "


def view_digest(context: Context, rows: list[UnitRow], panel: str) -> str:
    """What the desk shows that desks and the engine change: in the grid, each unit's lock,
    its link version and its current code (PIN, state, guest, end); in the passcodes panel
    of the selected unit (``panel``), every code with its version."""
    rows = sorted(rows, key=lambda r: r.id)
    shown: list[object] = [
        (r.id, r.lock_id, r.link_version, r.code, str(r.code_state), r.code_guest,
         r.code_valid_to.isoformat() if r.code_valid_to else None) for r in rows]
    (selected,) = [r.id for r in rows if r.name == panel]
    shown.extend((c.id, c.version, c.code, str(c.state), c.guest_name, c.valid_to.isoformat())
                 for c in context.services.passcodes.list_for_unit(selected))
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]


class Desk:
    def __init__(self, context: Context, name: str, rng: random.Random, hot: list[str],
                 spares: list[str]) -> None:
        self.context, self.name, self.rng = context, name, rng
        self.hot, self.spares = hot, spares
        self.panel = rng.choice(hot)  # the unit whose passcodes panel is open
        self.counter = ChangeCounter(context.db.engine)
        self.rows: dict[str, UnitRow] = {}
        self.token: Any = None
        self.saves = 0
        self.codes_seen = False  # the service has planned the hot rooms' codes
        self.locks = {lock.name: lock.id for conn in context.services.connections.list()
                      for lock in context.services.connections.locks(conn.id)}

    def say(self, kind: str, **fields: Any) -> None:
        print(json.dumps({"kind": kind, "t": time.time(), **fields}, default=str), flush=True)

    def follow(self) -> None:
        """The views' poll: reload the grid only when the change counter moved."""
        token = self.counter.token()
        if token == self.token:
            return
        self.token = token
        began = time.monotonic()
        rows = self.context.services.units.list_units()
        self.rows = {r.name: r for r in rows}
        digest = view_digest(self.context, rows, self.panel)
        self.say("view", digest=digest, panel=self.panel, took=time.monotonic() - began)

    def act(self) -> None:
        if self.rng.random() < 0.7:
            self.edit_code(self.rng.choice(self.hot))
        else:
            self.change_link(self.rng.choice(self.spares))

    def edit_code(self, unit: str) -> None:
        """Open the unit's passcodes panel, think, and save a guest name or a later
        check-out, or (rarely) revoke and reissue, with the version the panel showed."""
        passcodes = self.context.services.passcodes
        if unit != self.panel:
            self.panel, self.token = unit, None  # another panel opens: shown fresh
        codes = [c for c in passcodes.list_for_unit(self.rows[unit].id)
                 if c.state not in ENDING_CODE_STATES]
        if not codes:
            time.sleep(POLL_SECONDS)
            return
        self.codes_seen = True
        code = self.rng.choice(codes[-2:])  # the next two stays: where desks meet
        time.sleep(self.rng.uniform(0, 0.3))
        self.saves += 1
        guest = f"{self.name} #{self.saves}"
        valid_to = code.valid_to.replace(hour=self.rng.choice((10, 11, 12, 13)))
        revoke = self.rng.random() < 0.05
        fields = {"code": code.id, "expected": code.version, "revoke": revoke}
        try:
            if revoke:
                saved = passcodes.revoke(code.id, stop_codes=False,
                                         expected_version=code.version)
            else:
                saved = passcodes.edit(code.id, PasscodeInput(code.valid_from, valid_to,
                                                              guest_name=guest),
                                       expected_version=code.version)
        except ChangedElsewhereError as refused:
            self.say("refused", **fields, words=refused.message == CHANGED_ELSEWHERE)
            return
        except Exception as error:
            self.say("error", **fields, error=repr(error))
            return
        self.say("save", **fields, result=saved.version, guest=saved.guest_name,
                 valid_to=saved.valid_to.isoformat(), state=str(saved.state))

    def change_link(self, unit: str) -> None:
        """Link the spare unit to one of its two locks, or unlink it, with the link
        version the grid showed."""
        row = self.rows[unit]
        time.sleep(self.rng.uniform(0, 0.3))
        links = self.context.services.links
        choice = self.rng.choice((None, f"{unit} A", f"{unit} B"))
        lock_id = self.locks[choice] if choice else None
        fields = {"unit": row.id, "expected": row.link_version, "lock": lock_id}
        try:
            if lock_id is None:
                if row.lock_id is None:
                    return
                links.unlink(row.id, expected_version=row.link_version)
            else:
                if lock_id == row.lock_id:
                    return
                links.link(row.id, lock_id=lock_id, expected_version=row.link_version)
        except ChangedElsewhereError as refused:
            words = f"The lock of {unit} was changed at another desk — reload and try again."
            self.say("link-refused", **fields, words=refused.message == words)
            return
        except Exception as error:
            self.say("error", **fields, error=repr(error))
            return
        self.say("link", **fields)


def main() -> None:
    url, name, seed, seconds, hot, spares = sys.argv[1:7]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with tempfile.TemporaryDirectory() as home:
        context = build_context(Paths.under(Path(home)), Settings(database_url=url),
                                actor=name, migrate=False)
        desk = Desk(context, name, random.Random(int(seed)), hot.split(","),
                    spares.split(","))
        desk.follow()
        until: float | None = None  # the editing time counts from the first code seen
        while not stop.is_set() and (until is None or time.monotonic() < until):
            desk.act()
            desk.follow()
            if until is None and desk.codes_seen:
                until = time.monotonic() + float(seconds)
        desk.say("edited")
        while not stop.wait(POLL_SECONDS):
            desk.follow()
        desk.counter.close()
        context.close()


if __name__ == "__main__":
    main()
