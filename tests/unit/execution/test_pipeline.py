"""ExecutionPipeline: the stages in order, each block with its status and reason."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from peak_trade.core.errors import AuthError, OrderRejectedError, VenueUnavailableError
from peak_trade.core.modes import TradingEnvironment, VenueAction
from peak_trade.engine.pipeline import (
    ExecutionContext,
    ExecutionPipeline,
    ExecutionStatus,
)
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.live.risk_rules import RiskLimitsConfig
from peak_trade.live.safety import SafetyGuard
from peak_trade.orders.base import (
    OrderExecutionResult,
    OrderFill,
    OrderRequest,
    OrderSide,
    OrderStatus,
)
from peak_trade.portfolio.ledger import Ledger
from peak_trade.testing.builders import START, make_bar
from peak_trade.testing.fakes import FakeVenue

D = Decimal
BAR = make_bar(50_000.0)


def _fill(order: OrderRequest, bar: object) -> OrderExecutionResult:
    fill = OrderFill(
        order.client_id,
        order.symbol,
        order.side,
        order.quantity,
        D(50_000),
        D(1),
        "EUR",
        START,
        D(50_000),
    )
    return OrderExecutionResult(order, OrderStatus.FILLED, fill=fill)


def _pipeline(
    venue: FakeVenue,
    env: TradingEnvironment = TradingEnvironment.SHADOW,
    limits: RiskLimitsConfig | None = None,
) -> ExecutionPipeline:
    risk = LiveRiskLimits(limits) if limits is not None else None
    return ExecutionPipeline(venue, env, SafetyGuard(env), risk)


def _context() -> ExecutionContext:
    return ExecutionContext(BAR, Ledger(D(10_000)).snapshot(), {"BTC/EUR": D(50_000)})


def _order(client_id: str = "o1", quantity: str = "0.01") -> OrderRequest:
    return OrderRequest(client_id, "BTC/EUR", OrderSide.BUY, D(quantity))


def test_stages_are_listed_in_order() -> None:
    assert ExecutionPipeline.STAGES == ("environment", "safety", "risk", "venue")


def test_orders_that_pass_every_stage_reach_the_venue_and_fill() -> None:
    venue = FakeVenue(respond=_fill)
    pipeline = _pipeline(venue, limits=RiskLimitsConfig(max_order_notional=D(1000)))
    result = pipeline.execute_with_safety([_order()], _context())
    assert result.status is ExecutionStatus.SUCCESS
    assert not result.rejected
    assert venue.submitted == [_order()]
    assert result.executed[0].fill is not None
    assert result.risk_check is not None
    assert result.risk_check.allowed
    assert pipeline.orders["o1"].status is OrderStatus.FILLED
    assert pipeline.get_execution_summary() == {
        "total_orders": 1,
        "filled_orders": 1,
        "rejected_orders": 0,
        "fill_rate": 1.0,
        "total_notional": "500.00",
        "total_fees": "1",
    }


def test_the_execution_summary_writes_amounts_in_plain_notation() -> None:
    # a fill without a fee: the shadow venue's zero fee is Decimal("0E-10")
    def free(order: OrderRequest, bar: object) -> OrderExecutionResult:
        fill = _fill(order, bar).fill
        assert fill is not None
        return OrderExecutionResult(order, OrderStatus.FILLED, fill=replace(fill, fee=D("0E-10")))

    pipeline = _pipeline(FakeVenue(respond=free))
    pipeline.execute_with_safety([_order(quantity="0.00002")], _context())
    summary = pipeline.get_execution_summary()
    assert (summary["total_notional"], summary["total_fees"]) == ("1.00000", "0.0000000000")


def test_live_environment_is_blocked_before_anything_else() -> None:
    venue = FakeVenue(respond=_fill)
    pipeline = _pipeline(venue, env=TradingEnvironment.LIVE)
    result = pipeline.execute_with_safety([_order()], _context())
    assert result.status is ExecutionStatus.BLOCKED_BY_ENVIRONMENT
    assert result.reasons == ("environment: live trading is blocked in Peak Trade",)
    assert venue.submitted == []
    assert pipeline.orders["o1"].status is OrderStatus.REJECTED


def test_safety_blocks_a_venue_that_would_reach_an_exchange_in_shadow_mode() -> None:
    venue = FakeVenue(venue_action=VenueAction.VALIDATE, respond=_fill)
    result = _pipeline(venue).execute_with_safety([_order()], _context())
    assert result.status is ExecutionStatus.BLOCKED_BY_SAFETY
    assert result.reasons == (
        "safety: validate would reach an exchange, which shadow mode never does",
    )
    assert venue.submitted == []


def test_risk_denial_blocks_with_the_rule_and_never_reaches_the_venue() -> None:
    venue = FakeVenue(respond=_fill)
    pipeline = _pipeline(venue, limits=RiskLimitsConfig(max_order_notional=D(100)))
    result = pipeline.execute_with_safety([_order()], _context())
    assert result.status is ExecutionStatus.BLOCKED_BY_RISK
    assert result.reasons == (
        "risk: max_order_notional: order value 500.00 EUR exceeds the limit 100.00 EUR",
    )
    assert result.risk_check is not None
    assert not result.risk_check.allowed
    assert venue.submitted == []
    assert pipeline.get_execution_summary()["total_orders"] == 0


def test_venue_rejecting_every_order_is_status_rejected() -> None:
    result = _pipeline(FakeVenue()).execute_with_safety([_order()], _context())
    assert result.status is ExecutionStatus.REJECTED
    assert result.reasons == ("venue: scripted",)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (VenueUnavailableError("EService:Unavailable"), ExecutionStatus.ERROR),
        (OrderRejectedError("EOrder:Insufficient funds"), ExecutionStatus.REJECTED),
    ],
)
def test_venue_errors_map_to_statuses(error: Exception, status: ExecutionStatus) -> None:
    pipeline = _pipeline(FakeVenue(error=error))
    result = pipeline.execute_with_safety([_order()], _context())
    assert result.status is status
    assert result.reasons == (f"venue: {error}",)
    assert pipeline.orders["o1"].status is OrderStatus.REJECTED


def test_auth_error_propagates_after_rejecting_the_orders() -> None:
    pipeline = _pipeline(FakeVenue(error=AuthError("EAPI:Invalid key")))
    with pytest.raises(AuthError):
        pipeline.execute_with_safety([_order()], _context())
    assert pipeline.orders["o1"].status is OrderStatus.REJECTED


def test_a_client_id_can_be_used_once() -> None:
    pipeline = _pipeline(FakeVenue(respond=_fill))
    pipeline.execute_with_safety([_order()], _context())
    with pytest.raises(ValueError, match="client_id o1 was used before"):
        pipeline.execute_with_safety([_order()], _context())


def test_empty_batch_does_nothing() -> None:
    venue = FakeVenue()
    result = _pipeline(venue).execute_with_safety([], _context())
    assert result.status is ExecutionStatus.SUCCESS
    assert result.executed == ()
