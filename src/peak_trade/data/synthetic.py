"""A seeded, deterministic synthetic market: trending, ranging and volatile regimes with jumps.

The same seed, symbol, timeframe and start give the same bars, bar for bar, however they are
consumed. Bars are generated lazily in fixed-size chunks, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.compiled import compiled
from peak_trade.core.types import MAX_SEED, Bar, Timeframe
from peak_trade.data.ports import DataReference, IteratorFeed

__all__ = [
    "DEFAULT_START",
    "Regime",
    "SyntheticMarket",
    "open_synthetic",
    "portfolio_market",
    "synthetic_feed",
    "synthetic_identity",
]

DEFAULT_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
_CHUNK: Final = 4096


@dataclass(frozen=True, slots=True)
class Regime:
    """Per-minute drift and volatility of log returns, pull toward the regime's anchor, length."""

    name: str
    drift: float
    volatility: float
    reversion: float
    mean_minutes: int


# Per-minute figures in BTC's range: about 60 % annualised volatility in calm regimes, several
# times that in volatile ones, and trends of roughly 0.7 % per hour.
_REGIMES: Final = (
    Regime("trend_up", drift=1.2e-4, volatility=7e-4, reversion=0.0, mean_minutes=800),
    Regime("range", drift=0.0, volatility=6e-4, reversion=0.02, mean_minutes=1200),
    Regime("trend_down", drift=-1.2e-4, volatility=8e-4, reversion=0.0, mean_minutes=800),
    Regime("volatile", drift=0.0, volatility=2.5e-3, reversion=0.005, mean_minutes=400),
)
# A slow pull of the log price toward its start (half-life about eight months) keeps a year of
# bars in a band a real market might trade in, instead of compounding without limit.
_ANCHOR_PULL: Final = 3e-6
_JUMP_PROBABILITY: Final = 0.002
_JUMP_SIZE: Final = 0.015


class SyntheticMarket:
    """An endless (or `bars`-long) deterministic stream of OHLCV candles."""

    def __init__(
        self,
        seed: int = 7,
        timeframe: Timeframe | None = None,
        start: datetime = DEFAULT_START,
        start_price: float = 50_000.0,
        bars: int | None = None,
        price_decimals: int | None = 1,
        common: tuple[int, float] | None = None,
    ) -> None:
        """`price_decimals`: prices are rounded to the instrument's price step, as an exchange
        quotes them (1: BTC/EUR's 0.1; None: unrounded, as journals before it were).
        `common`: (seed, correlation) of a market factor shared with other markets: each
        bar's shock is that share of the factor's and the rest this market's own."""
        if common is not None and not 0 <= common[1] < 1:
            raise ValueError(f"correlation must be in [0, 1), was {common[1]}")
        if start_price <= 0 or not math.isfinite(start_price):
            raise ValueError(f"start_price must be a finite price > 0, was {start_price}")
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, was {seed}")
        if bars is not None and bars < 0:
            raise ValueError(f"bars must be >= 0, was {bars}")
        self.seed = seed
        self.timeframe = timeframe or Timeframe("1m")
        self.start = timeframe_floor(self.timeframe, start)
        self.start_price = start_price
        self.bars = bars
        self.price_decimals = price_decimals
        self.common = common

    def __iter__(self) -> Iterator[Bar]:
        """Yield the candles in time order."""
        for chunk in self.chunks():
            yield from chunk.bars()

    def chunks(self) -> Iterator[BarColumns]:
        """Yield the candles in time order, as validated columns of up to 4096 bars."""
        rng = np.random.default_rng(self.seed)
        factor = None if self.common is None else np.random.default_rng(self.common[0])
        rho = 0.0 if self.common is None else self.common[1]
        minutes = self.timeframe.minutes
        step = self.timeframe.seconds
        epoch = int(self.start.timestamp())
        log_price = math.log(self.start_price)
        # log price, regime anchor, origin, price; regime index, bars left in the regime
        state = np.array([log_price, log_price, log_price, self.start_price])
        regime = np.array([1, 0], dtype=np.int64)
        produced = 0
        while self.bars is None or produced < self.bars:
            size = _CHUNK if self.bars is None else min(_CHUNK, self.bars - produced)
            shocks = rng.standard_normal(_CHUNK)
            if factor is not None:
                shocks = rho * factor.standard_normal(_CHUNK) + math.sqrt(1 - rho * rho) * shocks
            wicks = np.abs(rng.standard_normal((2, _CHUNK)))
            jump_draws = rng.standard_normal(_CHUNK)
            jumps = np.where(rng.random(_CHUNK) < _JUMP_PROBABILITY, jump_draws, 0.0)
            volumes = rng.lognormal(mean=0.0, sigma=0.6, size=_CHUNK)
            switches = rng.random(_CHUNK)
            prices = _walk(
                size, minutes, shocks, wicks, jumps, volumes, switches, state, regime, _TABLE
            )
            if self.price_decimals is not None:  # the walk goes on unrounded; quotes are not
                np.round(prices[:4], self.price_decimals, out=prices[:4])
            seconds = epoch + (produced + np.arange(size, dtype=np.int64)) * step
            chunk = BarColumns(seconds, *prices)
            chunk.validate()
            yield chunk
            produced += size


# drift, volatility, reversion and mean length of each regime, for the compiled walk
_TABLE: Final = np.array(
    [(r.drift, r.volatility, r.reversion, r.mean_minutes) for r in _REGIMES], dtype=np.float64
)


@compiled
def _walk(
    size: int,
    minutes: int,
    shocks: npt.NDArray[np.float64],
    wicks: npt.NDArray[np.float64],
    jumps: npt.NDArray[np.float64],
    volumes: npt.NDArray[np.float64],
    switches: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    regime: npt.NDArray[np.int64],
    table: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Walk `size` bars on from `state` and `regime` (both updated); return o, h, l, c, v rows."""
    out = np.empty((5, size))
    log_price, anchor, origin, price = state[0], state[1], state[2], state[3]
    index, remaining = regime[0], regime[1]
    scale = math.sqrt(minutes)
    for i in range(size):
        if remaining <= 0:
            index = (index + 1 + int(switches[i] * 3)) % table.shape[0]
            length = int(table[index, 3]) * (0.5 + switches[i]) / minutes
            remaining = max(1, int(length))
            anchor = log_price
        drift, volatility, reversion = table[index, 0], table[index, 1], table[index, 2]
        remaining -= 1
        sigma = volatility * scale
        change = (
            drift * minutes
            + sigma * shocks[i]
            - reversion * minutes * (log_price - anchor)
            - _ANCHOR_PULL * minutes * (log_price - origin)
            + _JUMP_SIZE * jumps[i]
        )
        open_ = price
        log_price += change
        close = price = math.exp(log_price)
        out[0, i] = open_
        out[1, i] = max(open_, close) * math.exp(0.5 * sigma * wicks[0, i])
        out[2, i] = min(open_, close) * math.exp(-0.5 * sigma * wicks[1, i])
        out[3, i] = close
        out[4, i] = volumes[i] * (1.0 + abs(change) / sigma) * minutes
    state[0], state[1], state[2], state[3] = log_price, anchor, origin, price
    regime[0], regime[1] = index, remaining
    return out


# where each portfolio leg's synthetic market starts: a price in its range, or 100
_START_PRICES: Final = {"BTC": 50_000.0, "ETH": 3_000.0, "SOL": 150.0, "LTC": 80.0, "XRP": 0.5}
# how much of each bar's shock the legs of a synthetic portfolio share
PORTFOLIO_CORRELATION: Final = 0.6


def portfolio_market(
    symbol: str, timeframe: Timeframe, seed: int, bars: int | None, price_decimals: int
) -> SyntheticMarket:
    """Return the synthetic market of one leg of a portfolio: its own walk, seeded from the
    run's seed and its symbol (so each symbol's differs and stays the same whatever other
    legs there are), sharing `PORTFOLIO_CORRELATION` of its shocks with the other legs'."""
    digest = hashlib.sha256(f"{seed}:{symbol}".encode()).digest()
    own = int.from_bytes(digest[:4], "big") % (MAX_SEED + 1)
    base = symbol.split("/")[0]
    return SyntheticMarket(
        seed=own,
        timeframe=timeframe,
        start_price=_START_PRICES.get(base, 100.0),
        bars=bars,
        price_decimals=price_decimals,
        common=(seed, PORTFOLIO_CORRELATION),
    )


def timeframe_floor(timeframe: Timeframe, moment: datetime) -> datetime:
    """Return the open time of the candle containing `moment`."""
    if moment.tzinfo is None:
        raise ValueError(f"start must be timezone-aware, was {moment!r}")
    return timeframe.floor(moment)


def synthetic_feed(
    symbol: str,
    timeframe: Timeframe,
    seed: int = 7,
    bars: int | None = None,
    start: datetime = DEFAULT_START,
    start_price: float = 50_000.0,
    price_decimals: int | None = 1,
) -> IteratorFeed:
    """Return a feed over a synthetic market for `symbol`, priced in its steps."""
    market = SyntheticMarket(
        seed=seed,
        timeframe=timeframe,
        start=start,
        start_price=start_price,
        bars=bars,
        price_decimals=price_decimals,
    )
    source = f"synthetic feed (seed {seed})"
    reference = DataReference(partial(synthetic_identity, market), market.chunks)
    return IteratorFeed(
        symbol, timeframe, market.chunks(), source=source, length=bars, reference=reference
    )


def synthetic_identity(market: SyntheticMarket) -> dict[str, Any]:
    """Return what names the bars of `market` (see `open_synthetic`)."""
    return {
        "kind": "synthetic",
        "seed": market.seed,
        "bars": market.bars,
        "timeframe": market.timeframe.name,
        "start": market.start.isoformat(),
        "start_price": market.start_price,
        "price_decimals": market.price_decimals,
    }


def open_synthetic(identity: Mapping[str, Any]) -> Iterator[BarColumns]:
    """Yield the bars that `synthetic_identity` named, again."""
    market = SyntheticMarket(
        seed=int(identity["seed"]),
        timeframe=Timeframe(str(identity["timeframe"])),
        start=datetime.fromisoformat(str(identity["start"])),
        start_price=float(identity["start_price"]),
        bars=None if identity["bars"] is None else int(identity["bars"]),
        price_decimals=identity.get("price_decimals"),  # absent: a run before prices were
    )
    return market.chunks()
