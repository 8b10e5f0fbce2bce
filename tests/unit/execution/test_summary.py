"""The summary's hints: each names what the numbers suggest, and only then."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.metrics import LiveSessionMetrics
from peak_trade.session.summary import hints, ledger_summary


def test_a_run_that_traded_no_bar_says_the_warmup_took_them_all() -> None:
    found = hints(
        LiveSessionMetrics(), required_bars=51, warmup_candles=200, trading_state=("active", None)
    )
    assert found == [
        "no bar was traded after the warmup of 200 bars: a backtest needs more bars than its "
        "warmup, and a session must run until a new candle closes."
    ]


def test_a_run_that_traded_quietly_in_order_has_no_hint() -> None:
    metrics = LiveSessionMetrics(steps=500, target_changes=4, total_orders_generated=4)
    assert (
        hints(metrics, required_bars=51, warmup_candles=200, trading_state=("active", None)) == []
    )


def test_a_run_whose_target_never_changed_names_the_history_it_needs() -> None:
    metrics = LiveSessionMetrics(steps=30)
    found = hints(metrics, required_bars=51, warmup_candles=60, trading_state=("active", None))
    assert found == [
        "the strategy never changed its target in 30 bar(s); it needs 51 bars of history "
        "(warmup_candles is 60) and may need a longer or livelier stretch of data."
    ]


def test_blocked_orders_failed_steps_and_the_trading_state_are_each_named() -> None:
    metrics = LiveSessionMetrics(
        steps=900,
        target_changes=10,
        total_orders_generated=10,
        orders_blocked_risk=6,
        last_denial="risk: max_order_notional: too big",
        step_errors=2,
    )
    left = "2024-03-01T10:00:00+00:00 (max_drawdown_pct: drawdown 20.1 % over 20 %)"
    found = hints(metrics, required_bars=51, warmup_candles=200, trading_state=("reducing", left))
    assert found == [
        "6 of 10 orders were blocked by risk limits (last: risk: max_order_notional: too big); "
        "check [live_risk] or lower position_fraction.",
        "2 step(s) failed; the journal holds each error.",
        f"trading left ACTIVE at {left} and ended REDUCING: new exposure was refused from "
        "there, so the figures after it do not show the strategy's rules (run with "
        "--no-risk-limits to see them).",
    ]


def test_orders_that_failed_at_the_venue_are_named_with_the_last_reason() -> None:
    # a testnet session whose every AddOrder failed ran on with nothing said
    metrics = LiveSessionMetrics(
        steps=600,
        target_changes=9,
        total_orders_generated=174,
        orders_error=174,
        last_denial="venue: Kraken AddOrder: timed out",
    )
    found = hints(metrics, required_bars=51, warmup_candles=200, trading_state=("active", None))
    assert found == [
        "174 order(s) failed at the venue (last: venue: Kraken AddOrder: timed out); each is "
        "an order_denied event in the journal, and the order is planned again on the next bar."
    ]


def test_the_ledger_summary_writes_decimals_in_plain_notation() -> None:
    # a round trip leaves the position at Decimal("0E-8"), which summary.json showed as is
    ledger = Ledger(Decimal("1E+16"))
    at = datetime(2024, 1, 1, tzinfo=UTC)
    ledger.apply_trade("BTC/EUR", Decimal("0.02401146"), Decimal("41271.3"), Decimal(0), at)
    ledger.apply_trade("BTC/EUR", Decimal("-0.02401146"), Decimal("41271.3"), Decimal(0), at)
    assert str(ledger.position("BTC/EUR")) == "0E-8"

    summary = ledger_summary(ledger, "BTC/EUR")

    assert summary["position"] == "0.00000000"
    assert summary["start_balance"] == "10000000000000000"
    assert summary["cash"] == "10000000000000000.000000000"


def test_the_metrics_write_decimals_in_plain_notation_too() -> None:
    # the same flat position reached summary.json's "metrics" block as "0E-8"
    ledger = Ledger(Decimal("1E+16"))
    at = datetime(2024, 1, 1, tzinfo=UTC)
    ledger.apply_trade("BTC/EUR", Decimal("0.02401146"), Decimal("41271.3"), Decimal(0), at)
    ledger.apply_trade("BTC/EUR", Decimal("-0.02401146"), Decimal("41271.3"), Decimal(0), at)
    metrics = LiveSessionMetrics()
    metrics.update_money(ledger, "BTC/EUR")

    shown = metrics.to_dict()

    assert shown["current_position"] == "0.00000000"
    assert shown["equity"] == "10000000000000000.000000000"


def test_a_position_still_open_at_the_end_is_named_with_its_unrealized_pnl() -> None:
    metrics = LiveSessionMetrics(
        steps=500,
        target_changes=3,
        total_orders_generated=3,
        current_position=Decimal("0.02500000"),
        unrealized_pnl=Decimal("-12.346"),
    )
    found = hints(metrics, required_bars=51, warmup_candles=200, trading_state=("active", None))
    assert found == [
        "a position of 0.02500000 was still open at the end: its unrealized PnL (-12.35) is in "
        "the equity, and the round trips do not count it."
    ]


def test_a_run_that_left_active_and_came_back_still_says_so() -> None:
    # a stale feed set REDUCING and lifted it again: the figures were cut short all the same
    metrics = LiveSessionMetrics(steps=500, target_changes=4, total_orders_generated=4)
    left = "2024-03-01T10:00:00+00:00 (feed stale)"
    (found,) = hints(metrics, 51, 200, ("active", left))
    assert found.startswith(f"trading left ACTIVE at {left} and ended ACTIVE:")
