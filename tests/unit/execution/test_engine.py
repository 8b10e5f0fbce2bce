"""TradingEngine: quiet bars skip planning without changing a single decision or amount."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.live.risk_limits import TradingState
from peak_trade.orders.base import OrderFill
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.wiring import build_engine, engine_settings
from peak_trade.testing.builders import bars_from_closes, random_walk_ohlc
from peak_trade.testing.fakes import ScriptedParams, ScriptedStrategy

# Long, flat, short (flat without shorts), long again: quiet runs between the changes.
SCRIPT = (0,) * 5 + (1,) * 20 + (0,) * 15 + (-1,) * 10 + (1,) * 30
BARS = bars_from_closes(random_walk_ohlc(len(SCRIPT), seed=3)["close"].tolist())


def _engine(**config: object) -> TradingEngine:
    session = LiveSessionConfig(data_source="synthetic", **config)  # type: ignore[arg-type]
    strategy = ScriptedStrategy(ScriptedParams(targets=SCRIPT))
    return build_engine(strategy, engine_settings(session), PeakConfig.default())


def test_step_returns_none_exactly_on_the_bars_where_nothing_is_planned_or_filled() -> None:
    engine = _engine()
    quiet = [engine.step(bar) is None for bar in BARS]

    # bar 5: target long, order; bar 6: fill; bar 25: target flat, order; bar 26: fill;
    # bar 40: target -1 without shorts is a target change but nothing to trade; bar 50: long
    busy = {5, 6, 25, 26, 40, 50, 51}
    assert [i for i, q in enumerate(quiet) if not q] == sorted(busy)
    assert engine.ledger.trades == 3  # entry, exit, entry; the last one still open
    assert engine.ledger.position(engine.symbol) > 0


def test_step_and_on_bar_leave_identical_ledgers_and_ids() -> None:
    by_step, by_on_bar = _engine(allow_short=True), _engine(allow_short=True)
    fills_step: list[OrderFill] = []
    for bar in BARS:
        outcome = by_step.step(bar)
        if outcome is not None:
            fills_step.extend(outcome.fills)
    fills_on_bar = [fill for bar in BARS for fill in by_on_bar.on_bar(bar).fills]

    assert fills_step == fills_on_bar
    assert len(fills_step) == 5  # long, flat, short from flat, long (close + entry)
    for attribute in ("cash", "fees_paid", "realized_pnl", "peak_equity", "max_drawdown"):
        assert getattr(by_step.ledger, attribute) == getattr(by_on_bar.ledger, attribute)
    assert by_step.ledger.equity == by_on_bar.ledger.equity
    assert by_step.ledger.bars_marked == by_on_bar.ledger.bars_marked == len(BARS)


def test_on_bar_of_a_quiet_bar_reports_the_unchanged_target_and_no_orders() -> None:
    engine = _engine()
    outcomes = [engine.on_bar(bar) for bar in BARS[:12]]
    quiet = outcomes[10]
    assert (quiet.target, quiet.previous_target, quiet.target_changed) == (1, 1, False)
    assert quiet.decision.orders == ()
    assert quiet.decision.reason is None
    assert quiet.result is None
    assert quiet.fills == ()
    assert engine.ledger.position(engine.symbol) > Decimal(0)


def _attempts(engine: TradingEngine, bars: list[Bar]) -> list[tuple[int, str]]:
    """Run bars one by one; return (bar index, status) of every bar that sent orders."""
    sent = []
    for i, bar in enumerate(bars):
        outcome = engine.step(bar)
        if outcome is not None and outcome.result is not None:
            sent.append((i, outcome.result.status.value))
    return sent


def test_an_order_the_trading_state_refused_waits_for_the_state_or_target_to_change() -> None:
    # Arrange: reducing-only from the start, so the entry of bar 5 is refused
    engine = _engine()
    risk = engine.pipeline.risk_limits
    assert risk is not None
    risk.set_trading_state(TradingState.REDUCING, "operator", BARS[0].time)

    # Act / Assert: one refusal, then quiet bars while target and state stay (not one a bar)
    assert _attempts(engine, BARS[:25]) == [(5, "blocked_by_risk")]
    assert engine.ledger.trades == 0
    # the target goes flat (bar 25) and long again (bar 50): tried again, refused again
    assert _attempts(engine, BARS[25:55]) == [(25, "blocked_by_risk")]
    # the operator lifts the limit: tried on the next bar, filled on the one after
    risk.set_trading_state(TradingState.ACTIVE, "operator", BARS[55].time)
    assert _attempts(engine, BARS[55:60]) == [(0, "success")]
    assert engine.ledger.position(engine.symbol) > 0


def test_an_order_refused_by_another_rule_is_tried_on_every_bar() -> None:
    engine = _engine()
    risk = engine.pipeline.risk_limits
    assert risk is not None
    risk.config = replace(risk.config, max_order_notional=Decimal(1))

    attempts = _attempts(engine, BARS[:25])

    assert [i for i, _ in attempts] == list(range(5, 25))  # every bar of the long target
    assert {status for _, status in attempts} == {"blocked_by_risk"}
