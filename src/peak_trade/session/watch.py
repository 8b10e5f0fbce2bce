"""What a run tells its journal and its operator besides its bars: feed events, changes of
the trading state, a stale feed, and orders the venue refused (warned of sparingly)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from peak_trade.core.clock import Clock
from peak_trade.data.ports import CandleFeed, FeedEvent
from peak_trade.engine.pipeline import ExecutionResult, ExecutionStatus
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.live.risk_limits import LiveRiskLimits, TradingStateChanged
from peak_trade.orders.base import OrderRequest
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.narration import Throttle

__all__ = ["JointFeeds", "RunWatch", "WatchedFeed"]

_LOG = logging.getLogger(__name__)


class WatchedFeed(Protocol):
    """What a watch reads of a feed (a run's one, or a portfolio's legs' together)."""

    def drain_events(self) -> list[FeedEvent]:
        """Return the retries, backfills and holes since the last call."""
        ...

    def stale_for(self, now: datetime) -> float:
        """Return how many seconds the next bar is overdue."""
        ...


class RunWatch:
    """Journals and warns of what happens to one run beside its bars."""

    def __init__(
        self,
        run_id: str,
        feed: WatchedFeed,
        recorder: SessionRecorder,
        risk: LiveRiskLimits | None,
        clock: Clock,
    ) -> None:
        self.run_id = run_id
        self.stale_after: float | None = None  # [exchange.kraken] stale_after_seconds
        self._feed, self._recorder, self._risk, self._clock = feed, recorder, risk, clock
        self._refusals = Throttle()  # venue refusals warned of, by kind

    def feed_events(self, metrics: LiveSessionMetrics) -> None:
        """Count, journal and warn of the feed's events since the last call."""
        for event in self._feed.drain_events():
            metrics.count_feed_event(event.kind)
            self._recorder.feed_event(event.kind, event.detail, event.ts)
            _LOG.warning("feed %s: %s", event.kind, event.detail)

    def states(self, events: Sequence[TradingStateChanged]) -> None:
        """Journal the trading-state changes not written yet, and warn of each."""
        for event in self._recorder.trading_states(events):
            _LOG.warning(
                "%s: trading state %s → %s at the bar of %s: %s",
                self.run_id,
                event.previous.value,
                event.state.value,
                event.ts.isoformat(),
                event.reason,
            )

    def staleness(self) -> None:
        """Go reduce-only while the next candle is overdue by more than stale_after_seconds,
        and back once candles come again (judged by the clock, whatever the poll did)."""
        limit, risk = self.stale_after, self._risk
        if limit is None or risk is None:
            return
        now = self._clock.now()
        late = self._feed.stale_for(now)
        if late > limit:
            risk.feed_stale(late, limit, now)
        else:
            risk.feed_fresh(now)
        self.states(risk.events)

    def refused(self, orders: Sequence[OrderRequest], result: ExecutionResult) -> None:
        """Warn of orders the venue rejected or failed on, as they happen: they are planned
        again on the next bar, and a session's operator should not learn of them only from
        its summary. The same refusal (its text, amounts aside) is warned of its first three
        times, then at its 10th, 100th, 1000th, ... time with the count: a backtest whose
        every bar is refused must not bury the terminal (the summary counts them all)."""
        seen = self._refusals.count(result.reason or "")
        if seen is None:
            return
        failed = "failed" if result.status is ExecutionStatus.ERROR else "was rejected"
        again = f" ({seen:,} times so far)" if seen > 3 else ""
        _LOG.warning(
            "%s: order %s %s at the venue: %s%s",
            self.run_id,
            ", ".join(order.client_id for order in orders),
            failed,
            result.reason,
            again,
        )


class JointFeeds:
    """Several feeds as one, for a watch: their events, and the most overdue candle."""

    def __init__(self, feeds: list[CandleFeed]) -> None:
        self.feeds = feeds

    def drain_events(self) -> list[FeedEvent]:
        """Return every leg's feed events since the last call, each naming its symbol."""
        return [
            replace(event, detail=f"{feed.symbol}: {event.detail}")
            for feed in self.feeds
            for event in feed.drain_events()
        ]

    def stale_for(self, now: datetime) -> float:
        """Return how long the most overdue leg's next candle is overdue."""
        return max((feed.stale_for(now) for feed in self.feeds), default=0.0)
