"""Group commit on its own: who gets which result, what one failure undoes, and that a lone
caller is not made to wait. Runs on SQLite and, with the switch, PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mangodesk.engine.batching import MAX_BATCH, GroupCommit
from mangodesk.store.db import Database, sqlite_url

WAIT = 20.0  # generous bound for threads to line up; never asserted as a duration


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_url(tmp_path / "batching.sqlite"))
    with database.transaction() as session:
        session.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
    yield database
    database.dispose()


def insert(item_id: int, name: str) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        session.execute(text("INSERT INTO item (id, name) VALUES (:id, :name)"),
                        {"id": item_id, "name": name})
        return name
    return work


def stored(db: Database) -> dict[int, str]:
    with db.session() as session:
        return {int(row[0]): str(row[1])
                for row in session.execute(text("SELECT id, name FROM item"))}


def run_together(commits: GroupCommit, write_lock: threading.RLock,
                 works: list[Callable[[Session], Any]]) -> list[tuple[str, Any]]:
    """Submit ``works`` from one thread each while the write lock is held, so that all of
    them are waiting before any runs; then let them go. ("ok", result) or ("error", exc)."""
    results: list[tuple[str, Any]] = [("none", None)] * len(works)

    def submit(index: int) -> None:
        try:
            results[index] = ("ok", commits.run(works[index]))
        except Exception as exc:
            results[index] = ("error", exc)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(works))]
    with write_lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT
        while commits.waiting < len(works):
            assert time.monotonic() < deadline, "the submitters never lined up"
            time.sleep(0.001)
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    return results


def test_a_lone_caller_runs_at_once_in_its_own_thread(db: Database) -> None:
    commits = GroupCommit(db, threading.RLock())
    ran_in: list[threading.Thread] = []

    def work(session: Session) -> str:
        ran_in.append(threading.current_thread())
        return insert(1, "alone")(session)

    assert commits.run(work) == "alone"
    assert ran_in == [threading.current_thread()]
    assert (commits.batches, commits.largest) == (1, 1)
    assert stored(db) == {1: "alone"}  # committed before run returned


def test_callers_that_arrive_together_share_one_commit_and_get_their_own_results(
        db: Database) -> None:
    write_lock = threading.RLock()
    commits = GroupCommit(db, write_lock)
    committed: list[object] = []
    event.listen(db.engine, "commit", committed.append)

    results = run_together(commits, write_lock,
                           [insert(n, f"item {n}") for n in range(MAX_BATCH)])

    assert results == [("ok", f"item {n}") for n in range(MAX_BATCH)]
    assert (commits.batches, commits.largest) == (1, MAX_BATCH)
    assert len(committed) == 1
    assert stored(db) == {n: f"item {n}" for n in range(MAX_BATCH)}


def test_a_batch_is_bounded(db: Database) -> None:
    write_lock = threading.RLock()
    commits = GroupCommit(db, write_lock, max_batch=4)

    results = run_together(commits, write_lock, [insert(n, f"item {n}") for n in range(10)])

    assert results == [("ok", f"item {n}") for n in range(10)]
    assert commits.largest == 4
    assert commits.batches == 3


def test_one_item_raising_undoes_only_itself_and_reaches_only_its_caller(db: Database) -> None:
    with db.transaction() as session:
        insert(2, "already there")(session)
    write_lock = threading.RLock()
    commits = GroupCommit(db, write_lock)

    def half_then_fail(session: Session) -> str:
        insert(3, "half done")(session)
        raise ValueError("this item is wrong")

    results = run_together(commits, write_lock, [
        insert(1, "first"), insert(2, "duplicate"), half_then_fail, insert(4, "last")])

    assert results[0] == ("ok", "first")
    assert results[1][0] == "error" and isinstance(results[1][1], IntegrityError)
    assert results[2][0] == "error" and isinstance(results[2][1], ValueError)
    assert results[3] == ("ok", "last")
    assert commits.batches == 1
    assert stored(db) == {1: "first", 2: "already there", 4: "last"}


def test_a_failed_commit_reaches_every_caller_and_keeps_nothing(db: Database) -> None:
    write_lock = threading.RLock()
    commits = GroupCommit(db, write_lock)

    def refuse(_connection: object) -> None:
        raise RuntimeError("the database went away")

    event.listen(db.engine, "commit", refuse)
    try:
        results = run_together(commits, write_lock, [insert(n, f"item {n}") for n in range(5)])
    finally:
        event.remove(db.engine, "commit", refuse)

    assert [kind for kind, _ in results] == ["error"] * 5
    assert all(str(exc) == "the database went away" for _, exc in results)
    assert commits.batches == 1
    assert stored(db) == {}  # no item's SAVEPOINT committed on its own
