"""LiveSessionMetrics: counters of a session, updated from each bar's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from peak_trade.compiled.layout import (
    E_FILL_LOTS,
    E_ORDER_DENIED,
    E_ORDER_LOTS,
    E_PREVIOUS,
    E_TARGET,
)
from peak_trade.core.money import ZERO, plain
from peak_trade.engine.outcomes import BarOutcome, QuietRun, TradedBars
from peak_trade.engine.pipeline import ExecutionResult, ExecutionStatus, risk_reasons
from peak_trade.live.risk_limits import REDUCING_REFUSAL
from peak_trade.orders.base import OrderStatus
from peak_trade.portfolio.ledger import Ledger

__all__ = ["LiveSessionMetrics"]

_BLOCK_COUNTERS = {
    ExecutionStatus.BLOCKED_BY_RISK: "orders_blocked_risk",
    ExecutionStatus.BLOCKED_BY_SAFETY: "orders_blocked_safety",
    ExecutionStatus.BLOCKED_BY_ENVIRONMENT: "orders_blocked_environment",
    ExecutionStatus.ERROR: "orders_error",
}


@dataclass
class LiveSessionMetrics:
    """What a session did. `steps` counts closed bars processed; `polls` counts feed calls.

    The counters are current after every bar; the money figures (position, fees, PnL, equity,
    drawdown) after every poll, which in a session is every bar.
    """

    steps: int = 0
    polls: int = 0
    start_time: datetime | None = None
    last_bar_time: datetime | None = None
    total_orders_generated: int = 0
    orders_executed: int = 0
    orders_validated: int = 0  # testnet: orders Kraken validated (validate=true, not placed)
    orders_rejected: int = 0
    orders_blocked_risk: int = 0
    orders_blocked_safety: int = 0
    orders_blocked_environment: int = 0
    orders_error: int = 0
    orders_skipped: int = 0
    target_changes: int = 0
    step_errors: int = 0
    current_position: Decimal = ZERO
    last_signal: int = 0
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    equity: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    max_drawdown_pct: Decimal = ZERO
    denials_by_rule: dict[str, int] = field(default_factory=dict)
    skips_by_reason: dict[str, int] = field(default_factory=dict)
    feed_events: dict[str, int] = field(default_factory=dict)
    last_denial: str | None = None
    last_skip: str | None = None

    @property
    def fill_rate(self) -> float:
        """Return filled orders / generated orders (0 when none were generated)."""
        if not self.total_orders_generated:
            return 0.0
        return self.orders_executed / self.total_orders_generated

    @property
    def orders_blocked(self) -> int:
        """Return the orders stopped before the venue, for any reason."""
        return (
            self.orders_blocked_risk + self.orders_blocked_safety + self.orders_blocked_environment
        )

    def record(self, outcome: BarOutcome) -> None:
        """Count one processed bar; the money figures are left to `update_money`."""
        self._count_bars(1, outcome.bar.time, outcome.target)
        self.target_changes += outcome.target_changed
        decision = outcome.decision
        if decision.reason is not None and not decision.orders:
            self.orders_skipped += 1
            self.last_skip = decision.reason
            _bump(self.skips_by_reason, decision.code or "other")
        result = outcome.result
        if result is not None:
            self.total_orders_generated += len(outcome.decision.orders)
            counter = _BLOCK_COUNTERS.get(result.status)
            if counter is not None and not result.executed:
                setattr(self, counter, getattr(self, counter) + len(outcome.decision.orders))
                self.last_denial = result.reason
                for rule in _rules(result):
                    _bump(self.denials_by_rule, rule)
        for venue_result in outcome.venue_results:
            if venue_result.status is OrderStatus.FILLED:
                self.orders_executed += 1
            elif venue_result.status is OrderStatus.VALIDATED:
                self.orders_validated += 1
            elif venue_result.status is OrderStatus.REJECTED:
                self.orders_rejected += 1
                self.last_denial = f"venue: {venue_result.reason}"
                reason = (venue_result.reason or "unknown").split(":")[0]
                _bump(self.denials_by_rule, f"venue:{reason}")

    def record_quiet(self, run: QuietRun) -> None:
        """Count a run of bars on which only the marks changed (see TradingEngine).

        The money figures are left to `update_money`, and the time of the run's last bar to
        `quiet_until`, which the runner calls once per poll. `record` counts the rest of a bar
        on which more happened.
        """
        self.steps += len(run)
        self.last_signal = run.target

    def record_traded(self, block: TradedBars) -> None:
        """Count a batch the compiled loop traded, as `record_quiet` and `record` count its
        runs of quiet bars and its traded bars (every order it sent was filled or queued)."""
        events, quiet = block.events, block.quiet
        self.steps += len(events) + int((quiet[:, 1] - quiet[:, 0]).sum())
        self.last_signal = block.last_target
        self.target_changes += int(np.count_nonzero(events[:, E_TARGET] != events[:, E_PREVIOUS]))
        self.total_orders_generated += int(np.count_nonzero(events[:, E_ORDER_LOTS]))
        self.orders_executed += int(np.count_nonzero(events[:, E_FILL_LOTS]))
        refused = int(np.count_nonzero(events[:, E_ORDER_DENIED]))
        if refused:  # by the REDUCING state, as `record` counts each
            self.orders_blocked_risk += refused
            self.last_denial = risk_reasons(REDUCING_REFUSAL)[0]
            for denial in REDUCING_REFUSAL.denials:
                _bump(self.denials_by_rule, f"risk:{denial.rule}", refused)
        if len(events) or len(quiet):
            self.last_bar_time = block.columns.time(block.stop - 1)

    def quiet_until(self, run: QuietRun) -> None:
        """Note the time of the last bar of `run`, the last a poll processed."""
        self.last_bar_time = run.columns.time(run.stop - 1)

    def _count_bars(self, bars: int, last_bar_time: datetime, target: int) -> None:
        self.steps += bars
        self.last_bar_time = last_bar_time
        self.last_signal = target

    def count_feed_event(self, kind: str) -> None:
        """Count a feed retry, backfill, gap or error."""
        _bump(self.feed_events, kind)

    def update_money(self, ledger: Ledger, symbol: str) -> None:
        """Copy the ledger's figures."""
        self.current_position = ledger.position(symbol)
        self.fees = ledger.fees_paid
        self.realized_pnl = ledger.realized_pnl
        self.unrealized_pnl = ledger.unrealized_pnl
        self.equity = ledger.equity
        self.max_drawdown = ledger.max_drawdown
        self.max_drawdown_pct = ledger.max_drawdown_pct

    def to_dict(self) -> dict[str, Any]:
        """Return every counter; times as ISO text, money as decimal text in plain notation."""
        data: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
            elif isinstance(value, Decimal):
                data[name] = plain(value)
            elif isinstance(value, dict):
                data[name] = dict(value)
            else:
                data[name] = value
        data["fill_rate"] = self.fill_rate
        data["orders_blocked"] = self.orders_blocked
        return data


def _rules(result: ExecutionResult) -> list[str]:
    """Return stable names for what blocked a batch: the risk rules, or the stage."""
    if result.risk_check is not None and result.risk_check.denials:
        return [f"risk:{denial.rule}" for denial in result.risk_check.denials]
    return [result.status.value.removeprefix("blocked_by_")]


def _bump(counts: dict[str, int], key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by
