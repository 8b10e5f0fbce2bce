"""LiveSessionRunner: warm up, then trade closed bars in shadow or testnet mode until told to stop.

`run_n_steps`, `run_for_duration` and `run_forever` share one loop. It waits through the
injected clock on an event that `shutdown()`, SIGINT and SIGTERM set, so every mode stops within
one poll of the feed, with a summary. Every bar, order, denial, fill and SafetyGuard decision
goes to the journal; `resume` rebuilds a run from it after a crash.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import Clock, ManualClock, SystemClock
from peak_trade.core.errors import (
    AuthError,
    ConfigError,
    DataError,
    InvariantError,
    JournalWriteError,
    LiveModeNotAllowedError,
    SessionError,
    SessionRuntimeError,
    SessionSetupError,
    StrategyError,
)
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.ports import CandleFeed, IteratorFeed
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome, QuietRun, TradedBars
from peak_trade.engine.pipeline import ExecutionPipeline, ExecutionResult, ExecutionStatus
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal
from peak_trade.live.risk_limits import TradingStateChanged
from peak_trade.orders.base import OrderExecutionResult, OrderRequest
from peak_trade.portfolio.ledger import RunMarks
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.resume import adopt_limits, replay_journal, resumed_config
from peak_trade.session.settings import settings_changes, trading_settings, with_settings
from peak_trade.session.stop_signals import on_stop_signals
from peak_trade.session.summary import hints, ledger_summary
from peak_trade.session.wiring import assemble, engine_settings
from peak_trade.strategies.base import Strategy

__all__ = [
    "LiveModeNotAllowedError",
    "LiveSessionConfig",
    "LiveSessionMetrics",
    "LiveSessionRunner",
    "SessionRuntimeError",
    "SessionSetupError",
    "engine_settings",
    "settings_changes",
    "trading_settings",
    "with_settings",
]

_LOG = logging.getLogger(__name__)
# How a batch ends when the venue itself refused it (after environment, safety and risk).
_AT_THE_VENUE = frozenset({ExecutionStatus.ERROR, ExecutionStatus.REJECTED})
# Errors that end a session at once: retrying cannot help.
_FATAL = (ConfigError, AuthError, InvariantError, StrategyError, SessionError)
# Called after each bar of a session, and in a backtest after each run of quiet bars and each
# other bar, with the bars processed so far and the last of them.
StepCallback = Callable[[int, Bar], None]
MarksCallback = Callable[[RunMarks, bool], None]


class LiveSessionRunner:
    """Runs one strategy on one symbol through the execution pipeline."""

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
        # A session rides out up to max_consecutive_errors failed steps (a feed or venue can
        # fail for a while); a backtest's data and venue are local, so it stops at the first.
        self._fail_fast = False
        self.stop_reason: str | None = None
        self.on_step_callback = on_step_callback
        self._bar_length = Timeframe(session_config.timeframe).delta
        self._refusals: dict[str, int] = {}  # venue refusals warned of, by kind
        # Per-bar equity (as floats) and whether a position is held, for online statistics.
        self.on_marks: MarksCallback | None = None
        # Called after each run of quiet bars and each other bar, or after each batch the
        # compiled loop traded whole: for a progress display, which needs no single bar.
        self.on_progress: StepCallback | None = None
        # A backtest's clock, moved to the close of each bar once it is done, so the journal
        # stamps each event with the simulated time at which it happened.
        self.bar_clock: ManualClock | None = None
        self._stale_after: float | None = None
        # Journal transactions per step: 1 keeps every step crash-safe (sessions); backtests
        # batch more, since a crashed backtest is simply run again.
        self.commit_every = 1
        self._uncommitted = 0
        # The run methods return every order result of the run. Callers that read the journal
        # or the summary instead (the CLI, backtests, sweeps) turn this off: a run of months
        # or millions of bars would otherwise hold every result in memory.
        self.keep_results = True
        # The run methods stop the run on SIGINT and SIGTERM. A sweep's worker turns this off:
        # there the signals are the sweep's, which ends its workers rather than let each
        # backtest stop early and hand back figures for part of its data.
        self.stops_on_signals = True
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

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        session_config: LiveSessionConfig,
        peak_config: PeakConfig | None = None,
        *,
        clock: Clock | None = None,
        journal: Journal | None = None,
        on_step_callback: StepCallback | None = None,
    ) -> LiveSessionRunner:
        """Build strategy, feed, venue, limits and pipeline for `session_config` (no network).

        A journal that already holds a run of the same id is refused: two runs would mix
        their events under one id (`resume` continues a run).
        """
        if session_config.mode == "live":
            raise LiveModeNotAllowedError(
                "from_config refuses mode 'live': Peak Trade never sends real orders"
            )
        run_id = session_config.run_id
        if journal is not None and run_id and journal.count(run_id, "run_started"):
            raise ConfigError(
                f"the journal {journal.path} already holds a run {run_id!r}; choose another "
                f"--run-id or --journal (a session run continues with --resume {run_id})"
            )
        cfg = peak_config or load_config(session_config.config_path)
        runner = cls._assemble(session_config, cfg, clock, journal, on_step_callback)
        if journal is not None:
            runner._recorder.started(
                session_config.to_dict() | {"run_id": runner.run_id},
                runner._clock.now(),
                trading_settings(cfg, session_config.strategy_key),
            )
        return runner

    @classmethod
    def _assemble(
        cls,
        session_config: LiveSessionConfig,
        cfg: PeakConfig,
        clock: Clock | None,
        journal: Journal | None,
        on_step_callback: StepCallback | None = None,
    ) -> LiveSessionRunner:
        clock = clock or SystemClock()
        engine, feed = assemble(session_config, cfg, clock)
        runner = cls(
            session_config,
            engine,
            feed,
            clock=clock,
            journal=journal,
            on_step_callback=on_step_callback,
        )
        runner._stale_after = cfg.exchange.kraken.stale_after_seconds
        return runner

    @classmethod
    def resume(
        cls,
        run_id: str,
        journal: Journal,
        peak_config: PeakConfig | None = None,
        *,
        clock: Clock | None = None,
        data_path: Path | None = None,
    ) -> LiveSessionRunner:
        """Rebuild run `run_id` from its journal: same config, same bars, same fills.

        `data_path` says where a replay run's candle file is now, if it moved; a backtest
        that journaled its bars by reference checks that the file's SHA-256 is unchanged.
        """
        started = journal.run_started(run_id)
        config = resumed_config(run_id, started.payload["config"], data_path)
        cfg = peak_config or load_config(config.config_path)
        then: dict[str, Any] | None = started.payload.get("settings")
        # The run is replayed under the settings it traded with, so an edited config file
        # cannot change its past; journals from before settings were kept use the file's.
        runner = cls._assemble(config, with_settings(cfg, then) if then else cfg, clock, journal)
        runner._recorder.moved_to = data_path
        runner._recorder.claim()  # before the replay: a run still going on elsewhere is refused
        runner._restore()
        if then is not None:
            key, now = config.strategy_key, runner._clock.now()
            adopt_limits(runner._engine, runner._recorder, cfg, then, key, now)
        if runner._recorder.events("data_reference"):  # a backtest goes on as one
            runner.configure_backtest()
        return runner

    @classmethod
    def journaled_state(
        cls, config: LiveSessionConfig, run_id: str, journal: Journal, peak_config: PeakConfig
    ) -> LiveSessionRunner:
        """Rebuild run `run_id` as its journal holds it, writing nothing: what the run was
        after its last whole step (its summary, after the journal could not be written)."""
        then: dict[str, Any] | None = journal.run_started(run_id).payload.get("settings")
        cfg = with_settings(peak_config, then) if then else peak_config
        twin = cls._assemble(replace(config, run_id=run_id), cfg, None, journal)
        twin._metrics = replay_journal(twin._engine, twin._recorder, twin._feed, write=False)
        twin._warm = True
        if twin._recorder.events("data_reference"):
            twin._fail_fast = True  # summed up as the backtest it is
        return twin

    # --- properties ---------------------------------------------------------------------------

    @property
    def config(self) -> LiveSessionConfig:
        """Return the session config."""
        return self._config

    @property
    def metrics(self) -> LiveSessionMetrics:
        """Return the live counters."""
        return self._metrics

    @property
    def is_running(self) -> bool:
        """Return True while a run method is looping."""
        return self._running

    @property
    def is_warmup_done(self) -> bool:
        """Return True once warmup() succeeded."""
        return self._warm

    @property
    def run_id(self) -> str:
        """Return the run's identifier."""
        return self._run_id

    @property
    def strategy(self) -> Strategy[Any]:
        """Return the strategy."""
        return self._engine.strategy

    @property
    def pipeline(self) -> ExecutionPipeline:
        """Return the execution pipeline."""
        return self._engine.pipeline

    @property
    def feed(self) -> CandleFeed:
        """Return the candle feed."""
        return self._feed

    def configure_backtest(
        self, bars_per_transaction: int = 4_096, *, refer_to_data: bool = True
    ) -> None:
        """Tune the run for replaying finite data as fast as it goes.

        Journal transactions hold `bars_per_transaction` bars instead of one (a crashed backtest
        is simply run again), the feed hands over that many bars per poll where it can, and the
        run methods stop collecting order results (the journal and the summary hold them). The
        first failed step ends the run with a SessionRuntimeError: a session rides out a feed's
        or venue's errors, but a backtest's are its own, and would drop the bars of the step.
        With `refer_to_data`, quiet bars of a file or the synthetic market are journaled by
        reference to that data instead of copied (see `recorder`). Call it before `warmup()`
        (`resume` calls it for a backtest it rebuilt, which goes on referring to its data);
        run it with `run_forever()` (until the data ends) or `run_for_duration()`.
        """
        if bars_per_transaction < 1:
            raise ConfigError(f"bars_per_transaction must be >= 1, was {bars_per_transaction}")
        self.keep_results = False
        self._fail_fast = True
        if isinstance(self._feed, IteratorFeed):
            self._feed.bars_per_poll = bars_per_transaction
            self.commit_every = 1
            reference = self._feed.reference
            journaled = self._warm and bool(self._recorder.events("data_reference"))
            if refer_to_data and reference is not None and (journaled or not self._warm):
                decimals = self._engine.price_decimals
                now = self._clock.now()
                self._recorder.refer_to(reference, decimals, now, again=journaled)
        else:
            self.commit_every = bars_per_transaction

    @property
    def is_backtest(self) -> bool:
        """Return True once the run is tuned as a backtest (`configure_backtest`)."""
        return self._fail_fast

    @property
    def engine(self) -> TradingEngine:
        """Return the per-bar engine (ledger, sizing, pipeline)."""
        return self._engine

    @property
    def recorder(self) -> SessionRecorder:
        """Return the journal writer of this run."""
        return self._recorder

    # --- lifecycle ----------------------------------------------------------------------------

    def warmup(self) -> None:
        """Load `warmup_candles` closed bars and show them to the strategy without trading."""
        if self._warm:
            return
        try:
            instrument = self._feed.instrument()
            if instrument is not None:
                self._engine.use_instrument(instrument)
            bars = self._feed.warmup(self._config.warmup_candles)
            self._record_feed_events()  # a hole backfilled or left: journaled with the warmup
            self._check_warmup_length(len(bars))
            self._engine.warm_up(bars)
        except BaseException:
            self._recorder.discard()  # the run never started: no half-written run
            raise
        self._recorder.claim()
        self._recorder.warmup(bars, instrument)
        self._metrics.start_time = self._clock.now()
        self._metrics.last_bar_time = bars[-1].time if bars else None
        self._metrics.update_money(self._engine.ledger, self._engine.symbol)
        self._warm = True
        _LOG.info("warmup: %d bars", len(bars))

    def _check_warmup_length(self, got: int) -> None:
        """Refuse a warmup that came back shorter than asked for and than the strategy needs
        before it can act."""
        needed = self._engine.strategy.required_bars
        if got < self._config.warmup_candles and got < needed:
            raise DataError(
                f"the warmup got {got} {self._feed.symbol} bars, but {self._config.strategy_key} "
                f"needs {needed} before it can act; give the feed more history"
            )

    def step_once(self) -> list[OrderExecutionResult] | None:
        """Poll the feed once and trade every new closed bar; None when no bar arrived."""
        self._require_warmup("step_once()")
        feed = self._feed
        try:
            batch = feed.poll_columns() if isinstance(feed, IteratorFeed) else feed.poll()
        finally:  # judged by the clock, whether the poll brought bars, none or an error
            self._metrics.polls += 1
            self._record_feed_events()
            self._check_staleness()
        engine, metrics, recorder = self._engine, self._metrics, self._recorder
        risk = engine.pipeline.risk_limits
        if risk is not None:  # changes made between polls (an operator's) come before the bars
            self._record_states(risk.events)
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
            self._record_states(risk.events)
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
        ledger, symbol = self._engine.ledger, self._engine.symbol
        if isinstance(item, TradedBars):
            metrics.record_traded(item)
            clocked = self.bar_clock is not None
            recorder.traded(item, int(self._bar_length.total_seconds()) if clocked else None)
            self._progressed(item.columns, item.stop - 1)
            return None
        if isinstance(item, QuietRun):
            metrics.record_quiet(item)
            recorder.quiet_run(item, ledger, symbol)
            self._progressed(item.columns, item.stop - 1)
        else:
            metrics.record(item)
            recorder.outcome(item, ledger, symbol)
            if item.result is not None and item.result.status in _AT_THE_VENUE:
                self._warn_refused(item.decision.orders, item.result)
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
        engine = self._engine
        if self.on_marks is not None:
            marks = item.marks if isinstance(item, QuietRun) else engine.current_marks()
            self.on_marks(marks, engine.ledger.position(engine.symbol) != 0)
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
                f"{self._feed.bars_per_poll} bars per poll (configure_backtest); use run_forever()"
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
        state = risk.state.value if risk is not None else "active"
        return {
            "run_id": self._run_id,
            "config": self._config.to_dict(),
            "metrics": self._metrics.to_dict(),
            "pipeline_summary": self._engine.pipeline.get_execution_summary(),
            "ledger": ledger_summary(self._engine.ledger, self._engine.symbol),
            "trading_state": state,
            "stop_reason": self.stop_reason,
            "hints": hints(
                self._metrics,
                self._engine.strategy.required_bars,
                self._config.warmup_candles,
                state,
            ),
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
        except _FATAL:
            raise
        except Exception as error:
            self._metrics.step_errors += 1
            self._consecutive_errors += 1
            self._recorder.step_failed(error, self._clock.now())
            failure = f"{type(error).__name__}: {error}"
            if self._fail_fast:
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

    def _warn_refused(self, orders: Sequence[OrderRequest], result: ExecutionResult) -> None:
        """Warn of orders the venue rejected or failed on, as they happen: they are planned
        again on the next bar, and a session's operator should not learn of them only from
        its summary. The same refusal (its text, amounts aside) is warned of its first three
        times, then at its 10th, 100th, 1000th, ... time with the count: a backtest whose
        every bar is refused must not bury the terminal (the summary counts them all)."""
        kind = _AMOUNTS.sub("#", result.reason or "")
        seen = self._refusals[kind] = self._refusals.get(kind, 0) + 1
        if seen > 3 and not _is_power_of_ten(seen):
            return
        failed = "failed" if result.status is ExecutionStatus.ERROR else "was rejected"
        again = f" ({seen:,} times so far)" if seen > 3 else ""
        _LOG.warning(
            "%s: order %s %s at the venue: %s%s",
            self._run_id,
            ", ".join(order.client_id for order in orders),
            failed,
            result.reason,
            again,
        )

    def _record_feed_events(self) -> None:
        for event in self._feed.drain_events():
            self._metrics.count_feed_event(event.kind)
            self._recorder.feed_event(event.kind, event.detail, event.ts)
            _LOG.warning("feed %s: %s", event.kind, event.detail)

    def _record_states(self, events: Sequence[TradingStateChanged]) -> None:
        """Journal the trading-state changes not written yet, and warn of each."""
        for event in self._recorder.trading_states(events):
            _LOG.warning(
                "%s: trading state %s → %s at the bar of %s: %s",
                self._run_id,
                event.previous.value,
                event.state.value,
                event.ts.isoformat(),
                event.reason,
            )

    def _check_staleness(self) -> None:
        """Go reduce-only while the next candle is overdue by more than stale_after_seconds,
        and back once candles come again."""
        limit = self._stale_after
        risk = self._engine.pipeline.risk_limits
        if limit is None or risk is None:
            return
        now = self._clock.now()
        late = self._feed.stale_for(now)
        if late > limit:
            risk.feed_stale(late, limit, now)
        else:
            risk.feed_fresh(now)
        self._record_states(risk.events)

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

    def _restore(self) -> None:
        self._metrics = replay_journal(self._engine, self._recorder, self._feed)
        self._metrics.start_time = self._clock.now()
        self._warm = True
        self._recorder.resumed(self._metrics.steps, self._clock.now())
        _LOG.info("resumed %s after %d bars", self._run_id, self._metrics.steps)


_AMOUNTS = re.compile(r"[0-9][0-9.,]*")


def _is_power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1


def _finished(plan: dict[str, Any]) -> str:
    if "steps" in plan:
        return f"processed the {plan['steps']} requested bars"
    if "duration_minutes" in plan:
        return f"ran for the requested {plan['duration_minutes']:.4g} minutes"
    return "stopped"
