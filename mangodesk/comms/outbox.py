"""The mail outbox: every message is a row before it is sent, and is sent once.

States: ``queued`` (waiting for its time), ``held`` is not a state but a later
``next_attempt_at``; ``sending`` (claimed by this run, not yet handed over: safe to send
again after a crash); ``handed_over`` (recorded just before the final "." of the SMTP
transaction — after a crash it counts as sent, never resent, and keeps its Message-ID for
IT to look up in the server's log); ``sent``; ``failed`` (permanent: 5xx, no address);
``skipped`` (cancelled before it was due).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from mangodesk.comms.smtp import MailError, SmtpSender, SmtpSettings, build_message
from mangodesk.domain.types import (
    AlertSeverity,
    AlertSubject,
    MailStatus,
)
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.db import Database
from mangodesk.store.models import MailMessage

log = logging.getLogger(__name__)

SETUP_ALERT = "mail:setup"
BATCH = 200
SENT_GROUP = 50


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most an hour, between tries after a temporary failure."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass
class Prepared:
    """A message rendered for sending (or a reason not to send it)."""

    to: str | None = None
    to_name: str | None = None
    subject: str = ""
    body: str = ""
    body_masked: str = ""
    language: str | None = None
    codes_digest: str | None = None
    # Set to not send now: "skip" (cancelled), "fail" (no address, bad template), "hold".
    outcome: str | None = None
    reason: str = ""
    hold_until: datetime | None = None


Prepare = Callable[[Session, MailMessage, datetime], Prepared]
# Loads what a batch of messages needs in a few queries instead of one per message.
Preload = Callable[[Session, list[MailMessage]], list[object]]


def recover(db: Database, now: datetime) -> tuple[int, int]:
    """After a restart: claimed-but-not-handed-over messages go back to the queue; handed
    over ones count as sent (the server had the whole message). Returns both counts."""
    with db.transaction() as session:
        requeued = _rowcount(session.execute(
            update(MailMessage).where(MailMessage.status == MailStatus.SENDING)
            .values(status=MailStatus.QUEUED, updated_at=now)))
        settled = _rowcount(session.execute(
            update(MailMessage).where(MailMessage.status == MailStatus.HANDED_OVER)
            .values(status=MailStatus.SENT, sent_at=now, updated_at=now,
                    last_error="Mangodesk stopped after handing this message to the mail "
                    "server; counted as sent (its Message-ID is in the server's log)."
                    )))
    return requeued, settled


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _fail(session: Session, message: MailMessage, reason: str, now: datetime) -> None:
    message.status = MailStatus.FAILED
    message.last_error = reason
    message.updated_at = now
    raise_alert(session, dedupe_key=f"mail:failed:{message.id}",
                severity=AlertSeverity.WARNING, subject_kind=AlertSubject.MESSAGE,
                subject_id=message.id, message=f"A guest message was not sent: {reason}",
                fix="Open Communications › Sent log to correct it and send it again.", now=now)


def deliver_due(db: Database, settings: SmtpSettings, password: str | None,
                clock: Callable[[], datetime], prepare: Prepare,
                sender_factory: Callable[[SmtpSettings, str | None], SmtpSender] = SmtpSender,
                preload: Preload | None = None) -> dict[str, int]:
    """Send every due message once; returns counts by outcome."""
    counts = {MailStatus.SENT: 0, MailStatus.FAILED: 0, MailStatus.SKIPPED: 0, "held": 0,
              "retry": 0}
    while True:
        now = clock()
        claimed = _claim(db, prepare, now, counts, preload)
        if claimed is None:
            return counts
        if not claimed:
            continue
        if not _send_batch(db, settings, password, clock, claimed, counts, sender_factory):
            return counts


def _claim(db: Database, prepare: Prepare, now: datetime, counts: dict[str, int],
           preload: Preload | None) -> list[tuple[int, Prepared, str]] | None:
    """Render and mark ``sending`` one batch of due messages in one commit. None: none due."""
    ready: list[tuple[int, Prepared, str]] = []
    with db.transaction() as session:
        due = list(session.scalars(
            select(MailMessage).where(MailMessage.status == MailStatus.QUEUED,
                                      MailMessage.next_attempt_at <= now)
            .order_by(MailMessage.next_attempt_at, MailMessage.id).limit(BATCH)
            # Two desks sending at once (PostgreSQL) never claim the same message.
            .with_for_update(skip_locked=True)))
        if not due:
            return None
        # Held here so the session's identity map (weak references) keeps them.
        loaded = preload(session, due) if preload is not None else []
        session.autoflush = False  # one flush at commit, not one per rendered message
        for message in due:
            prepared = prepare(session, message, now)
            if prepared.outcome == "skip":
                message.status = MailStatus.SKIPPED
                message.last_error = prepared.reason
                message.updated_at = now
                counts[MailStatus.SKIPPED] += 1
                continue
            if prepared.outcome == "hold":
                message.next_attempt_at = prepared.hold_until or now + timedelta(minutes=10)
                message.last_error = prepared.reason or None
                message.updated_at = now
                counts["held"] += 1
                continue
            if prepared.outcome == "fail" or not prepared.to:
                _fail(session, message, prepared.reason or "the booking has no guest email "
                      "address", now)
                counts[MailStatus.FAILED] += 1
                continue
            message.status = MailStatus.SENDING
            message.to_address = prepared.to
            message.subject = prepared.subject
            message.body = prepared.body
            message.body_masked = prepared.body_masked
            message.language = prepared.language
            message.codes_digest = prepared.codes_digest
            message.attempts += 1
            message.updated_at = now
            ready.append((message.id, prepared, message.message_id))
        del loaded
    return ready


def _send_batch(db: Database, settings: SmtpSettings, password: str | None,
                clock: Callable[[], datetime], claimed: list[tuple[int, Prepared, str]],
                counts: dict[str, int],
                sender_factory: Callable[[SmtpSettings, str | None], SmtpSender]) -> bool:
    """Hand the claimed messages over on one connection. False: stop for now (the server
    or its setup is failing); the rest of the batch is back in the queue.

    The hot path (one "handed over" commit per message, "sent" in groups) runs on one
    database connection held for the whole batch, committing as it goes: no ORM session
    commit and no pool check-out per message. The rare failure paths use the session."""
    session = db.session()
    fast = db.engine.connect()
    pending_sent: list[int] = []
    mark_handed_over = update(MailMessage).where(
        MailMessage.id == bindparam("mid")).values(status=MailStatus.HANDED_OVER)

    def flush_sent() -> None:
        if pending_sent:
            at = clock()
            fast.execute(update(MailMessage).where(MailMessage.id.in_(pending_sent))
                         .values(status=MailStatus.SENT, sent_at=at, updated_at=at,
                                 last_error=None))
            fast.commit()
            pending_sent.clear()

    def settle(extra: Callable[[], None] | None = None) -> None:
        flush_sent()
        if extra is not None:
            extra()
        session.commit()

    sender = sender_factory(settings, password)
    try:
        for index, (message_id, prepared, header_id) in enumerate(claimed):
            email = build_message(settings, to=prepared.to or "", to_name=prepared.to_name,
                                  subject=prepared.subject, body=prepared.body,
                                  message_id=header_id)

            def handed_over(mid: int = message_id) -> None:
                # The one commit each message needs. Confirmed messages become ``sent`` in
                # groups: until then ``handed_over`` already means "never send again".
                fast.execute(mark_handed_over, {"mid": mid})
                fast.commit()
                if len(pending_sent) >= SENT_GROUP:
                    flush_sent()

            try:
                sender.send(email, prepared.to or "", checkpoint=handed_over)
            except MailError as exc:
                now = clock()
                row = session.get(MailMessage, message_id)
                assert row is not None
                if exc.after_handover:
                    # The server had the whole message and then went silent: it may well
                    # have accepted it. Never sent twice; staff can resend from the log.
                    row.status = MailStatus.SENT
                    row.sent_at = now
                    row.last_error = (f"{exc.message} The message was complete, so it counts "
                                      "as sent; resend it from the log if the guest lacks it.")
                    row.updated_at = now
                    counts[MailStatus.SENT] += 1
                    _requeue(session, [m for m, _, _ in claimed[index + 1:]], now)
                    settle()
                    return False
                if exc.temporary:
                    row.status = MailStatus.QUEUED
                    row.last_error = exc.message
                    row.next_attempt_at = now + backoff(row.attempts)
                    row.updated_at = now
                    counts["retry"] += 1
                else:
                    _fail(session, row, exc.message, now)
                    counts[MailStatus.FAILED] += 1
                if exc.setup or exc.temporary:
                    _requeue(session, [m for m, _, _ in claimed[index + 1:]], now)
                    if exc.setup:
                        raise_alert(session, dedupe_key=SETUP_ALERT,
                                    severity=AlertSeverity.ERROR,
                                    subject_kind=AlertSubject.MESSAGE, subject_id=None,
                                    message=f"Guest emails cannot be sent: {exc.message}",
                                    fix=exc.fix, now=now)
                    settle()
                    return False
                settle()
                continue
            pending_sent.append(message_id)
            counts[MailStatus.SENT] += 1
        def clear() -> None:
            clear_alert(session, SETUP_ALERT, clock())
        settle(clear)
        return True
    finally:
        sender.close()
        fast.close()
        session.close()


def _requeue(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(update(MailMessage).where(MailMessage.id.in_(ids),
                                                   MailMessage.status == MailStatus.SENDING)
                        .values(status=MailStatus.QUEUED, updated_at=now))
