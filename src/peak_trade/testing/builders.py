"""Builders with sensible defaults, so a test names only what it cares about."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from peak_trade.core.types import Bar

__all__ = ["START", "bars_from_closes", "make_bar", "ohlc_frame", "random_walk_ohlc"]

START = datetime(2024, 1, 1, tzinfo=UTC)


def make_bar(
    close: float = 100.0,
    *,
    time: datetime = START,
    open: float | None = None,
    high: float | None = None,
    low: float | None = None,
    volume: float = 1.0,
) -> Bar:
    """Return a valid bar; open defaults to close, high and low to the body's ends."""
    open_ = close if open is None else open
    return Bar(
        time=time,
        open=open_,
        high=max(open_, close) if high is None else high,
        low=min(open_, close) if low is None else low,
        close=close,
        volume=volume,
    )


def bars_from_closes(
    closes: Sequence[float], start: datetime = START, step: timedelta = timedelta(minutes=1)
) -> list[Bar]:
    """Return one bar per close, each opening at the previous close, one `step` apart."""
    bars = []
    previous = closes[0] if closes else 0.0
    for i, close in enumerate(closes):
        bars.append(make_bar(close, time=start + i * step, open=previous))
        previous = close
    return bars


def random_walk_ohlc(
    n: int, seed: int = 0, start_price: float = 50_000.0, volatility: float = 0.001
) -> dict[str, np.ndarray]:
    """Return consistent open/high/low/close/volume arrays of a seeded random walk."""
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.normal(0.0, volatility, n)))
    open_ = np.concatenate(([start_price], close[:-1]))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, volatility / 2, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, volatility / 2, n)))
    volume = rng.lognormal(0.0, 0.5, n)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def ohlc_frame(
    columns: dict[str, np.ndarray], start: datetime = START, freq: str = "1min"
) -> pd.DataFrame:
    """Return a frame of the given columns on a UTC time index."""
    length = len(next(iter(columns.values())))
    index = pd.date_range(start, periods=length, freq=freq, tz="UTC")
    return pd.DataFrame(columns, index=index)
