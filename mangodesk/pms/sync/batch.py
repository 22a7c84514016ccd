"""Pages of one sync committed together, with the resume point of the last one.

A commit per page cost a session, a transaction and a resume-point write for every hundred
bookings. Pages are applied in one transaction that is committed every COMMIT_SECONDS (or
COMMIT_PAGES), at the end and before a failure is recorded; the resume point goes into the same
commit, so a crash redoes at most the uncommitted pages and never skips or repeats one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from mangodesk.store.db import Database

# The longest a sync holds its write transaction open (other writers wait for it), and the
# most pages a crash can make it read again.
COMMIT_SECONDS = 0.5
COMMIT_PAGES = 50


class PageBatch:
    """The open transaction of a sync's pages. ``before_commit`` writes what must be committed
    with them (the resume point)."""

    def __init__(
        self,
        db: Database,
        monotonic: Callable[[], float],
        before_commit: Callable[[Session], None],
    ) -> None:
        self._db = db
        self._monotonic = monotonic
        self._before_commit = before_commit
        self._session: Session | None = None
        self._opened_at = 0.0
        self._pages = 0

    def session(self) -> Session:
        """The batch's session, in a transaction (begun on first use)."""
        if self._session is None:
            self._session = self._db.session()
            self._session.begin()
            self._opened_at = self._monotonic()
            self._pages = 0
        return self._session

    def applied(self) -> None:
        """One more page is applied: commit when the batch is old or big enough. Objects
        the page loaded are let go, so the next page reads rows as they are now, as a page
        in a session of its own would."""
        self._pages += 1
        if self._session is not None:
            try:
                self._session.flush()
            except BaseException:
                self.rollback()
                raise
            self._session.expunge_all()
        if (self._pages >= COMMIT_PAGES
                or self._monotonic() - self._opened_at >= COMMIT_SECONDS):
            self.commit()

    def commit(self) -> None:
        """Commit the pages applied so far (nothing to do when none are open)."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            self._before_commit(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def rollback(self) -> None:
        """Drop the uncommitted pages (a page failed half-way)."""
        session, self._session = self._session, None
        if session is not None:
            session.rollback()
            session.close()
