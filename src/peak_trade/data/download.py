"""Candle history from an exchange, page by page: the sources `peak-trade download` reads.

Kraken's OHLC answers with its latest 720 candles only. Older candles are built from its public
trade history (`/0/public/Trades`, paged by the nanosecond `last` of each answer), as Kraken
documents: each candle is the first, highest, lowest and last price of the trades in its
interval, and the sum of their volumes; an interval without trades has no candle. Any other
exchange is read through ccxt's `fetch_ohlcv`, paged by time.

Each page holds complete candles only and says how far the history is complete (`reached`), so
a download interrupted after any page can go on from there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import ConfigError, RateLimitError, VenueError, VenueUnavailableError
from peak_trade.core.types import Instrument, Timeframe, parse_symbol
from peak_trade.kraken.client import KrakenClient
from peak_trade.kraken.parsing import (
    KRAKEN_INTERVALS,
    find_pair,
    instrument_from_pair,
    parse_ohlc,
    parse_trades,
)

__all__ = ["CcxtHistory", "History", "HistoryPage", "KrakenHistory", "candles_of_trades"]

_LOG = logging.getLogger(__name__)
_TRIES = 5  # calls tried before a download gives up (it can be resumed)
Columns = npt.NDArray[np.float64]  # rows of time (Unix seconds), open, high, low, close, volume


class HistoryPage(NamedTuple):
    """Complete candles, oldest first, and the time up to which the history is complete."""

    candles: Columns
    reached: int  # Unix seconds: every candle that opens before it is in this page or before


class History(Protocol):
    """An exchange's candle history for one symbol and timeframe."""

    exchange: str
    source: str
    pacer: Pacer

    def instrument(self) -> Instrument:
        """Return the instrument's rules on the exchange."""

    def latest(self) -> int:
        """Return the open time after the exchange's last closed candle, in Unix seconds."""

    def pages(self, since: int, until: int) -> Iterator[HistoryPage]:
        """Yield the candles that open in [since, until), a page at a time."""


def candles_of_trades(
    times: npt.ArrayLike, prices: npt.ArrayLike, volumes: npt.ArrayLike, step: int
) -> Columns:
    """Return the candles of `step` seconds that trades (sorted by time) make."""
    t = np.asarray(times, dtype=np.float64)
    if t.size == 0:
        return np.empty((0, 6))
    p = np.asarray(prices, dtype=np.float64)
    v = np.asarray(volumes, dtype=np.float64)
    buckets = np.floor(t).astype(np.int64) // step * step
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], t.size] - 1
    return np.column_stack(
        (
            buckets[starts].astype(np.float64),
            p[starts],
            np.maximum.reduceat(p, starts),
            np.minimum.reduceat(p, starts),
            p[ends],
            np.add.reduceat(v, starts),
        )
    )


@dataclass
class Pacer:
    """Spaces calls `pace` seconds apart and retries those the exchange refused for a while
    (rate limits, outages), waiting longer each time."""

    pace: float
    sleep: Callable[[float], object] = time.sleep
    _last: float = float("-inf")

    def call(self, action: Callable[[], Any]) -> Any:
        """Return `action()`, tried up to `_TRIES` times (its errors name what it asked)."""
        for attempt in range(_TRIES):
            wait = self._last + self.pace - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()
            try:
                return action()
            except (RateLimitError, VenueUnavailableError) as error:
                if attempt == _TRIES - 1:
                    raise
                backoff = max(self.pace, 0.1) * 2**attempt
                _LOG.warning("%s; trying again in %.1f s", error, backoff)
                self.sleep(backoff)
        raise AssertionError("unreachable")  # pragma: no cover


class KrakenHistory:
    """Kraken's candles: its trades where OHLC does not reach back, then OHLC."""

    exchange = "kraken"
    source = "Kraken Trades (older than OHLC's 720 candles) and OHLC"

    def __init__(self, client: KrakenClient, symbol: str, timeframe: Timeframe, pace: float):
        self.client, self.symbol, self.timeframe = client, symbol, timeframe
        self.pacer = Pacer(pace)
        self._pair: tuple[str, Instrument] | None = None

    def _resolve(self) -> tuple[str, Instrument]:
        if self._pair is None:
            pairs = self.pacer.call(self.client.asset_pairs)
            pair_id, info = find_pair(pairs, self.symbol)
            self._pair = pair_id, instrument_from_pair(self.symbol, info)
        return self._pair

    def instrument(self) -> Instrument:
        return self._resolve()[1]

    def latest(self) -> int:
        now = self.pacer.call(self.client.server_time)
        step = self.timeframe.seconds
        return int(now) // step * step

    def _ohlc(self) -> Columns:
        pair_id = self._resolve()[0]
        minutes = KRAKEN_INTERVALS[self.timeframe.name]
        page = parse_ohlc(self.pacer.call(lambda: self.client.ohlc(pair_id, minutes)), pair_id)
        rows = [(b.time.timestamp(), b.open, b.high, b.low, b.close, b.volume) for b in page.closed]
        return np.array(rows, dtype=np.float64).reshape(-1, 6)

    def pages(self, since: int, until: int) -> Iterator[HistoryPage]:
        reached = since
        while True:
            recent = self._ohlc()
            earliest = int(recent[0, 0]) if len(recent) else until
            if reached >= min(earliest, until):
                chosen = recent[(recent[:, 0] >= reached) & (recent[:, 0] < until)]
                yield HistoryPage(chosen, until if len(recent) else reached)
                return
            for page in self._from_trades(reached, min(earliest, until)):
                reached = page.reached
                yield page
            if reached < min(earliest, until):
                return  # the trades ran out: nothing more to read

    def _from_trades(self, since: int, until: int) -> Iterator[HistoryPage]:
        """Yield the candles that trades in [since, until) make, as each page completes some."""
        pair_id = self._resolve()[0]
        step = self.timeframe.seconds
        cursor = since
        held: tuple[list[float], list[float], list[float]] = ([], [], [])
        while True:
            answer = self.pacer.call(partial(self.client.trades, pair_id, cursor))
            trades = parse_trades(answer, pair_id)
            done = not trades.times or trades.last <= _as_ns(cursor)
            for column, values in zip(
                held, (trades.times, trades.prices, trades.volumes), strict=True
            ):
                column.extend(values)
            cursor = trades.last
            newest = held[0][-1] if held[0] else float(since)
            # a candle is complete once a later one has a trade, or the range ends
            complete = until if done or newest >= until else int(newest) // step * step
            times = np.asarray(held[0])
            cut = int(np.searchsorted(times, complete))
            inside = times[:cut] >= since
            candles = candles_of_trades(
                times[:cut][inside],
                np.asarray(held[1][:cut])[inside],
                np.asarray(held[2][:cut])[inside],
                step,
            )
            for column in held:
                del column[:cut]
            yield HistoryPage(candles, complete if not done else max(complete, since))
            if complete >= until or done:
                return


def _as_ns(cursor: int) -> int:
    """Return a Trades cursor (Unix seconds, or a nanosecond `last`) in nanoseconds."""
    return cursor if cursor > 10**12 else cursor * 10**9


class OhlcvExchange(Protocol):
    """What the generic source needs of a ccxt exchange."""

    id: str
    timeframes: dict[str, Any]
    precisionMode: int  # noqa: N815 (ccxt's name)

    def load_markets(self) -> dict[str, Any]: ...

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None, limit: int | None
    ) -> list[list[Any]]: ...

    def milliseconds(self) -> int: ...


class CcxtHistory:
    """Candles of any exchange ccxt supports, by `fetch_ohlcv`."""

    source = "ccxt fetch_ohlcv"

    def __init__(self, exchange: OhlcvExchange, symbol: str, timeframe: Timeframe, pace: float):
        self.client, self.symbol, self.timeframe = exchange, symbol, timeframe
        self.exchange = exchange.id
        self.pacer = Pacer(pace)
        self._market: dict[str, Any] | None = None

    def _market_of(self) -> dict[str, Any]:
        if self._market is None:
            markets = self.pacer.call(partial(_ccxt, self.exchange, self.client.load_markets))
            if self.symbol not in markets:
                raise ConfigError(f"{self.exchange} lists no market {self.symbol}")
            if self.timeframe.name not in (self.client.timeframes or {}):
                offered = ", ".join(self.client.timeframes or {}) or "none"
                raise ConfigError(
                    f"{self.exchange} has no {self.timeframe.name} candles (it offers {offered})"
                )
            self._market = markets[self.symbol]
        return self._market

    def instrument(self) -> Instrument:
        market = self._market_of()
        base, quote = parse_symbol(self.symbol)
        precision, limits = market.get("precision", {}), market.get("limits", {})
        return Instrument(
            self.symbol,
            base,
            quote,
            _decimals(precision.get("price"), self.client.precisionMode),
            _decimals(precision.get("amount"), self.client.precisionMode),
            Decimal(str((limits.get("amount") or {}).get("min") or 0)),
            Decimal(str((limits.get("cost") or {}).get("min") or 0)),
        )

    def latest(self) -> int:
        step = self.timeframe.seconds
        return self.client.milliseconds() // 1000 // step * step

    def pages(self, since: int, until: int) -> Iterator[HistoryPage]:
        self._market_of()
        step = self.timeframe.seconds
        cursor = since
        while cursor < until:
            fetch = partial(
                self.client.fetch_ohlcv, self.symbol, self.timeframe.name, cursor * 1000, 1000
            )
            rows = self.pacer.call(partial(_ccxt, self.exchange, fetch))
            table = np.array(rows, dtype=np.float64).reshape(-1, 6)
            table[:, 0] //= 1000
            table = table[(table[:, 0] >= cursor) & (table[:, 0] < until)]
            if not len(table):
                yield HistoryPage(table, cursor)
                return
            cursor = int(table[-1, 0]) + step
            yield HistoryPage(table, min(cursor, until))


def _ccxt(exchange: str, action: Callable[[], Any]) -> Any:
    """Return `action()`, ccxt's errors mapped to ours: a rate limit and an unreachable
    exchange are tried again, anything else ends the download (it can be resumed)."""
    import ccxt

    try:
        return action()
    except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as error:
        raise RateLimitError(f"{exchange}: rate limited ({type(error).__name__})") from None
    except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as error:
        raise VenueUnavailableError(f"{exchange}: {type(error).__name__}") from None
    except ccxt.BaseError as error:
        raise VenueError(f"{exchange}: {type(error).__name__}: {str(error)[:200]}") from None


_TICK_SIZE = 4  # ccxt.TICK_SIZE: precisions are tick sizes (0.01), else counts of decimals (2)


def _decimals(precision: Any, mode: int) -> int:
    """Return the decimals a ccxt precision allows."""
    if precision is None:
        raise ConfigError("the exchange gives no price or amount precision for this market")
    value = Decimal(str(precision))
    if mode != _TICK_SIZE:
        return int(value)
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
