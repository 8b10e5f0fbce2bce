"""Crash-only recovery: rebuild a run by replaying the bars its journal recorded.

The same config and the same bars give the same decisions, so replaying the journaled warmup
and bars through a fresh engine restores the ledger, the strategy's state and any order still
queued for the next bar. The replayed fills must equal the journaled ones, or the journal and
the code disagree and the run is not resumed.

A backtest's runs of quiet bars, journaled by reference to its data, are read from that data
and traded again as columns (`TradingEngine.run_columns`), as the backtest traded them; other
bars are traded one by one.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import (
    ConfigError,
    InvariantError,
    LiveModeNotAllowedError,
    SessionRuntimeError,
)
from peak_trade.core.files import is_file
from peak_trade.core.peak_config import PeakConfig
from peak_trade.data.ports import CandleFeed
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome, QuietRun
from peak_trade.journal.bars import (
    BAR_KINDS,
    ReferencedBars,
    bar_from_payload,
    bar_rows,
    instrument_from_payload,
    is_referenced,
)
from peak_trade.journal.recorder import SessionRecorder, fill_payload
from peak_trade.journal.store import JournalEvent
from peak_trade.live.risk_limits import LiveRiskLimits, TradingState, TradingStateChanged
from peak_trade.orders.base import JournaledAnswer, OrderStatus
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.settings import STRATEGY_FILE, settings_changes, trading_settings
from peak_trade.session.wiring import journaled_limits, limits_from

__all__ = [
    "adopt_limits",
    "check_fills",
    "journaled_changes",
    "replay_journal",
    "restore_written",
    "resumed_config",
    "venue_answers",
]

_LOG = logging.getLogger(__name__)


def replay_journal(
    engine: TradingEngine, recorder: SessionRecorder, feed: CandleFeed, *, write: bool = True
) -> LiveSessionMetrics:
    """Replay a run's journal into `engine`, move `feed` past it, and return the metrics.

    A feed goes on after the last journaled bar (a live feed backfills the bars between, once,
    in order), so no bar is traded twice and none of the run's past is traded again.

    The trading state goes through the changes the journal holds, in order: the ones order
    checks make (drawdown, kill switch) are made again at the same bars, the others (an
    operator's, a stale feed's) are restored where the journal has them; so are the limits an
    earlier resume took from an edited `[live_risk]`. The kill switch reads
    as it did during the run, not as its file is now. The replay writes nothing the journal
    holds already, and nothing at all without `write`.
    """
    warm = next(iter(recorder.events("warmup")), None)
    if warm is None:
        raise SessionRuntimeError(
            f"run {recorder.run_id} never finished its warmup; start it again instead of resuming"
        )
    events = recorder.events(*BAR_KINDS, "trading_state", "risk_limits")
    source = recorder.source()
    states = journaled_changes(recorder)
    fills = [event.payload for event in recorder.events("fill")]
    bars = [bar_from_payload(row) for row in warm.payload["bars"]]
    metrics = LiveSessionMetrics()
    replayed: list[dict[str, Any]] = []
    last = bars[-1].time if bars else None
    risk = engine.pipeline.risk_limits
    journaled = warm.payload.get("instrument")
    instrument = feed.instrument() if journaled is None else instrument_from_payload(journaled)
    if instrument is not None:  # the rules the run traded with, as its warmup read them
        engine.use_instrument(instrument)
    answers = venue_answers(recorder)
    with (
        recorder.muted(),
        risk.replaying(states) if risk is not None else nullcontext(),
        engine.pipeline.venue.replaying(answers),
    ):
        engine.warm_up(bars)
        for event in events:
            if event.kind == "trading_state":
                change = _change(event)
                if risk is not None and not risk.rederives(change):
                    risk.restore(change)
                continue
            if event.kind == "risk_limits":  # an earlier resume took other limits from here on
                if risk is not None:
                    risk.adopt(*journaled_limits(event.payload["live_risk"]))
                continue
            last = _replay_bars(engine, event, source, metrics, replayed, recorder.run_id) or last
    metrics.last_bar_time = last
    metrics.update_money(engine.ledger, engine.symbol)
    check_fills(replayed, fills, recorder.run_id)
    if risk is not None and write:
        restore_written(recorder, risk, states)
    if last is not None:
        feed.skip_through(last)
    return metrics


def resumed_config(
    run_id: str, journaled: dict[str, Any], data_path: Path | None
) -> LiveSessionConfig:
    """Return the session config run `run_id` journaled, its data file moved to `data_path`
    if given; refuse mode 'live', a moved file for a run without one, and a missing file."""
    config = LiveSessionConfig(**journaled)
    if config.mode == "live":
        raise LiveModeNotAllowedError(
            "resume refuses mode 'live': Peak Trade never sends real orders"
        )
    if data_path is not None:
        if config.data_source != "replay":
            raise ConfigError(
                f"--data-path says where a replay run's candle file is now; run {run_id} "
                f"reads {config.data_source} data, not a file"
            )
        return replace(config, data_path=str(data_path))
    if config.data_source == "replay" and not is_file(Path(str(config.data_path))):
        raise ConfigError(
            f"run {run_id} replays {config.data_path}, which is not there now; put the file "
            "back, or say where it is now with --data-path"
        )
    return config


def adopt_limits(
    engine: TradingEngine,
    recorder: SessionRecorder,
    cfg: PeakConfig,
    then: dict[str, Any],
    strategy_key: str,
    ts: datetime,
) -> None:
    """After a resume's replay: check orders against the config's `[live_risk]` from now on
    if it differs from the limits the run had (journaled once); a strategy keeps the
    parameters it started with (`then`: the settings the run journaled when it started)."""
    now = trading_settings(cfg, strategy_key)
    last = [e.payload["live_risk"] for e in recorder.events("risk_limits")]
    limits = last[-1] if last else then["live_risk"]
    risk = engine.pipeline.risk_limits
    if risk is not None and now["live_risk"] != limits:
        changes = settings_changes({"live_risk": limits}, {"live_risk": now["live_risk"]})
        risk.adopt(*limits_from(cfg.live_risk))
        recorder.risk_limits(now["live_risk"], changes, ts)
        _LOG.warning("run %s checks orders against the edited limits: %s", recorder.run_id, changes)
    if then.get(STRATEGY_FILE) and now.get(STRATEGY_FILE) != then[STRATEGY_FILE]:
        _LOG.warning(
            "run %s: its strategy file changed since it started (%s); the rest of the run "
            "trades by the code the file holds now",
            recorder.run_id,
            settings_changes(
                {STRATEGY_FILE: then[STRATEGY_FILE]}, {STRATEGY_FILE: now.get(STRATEGY_FILE)}
            ),
        )
    key = f"strategy.{strategy_key}"
    if now[key] != then[key]:
        _LOG.warning(
            "run %s keeps the strategy parameters it started with; the config's differ: %s",
            recorder.run_id,
            settings_changes({key: then[key]}, {key: now[key]}),
        )


def _replay_bars(
    engine: TradingEngine,
    event: JournalEvent,
    source: ReferencedBars | None,
    metrics: LiveSessionMetrics,
    replayed: list[dict[str, Any]],
    run_id: str,
) -> datetime | None:
    """Trade again the bars of a `bar` or `bars` event; return the time of the last one."""
    if event.kind == "bars" and source is not None and is_referenced(event.payload):
        return _replay_quiet(engine, source.columns(event.payload), metrics, run_id)
    last = None
    for row in bar_rows((event,), source):
        bar = bar_from_payload(row)
        outcome = engine.on_bar(bar)
        metrics.record(outcome)
        replayed.extend(fill_payload(fill) for fill in outcome.fills)
        last = bar.time
    return last


def _replay_quiet(
    engine: TradingEngine, bars: BarColumns, metrics: LiveSessionMetrics, run_id: str
) -> datetime:
    """Trade again, as columns, a run of bars the journal has as quiet; return its last time.

    No trading-state change falls inside such a run: a backtest commits (and so ends its open
    run) after every poll, and the state changes only at a poll's first bar (the kill switch
    is read there) or at a bar that is not quiet. A bar the replay finds busy means the
    journal and the code disagree: the run is not resumed.
    """
    engine.traded_blocks = False
    for item in engine.run_columns(bars):
        if not isinstance(item, QuietRun):
            time = item.bar.time if isinstance(item, BarOutcome) else item.columns.time(0)
            raise InvariantError(
                f"run {run_id}: the replay traded on the bar of {time.isoformat()}, "
                "which the journal has as quiet"
            )
        metrics.record_quiet(item)
    return bars.time(len(bars) - 1)


def venue_answers(recorder: SessionRecorder) -> dict[str, JournaledAnswer]:
    """Return what the exchange answered each of the run's orders: validated if the journal
    says so (the shadow model may reject it after that), else its rejection."""
    answers: dict[str, JournaledAnswer] = {}
    for event in recorder.events("order_validated", "order_rejected"):
        client_id, p = event.payload["client_id"], event.payload
        status = OrderStatus(event.kind.removeprefix("order_"))
        if client_id not in answers or status is OrderStatus.VALIDATED:
            answers[client_id] = JournaledAnswer(status, p.get("reason"), p.get("detail"))
    return answers


def journaled_changes(recorder: SessionRecorder) -> list[TradingStateChanged]:
    """Return the trading-state changes a run's journal holds, in order."""
    return [_change(event) for event in recorder.events("trading_state")]


def restore_written(
    recorder: SessionRecorder, risk: LiveRiskLimits, journaled: list[TradingStateChanged]
) -> None:
    """After a replay, write only the trading-state changes the journal lacks."""
    recorder.states_written(_common_prefix(risk.events, journaled))
    recorder.trading_states(risk.events)
    recorder.commit()


def _change(event: JournalEvent) -> TradingStateChanged:
    p = event.payload
    moment = datetime.fromisoformat(str(event.ts_event))
    return TradingStateChanged(moment, TradingState(p["from"]), TradingState(p["to"]), p["reason"])


def _common_prefix(a: list[TradingStateChanged], b: list[TradingStateChanged]) -> int:
    same = 0
    for x, y in zip(a, b, strict=False):
        if (x.previous, x.state, x.reason) != (y.previous, y.state, y.reason):
            break
        same += 1
    return same


def check_fills(
    replayed: list[dict[str, Any]], journaled: list[dict[str, Any]], run_id: str
) -> None:
    """Refuse a replay whose fills differ from the journal's: the code and the journal
    disagree, and the run is not resumed."""

    def normal(fill: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(fill[key]) for key in ("client_id", "side", "quantity", "price", "fee"))

    for i, (ours, theirs) in enumerate(zip(replayed, journaled, strict=False)):
        if normal(ours) != normal(theirs):
            raise InvariantError(
                f"run {run_id}: replayed fill {i} {normal(ours)} differs from "
                f"the journal's {normal(theirs)}"
            )
    if len(replayed) != len(journaled):
        raise InvariantError(
            f"run {run_id}: replay gave {len(replayed)} fills, the journal holds {len(journaled)}"
        )
