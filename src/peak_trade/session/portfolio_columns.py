"""A portfolio backtest's bars as columns: where every leg's next bars share their times.

The strategies' targets are worked out for the whole batch at once (`column_targets`); each
run of bar times on which every leg is quiet (no order queued, the target kept, the position
in its state) is marked at once (`mark_jointly`, exact) and journaled as one quiet run per
leg; every other bar time is traded by the run one by one, with the targets worked out. Bars
that do not line up wait in the run's buffers, to be traded bar time by bar time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.clock import ManualClock
from peak_trade.core.money import ZERO, price_ticks
from peak_trade.core.types import Bar
from peak_trade.data.ports import CandleFeed, IteratorFeed
from peak_trade.engine.outcomes import QuietRun
from peak_trade.engine.portfolio import AccountRow, LegOutcome, PortfolioEngine, QuietTimes
from peak_trade.engine.targets import checked_target, column_targets
from peak_trade.journal.recorder import SessionRecorder
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.portfolio.joint_marks import mark_jointly

__all__ = ["ColumnRun", "TimeCallback", "aligned_columns", "trade_columns"]

# Called after each bar time with the outcomes that were not quiet, the account at its
# closes and the legs that had a bar then.
TimeCallback = Callable[[list[LegOutcome], AccountRow, tuple[int, ...]], None]


class ColumnRun(Protocol):
    """What trading columns needs of a portfolio run (`session.portfolio_run.PortfolioRun`)."""

    backtest: bool
    columns: bool  # False: bar time by bar time only
    engine: PortfolioEngine
    feeds: list[CandleFeed]
    buffers: list[deque[Bar]]  # each leg's bars polled and not traded yet
    recorders: list[SessionRecorder]
    bar_times: int
    last_bar: Bar | None
    last_times: list[datetime | None]
    bar_clock: ManualClock | None
    bar_length: timedelta
    on_quiet: Callable[[QuietTimes], None] | None
    on_time: TimeCallback | None

    @property
    def risk(self) -> LiveRiskLimits | None:
        """Return the account's risk limits."""
        ...

    def trade(
        self,
        bars: dict[int, Bar],
        targets: dict[int, int] | None = None,
        write: bool = True,
        rows: tuple[list[BarColumns], int] | None = None,
    ) -> list[LegOutcome]:
        """Trade the bars of one time."""
        ...


def aligned_columns(run: ColumnRun) -> list[BarColumns] | None:
    """In a backtest with nothing waiting, return each leg's next bars as columns when
    they are of the same bar times (as far as all legs reach); None otherwise, the
    bars polled then waiting to be traded one bar time at a time."""
    feeds = run.feeds
    if not run.backtest or not run.columns or any(run.buffers):
        return None
    if not all(isinstance(feed, IteratorFeed) for feed in feeds):
        return None
    chunks = [feed.poll_columns() for feed in feeds if isinstance(feed, IteratorFeed)]
    common = min((len(c) for c in chunks if c is not None), default=0)
    first = chunks[0]
    aligned = first is not None and all(
        c is not None and np.array_equal(c.seconds[:common], first.seconds[:common]) for c in chunks
    )
    for buffer, chunk in zip(run.buffers, chunks, strict=True):
        if chunk is not None:  # what is not traded as columns waits
            buffer.extend(chunk.slice(common, len(chunk)).bars() if aligned else chunk.bars())
    if not aligned or common == 0:
        return None
    return [c.slice(0, common) for c in chunks if c is not None]


def trade_columns(run: ColumnRun, chunks: list[BarColumns], write: bool = True) -> int:
    """Trade bar times that every leg has, as columns: the strategies' targets worked out
    for all of them at once, each run of bar times on which every leg is quiet marked at
    once (`mark_jointly`), the others traded one by one; return how many were traded.
    Without `write` nothing is journaled or told (a replay)."""
    legs = run.engine.legs
    pairs = list(zip(legs, chunks, strict=True))
    worked = [column_targets(leg.strategy, chunk) for leg, chunk in pairs]
    targets = [found for found, _ in worked]
    usable = min(len(found) for found in targets)
    ticks = [price_ticks(c.close[:usable], leg.price_decimals) for leg, c in pairs]
    days = chunks[0].seconds[:usable] // 86_400
    changes = sorted({int(r) for t in targets for r in np.flatnonzero(np.diff(t[:usable]))})
    risk = run.risk
    row = 0
    with risk.kill_switch_read_once(chunks[0].time(0)) if risk else nullcontext():
        while row < usable:
            asked = {i: int(t[row]) for i, t in enumerate(targets)}
            if all(leg.is_quiet(asked[i], leg.target, queued=bool(leg.pipeline.venue.pending))
                   for i, leg in enumerate(legs)):  # fmt: skip
                stop = next((c + 1 for c in changes if c + 1 > row), usable)
                _mark_quiet(run, chunks, ticks, days, (row, stop), write)
                row = stop
            else:
                run.trade({i: c.bar(row) for i, c in enumerate(chunks)}, asked, rows=(chunks, row))
                row += 1
    for leg, chunk, (found, failure) in zip(legs, chunks, worked, strict=True):
        if failure is not None and len(found) == usable:  # it failed on the next bar
            checked_target(leg.strategy, chunk.bar(usable), failure)
    return usable


def _mark_quiet(
    run: ColumnRun,
    chunks: list[BarColumns],
    ticks: list[npt.NDArray[np.int64]],
    days: npt.NDArray[np.int64],
    rows: tuple[int, int],
    write: bool,
) -> None:
    """Mark bar times `row` to `stop`, on which every leg is quiet, at once."""
    row, stop = rows
    legs, ledger = run.engine.legs, run.engine.ledger
    peak = ledger.peak_equity
    steps = [leg.rules.instrument.price_step for leg in legs]
    part = [t[row:stop] for t in ticks]
    marks = mark_jointly(ledger, [leg.symbol for leg in legs], part, steps, days[row:stop])
    if marks is None:  # beyond the exact joint range: bar time by bar time
        for k in range(row, stop):
            run.trade({i: c.bar(k) for i, c in enumerate(chunks)}, write=write)
        return
    for leg, chunk, recorder in zip(legs, chunks, run.recorders, strict=True):
        leg.bars_seen += stop - row
        if write:
            recorder.quiet_run(QuietRun(chunk, row, stop, leg.target, marks, peak, leg.account()))
    run.bar_times += stop - row
    run.last_bar = chunks[-1].bar(stop - 1)
    run.last_times = [run.last_bar.time] * len(legs)
    if run.bar_clock is not None:
        run.bar_clock.set(run.last_bar.time + run.bar_length)
    if run.on_quiet is not None:
        positions = tuple(ledger.position(leg.symbol) for leg in legs)
        closes = tuple(np.asarray(c.close[row:stop]) for c in chunks)
        last = tuple(ledger.last_price(leg.symbol) or ZERO for leg in legs)
        seconds = chunks[0].seconds[row:stop]
        quiet = QuietTimes(seconds, marks.equity, marks.drawdown, positions, closes, last)
        run.on_quiet(quiet)
