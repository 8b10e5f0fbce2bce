"""PortfolioRun: warm a portfolio's legs up, then trade each bar time of their feeds, journaled.

Each poll takes what every leg's feed has and trades, in time order, each bar time that every
leg still streaming has reached (a leg whose feed ended no longer holds the others back); the
`PortfolioEngine` works the legs with a bar at that time, and a leg without one waits. Each
leg's bars and orders go to its own run in the journal (`leg_run_id`), the trading state to
the portfolio's; a poll is one journal transaction.

`resume` rebuilds a run from its journal: the same legs and settings, each leg's journaled
bars traded again bar time by bar time with nothing written, the replayed fills checked
against the journal's; then each feed goes on after its leg's last journaled bar.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import Clock, ManualClock
from peak_trade.core.errors import ConfigError, SessionRuntimeError
from peak_trade.core.legs import Leg
from peak_trade.core.money import ZERO
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar, Timeframe, parse_symbol
from peak_trade.data.ports import CandleFeed, IteratorFeed
from peak_trade.engine.portfolio import AccountRow, LegOutcome, PortfolioEngine, QuietTimes
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.schema import LEGS_KEY, leg_run_id
from peak_trade.journal.store import Journal
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.narration import Narrator
from peak_trade.session.portfolio import build_portfolio, journaled_legs, portfolio_settings
from peak_trade.session.portfolio_columns import TimeCallback, aligned_columns, trade_columns
from peak_trade.session.portfolio_replay import replay_run
from peak_trade.session.settings import with_settings
from peak_trade.session.stepping import FATAL_ERRORS
from peak_trade.session.watch import JointFeeds, RunWatch

__all__ = ["PortfolioRun", "TimeCallback"]

_LOG = logging.getLogger("peak_trade.run")

_BACKTEST_POLL = 4_096  # bars per leg and poll (and journal transaction) in a backtest
_KIND = "kind"  # a portfolio run's `run_started` config says whether it is a backtest
_BEFORE_ALL = datetime(1, 1, 1, tzinfo=UTC)


class PortfolioRun:
    """A portfolio session or backtest: its legs' engine and feeds, its journal, its loop."""

    def __init__(
        self,
        config: LiveSessionConfig,
        legs: list[Leg],
        built: tuple[PortfolioEngine, list[CandleFeed]],
        *,
        clock: Clock,
        journal: Journal | None,
        backtest: bool,
    ) -> None:
        self.config, self.legs = config, legs
        self.engine, self.feeds = built
        self.clock, self.backtest = clock, backtest
        self.run_id = config.generate_run_id(clock.now())
        self.recorder = SessionRecorder(journal, self.run_id)
        self.recorders = [
            SessionRecorder(journal, leg_run_id(self.run_id, i)) for i in range(len(legs))
        ]
        self.narrators = [Narrator(*parse_symbol(leg.symbol), f"{leg.symbol} ") for leg in legs]
        for leg, recorder, feed in zip(self.engine.legs, self.recorders, self.feeds, strict=True):
            leg.pipeline.safety_guard.subscribe(recorder.safety)
            if backtest and isinstance(feed, IteratorFeed):
                feed.bars_per_poll = _BACKTEST_POLL
        self.buffers: list[deque[Bar]] = [deque() for _ in self.feeds]
        self.last_times: list[datetime | None] = [None] * len(legs)
        self._stop = threading.Event()
        self.on_time: TimeCallback | None = None
        self.on_quiet: Callable[[QuietTimes], None] | None = None  # a run of quiet bar times
        self.columns = True  # a backtest trades aligned bars as columns; False: bar by bar
        # A backtest's clock, moved to each bar time's close: the journal stamps bar times.
        self.bar_clock: ManualClock | None = None
        self.sleep_between = not backtest  # a session waits poll_interval_seconds per poll
        self.heartbeat: Callable[[], None] = _nothing  # once a loop: a watchdog's, controls'
        self.bar_times = 0
        self.last_bar: Bar | None = None  # the last bar traded (of the last leg at its time)
        # after each poll that traded bars: the bar times so far and the last bar (progress)
        self.on_poll: Callable[[int, Bar], None] | None = None
        self.bar_length = Timeframe(config.timeframe).delta
        self.stop_reason: str | None = None
        self._watch = RunWatch(self.run_id, JointFeeds(self.feeds), self.recorder, self.risk, clock)
        self._feed_counts = LiveSessionMetrics()  # the feeds' events, counted by the watch
        self.pace = 0.0  # seconds between two legs' polls (Kraken's public rate)
        self._stale: set[int] = set()  # the legs whose candles are overdue
        self._failed = 0  # polls failed in a row

    @classmethod
    def start(
        cls,
        config: LiveSessionConfig,
        cfg: PeakConfig,
        legs: list[Leg],
        *,
        clock: Clock,
        journal: Journal | None,
        backtest: bool,
    ) -> Self:
        """Build a new run of `legs` and journal its start (the run id must be new)."""
        if journal is not None and config.run_id and journal.count(config.run_id, "run_started"):
            raise ConfigError(
                f"the journal {journal.path} already holds a run {config.run_id!r}; choose "
                "another --run-id or --journal"
            )
        parts: dict[str, Any] = {"clock": clock, "journal": journal, "backtest": backtest}
        run = cls(config, legs, build_portfolio(config, cfg, legs, clock), **parts)
        run.watch_feeds(cfg)
        started = config.to_dict() | {
            "run_id": run.run_id,
            LEGS_KEY: [leg.to_dict() for leg in legs],
            _KIND: "backtest" if backtest else "session",
        }
        run.recorder.started(started, clock.now(), portfolio_settings(cfg, legs))
        return run

    @classmethod
    def resume(
        cls, run_id: str, journal: Journal, cfg: PeakConfig, *, clock: Clock, backtest: bool
    ) -> Self:
        """Rebuild run `run_id` from its journal (its legs and settings); `replay` then trades
        its journaled bars again and moves its feeds past them."""
        payload = journal.run_started(run_id).payload
        config, legs = journaled_legs(payload)
        then = payload.get("settings")
        cfg = with_settings(cfg, then) if then else cfg
        parts: dict[str, Any] = {"clock": clock, "journal": journal, "backtest": backtest}
        run = cls(config, legs, build_portfolio(config, cfg, legs, clock), **parts)
        run.watch_feeds(cfg)
        run.recorder.claim()  # before the replay: a run still going on elsewhere is refused
        return run

    def watch_feeds(self, cfg: PeakConfig) -> None:
        """On Kraken: keep to its rate between the legs' polls, and watch for stale legs."""
        if self.config.data_source == "kraken":
            section = cfg.exchange.kraken
            self._watch.stale_after = section.stale_after_seconds
            self.pace = section.rate_limit_ms / 1000

    @staticmethod
    def is_backtest(journal: Journal, run_id: str) -> bool:
        """Return True if the journal's portfolio run `run_id` is a backtest."""
        return bool(journal.run_started(run_id).payload["config"].get(_KIND) == "backtest")

    @property
    def risk(self) -> LiveRiskLimits | None:
        """Return the account's risk limits (None: a run without them)."""
        return self.engine.legs[0].pipeline.risk_limits

    # --- trading ---------------------------------------------------------------------------

    def warmup(self) -> None:
        """Show each leg its first `warmup_candles` bars without trading; journal them with
        the rules the exchange gave for its symbol (a resume trades by those)."""
        rules = []
        try:
            for leg, feed in zip(self.engine.legs, self.feeds, strict=True):
                instrument = feed.instrument()
                if instrument is not None:
                    leg.use_instrument(instrument)
                rules.append(instrument)
            count = self.config.warmup_candles
            history = {i: feed.warmup(count) for i, feed in enumerate(self.feeds)}
            self.engine.warm_up(history)
        except BaseException:
            self.recorder.discard()  # the run never started: no half-written run
            raise
        self.recorder.claim()
        for i, recorder in enumerate(self.recorders):
            recorder.warmup(history[i], rules[i])
            self.last_times[i] = history[i][-1].time if history[i] else None

    def step_once(self) -> int:
        """Poll every leg's feed once and trade each bar time all legs have reached; return
        how many bar times were traded."""
        risk = self.risk
        if risk is not None:  # changes made between polls (an operator's) come before the bars
            self._watch.states(risk.events)
        chunks = aligned_columns(self)
        if chunks is not None:
            return self._committed(trade_columns(self, chunks))
        try:
            for k, (feed, buffer) in enumerate(zip(self.feeds, self.buffers, strict=True)):
                if k and self.pace:  # one leg's request after the other's, at Kraken's rate
                    self._stop.wait(self.pace)
                buffer.extend(feed.poll())
        finally:  # judged by the clock, whether the polls brought bars, none or an error
            self._watch.feed_events(self._feed_counts)
            stale = self._stale_legs()
            if risk is not None:
                self._watch.states(risk.events)
        self._drop_late()
        horizon = self._horizon(stale)
        traded = 0
        while True:
            heads = [buffer[0].time for buffer in self.buffers if buffer]
            if not heads or (horizon is not None and min(heads) > horizon):
                break
            time = min(heads)
            group = {i: b.popleft() for i, b in enumerate(self.buffers) if b and b[0].time == time}
            self.trade(group)
            traded += 1
        return self._committed(traded)

    def _committed(self, traded: int) -> int:
        """End a poll that traded `traded` bar times: one journal transaction."""
        risk = self.risk
        if risk is not None:
            self._watch.states(risk.events)
        for recorder in self.recorders:
            recorder.queue_quiet()
        self.recorder.commit()  # every leg's bars of the poll in one transaction
        if traded and self.on_poll is not None and self.last_bar is not None:
            self.on_poll(self.bar_times, self.last_bar)
        return traded

    def _stale_legs(self) -> set[int]:
        """Return the legs whose next candle is overdue by `stale_after_seconds`: the others
        go on without them, and their candles that come later than the bar times traded
        meanwhile are not traded. With every leg stale the account goes reduce-only, as a
        single session does, until candles come again."""
        limit, risk = self._watch.stale_after, self.risk
        if limit is None:
            return set()
        now = self.clock.now()
        late = [feed.stale_for(now) for feed in self.feeds]
        stale = {i for i, seconds in enumerate(late) if seconds > limit}
        for i in sorted(stale ^ self._stale):
            quiet = f"no new candle for {late[i]:.0f} s past its close; the others go on"
            detail = f"{self.legs[i].symbol}: {quiet if i in stale else 'candles come again'}"
            self.recorder.feed_event("stale" if i in stale else "fresh", detail, now)
            _LOG.warning("feed %s", detail)
        self._stale = stale
        if risk is not None and stale and len(stale) == len(self.feeds):
            risk.feed_stale(max(late), limit, now)
        elif risk is not None:
            risk.feed_fresh(now)
        return stale

    def _drop_late(self) -> None:
        """Drop the candles of a leg that came after the others traded past their times."""
        done = max((t for t in self.last_times if t is not None), default=None)
        for leg, buffer in zip(self.legs, self.buffers, strict=True):
            late = 0
            while done is not None and buffer and buffer[0].time <= done:
                buffer.popleft()
                late += 1
            if late:
                detail = f"{leg.symbol}: {late} candle(s) came after the bar times they belong to"
                self.recorder.feed_event(
                    "late", f"{detail} were traded; not traded", self.clock.now()
                )

    def _horizon(self, stale: set[int]) -> datetime | None:
        """Return the last bar time every leg still streaming (and not stale) has reached
        (None: no limit; a streaming leg without any bar yet holds every bar back)."""
        reached = []
        for i, (feed, buffer) in enumerate(zip(self.feeds, self.buffers, strict=True)):
            if feed.exhausted or i in stale:
                continue
            last = buffer[-1].time if buffer else self.last_times[i]
            reached.append(_BEFORE_ALL if last is None else last)
        return min(reached) if reached else None

    def trade(
        self,
        bars: dict[int, Bar],
        targets: dict[int, int] | None = None,
        write: bool = True,
        rows: tuple[list[BarColumns], int] | None = None,
    ) -> list[LegOutcome]:
        """Trade the bars of one time (by leg; `targets`: theirs, worked out already) and
        journal them unless `write` is False (a replay); return the outcomes not quiet.
        `rows`: the column batches the bars are a row of."""
        outcomes = self.engine.step(bars, targets)
        busy = {item.leg: item.outcome for item in outcomes}
        for i, bar in bars.items():
            self.last_times[i], self.last_bar = bar.time, bar
            if not write:
                continue
            recorder, leg = self.recorders[i], self.engine.legs[i]
            if i in busy:
                recorder.outcome(busy[i])
                self.narrators[i].bar(busy[i])
            elif rows is not None:  # a quiet bar of a column batch
                recorder.quiet_run(leg.quiet_row(rows[0][i], rows[1]))
            else:
                recorder.quiet_run(leg.quiet_row(BarColumns.from_bars([bar]), 0))
        self.bar_times += 1
        if self.bar_clock is not None:
            self.bar_clock.set(next(iter(bars.values())).time + self.bar_length)
        if self.on_time is not None:
            self.on_time(outcomes, self.account_row(next(iter(bars.values()))), tuple(sorted(bars)))
        return outcomes

    def account_row(self, bar: Bar) -> AccountRow:
        """Return the account at the close of `bar`'s time."""
        ledger = self.engine.ledger
        equity = ledger.equity
        symbols = [leg.symbol for leg in self.engine.legs]
        positions = tuple(ledger.position(symbol) for symbol in symbols)
        prices = tuple(ledger.last_price(symbol) or ZERO for symbol in symbols)
        seconds = int(bar.time.timestamp())
        return AccountRow(seconds, equity, ledger.peak_equity - equity, positions, prices)

    @property
    def finished(self) -> bool:
        """Return True once every feed has ended and every bar was traded."""
        return all(f.exhausted for f in self.feeds) and not any(self.buffers)

    def run(self, bar_times: int | None = None, duration: timedelta | None = None) -> str:
        """Trade until `bar_times` more bar times, `duration` or the data's end, or a stop;
        return why it ended. A session waits `poll_interval_seconds` between polls."""
        deadline = None if duration is None else self.clock.now() + duration
        goal = None if bar_times is None else self.bar_times + bar_times
        if goal is not None and self.bar_times >= goal:
            return "nothing left to trade"
        while not self._stop.is_set():
            self.heartbeat()
            self.poll_once()
            if goal is not None and self.bar_times >= goal:
                return f"{bar_times} bar times done"
            if self.finished:
                return "end of data"
            if deadline is not None and self.clock.now() >= deadline:
                return "duration reached"
            if self.sleep_between:
                self._stop.wait(self._next_poll())
        return self.stop_reason or "stopped"

    def poll_once(self) -> None:
        """Poll and trade once, as the loop does: a session rides out `max_consecutive_errors`
        failed polls in a row (a feed or venue may fail for a while), each journaled."""
        try:
            self.step_once()
        except FATAL_ERRORS:
            raise
        except Exception as error:
            self._failed += 1
            self.recorder.step_failed(error, self.clock.now())
            failure = f"{type(error).__name__}: {error}"
            if self.backtest or self._failed >= self.config.max_consecutive_errors:
                raise SessionRuntimeError(
                    f"{self._failed} step(s) failed in a row; last: {failure}"
                ) from error
            _LOG.warning("step failed (%d in a row): %s", self._failed, failure)
            return
        self._failed = 0

    def _next_poll(self) -> float:
        """Return the seconds to the next poll: until the legs' next candles have closed (a
        live feed says), else `poll_interval_seconds`."""
        now = self.clock.now()
        due = [d for feed in self.feeds if (d := feed.next_poll_delay(now)) is not None]
        return min(due) if due else self.config.poll_interval_seconds

    def shutdown(self, reason: str) -> None:
        """Ask the loop to stop after the poll it is in."""
        self.stop_reason = reason
        self._stop.set()
        for feed in self.feeds:
            feed.interrupt()

    def stopped(self, reason: str, status: str, summary: dict[str, Any]) -> None:
        """Journal the end of the run with its summary."""
        self.recorder.stopped(reason, status, summary, self.clock.now())

    # --- resuming --------------------------------------------------------------------------

    def replay(self) -> None:
        """Trade the journaled bars again, writing nothing (`on_time` sees them); check the
        fills against the journal's; move each feed past its leg's last journaled bar."""
        replay_run(self)


def _nothing() -> None:
    """Do nothing: the heartbeat of a run nobody supervises."""
