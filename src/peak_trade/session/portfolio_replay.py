"""Rebuilding a portfolio run from its journal: every leg's bars traded again, nothing written.

The legs' journaled bars are traded bar time by bar time, in time order, then leg order, as
the run traded them; each leg's replayed fills must equal its journaled ones. The trading
state goes through the journal's changes: those order checks make by themselves (drawdown,
kill switch) are made again, the others (an operator's) restored before the first bar
journaled after them. Then each feed goes on after its leg's last journaled bar.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import Clock
from peak_trade.core.errors import SessionRuntimeError
from peak_trade.core.legs import Leg
from peak_trade.core.types import Bar
from peak_trade.engine.portfolio import AccountRow, LegOutcome
from peak_trade.journal.bars import (
    BAR_KINDS,
    bar_from_payload,
    bar_rows,
    instrument_from_payload,
)
from peak_trade.journal.recorder import SessionRecorder, fill_payload
from peak_trade.live.risk_limits import LiveRiskLimits, TradingStateChanged
from peak_trade.session.portfolio_columns import ColumnRun, TimeCallback, trade_columns
from peak_trade.session.resume import (
    check_fills,
    journaled_changes,
    restore_written,
    venue_answers,
)

__all__ = ["Replayed", "replay_run"]

_Changes = list[tuple[int, TradingStateChanged]]  # (seq, change)
_CHUNK = 4_096  # bars per leg traded as columns at once, as a backtest polls them


class Replayed(ColumnRun, Protocol):
    """What a replay needs of a portfolio run (`session.portfolio_run.PortfolioRun`), besides
    what trading columns does."""

    run_id: str
    legs: list[Leg]
    recorder: SessionRecorder  # the run's own
    clock: Clock


def replay_run(run: Replayed) -> None:
    """Trade run `run`'s journaled bars again, writing nothing (its `on_time` sees them);
    check each leg's fills against the journal's; move each feed past its leg's last bar."""
    history = _warmups(run)
    states = journaled_changes(run.recorder)
    risk = run.risk
    seqs = [event.seq for event in run.recorder.events("trading_state")]
    pairs = zip(seqs, states, strict=True)
    kept = [(seq, change) for seq, change in pairs if not LiveRiskLimits.rederives(change)]
    replayed: list[list[dict[str, Any]]] = [[] for _ in run.legs]
    with ExitStack() as replaying:
        if risk is not None:
            replaying.enter_context(risk.replaying(states))
        for leg, recorder in zip(run.engine.legs, run.recorders, strict=True):
            replaying.enter_context(leg.pipeline.venue.replaying(venue_answers(recorder)))
        run.engine.warm_up(history)
        for i, shown in history.items():
            run.last_times[i] = shown[-1].time if shown else None
        if kept or not _replay_columns(run, replayed):  # else traded again as columns
            kept = _replay_bars(run, kept, replayed)
        _restore(risk, kept, None)
    for i, recorder in enumerate(run.recorders):
        check_fills(replayed[i], [e.payload for e in recorder.events("fill")], recorder.run_id)
    if risk is not None:
        restore_written(run.recorder, risk, states)
    for feed, last in zip(run.feeds, run.last_times, strict=True):
        if last is not None:
            feed.skip_through(last)
    run.recorder.resumed(run.bar_times, run.clock.now())


def _warmups(run: Replayed) -> dict[int, list[Bar]]:
    """Return each leg's journaled warmup bars, its legs set to the rules they traded by."""
    warmups = [recorder.events("warmup") for recorder in run.recorders]
    if not all(warmups):
        raise SessionRuntimeError(
            f"run {run.run_id} never finished its warmup; start it again instead of resuming"
        )
    for leg, events in zip(run.engine.legs, warmups, strict=True):
        journaled = events[0].payload.get("instrument")
        if journaled is not None:  # the rules the run traded with, as its warmup read them
            leg.use_instrument(instrument_from_payload(journaled))
    return {
        i: [bar_from_payload(row) for row in events[0].payload["bars"]]
        for i, events in enumerate(warmups)
    }


def _replay_bars(run: Replayed, kept: _Changes, replayed: list[list[dict[str, Any]]]) -> _Changes:
    """Trade the journaled bars again bar time by bar time, restoring the kept changes as
    they come; return those journaled after the last bar."""
    for _, group in itertools.groupby(_journaled_bars(run), key=lambda item: item[0]):
        rows = list(group)
        kept = _restore(run.risk, kept, min(seq for *_, seq in rows))
        for item in run.trade({i: bar for _, i, bar, _ in rows}, write=False):
            replayed[item.leg].extend(fill_payload(f) for f in item.outcome.fills)
    return kept


def _replay_columns(run: Replayed, replayed: list[list[dict[str, Any]]]) -> bool:
    """Trade a backtest's journaled bars again as columns, as its column path traded them,
    when every leg's bars have the same times; return False (nothing done) otherwise."""
    if not (run.backtest and run.columns):
        return False
    rows = [list(bar_rows(recorder.events(*BAR_KINDS))) for recorder in run.recorders]
    seconds = [np.array([_epoch(row["t"]) for row in leg], dtype=np.int64) for leg in rows]
    if any(not np.array_equal(times, seconds[0]) for times in seconds[1:]):
        return False
    columns = [
        BarColumns(times, *(np.array([row[k] for row in leg], dtype=np.float64) for k in "ohlcv"))
        for times, leg in zip(seconds, rows, strict=True)
    ]
    shown, run.on_time = run.on_time, _collecting(run.on_time, replayed)
    try:
        for start in range(0, len(seconds[0]), _CHUNK):
            trade_columns(run, [c.slice(start, start + _CHUNK) for c in columns], write=False)
    finally:
        run.on_time = shown
    return True


def _collecting(then: TimeCallback | None, replayed: list[list[dict[str, Any]]]) -> TimeCallback:
    """Return an `on_time` that collects each leg's fills, then calls `then`."""

    def collect(outcomes: list[LegOutcome], row: AccountRow, working: tuple[int, ...]) -> None:
        for item in outcomes:
            replayed[item.leg].extend(fill_payload(f) for f in item.outcome.fills)
        if then is not None:
            then(outcomes, row, working)

    return collect


def _epoch(time: str) -> int:
    return int(datetime.fromisoformat(time).timestamp())


def _restore(risk: LiveRiskLimits | None, kept: _Changes, before: int | None) -> _Changes:
    """Restore the kept changes journaled before seq `before` (None: all); return the rest."""
    done = [change for seq, change in kept if before is None or seq < before]
    for change in done:
        if risk is not None:
            risk.restore(change)
    return kept[len(done) :]


def _journaled_bars(run: Replayed) -> Iterator[tuple[datetime, int, Bar, int]]:
    """Yield every leg's journaled bars, in time order, then leg order, with the seq of the
    event that holds each."""
    return heapq.merge(*(_timed(i, recorder) for i, recorder in enumerate(run.recorders)))


def _timed(leg: int, recorder: SessionRecorder) -> Iterator[tuple[datetime, int, Bar, int]]:
    """Yield a leg's journaled bars keyed by (time, leg), the order they are traded in."""
    for event in recorder.events(*BAR_KINDS):
        for row in bar_rows((event,)):
            bar = bar_from_payload(row)
            yield bar.time, leg, bar, event.seq
