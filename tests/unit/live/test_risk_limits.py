"""LiveRiskLimits: post-trade exposure, fail-closed pricing, trading states and their events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.live.risk_limits import (
    LiveRiskLimits,
    RiskCheckResult,
    TradingState,
    TradingStateChanged,
)
from peak_trade.live.risk_rules import ProposedTrade, RiskLimitsConfig, is_reducing
from peak_trade.portfolio.account import AccountSnapshot
from peak_trade.testing.builders import START

D = Decimal
BTC, ETH = "BTC/EUR", "ETH/EUR"


def _account(
    positions: dict[str, str] | None = None,
    prices: dict[str, str] | None = None,
    equity: str = "10000",
    peak: str | None = None,
    day_pnl: str = "0",
) -> AccountSnapshot:
    return AccountSnapshot(
        start_balance=D(10_000),
        cash=D(equity),
        equity=D(equity),
        peak_equity=D(peak or equity),
        positions={k: D(v) for k, v in (positions or {}).items()},
        prices={k: D(v) for k, v in (prices or {BTC: "50000", ETH: "3000"}).items()},
        day_pnl=D(day_pnl),
    )


def _check(
    limits: RiskLimitsConfig, *trades: ProposedTrade, account: AccountSnapshot | None = None
) -> RiskCheckResult:
    return LiveRiskLimits(limits).check_orders(list(trades), account or _account(), START)


def _buy(quantity: str, symbol: str = BTC, price: str | None = "50000") -> ProposedTrade:
    return ProposedTrade(symbol, D(quantity), D(price) if price else None)


def test_order_within_every_limit_passes() -> None:
    limits = RiskLimitsConfig(max_order_notional=D(1000), max_symbol_exposure_notional=D(2000))
    result = _check(limits, _buy("0.02"))
    assert result.allowed
    assert result.denials == ()
    assert result.metrics["order_notional"] == "1000.00"


def test_order_notional_above_the_limit_is_denied_with_the_amounts() -> None:
    result = _check(RiskLimitsConfig(max_order_notional=D(1000)), _buy("0.021"))
    assert not result.allowed
    assert result.reasons == [
        "max_order_notional: order value 1,050.00 EUR exceeds the limit 1,000.00 EUR"
    ]


def test_symbol_exposure_counts_the_position_already_held() -> None:
    limits = RiskLimitsConfig(max_symbol_exposure_notional=D(2000))
    account = _account(positions={BTC: "0.03"})
    result = _check(limits, _buy("0.015"), account=account)  # 0.045 x 50,000 = 2,250 after
    assert result.reasons == [
        "max_symbol_exposure_notional: BTC/EUR position after the order 2,250.00 EUR exceeds "
        "the limit 2,000.00 EUR"
    ]


def test_total_exposure_counts_other_symbols_at_their_prices() -> None:
    limits = RiskLimitsConfig(max_total_exposure_notional=D(5000))
    account = _account(positions={ETH: "1"})  # 3,000 EUR held
    assert _check(limits, _buy("0.04"), account=account).allowed  # 2,000 more: exactly 5,000
    denied = _check(limits, _buy("0.041"), account=account)
    assert denied.reasons == [
        "max_total_exposure_notional: all positions after the order 5,050.00 EUR exceed the "
        "limit 5,000.00 EUR"
    ]


def test_open_positions_counts_symbols_held_after_the_order() -> None:
    limits = RiskLimitsConfig(max_open_positions=1)
    account = _account(positions={ETH: "1"})
    assert _check(limits, _buy("0.01"), account=account).reasons == [
        "max_open_positions: 2 symbols would be held, the limit is 1"
    ]
    assert _check(limits, _buy("0.5", symbol=ETH, price="3000"), account=account).allowed


def test_daily_loss_comes_from_the_account_and_blocks_new_exposure() -> None:
    limits = RiskLimitsConfig(max_daily_loss_abs=D(500))
    assert _check(limits, _buy("0.01"), account=_account(day_pnl="-499.99")).allowed
    assert _check(limits, _buy("0.01"), account=_account(day_pnl="-500")).reasons == [
        "max_daily_loss_abs: today's PnL -500.00 EUR reached the loss limit 500.00 EUR"
    ]
    pct = RiskLimitsConfig(max_daily_loss_pct=D(3))
    assert _check(pct, _buy("0.01"), account=_account(day_pnl="-300")).reasons == [
        "max_daily_loss_pct: today's PnL -300.00 EUR reached 3% of the start balance (300.00 EUR)"
    ]


def test_unknown_price_is_denied_fail_closed() -> None:
    result = _check(RiskLimitsConfig(), _buy("0.01", price=None))
    assert not result.allowed
    assert result.denials[0].rule == "price_unknown"


def test_reducing_orders_pass_the_exposure_limits() -> None:
    limits = RiskLimitsConfig(max_order_notional=D(100), max_daily_loss_abs=D(1))
    account = _account(positions={BTC: "0.1"}, day_pnl="-50")
    assert _check(limits, _buy("-0.1"), account=account).allowed  # closing a big long
    assert not _check(limits, _buy("-0.2"), account=account).allowed  # would open a short


def test_block_on_violation_false_lets_the_order_pass_with_a_warning() -> None:
    limits = RiskLimitsConfig(max_order_notional=D(100), block_on_violation=False)
    result = _check(limits, _buy("0.01"))
    assert result.allowed
    assert [w.rule for w in result.warnings] == ["max_order_notional"]


def test_disabled_limits_check_nothing_but_the_state() -> None:
    limits = RiskLimitsConfig(enabled=False, max_order_notional=D(1))
    assert _check(limits, _buy("1")).allowed


def test_drawdown_beyond_the_limit_trips_reducing_once_with_an_event() -> None:
    risk = LiveRiskLimits(RiskLimitsConfig(max_drawdown_pct=D(10)))
    deep = _account(positions={BTC: "0.01"}, equity="8900", peak="10000")
    result = risk.check_orders([_buy("0.01")], deep, START)
    assert result.state is TradingState.REDUCING
    assert result.reasons == [
        "trading_reducing: trading is reducing-only; this order would not shrink a position"
    ]
    assert risk.check_orders([_buy("-0.01")], deep, START).allowed  # closing still allowed
    assert len(risk.events) == 1
    event = risk.events[0]
    assert (event.previous, event.state) == (TradingState.ACTIVE, TradingState.REDUCING)
    assert event.reason == "drawdown 11.00% exceeds max_drawdown_pct 10%"


def test_kill_switch_halts_everything() -> None:
    switch = {"on": False}
    risk = LiveRiskLimits(
        RiskLimitsConfig(kill_switch_file="STOP"), kill_switch=lambda: switch["on"]
    )
    assert risk.check_orders([_buy("0.01")], _account(), START).allowed
    switch["on"] = True
    result = risk.check_orders([_buy("-0.01")], _account(positions={BTC: "0.01"}), START)
    assert result.state is TradingState.HALTED
    assert result.reasons == ["trading_halted: trading is halted; no order may go out"]
    assert risk.events[-1].reason == "kill switch file STOP exists"


def test_replaying_reads_the_kill_switch_as_the_journal_has_it_not_as_the_file_is() -> None:
    # Arrange: the file exists now, but the journaled run tripped it only at START + 1 h
    risk = LiveRiskLimits(RiskLimitsConfig(kill_switch_file="STOP"), kill_switch=lambda: True)
    later = START + timedelta(hours=1)
    halt = TradingStateChanged(
        later, TradingState.ACTIVE, TradingState.HALTED, "kill switch file OLD exists"
    )

    # Act / Assert
    with risk.replaying([halt]):
        assert risk.check_orders([_buy("0.01")], _account(), START).allowed
        assert not risk.check_orders([_buy("0.01")], _account(), later).allowed
    assert risk.events == [halt]  # at the same bar, with the journal's own reason
    assert risk.rederives(halt)
    assert not risk.rederives(
        TradingStateChanged(START, TradingState.ACTIVE, TradingState.REDUCING, "operator: x")
    )


def test_the_kill_switch_is_read_on_every_bar_not_only_when_an_order_is_checked() -> None:
    switch = {"on": False}
    risk = LiveRiskLimits(
        RiskLimitsConfig(kill_switch_file="STOP"), kill_switch=lambda: switch["on"]
    )
    later = START + timedelta(minutes=3)

    risk.watch(START)
    switch["on"] = True
    risk.watch(later)

    assert risk.state is TradingState.HALTED
    assert [(e.ts, e.state, e.reason) for e in risk.events] == [
        (later, TradingState.HALTED, "kill switch file STOP exists")
    ]


def test_while_replaying_the_bar_by_bar_watch_halts_at_the_journaled_bar() -> None:
    risk = LiveRiskLimits(RiskLimitsConfig(kill_switch_file="STOP"), kill_switch=lambda: False)
    later = START + timedelta(minutes=3)
    halt = TradingStateChanged(
        later, TradingState.ACTIVE, TradingState.HALTED, "kill switch file STOP exists"
    )

    with risk.replaying([halt]):
        risk.watch(START)
        assert risk.state is TradingState.ACTIVE
        risk.watch(later)

    assert risk.events == [halt]  # at the same bar, though the file is gone now


def test_a_kill_switch_that_never_tripped_in_the_run_stays_off_while_replaying() -> None:
    risk = LiveRiskLimits(RiskLimitsConfig(kill_switch_file="STOP"), kill_switch=lambda: True)

    with risk.replaying([]):
        assert risk.check_orders([_buy("0.01")], _account(), START).allowed
    # after the replay the file is read again
    assert not risk.check_orders([_buy("0.01")], _account(), START).allowed
    assert risk.events[-1].reason == "kill switch file STOP exists"


def test_operator_can_set_and_lift_the_state() -> None:
    risk = LiveRiskLimits(RiskLimitsConfig())
    risk.set_trading_state(TradingState.HALTED, "maintenance", START)
    assert not risk.check_orders([_buy("0.01")], _account(), START).allowed
    risk.set_trading_state(TradingState.ACTIVE, "done", START)
    assert risk.check_orders([_buy("0.01")], _account(), START).allowed
    assert [e.reason for e in risk.events] == ["operator: maintenance", "operator: done"]


def test_a_batch_is_judged_on_positions_as_they_change_within_it() -> None:
    limits = RiskLimitsConfig(max_symbol_exposure_notional=D(1000))
    account = _account(positions={BTC: "0.02"})
    # close the 0.02 long, then open 0.02 short: the second sees a flat start
    trades = (_buy("-0.02"), _buy("-0.02"))
    assert _check(limits, *trades, account=account).allowed


def test_is_reducing_classification() -> None:
    assert is_reducing(D(1), D("-0.5"))
    assert is_reducing(D(1), D(-1))
    assert not is_reducing(D(1), D("-1.5"))
    assert not is_reducing(D(0), D(-1))
    assert not is_reducing(D(-1), D(-1))


LIMITS = RiskLimitsConfig(
    max_order_notional=D(1500),
    max_symbol_exposure_notional=D(3000),
    max_total_exposure_notional=D(4000),
    max_open_positions=1,
    max_daily_loss_abs=D(200),
)
amounts = st.decimals(min_value=D("0.00001"), max_value=D("0.2"), places=5)


@given(
    held=st.decimals(min_value=D("-0.1"), max_value=D("0.1"), places=5),
    q=amounts,
    extra=amounts,
    sell=st.booleans(),
    other=st.booleans(),
    day_pnl=st.sampled_from(["0", "-250"]),
)
def test_risk_denial_is_monotonic_in_quantity(
    held: Decimal, q: Decimal, extra: Decimal, sell: bool, other: bool, day_pnl: str
) -> None:
    positions = {BTC: str(held)} | ({ETH: "0.5"} if other else {})
    account = _account(positions=positions, day_pnl=day_pnl)
    sign = -1 if sell else 1
    small = _check(LIMITS, _buy(str(sign * q)), account=account)
    large = _check(LIMITS, _buy(str(sign * (q + extra))), account=account)
    if not small.allowed:
        assert not large.allowed
