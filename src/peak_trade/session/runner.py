"""LiveSessionRunner: warm up, then trade closed bars in shadow or testnet mode until told to stop.

The loop itself is `stepping.SessionLoop`; here is how a run is built from its config
(`from_config`), rebuilt from its journal (`resume`, `journaled_state`), warmed up and looked
at. A backtest is the same run driven otherwise: `backtest.runner.BacktestRunner`. Every bar,
order, denial, fill and SafetyGuard decision goes to the journal; `resume` rebuilds a run
from it after a crash.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

from peak_trade.core.clock import Clock, SystemClock
from peak_trade.core.errors import (
    ConfigError,
    DataError,
    LiveModeNotAllowedError,
)
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.data.ports import CandleFeed
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.pipeline import ExecutionPipeline
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.journal.store import Journal
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.resume import adopt_limits, replay_journal, resumed_config
from peak_trade.session.settings import trading_settings, with_settings
from peak_trade.session.stepping import SessionLoop, StepCallback
from peak_trade.session.wiring import assemble
from peak_trade.strategies.base import Strategy

__all__ = ["LiveSessionRunner"]

_LOG = logging.getLogger(__name__)


class LiveSessionRunner(SessionLoop):
    """Runs one strategy on one symbol through the execution pipeline."""

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
    ) -> Self:
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
    ) -> Self:
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
        runner._watch.stale_after = cfg.exchange.kraken.stale_after_seconds
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
    ) -> Self:
        """Rebuild run `run_id` from its journal: same config, same bars, same fills.

        `data_path` says where a replay run's candle file is now, if it moved. A backtest's
        run (its journal refers to its data) is resumed by `backtest.runner.BacktestRunner`.
        """
        started = journal.run_started(run_id)
        if journal.count(run_id, "data_reference") and not cls.is_backtest:
            raise ConfigError(
                f"run {run_id} is a backtest; resume it as one (BacktestRunner.resume, or "
                "peak-trade session --resume, which picks the kind from the journal)"
            )
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
        runner.replayed()
        return runner

    def replayed(self) -> None:
        """Called by `resume` once the journal is replayed, before the run goes on: a kind of
        run that is driven otherwise sets itself up again here (a session needs nothing)."""

    @classmethod
    def journaled_state(
        cls, config: LiveSessionConfig, run_id: str, journal: Journal, peak_config: PeakConfig
    ) -> Self:
        """Rebuild run `run_id` as its journal holds it, writing nothing: what the run was
        after its last whole step (its summary, after the journal could not be written)."""
        then: dict[str, Any] | None = journal.run_started(run_id).payload.get("settings")
        cfg = with_settings(peak_config, then) if then else peak_config
        twin = cls._assemble(replace(config, run_id=run_id), cfg, None, journal)
        twin._metrics = replay_journal(twin._engine, twin._recorder, twin._feed, write=False)
        twin._warm = True
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
            self._watch.feed_events(
                self._metrics
            )  # a hole backfilled or left: journaled with the warmup
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

    def _restore(self) -> None:
        self._metrics = replay_journal(self._engine, self._recorder, self._feed)
        self._metrics.start_time = self._clock.now()
        self._warm = True
        self._recorder.resumed(self._metrics.steps, self._clock.now())
        _LOG.info("resumed %s after %d bars", self._run_id, self._metrics.steps)
