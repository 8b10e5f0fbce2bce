"""The injected clocks and the error helpers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from peak_trade.core.clock import ManualClock, SystemClock
from peak_trade.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    LiveModeNotAllowedError,
    PeakTradeError,
    RateLimitError,
    VenueError,
    VenueUnavailableError,
    did_you_mean,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(T0)
    clock.advance(timedelta(seconds=5))
    assert clock.now() == T0 + timedelta(seconds=5)
    with pytest.raises(ValueError, match="cannot move a clock backwards"):
        clock.advance(timedelta(seconds=-1))


def test_manual_clock_rejects_naive_start() -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        ManualClock(datetime(2024, 1, 1))  # noqa: DTZ001 (the point of the test)


def test_manual_clock_wait_advances_instantly_unless_stopped() -> None:
    clock, stop = ManualClock(T0), threading.Event()
    assert clock.wait(60, stop) is False
    assert clock.now() == T0 + timedelta(minutes=1)
    stop.set()
    assert clock.wait(60, stop) is True
    assert clock.now() == T0 + timedelta(minutes=1)


def test_system_clock_wait_returns_early_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    assert SystemClock().wait(30, stop) is True
    assert SystemClock().now().tzinfo is UTC


def test_error_tree_groups_by_what_the_caller_does() -> None:
    assert issubclass(LiveModeNotAllowedError, ConfigError)
    assert issubclass(DataError, ConfigError)
    assert issubclass(RateLimitError, VenueUnavailableError)
    assert issubclass(AuthError, VenueError)
    assert issubclass(VenueError, PeakTradeError)


def test_did_you_mean_suggests_only_close_names() -> None:
    assert did_you_mean("shadw", ["shadow", "live_risk"]) == "; did you mean 'shadow'?"
    assert did_you_mean("xyz", ["shadow"]) == ""
