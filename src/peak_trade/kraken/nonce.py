"""A nonce that only ever grows, per API key, across processes and restarts.

Kraken rejects any nonce not greater than the last one it saw for a key ("EAPI:Invalid nonce").
The last value is kept in a file under an exclusive lock, so two processes sharing a key, or a
restarted one, can never go backwards.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["NonceStore"]


class NonceStore:
    """Hands out strictly increasing millisecond nonces, persisted in `path`."""

    def __init__(self, path: str | Path, milliseconds: Callable[[], int] | None = None) -> None:
        self.path = Path(path)
        self._now = milliseconds or (lambda: int(time.time() * 1000))

    def next(self) -> int:
        """Return a nonce greater than every nonce this file has handed out."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read().strip()
            last = int(text) if text.isdigit() else 0
            value = max(self._now(), last + 1)
            handle.seek(0)
            handle.truncate()
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        return value
