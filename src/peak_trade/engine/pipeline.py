"""ExecutionPipeline: every order passes environment -> safety -> risk -> venue, in that order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

from peak_trade.core.errors import AuthError, InvariantError, OrderRejectedError, VenueError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.money import ZERO, plain
from peak_trade.core.types import Bar
from peak_trade.live.risk_limits import LiveRiskLimits, RiskCheckResult
from peak_trade.live.risk_rules import ProposedTrade
from peak_trade.live.safety import SafetyDecision, SafetyGuard
from peak_trade.orders.base import (
    Order,
    OrderExecutionResult,
    OrderRequest,
    OrderStatus,
)
from peak_trade.orders.ports import Venue
from peak_trade.portfolio.account import AccountSnapshot

__all__ = [
    "ExecutionContext",
    "ExecutionPipeline",
    "ExecutionResult",
    "ExecutionStatus",
    "risk_reasons",
]


class ExecutionStatus(StrEnum):
    """How a batch of orders ended."""

    SUCCESS = "success"
    BLOCKED_BY_ENVIRONMENT = "blocked_by_environment"
    BLOCKED_BY_SAFETY = "blocked_by_safety"
    BLOCKED_BY_RISK = "blocked_by_risk"
    REJECTED = "rejected"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """What the stages need to know: the decision bar, the account and reference prices."""

    bar: Bar
    account: AccountSnapshot
    prices: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """The outcome of one `execute_with_safety` call."""

    status: ExecutionStatus
    reasons: tuple[str, ...] = ()
    risk_check: RiskCheckResult | None = None
    safety: SafetyDecision | None = None
    executed: tuple[OrderExecutionResult, ...] = ()

    @property
    def rejected(self) -> bool:
        """Return True unless the batch reached the venue and was accepted."""
        return self.status is not ExecutionStatus.SUCCESS

    @property
    def reason(self) -> str | None:
        """Return the first reason, if any."""
        return self.reasons[0] if self.reasons else None

    @property
    def executed_orders(self) -> tuple[OrderExecutionResult, ...]:
        """Return the venue's results (the original's name)."""
        return self.executed


@dataclass(slots=True)
class _Summary:
    total_orders: int = 0
    filled_orders: int = 0
    rejected_orders: int = 0
    total_notional: Decimal = ZERO
    total_fees: Decimal = ZERO


KEEP_FINISHED = 1_000
_Stage = Callable[[list[OrderRequest], ExecutionContext], ExecutionResult | None]
# the method that runs each stage named in ExecutionPipeline.STAGES
_STAGE_METHODS: Final = {
    "environment": "_check_environment",
    "safety": "_check_safety",
    "risk": "_check_risk",
    "venue": "_send",
}


@dataclass
class ExecutionPipeline:
    """Runs the safety layers in order and keeps each order's status in the state table."""

    venue: Venue
    environment: TradingEnvironment
    safety_guard: SafetyGuard
    risk_limits: LiveRiskLimits | None = None
    # Open orders always; finished ones only for the last `KEEP_FINISHED` (the journal holds
    # all of them), so memory does not grow with the length of a run.
    orders: dict[str, Order] = field(default_factory=dict)
    history: deque[OrderExecutionResult] = field(
        default_factory=lambda: deque(maxlen=KEEP_FINISHED)
    )
    _finished: deque[str] = field(default_factory=deque)
    _summary: _Summary = field(default_factory=_Summary)

    _risk_check: RiskCheckResult | None = None

    # The order of the safety layers, in one place.
    STAGES: tuple[str, ...] = ("environment", "safety", "risk", "venue")

    def _stage(self, name: str) -> _Stage:
        stage: _Stage = getattr(self, _STAGE_METHODS[name])
        return stage

    def execute_with_safety(
        self, orders: Sequence[OrderRequest], context: ExecutionContext
    ) -> ExecutionResult:
        """Pass `orders` through environment, safety, risk and venue; stop at the first block."""
        batch = list(orders)
        if not batch:
            return ExecutionResult(ExecutionStatus.SUCCESS)
        for order in batch:
            self._take_in(order)
        self._risk_check = None
        for name in self.STAGES:
            result = self._stage(name)(batch, context)
            if result is not None:
                return self._finish(batch, result)
        raise InvariantError("the venue stage returned no result")

    def _take_in(self, order: OrderRequest) -> Order:
        """Add a new order to the state table; its client id must be new."""
        if order.client_id in self.orders:
            raise ValueError(f"client_id {order.client_id} was used before")
        self.orders[order.client_id] = Order(order)
        return self.orders[order.client_id]

    def _finish(self, batch: list[OrderRequest], result: ExecutionResult) -> ExecutionResult:
        if result.status is not ExecutionStatus.SUCCESS and not result.executed:
            for order in batch:
                if self.orders[order.client_id].status is OrderStatus.NEW:
                    self.orders[order.client_id].transition(OrderStatus.REJECTED, result.reason)
                    self._retire(order.client_id)
        return ExecutionResult(
            result.status, result.reasons, self._risk_check, result.safety, result.executed
        )

    def process_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Let the venue work its queued orders against a new bar; record what happened."""
        if not self.venue.pending:
            return []
        results = self.venue.on_bar(bar)
        for result in results:
            self._record(result)
        return results

    def track_sent(self, results: Sequence[OrderExecutionResult]) -> None:
        """Take orders that passed every stage elsewhere (the compiled backtest loop) into the
        state table, with what the venue did with them: as `execute_with_safety` would."""
        for result in results:
            order = result.request
            self._take_in(order).transition(OrderStatus.SUBMITTED)
            self._record(result)

    def track_filled(self, result: OrderExecutionResult) -> None:
        """Take the fill of a queued order worked out elsewhere, as `process_bar` would."""
        self._record(result)

    def track_refused(self, order: OrderRequest, check: RiskCheckResult) -> ExecutionResult:
        """Take an order the risk layer refused elsewhere (the compiled backtest loop, in a
        REDUCING state) into the state table, and return the pipeline's result for it, as
        `execute_with_safety` would."""
        result = ExecutionResult(ExecutionStatus.BLOCKED_BY_RISK, risk_reasons(check))
        self._take_in(order)
        self._risk_check = check
        return self._finish([order], result)

    def count_filled(self, count: int, notional: Decimal, fees: Decimal) -> None:
        """Count `count` filled orders worked out elsewhere (the compiled backtest loop, whose
        orders the state table does not hold) with their notional and fees summed."""
        s = self._summary
        s.total_orders += count
        s.filled_orders += count
        s.total_notional += notional
        s.total_fees += fees

    @property
    def fill_totals(self) -> tuple[Decimal, Decimal]:
        """Return the notional and the fees of every fill counted so far."""
        return self._summary.total_notional, self._summary.total_fees

    def get_execution_summary(self) -> dict[str, object]:
        """Return counts and totals over the orders that reached the venue."""
        s = self._summary
        return {
            "total_orders": s.total_orders,
            "filled_orders": s.filled_orders,
            "rejected_orders": s.rejected_orders,
            "fill_rate": s.filled_orders / s.total_orders if s.total_orders else 0.0,
            "total_notional": plain(s.total_notional),
            "total_fees": plain(s.total_fees),
        }

    # --- stages -------------------------------------------------------------------------------

    def _check_environment(
        self, orders: list[OrderRequest], context: ExecutionContext
    ) -> ExecutionResult | None:
        if self.environment is TradingEnvironment.LIVE:
            return ExecutionResult(
                ExecutionStatus.BLOCKED_BY_ENVIRONMENT,
                ("environment: live trading is blocked in Peak Trade",),
            )
        return None

    def _check_safety(
        self, orders: list[OrderRequest], context: ExecutionContext
    ) -> ExecutionResult | None:
        detail = ", ".join(order.client_id for order in orders)
        decision = self.safety_guard.check(self.venue.venue_action, context.bar.time, detail)
        if not decision.allowed:
            return ExecutionResult(
                ExecutionStatus.BLOCKED_BY_SAFETY, (f"safety: {decision.reason}",), safety=decision
            )
        return None

    def _check_risk(
        self, orders: list[OrderRequest], context: ExecutionContext
    ) -> ExecutionResult | None:
        if self.risk_limits is None:
            return None
        trades = [
            ProposedTrade(
                order.symbol,
                order.signed_quantity,
                order.limit_price or context.prices.get(order.symbol),
                order.client_id,
            )
            for order in orders
        ]
        check = self.risk_limits.check_orders(trades, context.account, context.bar.time)
        self._risk_check = check
        if not check.allowed:
            return ExecutionResult(ExecutionStatus.BLOCKED_BY_RISK, risk_reasons(check))
        return None

    def _send(self, orders: list[OrderRequest], context: ExecutionContext) -> ExecutionResult:
        try:
            results = self.venue.submit(orders, context.bar)
        except AuthError:
            for order in orders:
                self.orders[order.client_id].transition(OrderStatus.REJECTED, "auth error")
            raise
        except OrderRejectedError as error:
            return ExecutionResult(ExecutionStatus.REJECTED, (f"venue: {error}",))
        except VenueError as error:
            return ExecutionResult(ExecutionStatus.ERROR, (f"venue: {error}",))
        for order in orders:
            self.orders[order.client_id].transition(OrderStatus.SUBMITTED)
        for result in results:
            self._record(result)
        rejected = [r for r in results if r.is_rejected]
        if rejected and len(rejected) == len(results):
            reasons = tuple(f"venue: {r.reason}" for r in rejected)
            return ExecutionResult(ExecutionStatus.REJECTED, reasons, executed=tuple(results))
        return ExecutionResult(ExecutionStatus.SUCCESS, executed=tuple(results))

    def _retire(self, client_id: str) -> None:
        self._finished.append(client_id)
        if len(self._finished) > KEEP_FINISHED:
            self.orders.pop(self._finished.popleft(), None)

    def _record(self, result: OrderExecutionResult) -> None:
        order = self.orders[result.request.client_id]
        if result.status is not OrderStatus.SUBMITTED:
            order.transition(result.status, result.reason)
            if not order.is_open:
                self._retire(result.request.client_id)
        if result.status in (OrderStatus.SUBMITTED, OrderStatus.VALIDATED):
            return  # not final yet: the fill (or rejection) follows
        self.history.append(result)
        s = self._summary
        s.total_orders += 1
        if result.fill is not None:
            s.filled_orders += 1
            s.total_notional += result.fill.notional
            s.total_fees += result.fill.fee
        elif result.is_rejected:
            s.rejected_orders += 1


def risk_reasons(check: RiskCheckResult) -> tuple[str, ...]:
    """Return the reasons a risk check refused a batch for, as the pipeline words them."""
    return tuple(f"risk: {reason}" for reason in check.reasons)
