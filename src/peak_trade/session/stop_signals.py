"""SIGINT and SIGTERM, handled for the length of a block (a run, a sweep)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["STOP_SIGNALS", "on_stop_signals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def on_stop_signals(handler: Callable[[signal.Signals], None]) -> Iterator[None]:
    """Within: SIGINT and SIGTERM call `handler` with the signal instead of their default
    action; the handlers before are put back after. Outside the main thread, where Python
    cannot handle signals, nothing changes. A process forked within (a sweep's worker) takes
    the default action, as if no handler had been set. `handler` runs between any two
    bytecodes of the main thread: it should note the request, not raise."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handle(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:  # a process forked within: the signal does what it would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        handler(signal.Signals(signum))

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
