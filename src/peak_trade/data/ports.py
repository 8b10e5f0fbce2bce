"""The candle-feed port: every feed emits closed bars only, oldest first, each exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.core.types import Bar, Instrument, Timeframe

__all__ = ["CandleFeed", "DataReference", "FeedEvent", "IteratorFeed"]


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """Something a feed wants on record: a retry, a backfill, a gap, an error."""

    kind: str
    ts: datetime
    detail: str


class CandleFeed(Protocol):
    """A source of closed candles for one symbol and timeframe.

    Every feed implements every member: the runner calls them all, on every feed, and
    `tests/contract/test_feeds.py` holds each implementation to the same rules.
    """

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

    def skip_through(self, moment: datetime) -> int:
        """Go on after the bar that opened at `moment` (a resumed run's last journaled bar):
        no later poll returns a bar at or before it. Return how many bars were dropped."""
        ...

    def instrument(self) -> Instrument | None:
        """Return the exchange's rules for the symbol, or None where the feed has none."""
        ...

    def drain_events(self) -> list[FeedEvent]:
        """Return and forget the events since the last call."""
        ...

    def stale_for(self, now: datetime) -> float:
        """Return how many seconds the next bar is overdue at `now` (0 when it is not)."""
        ...

    def next_poll_delay(self, now: datetime) -> float | None:
        """Return the seconds until a new bar can be there, or None where it is at once."""
        ...

    def interrupt(self) -> None:
        """Stop waiting (the run is stopping): a wait to retry ends at once, with FeedError."""
        ...


@dataclass(frozen=True, slots=True)
class DataReference:
    """Where a finite feed's bars come from, and how to read the same bars again.

    `identify()` names them as plain values (a file and its SHA-256, or the synthetic market's
    seed and length): a backtest journals that instead of a copy of every quiet bar. It is
    worked out only when asked, as a file's digest reads the whole file, and a session or a
    sweep point that journals nothing by reference never needs it.
    `reopen()` yields all of the feed's bars again, warmup included, oldest first.
    """

    identify: Callable[[], Mapping[str, Any]]
    reopen: Callable[[], Iterator[BarColumns]]


class IteratorFeed:
    """A feed over a finite or endless stream of closed bars, `bars_per_poll` bars per poll.

    The stream yields single bars or `BarColumns` chunks of them. Sessions poll one bar at a
    time; a backtest takes more per poll (see `BacktestRunner.configure_backtest`) and reads
    them as columns with `poll_columns`, which saves building a Bar for every quiet bar.
    """

    def __init__(
        self,
        symbol: str,
        timeframe: Timeframe,
        bars: Iterator[Bar | BarColumns],
        source: str,
        length: int | None = None,
        reference: DataReference | None = None,
    ) -> None:
        self._symbol = symbol
        self.reference = reference  # set for a deterministic source (file or synthetic)
        self.length = length  # bars in the stream, warmup included, when known in advance
        self._timeframe = timeframe
        self._items = bars
        self._source = source
        self._chunk: Bar | BarColumns | None = None
        self._at = 0
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

    @property
    def remaining(self) -> int | None:
        """Return how many bars are still to come, if the stream's length is known."""
        return None if self.length is None else max(0, self.length - self.delivered)

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

    def poll_columns(self) -> BarColumns | None:
        """Return up to `bars_per_poll` next bars as columns; None once exhausted."""
        chunk = self._current()
        if chunk is None:
            return None
        if isinstance(chunk, Bar):
            part = BarColumns.from_bars([chunk])
            self._at = 1
        else:
            stop = min(len(chunk), self._at + self.bars_per_poll)
            part = chunk if self._at == 0 and stop == len(chunk) else chunk.slice(self._at, stop)
            self._at = stop
        self._delivered(len(part))
        return part

    def skip_through(self, moment: datetime) -> int:
        """Drop the bars that open at or before `moment`; return how many were dropped."""
        limit = moment.timestamp()
        dropped = 0
        while (chunk := self._current()) is not None:
            if isinstance(chunk, Bar):
                if chunk.time > moment:
                    break
                count = 1
            else:  # the rows at or before the moment, found by bisection
                stop = int(np.searchsorted(chunk.seconds[self._at :], limit, side="right"))
                if stop == 0:
                    break
                count = stop
            self._at += count
            self._delivered(count)
            dropped += count
        return dropped

    def instrument(self) -> Instrument | None:
        """Return None: a file or the synthetic market carries no exchange rules."""
        return None

    def drain_events(self) -> list[FeedEvent]:
        """Return no events: a finite stream has no retries or holes to report."""
        return []

    def stale_for(self, now: datetime) -> float:
        """Return 0: the next bar of a stream is never overdue."""
        del now
        return 0.0

    def next_poll_delay(self, now: datetime) -> float | None:
        """Return None: the next bar is there at once."""
        del now
        return None

    def interrupt(self) -> None:
        """Do nothing: a stream never waits."""

    def __iter__(self) -> Iterator[Bar]:
        """Yield the remaining bars."""
        while (bar := self._take()) is not None:
            yield bar

    def _current(self) -> Bar | BarColumns | None:
        """Return the item holding the next bar, reading on from the stream as needed."""
        while self._chunk is None or self._at >= _size(self._chunk):
            item = None if self._exhausted else next(self._items, None)
            if item is None:
                self._chunk, self._exhausted = None, True
                return None
            self._chunk, self._at = item, 0
        return self._chunk

    def _peek(self) -> Bar | None:
        chunk = self._current()
        if chunk is None:
            return None
        return chunk if isinstance(chunk, Bar) else chunk.bar(self._at)

    def _take(self) -> Bar | None:
        bar = self._peek()
        if bar is not None:
            self._at += 1
            self._delivered(1)
        return bar

    def _delivered(self, count: int) -> None:
        self.delivered += count
        # A finite stream is exhausted as soon as its last bar is handed out.
        self._current()


def _size(item: Bar | BarColumns) -> int:
    return 1 if isinstance(item, Bar) else len(item)
