"""Reading the next page of a sync while the current one is stored."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from mangodesk.pms.base import BookingPage


def read_ahead(
    pages: Iterator[BookingPage], stopping: threading.Event
) -> Iterator[BookingPage]:
    """The pages of ``pages`` in order, the next one fetched (on a worker thread) while the
    caller stores this one: a full load costs about the larger of the network and the
    database work instead of their sum. An error of the read comes after the pages read
    before it, as without reading ahead; at most one page is read that is not used."""
    handoff: queue.Queue[tuple[BookingPage | None, BaseException | None]] = queue.Queue(1)
    done = threading.Event()

    def read() -> None:
        try:
            for page in pages:
                while not done.is_set():
                    try:
                        handoff.put((page, None), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if done.is_set() or stopping.is_set():
                    break
            else:
                handoff.put((None, None))
        except BaseException as exc:  # handed to the caller, raised there
            handoff.put((None, exc))
        finally:
            close = getattr(pages, "close", None)
            if callable(close):
                close()

    worker = threading.Thread(target=read, name="sync-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            try:
                page, error = handoff.get(timeout=0.05)
            except queue.Empty:
                if worker.is_alive():
                    continue
                return  # stopped while closing
            if error is not None:
                raise error
            if page is None:
                return
            yield page
    finally:
        done.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        worker.join()
