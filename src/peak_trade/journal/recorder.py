"""What a session writes to its journal, event by event.

Quiet bars (nothing but the marks changed: no target change, no order, no skip, no fill) are
buffered and written as one `bars` event per run of them, copied as packed columns or, in a
backtest, by reference to the data (`refer_to`); `journal_bars` describes both forms and reads
them back. A run of one copied quiet bar is written as an ordinary `bar` event, so a live
session that commits every bar journals plain `bar` events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.types import Bar, Instrument
from peak_trade.data.ports import DataReference
from peak_trade.engine.outcomes import AccountMark, BarOutcome, QuietRun, TradedBars
from peak_trade.journal import bulk_rows as batch_rows
from peak_trade.journal.bars import (
    BAR_KINDS,
    COLUMNS,
    EPOCH,
    MICROSECOND,
    ReferencedBars,
    bar_payload,
    bar_rows,
    instrument_payload,
    referenced_bars,
)
from peak_trade.journal.quiet_runs import QuietBars, ReferencedRun, continues
from peak_trade.journal.schema import payload
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.live.risk_limits import TradingStateChanged
from peak_trade.live.safety import SafetyAuditEntry
from peak_trade.orders.base import OrderFill, OrderRequest, OrderStatus

__all__ = ["MAX_BATCH", "SessionRecorder", "fill_payload"]

# The most quiet bars one copied `bars` event holds.
MAX_BATCH: Final = 4096


def fill_payload(fill: OrderFill) -> dict[str, Any]:
    """Return a fill as journal fields."""
    return payload(
        "fill",
        client_id=fill.client_id,
        side=fill.side,
        quantity=fill.quantity,
        price=fill.price,
        fee=fill.fee,
        market_price=fill.market_price,
    )


def _order_payload(order: OrderRequest) -> dict[str, Any]:
    return payload(
        "order",
        client_id=order.client_id,
        side=order.side,
        quantity=order.quantity,
        reason=order.reason,
        type=order.order_type,
    )


def _bar_row(bar: Bar, target: int, account: AccountMark) -> dict[str, Any]:
    """Return a `bar` row: the bar, the target and the account at its close."""
    return payload(
        "bar",
        **bar_payload(bar),
        target=target,
        cash=account.cash,
        position=account.position,
        equity=account.equity,
        drawdown=account.peak - account.equity,
    )


class SessionRecorder:
    """Turns a session's steps into journal events; does nothing without a journal."""

    def __init__(self, journal: Journal | None, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self._states_written = 0
        self._quiet: QuietBars | None = None
        self._reference: DataReference | None = None
        self._decimals = 0
        self._referenced: ReferencedRun | None = None
        self.moved_to: Path | None = None  # where the data file a journal names is now
        self._buffers = (
            np.empty(MAX_BATCH, dtype="<i8"),
            np.empty((len(COLUMNS), MAX_BATCH), dtype="<f8"),
        )

    @property
    def takes_blocks(self) -> bool:
        """Return True when whole traded batches can be recorded (`traded`): quiet bars are
        journaled by reference to their data, or nothing is journaled."""
        return self.journal is None or self._reference is not None

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Write nothing inside: for replaying bars whose events the journal already holds."""
        journal, self.journal = self.journal, None
        try:
            yield
        finally:
            self.journal = journal

    def refer_to(
        self, reference: DataReference, price_decimals: int, ts: datetime, *, again: bool = False
    ) -> None:
        """Journal runs of quiet bars by reference to `reference`'s data from now on, instead
        of copying them (for a backtest: its file or synthetic market can be read again);
        `again` for a resumed run whose journal names that data already. Without a journal
        there is nothing to refer from, and the data is not identified."""
        if self.journal is None:
            return
        self._reference, self._decimals = reference, price_decimals
        if not again:
            payload = {"source": dict(reference.identify()), "price_decimals": price_decimals}
            self._add("data_reference", ts, payload)

    def _add(self, kind: str, ts: datetime | None, payload: dict[str, Any]) -> None:
        if self.journal is not None:
            if self._quiet is not None or self._referenced is not None:
                self._flush_quiet()
            self.journal.append(self.run_id, kind, ts, payload)

    def _flush_quiet(self, written: str | None = None) -> None:
        """Journal the open run of quiet bars; `written`: the time to stamp it with (ISO text),
        else the journal clock's."""
        referenced, self._referenced = self._referenced, None
        if referenced is not None and self.journal is not None:
            first = EPOCH + referenced.first * MICROSECOND
            payload = referenced.payload_json()
            self.journal.append_json(self.run_id, "bars", first, payload, written=written)
        run, self._quiet = self._quiet, None
        if run is None or self.journal is None:
            return
        if run.size == 1:
            self.journal.append(self.run_id, "bar", run.single["t"], run.single)
        else:
            first = EPOCH + int(run.times[0]) * MICROSECOND
            self.journal.append_json(self.run_id, "bars", first, run.payload_json())

    def quiet_run(self, run: QuietRun) -> None:
        """Record bars on which only the marks changed; runs of them share one event."""
        if self.journal is None:
            return
        cash, position = run.account.cash, run.account.position
        if self._reference is not None:
            self._refer(run, cash, position)
            return
        buffer = self._quiet
        if buffer is not None and not continues(buffer, run.target, cash, position):
            self._flush_quiet()
            buffer = None
        done = 0
        while done < len(run):
            if buffer is None:
                buffer = self._quiet = QuietBars(run.target, cash, position, self._buffers)
            take = min(len(run) - done, MAX_BATCH - buffer.size)
            buffer.add(run, done, done + take)
            done += take
            if buffer.size >= MAX_BATCH:
                self._flush_quiet()
                buffer = None
        if buffer is not None and buffer.size == 1:  # a lone bar is written as a `bar` event
            bar = run.columns.bar(run.stop - 1)
            buffer.single = _bar_row(bar, run.target, run.account)

    def traded(self, block: TradedBars, bar_seconds: int | None) -> None:
        """Record a batch the compiled loop traded: its runs of quiet bars and its traded bars
        with their orders' approvals, orders and fills, as `quiet_run`, `safety` and `outcome`
        record them one by one. With `bar_seconds` (a backtest's clock, moved bar by bar),
        each item's rows are stamped with the close of the bar before it, the first with the
        clock's time now; without, all with the clock's time now."""
        journal = self.journal
        if journal is None:
            return
        if self._reference is None:  # pragma: no cover - the runner asks only with a reference
            raise ValueError("a traded block needs its quiet bars journaled by reference")
        rows = batch_rows.journal_rows(block, self.run_id, journal.now_text(), bar_seconds)
        if rows.first is not None:
            self._refer_bars(block.columns.seconds, rows.first)
        if rows.rows:
            if self._quiet is not None or self._referenced is not None:
                self._flush_quiet(rows.written)
            journal.append_rows(rows.rows)
        if rows.last is not None:
            self._refer_bars(block.columns.seconds, rows.last)

    def _refer(self, run: QuietRun, cash: Decimal, position: Decimal) -> None:
        """Extend the open referenced run by `run`, or start a new one if the state changed."""
        quiet = (run.start, run.stop, run.target, cash, position, run.peak)
        self._refer_bars(run.columns.seconds, quiet)

    def _refer_bars(self, seconds: npt.NDArray[np.int64], quiet: batch_rows.QuietBars) -> None:
        """Extend the open referenced run by the `quiet` bars (rows of bars opening at
        `seconds`), or flush it and start a new one if the state changed."""
        first, stop, target, cash, position, peak = quiet
        open_run = self._referenced
        if open_run is not None and not continues(open_run, target, cash, position):
            self._flush_quiet()
            open_run = None
        if open_run is None:
            open_run = ReferencedRun(target, cash, position, peak, int(seconds[first]))
            self._referenced = open_run
        open_run.add(int(seconds[stop - 1]), stop - first)

    def started(
        self, config: dict[str, Any], ts: datetime, settings: dict[str, Any] | None = None
    ) -> None:
        """Record the run's full config and the config-file settings that decide its trades
        (written with the warmup: a run that never warms up leaves nothing)."""
        payload: dict[str, Any] = {"config": config}
        if settings is not None:
            payload["settings"] = settings
        self._add("run_started", ts, payload)

    def claim(self) -> None:
        """Hold this run for this process (`Journal.claim`); nothing to hold without a journal."""
        if self.journal is not None:
            self.journal.claim(self.run_id)

    def discard(self) -> None:
        """Drop what is queued and not written yet."""
        self._quiet = self._referenced = None
        if self.journal is not None:
            self.journal.discard()

    def plan(self, plan: dict[str, Any], ts: datetime) -> None:
        """Record what a run method was asked to do (steps, duration or forever)."""
        self._add("run_plan", ts, plan)
        self.commit()

    def warmup(self, bars: Sequence[Bar], instrument: Instrument | None = None) -> None:
        """Record the bars shown to the strategy before trading, and the exchange's rules for
        the symbol if the feed read them (a resume trades with those, not today's)."""
        last = bars[-1].time if bars else None
        payload: dict[str, Any] = {"bars": [bar_payload(bar) for bar in bars]}
        if instrument is not None:
            payload["instrument"] = instrument_payload(instrument)
        self._add("warmup", last, payload)
        self.commit()

    def risk_limits(self, live_risk: dict[str, Any], changes: str, ts: datetime) -> None:
        """Record that the run checks orders against other `[live_risk]` limits from here on."""
        self._add("risk_limits", ts, {"live_risk": live_risk, "changes": changes})
        self.commit()

    def resumed(self, bars: int, ts: datetime) -> None:
        """Record that the run was rebuilt from its journal."""
        self._add("run_resumed", ts, {"bars_replayed": bars})
        self.commit()

    def outcome(self, outcome: BarOutcome) -> None:
        """Record one bar and everything that happened on it."""
        if self.journal is None:
            return
        bar = outcome.bar
        self._add("bar", bar.time, _bar_row(bar, outcome.target, outcome.account))
        if outcome.target_changed:
            changed = {"from": outcome.previous_target, "to": outcome.target}
            self._add("target_changed", bar.time, payload("target_changed", **changed))
        decision = outcome.decision
        if decision.reason is not None and not decision.orders:
            self._add("order_skipped", bar.time, {"reason": decision.reason, "code": decision.code})
        for order in decision.orders:
            self._add("order", bar.time, _order_payload(order))
        result = outcome.result
        if result is not None and result.rejected and not result.executed:
            self._add(
                "order_denied",
                bar.time,
                payload(
                    "order_denied",
                    status=result.status,
                    reasons=list(result.reasons),
                    client_ids=[order.client_id for order in decision.orders],
                ),
            )
        for venue_result in outcome.venue_results:
            if venue_result.fill is not None:
                self._add("fill", venue_result.fill.ts_event, fill_payload(venue_result.fill))
            elif venue_result.status is not OrderStatus.SUBMITTED:
                self._add(
                    "order_" + venue_result.status.value,
                    bar.time,
                    {
                        "client_id": venue_result.request.client_id,
                        "reason": venue_result.reason,
                        "detail": venue_result.detail,
                    },
                )

    def safety(self, entry: SafetyAuditEntry) -> None:
        """Record one SafetyGuard decision."""
        if self.journal is None:
            return
        self._add(
            "safety",
            entry.ts,
            payload(
                "safety",
                action=entry.action,
                environment=entry.environment,
                allowed=entry.allowed,
                reason=entry.reason,
                detail=entry.detail,
            ),
        )

    def states_written(self, count: int) -> None:
        """Note that the journal already holds the first `count` trading-state changes."""
        self._states_written = count

    def trading_states(
        self, events: Sequence[TradingStateChanged]
    ) -> Sequence[TradingStateChanged]:
        """Record the trading-state changes not written yet; return them."""
        new = events[self._states_written :]
        for event in new:
            self._add(
                "trading_state",
                event.ts,
                {"from": event.previous, "to": event.state, "reason": event.reason},
            )
        self._states_written = len(events)
        return new

    def operator(self, command: str, source: str, applied: bool, detail: str, ts: datetime) -> None:
        """Record an operator's command (halt, reduce, activate, stop) and whether it applied."""
        payload = {"command": command, "source": source, "applied": applied, "detail": detail}
        self._add("operator", ts, payload)

    def feed_event(self, kind: str, detail: str, ts: datetime) -> None:
        """Record a feed retry, backfill, gap or error."""
        self._add("feed_event", ts, {"kind": kind, "detail": detail})

    def step_failed(self, error: BaseException, ts: datetime) -> None:
        """Record a failed step."""
        self._add("step_failed", ts, {"error": f"{type(error).__name__}: {error}"})
        self.commit()

    def stopped(self, reason: str, status: str, summary: dict[str, Any], ts: datetime) -> None:
        """Record the end of a run method."""
        self._add("run_stopped", ts, {"reason": reason, "status": status, "summary": summary})
        self.commit()

    def queue_quiet(self) -> None:
        """Queue the buffered quiet bars for the journal's next commit, made by another
        recorder of the same journal (a portfolio's legs commit as one transaction)."""
        self._flush_quiet()

    def commit(self) -> None:
        """Write the queued events, buffered quiet bars first."""
        if self.journal is not None:
            self._flush_quiet()
            self.journal.commit()

    def events(self, *kinds: str) -> list[JournalEvent]:
        """Return this run's journaled events of the given kinds."""
        return [] if self.journal is None else list(self.journal.events(self.run_id, *kinds))

    def source(self) -> ReferencedBars | None:
        """Return this run's data, read again, if it journals quiet bars by reference (this
        process's run, or one resumed from a journal that names its data)."""
        if self._reference is not None:
            return ReferencedBars(self._reference.reopen(), self._decimals)
        return referenced_bars(self.events("data_reference"), self.moved_to)

    def bars(self) -> list[dict[str, Any]]:
        """Return this run's committed bars as `bar` payloads, runs of quiet bars expanded."""
        return list(bar_rows(self.events(*BAR_KINDS), self.source()))
