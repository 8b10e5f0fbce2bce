"""The candle-feed port: every feed emits closed bars only, oldest first, each exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from peak_trade.core.errors import DataError
from peak_trade.core.types import Bar, Timeframe

__all__ = ["CandleFeed", "IteratorFeed"]


class CandleFeed(Protocol):
    """A source of closed candles for one symbol and timeframe."""

    @property
    def symbol(self) -> str:
        """Return the symbol, e.g. "BTC/EUR"."""
        ...

    @property
    def timeframe(self) -> Timeframe:
        """Return the candle length."""
        ...

    @property
    def exhausted(self) -> bool:
        """Return True when a finite feed has delivered its last bar."""
        ...

    def warmup(self, count: int) -> list[Bar]:
        """Return the `count` closed bars that precede trading, oldest first."""
        ...

    def poll(self) -> list[Bar]:
        """Return the closed bars that arrived since the last call, oldest first (maybe none)."""
        ...


class IteratorFeed:
    """A feed over a finite or endless stream of closed bars, `bars_per_poll` bars per poll.

    Sessions poll one bar at a time; a backtest takes more per poll (see
    `LiveSessionRunner.configure_backtest`), which saves the per-poll work of the loop.
    """

    def __init__(self, symbol: str, timeframe: Timeframe, bars: Iterator[Bar], source: str) -> None:
        self._symbol = symbol
        self._timeframe = timeframe
        self._bars = bars
        self._source = source
        self._next: Bar | None = None
        self._exhausted = False
        self.delivered = 0
        self.bars_per_poll = 1

    @property
    def symbol(self) -> str:
        """Return the symbol."""
        return self._symbol

    @property
    def timeframe(self) -> Timeframe:
        """Return the candle length."""
        return self._timeframe

    @property
    def exhausted(self) -> bool:
        """Return True once the stream has no more bars."""
        return self._exhausted

    def warmup(self, count: int) -> list[Bar]:
        """Take the first `count` bars; raise DataError if the stream holds fewer."""
        bars: list[Bar] = []
        for _ in range(count):
            bar = self._take()
            if bar is None:
                raise DataError(
                    f"{self._source} holds only {len(bars)} bars, but warmup needs {count}"
                )
            bars.append(bar)
        return bars

    def poll(self) -> list[Bar]:
        """Return the next `bars_per_poll` bars (fewer at the end; none once exhausted)."""
        bars: list[Bar] = []
        while len(bars) < self.bars_per_poll and (bar := self._take()) is not None:
            bars.append(bar)
        return bars

    def skip_through(self, moment: datetime) -> int:
        """Drop the bars that open at or before `moment`; return how many were dropped."""
        dropped = 0
        while True:
            bar = self._peek()
            if bar is None or bar.time > moment:
                return dropped
            self._take()
            dropped += 1

    def __iter__(self) -> Iterator[Bar]:
        """Yield the remaining bars."""
        while (bar := self._take()) is not None:
            yield bar

    def _peek(self) -> Bar | None:
        if self._next is None and not self._exhausted:
            self._next = next(self._bars, None)
            if self._next is None:
                self._exhausted = True
        return self._next

    def _take(self) -> Bar | None:
        bar = self._peek()
        if bar is None:
            return None
        self._next = None
        self.delivered += 1
        # A finite stream is exhausted as soon as its last bar is handed out.
        self._peek()
        return bar
