"""Another desk's change feed, in its own process: the desk's :class:`ChangeCounter` on a
shared database, polled the way the desk's views poll it.

Prints ``listening`` once it hears the database, then ``changed <unix time>`` each time the
token moves. Run: ``python -m tests.fakes.change_watcher URL``; stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from sqlalchemy import create_engine

from mangodesk.services.changes import ChangeCounter

POLL_SECONDS = 0.1


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = create_engine(sys.argv[1])
    counter = ChangeCounter(engine)
    assert counter.listener is not None and counter.listener.wait_listening(10)
    token = counter.token()
    print("listening", flush=True)
    while not stop.wait(POLL_SECONDS):
        moved = counter.token()
        if moved != token:
            token = moved
            print(f"changed {time.time():.3f}", flush=True)
    counter.close()
    engine.dispose()


if __name__ == "__main__":
    main()
