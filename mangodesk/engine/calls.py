"""The vendor calls of one claimed operation, and the read-back that decides, after a lost
reply or a crash, whether a code found on the lock is ours.

A code on the lock is ours only by the reference we stored, our label, or the exact PIN and
window of a create we sent (recorded before the call): never by PIN alone, so a stranger's
code that happens to share the PIN is left alone. An adopted code is then moved to the window
the code has now, and every update sends the window the vendor holds. The matching rules sit
together at the end of this module (:func:`find_on_lock` and the helpers it uses).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from mangodesk.domain.errors import mask_code
from mangodesk.domain.types import OperationKind
from mangodesk.engine.claims import Job
from mangodesk.vendors.base import (
    AlreadyGoneError,
    AmbiguousError,
    CodeRequest,
    PermanentError,
    SentCode,
    VendorAdapter,
    VendorCode,
    same_window,
)

log = logging.getLogger(__name__)


def call(adapter: VendorAdapter, job: Job) -> VendorCode | None:
    """Carry out ``job`` with the vendor; the code as the vendor holds it (None after a
    revoke). Raises the adapter's :class:`VendorError` when it did not work."""
    if job.kind == OperationKind.CREATE:
        if job.check_lock_first:
            found = find_on_lock(adapter, job)
            if found is not None:
                log.info("code %d was already on the lock (a lost reply): %s", job.code_id,
                         mask_code(found.pin))
                return bring_to_window(adapter, job, found)
        return adapter.create_code(job.vendor_lock_id, CodeRequest(
            valid_from=job.valid_from, valid_to=job.valid_to, pin=job.pin,
            guest_name=job.guest_name, guest_email=job.guest_email, label=job.label,
        ))
    if job.kind == OperationKind.UPDATE:
        if job.vendor_ref is None:
            raise PermanentError("The code cannot be changed: it was never created on the "
                                 "lock.", "Press Retry now to create it.")
        mobile_key = job.pin is None  # named after the guest, sent to their address
        held = VendorCode(job.vendor_ref, job.pin,
                          job.vendor_valid_from or job.valid_from,
                          job.vendor_valid_to or job.valid_to,
                          job.guest_name if mobile_key else job.label,
                          job.guest_email if mobile_key else None)
        if job.check_lock_first:
            # The last update's answer was lost: what the vendor holds is unknown. Not
            # seeing it proves nothing; the update itself then says if it is gone.
            found = find_on_lock(adapter, job)
            if found is not None:
                held = with_known_window(found, held)
        return adapter.update_code(job.vendor_lock_id, held, job.valid_from, job.valid_to)
    revoke(adapter, job)
    return None


def revoke(adapter: VendorAdapter, job: Job) -> None:
    """Done only when the vendor confirms, says the code is gone, or a read-back shows
    it gone; anything uncertain raises and the operation stays open."""
    if job.vendor_ref is None:
        if not (job.create_was_tried or job.check_lock_first):
            return  # never sent to the vendor: nothing can be on the lock
        found = find_on_lock(adapter, job)
        if found is None:
            return
        target = found
    else:
        target = VendorCode(job.vendor_ref, job.pin, job.vendor_valid_from or job.valid_from,
                            job.vendor_valid_to or job.valid_to, job.label)
    try:
        adapter.revoke_code(job.vendor_lock_id, target)
    except AlreadyGoneError:
        log.info("code %d was already gone from the lock", job.code_id)
    except AmbiguousError:
        if find_on_lock(adapter, job) is not None:
            raise
        log.info("code %d: the revoke's answer was lost; the read-back shows it gone",
                 job.code_id)


def bring_to_window(adapter: VendorAdapter, job: Job, found: VendorCode) -> VendorCode:
    """An adopted code keeps the window it was created with; the code may have moved
    since (the date change was folded into the create): send the current one."""
    held = found
    if found.valid_from is None or found.valid_to is None:
        window = matching_sent(adapter, found, job)
        if window is None:
            return found  # recognised by ref or label, window unknown: leave it
        held = replace(found, valid_from=window[0], valid_to=window[1])
    assert held.valid_from is not None and held.valid_to is not None
    if same_window_as_sent(held.valid_from, held.valid_to, job.valid_from, job.valid_to,
                           job):
        return found
    log.info("code %d: moving the adopted code to its current window", job.code_id)
    return adapter.update_code(job.vendor_lock_id, held, job.valid_from, job.valid_to)


# ---------------------------------------------------------------------- read-back matching


def find_on_lock(adapter: VendorAdapter, job: Job) -> VendorCode | None:
    """Read the lock back: the code that is ours (by our reference, else by the adapter's
    "is this ours?" rule), or None (see the module docstring)."""
    candidates = adapter.list_codes(job.vendor_lock_id)
    for candidate in candidates:
        if job.vendor_ref is not None and candidate.vendor_ref == job.vendor_ref:
            return candidate
    sent = SentCode(attempts=job.sent, label=job.label, guest_email=job.guest_email,
                    mobile_key=job.pin is None, claimed_at=job.claimed_at)
    return next((c for c in candidates if adapter.matches_sent(c, sent)), None)


def matching_sent(adapter: VendorAdapter, candidate: VendorCode,
                  job: Job) -> tuple[datetime, datetime] | None:
    """The window of a create we sent with exactly this PIN and window (the adapter's rule),
    or None: a PIN alone proves nothing."""
    if candidate.pin is None or candidate.valid_from is None or candidate.valid_to is None:
        return None
    for pin, start, end in job.sent:
        attempt = SentCode(attempts=((pin, start, end),), claimed_at=job.claimed_at)
        if pin == candidate.pin and adapter.matches_sent(candidate, attempt):
            return start, end
    return None


def same_window_as_sent(held_from: datetime, held_to: datetime, start: datetime,
                        end: datetime, job: Job) -> bool:
    """The vendor holds the window we sent, to its granularity (see ``base.same_window``)."""
    return same_window((held_from, held_to), (start, end), granularity=job.granularity,
                       live_start_is_vendor_now=job.live_start_is_vendor_now,
                       claimed_at=job.claimed_at)


def with_known_window(found: VendorCode, fallback: VendorCode) -> VendorCode:
    """The code as read back, with the recorded window where the vendor reports none."""
    return replace(found, valid_from=found.valid_from or fallback.valid_from,
                   valid_to=found.valid_to or fallback.valid_to,
                   name=found.name or fallback.name)
