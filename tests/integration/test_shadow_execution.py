"""Synthetic feed -> ma_crossover -> sizing -> pipeline -> shadow fills, checked to the cent.

The expected fills are computed here independently from the strategy's targets: a market
order decided on bar t fills at bar t+1's open with 5 bps against us, rounded to the tick,
and pays 0.1 % of its notional.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from peak_trade.core.errors import LiveModeNotAllowedError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.money import round_down, round_half_even, round_up, to_decimal
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.data.instruments import offline_instrument
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome
from peak_trade.engine.pipeline import ExecutionStatus
from peak_trade.live.risk_limits import TradingState
from peak_trade.orders.base import OrderFill, OrderSide
from peak_trade.session.wiring import EngineSettings, build_engine
from peak_trade.strategies.registry import create_strategy_from_config

D = Decimal
BTC = offline_instrument("BTC/EUR")
WARMUP = 200
BARS = list(SyntheticMarket(seed=7, bars=3_000))
TICK = BTC.price_step


@dataclass(frozen=True)
class ExpectedFill:
    ts: datetime
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal


def _engine(live_risk: dict[str, Any]) -> TradingEngine:
    cfg = PeakConfig.from_mapping({"live_risk": live_risk})
    settings = EngineSettings(TradingEnvironment.SHADOW, BTC, D(10_000), D("0.1"), D("0.001"), D(5))
    return build_engine(create_strategy_from_config("ma_crossover", cfg), settings, cfg)


def _run(engine: TradingEngine) -> list[BarOutcome]:
    engine.warm_up(BARS[:WARMUP])
    return [engine.on_bar(bar) for bar in BARS[WARMUP:]]


def _targets() -> list[int]:
    frame = pd.DataFrame(
        [{"open": b.open, "high": b.high, "low": b.low, "close": b.close} for b in BARS]
    )
    strategy = create_strategy_from_config("ma_crossover", PeakConfig.default())
    return [int(t) for t in strategy.generate_signals(frame)]


def _expected_fills(bars: list[Bar], targets: list[int]) -> tuple[list[ExpectedFill], D, D]:
    cash, position = D(10_000), D(0)
    pending: tuple[OrderSide, Decimal] | None = None
    fills: list[ExpectedFill] = []
    for i in range(WARMUP, len(bars)):
        bar = bars[i]
        if pending is not None:
            side, quantity = pending
            market = round_half_even(to_decimal(bar.open), TICK)
            if side is OrderSide.BUY:
                price = round_up(market * D("1.0005"), TICK)
            else:
                price = round_down(market * D("0.9995"), TICK)
            fee = quantity * price * D("0.001")
            cash -= side.sign * quantity * price + fee
            position += side.sign * quantity
            fills.append(ExpectedFill(bar.time, side, quantity, price, fee))
            pending = None
        close = round_half_even(to_decimal(bar.close), TICK)
        equity = cash + position * close
        if targets[i] == 1 and position == 0:
            affordable = cash / (close * D("1.0005") * D("1.001"))
            pending = (
                OrderSide.BUY,
                round_down(min(D("0.1") * equity / close, affordable), BTC.lot_step),
            )
        elif targets[i] == 0 and position > 0:
            pending = (OrderSide.SELL, position)
    return fills, cash, position


def _fills(outcomes: list[BarOutcome]) -> list[OrderFill]:
    return [fill for outcome in outcomes for fill in outcome.fills]


def test_shadow_session_fills_every_crossover_at_the_expected_price_and_fee() -> None:
    # Arrange
    engine = _engine({"max_order_notional": 5000.0, "max_drawdown_pct": 50.0})
    expected, cash, position = _expected_fills(BARS, _targets())
    # Act
    fills = _fills(_run(engine))
    # Assert
    assert len(expected) >= 30
    assert [(f.ts_event, f.side, f.quantity, f.price, f.fee) for f in fills] == [
        (e.ts, e.side, e.quantity, e.price, e.fee) for e in expected
    ]
    ledger = engine.ledger
    assert ledger.cash == cash
    assert ledger.position("BTC/EUR") == position
    last_close = round_half_even(to_decimal(BARS[-1].close), TICK)
    assert ledger.equity == cash + position * last_close
    assert ledger.fees_paid == sum((e.fee for e in expected), D(0))
    assert ledger.equity - ledger.start_balance == (
        ledger.realized_pnl + ledger.unrealized_pnl - ledger.fees_paid
    )
    summary = engine.pipeline.get_execution_summary()
    assert summary["filled_orders"] == len(expected)
    assert summary["rejected_orders"] == 0


def test_small_max_order_notional_blocks_every_entry_with_its_reason() -> None:
    engine = _engine({"max_order_notional": 100.0})
    outcomes = _run(engine)
    results = [o.result for o in outcomes if o.result is not None]
    assert results, "the strategy wanted to enter"
    assert {r.status for r in results} == {ExecutionStatus.BLOCKED_BY_RISK}
    assert all(
        r.reason is not None
        and r.reason.startswith("risk: max_order_notional: order value ")
        and "exceeds the limit 100.00 EUR" in r.reason
        for r in results
    )
    assert _fills(outcomes) == []
    assert engine.ledger.equity == D(10_000)
    # blocked entries are retried on every bar while the target stays long
    targets = _targets()[WARMUP:]
    assert len(results) == sum(1 for t in targets if t == 1)


def test_drawdown_limit_trips_reducing_and_stops_new_entries() -> None:
    engine = _engine({"max_drawdown_pct": 0.3})
    outcomes = _run(engine)
    risk = engine.pipeline.risk_limits
    assert risk is not None
    assert [e.state for e in risk.events] == [TradingState.REDUCING]
    tripped_at = risk.events[0].ts
    assert risk.events[0].reason.startswith("drawdown ")
    after = [o for o in outcomes if o.bar.time >= tripped_at]
    assert not [f for o in after for f in o.fills if f.side is OrderSide.BUY]
    denied = Counter(
        r.rule
        for o in after
        if o.result and o.result.risk_check
        for r in o.result.risk_check.denials
    )
    assert denied["trading_reducing"] > 0
    assert engine.ledger.max_drawdown_pct > D("0.3")


def test_live_mode_is_refused_by_the_wiring() -> None:
    settings = EngineSettings(TradingEnvironment.LIVE, BTC, D(10_000), D("0.1"), D(0), D(0))
    cfg = PeakConfig.default()
    with pytest.raises(LiveModeNotAllowedError, match="mode 'live' is not allowed"):
        build_engine(create_strategy_from_config("ma_crossover", cfg), settings, cfg)
