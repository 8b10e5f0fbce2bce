"""The session loop: poll the feed, trade each new closed bar, journal it, until stopped.

`run_n_steps`, `run_for_duration` and `run_forever` share one loop. It waits through the
injected clock on an event that `shutdown()`, SIGINT and SIGTERM set, so every mode stops within
one poll of the feed, with a summary. `SessionLoop` holds a run's state and this loop;
`runner.LiveSessionRunner` adds how a run is built, warmed up, resumed and summed up.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any, ClassVar

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import Clock, ManualClock, SystemClock
from peak_trade.core.errors import (
    AuthError,
    ConfigError,
    InvariantError,
    JournalWriteError,
    LiveModeNotAllowedError,
    SessionError,
    SessionRuntimeError,
    StrategyError,
)
from peak_trade.core.types import Bar, Timeframe, parse_symbol
from peak_trade.data.ports import CandleFeed, IteratorFeed
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import AccountMark, BarOutcome, QuietRun, TradedBars
from peak_trade.engine.pipeline import ExecutionStatus
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal
from peak_trade.orders.base import OrderExecutionResult, OrderFill
from peak_trade.portfolio.account import RunMarks
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.narration import Narrator
from peak_trade.session.stop_signals import on_stop_signals
from peak_trade.session.summary import hints, ledger_summary
from peak_trade.session.watch import RunWatch

__all__ = ["FATAL_ERRORS", "MarksCallback", "SessionLoop", "StepCallback"]

_LOG = logging.getLogger(__name__)
# How a batch ends when the venue itself refused it (after environment, safety and risk).
_AT_THE_VENUE = frozenset({ExecutionStatus.ERROR, ExecutionStatus.REJECTED})
# Errors that end a session at once: retrying cannot help.
FATAL_ERRORS = (ConfigError, AuthError, InvariantError, StrategyError, SessionError)
# Called after each bar of a session, and in a backtest after each run of quiet bars and each
# other bar, with the bars processed so far and the last of them.
StepCallback = Callable[[int, Bar], None]
# the marks of a bar or run of bars, the account at its close, and the bar's fills
MarksCallback = Callable[[RunMarks, AccountMark, tuple[OrderFill, ...]], None]


class SessionLoop:
    """A run's state, and the loop that trades its bars (see `runner.LiveSessionRunner`)."""

    # A session rides out max_consecutive_errors failed steps; a backtest stops at the first
    is_backtest: ClassVar[bool] = False

    def __init__(
        self,
        session_config: LiveSessionConfig,
        engine: TradingEngine,
        feed: CandleFeed,
        *,
        clock: Clock | None = None,
        journal: Journal | None = None,
        on_step_callback: StepCallback | None = None,
    ) -> None:
        if session_config.mode == "live":
            raise LiveModeNotAllowedError(
                "LiveSessionRunner refuses mode 'live': Peak Trade never sends real orders"
            )
        self._config = session_config
        self._engine = engine
        self._feed = feed
        self._clock = clock or SystemClock()
        self._run_id = session_config.generate_run_id(self._clock.now())
        self._metrics = LiveSessionMetrics()
        self._recorder = SessionRecorder(journal, self._run_id)
        self._stop = threading.Event()
        self._running = False
        self._warm = False
        self._consecutive_errors = 0
        self.stop_reason: str | None = None
        self.on_step_callback = on_step_callback
        self._bar_length = Timeframe(session_config.timeframe).delta
        # Per-bar equity (as floats) and whether a position is held, for online statistics.
        self.on_marks: MarksCallback | None = None
        # Called after each run of quiet bars and each other bar, or after each batch the
        # compiled loop traded whole: for a progress display, which needs no single bar.
        self.on_progress: StepCallback | None = None
        # A backtest's clock, moved to each bar's close: the journal stamps simulated times.
        self.bar_clock: ManualClock | None = None
        # Journal transactions per step: 1 keeps every step crash-safe (sessions); backtests
        # batch more (a crashed backtest is run again). `heartbeat`: once a loop, a watchdog's.
        self.commit_every, self.heartbeat = 1, _nothing
        self._uncommitted = 0
        # The run methods return every order result; callers that read the journal instead
        # turn this off (months of bars would fill the memory). They stop on SIGINT and
        # SIGTERM, but in a sweep's worker: there the signals end the sweep, not its points.
        self.keep_results, self.stops_on_signals = not self.is_backtest, True
        risk = engine.pipeline.risk_limits
        self._watch = RunWatch(self._run_id, feed, self._recorder, risk, self._clock)
        self._narrator = Narrator(*parse_symbol(session_config.symbol))
        engine.pipeline.safety_guard.subscribe(self._recorder.safety)
        self._metrics.equity = engine.ledger.equity
        _LOG.info(
            "session %s: %s %s on %s %s",
            self._run_id,
            session_config.mode,
            session_config.strategy_key,
            session_config.symbol,
            session_config.timeframe,
        )

    def step_once(self) -> list[OrderExecutionResult] | None:
        """Poll the feed once and trade every new closed bar; None when no bar arrived."""
        self._require_warmup("step_once()")
        feed = self._feed
        try:
            batch = feed.poll_columns() if isinstance(feed, IteratorFeed) else feed.poll()
        finally:  # judged by the clock, whether the poll brought bars, none or an error
            self._metrics.polls += 1
            self._watch.feed_events(self._metrics)
            self._watch.staleness()
        engine, metrics, recorder = self._engine, self._metrics, self._recorder
        risk = engine.pipeline.risk_limits
        if risk is not None:  # changes made between polls (an operator's) come before the bars
            self._watch.states(risk.events)
        if not batch:
            recorder.commit()
            return None
        results: list[OrderExecutionResult] = []
        ledger, symbol = engine.ledger, engine.symbol
        # whole batches of the compiled loop, where nothing needs them bar by bar
        engine.traded_blocks = (
            self.on_marks is None
            and self.on_step_callback is None
            and not self.keep_results
            and recorder.takes_blocks
        )
        steps = engine.run_columns(batch) if isinstance(batch, BarColumns) else self._steps(batch)
        quiet: QuietRun | None = None  # the last item, if a quiet run: its time is told once
        try:
            for item in steps:
                quiet = self._take(item, results)
        finally:
            if quiet is not None:
                metrics.quiet_until(quiet)
        metrics.update_money(ledger, symbol)
        if risk is not None:
            self._watch.states(risk.events)
        self._uncommitted += 1
        if self._uncommitted >= self.commit_every:
            self._recorder.commit()
            self._uncommitted = 0
        return results

    def _take(
        self, item: QuietRun | BarOutcome | TradedBars, results: list[OrderExecutionResult]
    ) -> QuietRun | None:
        """Count and journal one item of a poll's bars; return it if it is a quiet run."""
        metrics, recorder = self._metrics, self._recorder
        if isinstance(item, TradedBars):
            metrics.record_traded(item)
            clocked = self.bar_clock is not None
            recorder.traded(item, int(self._bar_length.total_seconds()) if clocked else None)
            self._progressed(item.columns, item.stop - 1)
            return None
        if isinstance(item, QuietRun):
            metrics.record_quiet(item)
            recorder.quiet_run(item)
            self._progressed(item.columns, item.stop - 1)
        else:
            metrics.record(item)
            recorder.outcome(item)
            self._narrator.bar(item)
            if item.result is not None and item.result.status in _AT_THE_VENUE:
                self._watch.refused(item.decision.orders, item.result)
            results.extend(item.venue_results)
            self._progressed(item.bar)
        if self.on_marks is not None or self.on_step_callback is not None:
            self._follow(item)
        return item if isinstance(item, QuietRun) else None

    def _bar_done(self, time: datetime) -> None:
        """Move the backtest's clock to the close of the bar that opened at `time`."""
        if self.bar_clock is not None:
            self.bar_clock.set(time + self._bar_length)

    def _progressed(self, last: BarColumns | Bar, row: int = 0) -> None:
        """Tell the clock and the progress display that the bars up to `last` are done."""
        if self.bar_clock is None and self.on_progress is None:
            return
        bar = last if isinstance(last, Bar) else last.bar(row)
        self._bar_done(bar.time)
        if self.on_progress is not None:
            self.on_progress(self._metrics.steps, bar)

    def _steps(self, bars: list[Bar]) -> Iterator[QuietRun | BarOutcome]:
        engine = self._engine
        for bar in bars:
            outcome = engine.step(bar)
            yield engine.quiet_row(BarColumns.from_bars([bar]), 0) if outcome is None else outcome

    def _follow(self, item: QuietRun | BarOutcome) -> None:
        if self.on_marks is not None:
            if isinstance(item, QuietRun):
                self.on_marks(item.marks, item.account, ())
            else:
                self.on_marks(item.account.marks, item.account, item.fills)
        if self.on_step_callback is not None:
            bar = item.columns.bar(item.stop - 1) if isinstance(item, QuietRun) else item.bar
            self.on_step_callback(self._metrics.steps, bar)

    def run_n_steps(self, n: int, sleep_between: bool = False) -> list[OrderExecutionResult]:
        """Trade until `n` more closed bars were processed (or the run is stopped)."""
        if n <= 0:
            raise ConfigError(f"steps must be > 0, was {n}")
        if isinstance(self._feed, IteratorFeed) and self._feed.bars_per_poll > 1:
            raise ConfigError(
                f"run_n_steps() counts bars poll by poll, but the feed hands over "
                f"{self._feed.bars_per_poll} bars per poll (a backtest); use run_forever()"
            )
        self._require_warmup("run_n_steps()")
        target = self._metrics.steps + n
        plan = {"steps": n, "sleep_between": sleep_between}
        return self._loop(plan, lambda: self._metrics.steps >= target, sleep_between)

    def run_for_duration(
        self, minutes: float, sleep_between: bool = True
    ) -> list[OrderExecutionResult]:
        """Trade for `minutes` of clock time (or until the run is stopped or the feed ends);
        without `sleep_between`, as fast as bars come."""
        if minutes <= 0:
            raise ConfigError(f"duration must be > 0 minutes, was {minutes}")
        self._require_warmup("run_for_duration()")
        end = self._clock.now() + timedelta(minutes=minutes)
        plan = {"duration_minutes": minutes, "sleep_between": sleep_between}
        return self._loop(plan, lambda: self._clock.now() >= end, sleep_between, deadline=end)

    def run_forever(self, sleep_between: bool = True) -> list[OrderExecutionResult]:
        """Trade until shutdown(), SIGINT, SIGTERM or the end of a finite feed."""
        self._require_warmup("run_forever()")
        return self._loop(
            {"forever": True, "sleep_between": sleep_between}, lambda: False, sleep_between
        )

    def shutdown(self, reason: str = "shutdown requested") -> None:
        """Ask the running loop to stop; it returns within one wait."""
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()
            self._feed.interrupt()  # a feed waiting to retry stops waiting
            _LOG.info("shutdown: %s", reason)

    # --- summary -----------------------------------------------------------------------------

    def get_summary(self) -> dict[str, Any]:
        """Return run_id, config, metrics, pipeline_summary, ledger, state and hints."""
        risk = self._engine.pipeline.risk_limits
        state = (risk.state.value, risk.left_active()) if risk is not None else ("active", None)
        required, warmup = self._engine.strategy.required_bars, self._config.warmup_candles
        return {
            "run_id": self._run_id,
            "config": self._config.to_dict(),
            "metrics": self._metrics.to_dict(),
            "pipeline_summary": self._engine.pipeline.get_execution_summary(),
            "ledger": ledger_summary(self._engine.ledger, self._engine.symbol),
            "trading_state": state[0],
            "left_active_at": state[1],
            "stop_reason": self.stop_reason,
            "hints": hints(self._metrics, required, warmup, state),
        }

    # --- internals ---------------------------------------------------------------------------

    def _loop(
        self,
        plan: dict[str, Any],
        done: Callable[[], bool],
        sleep_between: bool,
        deadline: datetime | None = None,
    ) -> list[OrderExecutionResult]:
        self._recorder.plan(plan, self._clock.now())
        results: list[OrderExecutionResult] = []
        status = "completed"
        self._running = True
        try:
            with self.stop_on_signals() if self.stops_on_signals else nullcontext():
                while not self._stop.is_set() and not done():
                    self.heartbeat()
                    step = self._guarded_step()
                    if step and self.keep_results:
                        results.extend(step)
                    if self._feed.exhausted:
                        self.stop_reason = self.stop_reason or "the feed has no more bars"
                        break
                    if (sleep_between or step is None) and not done():
                        self._wait(deadline)
        except BaseException as error:
            status = "failed"
            self.stop_reason = f"{type(error).__name__}: {error}"
            raise
        finally:
            self._running = False
            self.stop_reason = self.stop_reason or _finished(plan)
            if self._stop.is_set() and status == "completed":
                status = "stopped"
            try:
                now = self._clock.now()
                self._recorder.stopped(self.stop_reason, status, self.get_summary(), now)
            except JournalWriteError:
                if status != "failed":  # else the run's own error, likely this one, goes on
                    raise
        return results

    def _guarded_step(self) -> list[OrderExecutionResult] | None:
        try:
            step = self.step_once()
        except FATAL_ERRORS:
            raise
        except Exception as error:
            self._metrics.step_errors += 1
            self._consecutive_errors += 1
            self._recorder.step_failed(error, self._clock.now())
            failure = f"{type(error).__name__}: {error}"
            if self.is_backtest:
                raise SessionRuntimeError(
                    f"the backtest stopped after {self._metrics.steps} bars: {failure}"
                ) from error
            _LOG.warning("step failed (%d in a row): %s", self._consecutive_errors, failure)
            if self._consecutive_errors >= self._config.max_consecutive_errors:
                raise SessionRuntimeError(
                    f"{self._consecutive_errors} steps failed in a row; last: "
                    f"{type(error).__name__}: {error}"
                ) from error
            return None
        self._consecutive_errors = 0
        return step

    def _wait(self, deadline: datetime | None) -> None:
        """Wait until the next bar can be there; after a failed step, a whole poll interval:
        a feed that just gave up its retries is not asked again at once, so an outage of
        minutes costs a few failed steps, not dozens."""
        seconds = self._config.poll_interval_seconds
        next_poll = self._feed.next_poll_delay(self._clock.now())
        if next_poll is not None and not self._consecutive_errors:
            seconds = min(seconds, next_poll)
        if deadline is not None:
            seconds = min(seconds, max(0.0, (deadline - self._clock.now()).total_seconds()))
        self._clock.wait(seconds, self._stop)

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """Within: SIGINT and SIGTERM stop the run gracefully (`shutdown`), whatever it is doing.

        The run methods stop on signals by themselves; a caller that writes a report after the
        run holds this around both, so that a signal arriving then cannot kill the process
        half-way. Signals after the first are logged and ignored: `timeout` and service
        managers send SIGTERM to the process and to its group, so it often comes twice, and an
        interrupt in the middle of a journal transaction or a report would leave it half-done.
        """

        def stop(sig: signal.Signals) -> None:
            if not self._stop.is_set():
                self.shutdown(f"received {sig.name}")
            else:
                _LOG.warning(
                    "%s: already stopping, the run's files are being written (kill -9 ends it "
                    "at once; the journal keeps whole steps)",
                    sig.name,
                )

        with on_stop_signals(stop):
            yield

    def _require_warmup(self, method: str) -> None:
        if not self._warm:
            raise SessionRuntimeError(f"warmup() must be called before {method}")


def _finished(plan: dict[str, Any]) -> str:
    if "steps" in plan:
        return f"processed the {plan['steps']} requested bars"
    if "duration_minutes" in plan:
        return f"ran for the requested {plan['duration_minutes']:.4g} minutes"
    return "stopped"


def _nothing() -> None:
    """Do nothing: the heartbeat of a run no watchdog watches."""
