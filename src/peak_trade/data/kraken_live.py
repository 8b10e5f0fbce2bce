"""KrakenLiveCandleSource: closed candles from Kraken's public OHLC endpoint, each exactly once.

* The last row of every OHLC answer is the still-open candle; it is never emitted.
* Each poll asks for rows after the last emitted bar (`since`), merges every closed row by
  time and emits the new ones in order, so a poll slower than the timeframe loses nothing.
* A hole between emitted bars is asked for again with `since`; one that stays is reported
  as an event, never skipped silently.
* Network errors, HTTP 5xx, rate limits and EService errors are retried with exponential
  backoff through the injected clock; every failure is an event, and exhausted retries raise
  FeedError, which the session counts as a failed step.
* Kraken returns at most 720 rows (719 closed). A longer warmup is completed from a replay
  file of older candles, or refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from peak_trade.core.clock import Clock
from peak_trade.core.errors import ConfigError, FeedError, VenueError, VenueUnavailableError
from peak_trade.core.types import Bar, Instrument, Timeframe
from peak_trade.data.ports import FeedEvent
from peak_trade.data.replay import load_replay
from peak_trade.kraken.market import KrakenMarket
from peak_trade.kraken.parsing import KRAKEN_INTERVALS, OhlcPage, parse_ohlc

__all__ = ["FeedEvent", "KrakenLiveCandleSource"]

T = TypeVar("T")

MAX_CLOSED_ROWS = 719


class KrakenLiveCandleSource:
    """A candle feed over Kraken's public OHLC data."""

    def __init__(
        self,
        market: KrakenMarket,
        timeframe: Timeframe,
        clock: Clock,
        *,
        max_retries: int = 3,
        backoff_seconds: float = 1.0,
        close_delay_seconds: float = 2.0,
        history_path: str | None = None,
    ) -> None:
        if timeframe.name not in KRAKEN_INTERVALS:
            raise ConfigError(
                f"Kraken has no {timeframe.name} candles; use one of {', '.join(KRAKEN_INTERVALS)}"
            )
        self.market = market
        self._timeframe = timeframe
        self._clock = clock
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        self._close_delay = close_delay_seconds
        self._history_path = history_path
        self._interval = KRAKEN_INTERVALS[timeframe.name]
        self._last: datetime | None = None
        self._events: list[FeedEvent] = []
        self._stop = threading.Event()
        self.failures = 0

    @property
    def symbol(self) -> str:
        """Return the symbol."""
        return self.market.symbol

    @property
    def timeframe(self) -> Timeframe:
        """Return the candle length."""
        return self._timeframe

    @property
    def exhausted(self) -> bool:
        """Return False: a live feed never runs out."""
        return False

    @property
    def last_bar_time(self) -> datetime | None:
        """Return the open time of the last bar emitted."""
        return self._last

    def instrument(self) -> Instrument:
        """Return the exchange's rules for the symbol (fetched once, with retries)."""
        try:
            return self._retrying("AssetPairs", lambda: self.market.instrument)
        except FeedError as error:
            raise FeedError(self._unreachable(error)) from error

    def warmup(self, count: int) -> list[Bar]:
        """Return the newest `count` closed bars, completed from the history file if needed."""
        if count > MAX_CLOSED_ROWS and not self._history_path:
            raise ConfigError(
                f"Kraken returns at most {MAX_CLOSED_ROWS + 1} candles, {MAX_CLOSED_ROWS} of "
                f"them closed; warmup_candles {count} needs --data-path FILE with older "
                f"{self._timeframe.name} candles, or a smaller --warmup-candles"
            )
        try:
            closed = self._backfilled()
        except FeedError as error:
            raise FeedError(self._unreachable(error)) from error
        if count > len(closed) and self._history_path:
            closed = self._older_from_file(self._history_path, closed) + closed
        if count > len(closed):
            raise FeedError(
                f"Kraken has only {len(closed)} closed {self._timeframe.name} "
                f"candles for {self.symbol}; warmup needs {count}"
            )
        bars = closed[len(closed) - count :] if count else []
        self._last = bars[-1].time if bars else (closed[-1].time if closed else None)
        return bars

    def poll(self) -> list[Bar]:
        """Return the closed bars after the last emitted one, oldest first."""
        fresh = self._backfilled()
        if fresh:
            self._last = fresh[-1].time
        return fresh

    def _backfilled(self) -> list[Bar]:
        """Return Kraken's closed bars after the last one emitted (every one, before the
        first), oldest first; asked for again once if they have a hole, and a hole that stays
        reported as a gap event (a warmup with one spans more time than its bars)."""
        since = int(self._last.timestamp()) if self._last else None
        bars = self._new_bars(self._fetch(since))
        if bars and self._has_hole(bars):
            self._event(
                "backfill", f"asked again since {self._last} for a hole in {len(bars)} bars"
            )
            bars = self._new_bars(self._fetch(since))
            self._report_holes(bars)
        return bars

    def skip_through(self, moment: datetime) -> int:
        """Go on after the bar that opened at `moment` (a resumed run's last one): the next
        poll asks Kraken for the bars since then and emits them once, in order, as after a
        slow poll; none at or before `moment`. Nothing is fetched here, so none is dropped."""
        if self._last is None or moment > self._last:
            self._last = moment
        return 0

    def next_poll_delay(self, now: datetime) -> float:
        """Return the seconds until the next bar has closed, plus a small delay."""
        if self._last is None:
            return self._close_delay
        next_close = self._last + 2 * self._timeframe.delta
        return max(0.5, (next_close - now).total_seconds() + self._close_delay)

    def interrupt(self) -> None:
        """Stop waiting: a wait to retry ends at once, and the call raises FeedError."""
        self._stop.set()

    def stale_for(self, now: datetime) -> float:
        """Return how many seconds the next bar is overdue (0 when it is not yet due)."""
        if self._last is None:
            return 0.0
        due = self._last + 2 * self._timeframe.delta + timedelta(seconds=self._close_delay)
        return max(0.0, (now - due).total_seconds())

    def drain_events(self) -> list[FeedEvent]:
        """Return and forget the events since the last call."""
        events, self._events = self._events, []
        return events

    def _fetch(self, since: int | None) -> OhlcPage:
        def call() -> OhlcPage:
            pair_id = self.market.pair_id
            return parse_ohlc(self.market.client.ohlc(pair_id, self._interval, since), pair_id)

        return self._retrying("OHLC", call)

    def _retrying(self, endpoint: str, call: Callable[[], T]) -> T:
        """Run `call`, retrying transient failures with exponential backoff; record each."""
        attempt = 0
        while True:
            try:
                return call()
            except VenueUnavailableError as error:
                self.failures += 1
                attempt += 1
                self._event("retry", f"attempt {attempt}: {error}")
                if attempt > self._max_retries:
                    raise FeedError(
                        f"Kraken {endpoint} failed {attempt} times; last: {error}"
                    ) from error
                if self._clock.wait(self._backoff * 2 ** (attempt - 1), self._stop):
                    raise FeedError(
                        f"stopped while waiting to ask Kraken {endpoint} again"
                    ) from error
            except VenueError as error:
                self.failures += 1
                self._event("error", str(error))
                raise FeedError(f"Kraken {endpoint} refused the request: {error}") from error

    def _unreachable(self, error: FeedError) -> str:
        return (
            f"cannot load {self.symbol} candles from Kraken ({self.market.client.base_url}): "
            f"{error}; check the network, or use --data synthetic or --data replay "
            "--data-path FILE"
        )

    def _new_bars(self, page: OhlcPage) -> list[Bar]:
        by_time = {
            bar.time: bar for bar in page.closed if self._last is None or bar.time > self._last
        }
        return [by_time[time] for time in sorted(by_time)]

    def _has_hole(self, bars: list[Bar]) -> bool:
        step = self._timeframe.delta
        previous = self._last
        for bar in bars:
            if previous is not None and bar.time - previous > step:
                return True
            previous = bar.time
        return False

    def _report_holes(self, bars: list[Bar]) -> None:
        step = self._timeframe.delta
        previous = self._last
        for bar in bars:
            if previous is not None and bar.time - previous > step:
                missing = int((bar.time - previous) / step) - 1
                self._event(
                    "gap",
                    f"{missing} bar(s) missing between {previous:%Y-%m-%d %H:%M} "
                    f"and {bar.time:%Y-%m-%d %H:%M} UTC after backfill",
                )
            previous = bar.time

    def _older_from_file(self, path: str, closed: list[Bar]) -> list[Bar]:
        first = closed[0].time if closed else None
        older = [
            bar
            for bar in load_replay(path, self._timeframe).bars()
            if first is None or bar.time < first
        ]
        if older and first is not None and first - older[-1].time != self._timeframe.delta:
            raise ConfigError(
                f"{path} ends at {older[-1].time:%Y-%m-%d %H:%M} UTC but Kraken's "
                f"history starts at {first:%Y-%m-%d %H:%M} UTC; the file must reach the bar "
                "before it"
            )
        return older

    def _event(self, kind: str, detail: str) -> None:
        self._events.append(FeedEvent(kind, self._clock.now(), detail))
