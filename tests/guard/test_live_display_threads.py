"""The live view's own thread (rich redraws ten times a second) and the run's messages must
never wait on each other: a deadlock there froze `dbsafe upgrade` on a terminal for good."""

from __future__ import annotations

import os
import pty
import threading

from dbsafe.guard.display import LiveDisplay


def test_messages_arriving_while_the_live_part_redraws_never_deadlock() -> None:
    master, slave = pty.openpty()

    def drain() -> None:  # a terminal that keeps reading, as a real one does
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    display = LiveDisplay("upgrade", stream)
    assert display.usable()
    printed: list[int] = []

    def run() -> None:
        with display:
            for n in range(3000):
                display("apply", f"message {n}")
                printed.append(n)

    # Before the fix, every run of this froze within seconds: the caller held the display's
    # lock while printing (which takes rich's lock), the redraw held rich's lock while asking
    # for the live part (which takes the display's lock).
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    try:
        assert not worker.is_alive(), f"deadlocked after {len(printed)} of 3000 messages"
        assert len(printed) == 3000
    finally:
        stream.close()
        os.close(master)
