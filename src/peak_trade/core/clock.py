"""Injected time: `SystemClock` for real runs, `ManualClock` for replay and tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """A source of UTC-aware time that can also wait."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware in UTC."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to `seconds` or until `stop` is set; return True if `stop` was set."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """Return the wall-clock time in UTC."""
        return datetime.now(UTC)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Block until `seconds` pass or `stop` is set."""
        return stop.wait(max(0.0, seconds))

    def monotonic(self) -> float:
        """Return a monotonic reading in seconds, for measuring durations."""
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to; `wait` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, was {start!r}")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        if delta < timedelta(0):
            raise ValueError(f"cannot move a clock backwards, was {delta}")
        self._now += delta

    def set(self, moment: datetime) -> None:
        """Move the clock forward to `moment`."""
        self.advance(moment.astimezone(UTC) - self._now)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Advance by `seconds` without blocking, unless `stop` is already set."""
        if stop.is_set():
            return True
        self.advance(timedelta(seconds=max(0.0, seconds)))
        return stop.is_set()
