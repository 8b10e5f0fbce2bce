"""The ledger: exact Decimal accounting and the identity that ties cash, PnL and fees together."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.errors import InvariantError
from peak_trade.portfolio.ledger import Ledger
from peak_trade.testing.builders import START

SYMBOL = "BTC/EUR"
D = Decimal


def _identity_holds(ledger: Ledger) -> bool:
    held = sum((q * (ledger.last_price(s) or D(0)) for s, q in ledger.positions.items()), D(0))
    return ledger.cash + held == (
        ledger.start_balance + ledger.realized_pnl + ledger.unrealized_pnl - ledger.fees_paid
    )


def test_buy_then_sell_books_exact_figures() -> None:
    ledger = Ledger(D(10_000))
    ledger.apply_trade(SYMBOL, D("0.01"), D("50025.0"), D("0.50025"), START)
    assert ledger.cash == D("9499.24975")
    ledger.mark(SYMBOL, D(51_000), START)
    assert ledger.unrealized_pnl == D("9.750")
    assert ledger.equity == D("10009.24975")
    realized = ledger.apply_trade(SYMBOL, D("-0.01"), D("50974.5"), D("0.509745"), START)
    assert realized == D("9.495")
    assert ledger.cash == D("10008.485005")
    assert ledger.fees_paid == D("1.009995")
    assert ledger.net_pnl == D("8.485005")
    assert ledger.position(SYMBOL) == 0
    assert _identity_holds(ledger)


def test_partial_close_realizes_against_the_average_entry() -> None:
    ledger = Ledger(D(10_000))
    ledger.apply_trade(SYMBOL, D("0.1"), D(100), D(0), START)
    ledger.apply_trade(SYMBOL, D("0.1"), D(200), D(0), START)
    assert ledger.position_state(SYMBOL).average_entry_price == D(150)
    realized = ledger.apply_trade(SYMBOL, D("-0.05"), D(300), D(0), START)
    assert realized == D("7.5")  # 0.05 x (300 - 150)
    assert ledger.position_state(SYMBOL).cost_basis == D("22.5")


def test_flip_from_long_to_short_realizes_and_opens_at_the_fill_price() -> None:
    ledger = Ledger(D(10_000))
    ledger.apply_trade(SYMBOL, D(1), D(100), D(0), START)
    realized = ledger.apply_trade(SYMBOL, D(-3), D(110), D(0), START)
    assert realized == D(10)
    state = ledger.position_state(SYMBOL)
    assert (state.quantity, state.cost_basis) == (D(-2), D(-220))
    ledger.mark(SYMBOL, D(100), START)
    assert ledger.unrealized_pnl == D(20)  # short 2 from 110 marked at 100
    assert _identity_holds(ledger)


def test_realized_pnl_per_utc_day_is_net_of_fees() -> None:
    ledger = Ledger(D(1_000))
    day2 = START + timedelta(days=1, hours=3)
    ledger.apply_trade(SYMBOL, D(1), D(100), D("0.1"), START)
    ledger.apply_trade(SYMBOL, D(-1), D(105), D("0.105"), day2)
    assert ledger.realized_by_day == {START.date(): D("-0.1"), day2.date(): D("4.895")}


def test_day_pnl_resets_at_the_utc_day_boundary() -> None:
    ledger = Ledger(D(1_000))
    ledger.apply_trade(SYMBOL, D(1), D(100), D(0), START)
    ledger.mark(SYMBOL, D(90), START + timedelta(hours=23))
    assert ledger.day_pnl() == D(-10)
    ledger.mark(SYMBOL, D(95), START + timedelta(days=1))
    assert ledger.day_pnl() == D(5)


def test_drawdown_tracks_the_peak_of_equity() -> None:
    ledger = Ledger(D(1_000))
    ledger.apply_trade(SYMBOL, D(1), D(100), D(0), START)
    for price in (150, 120, 160, 80):
        ledger.mark(SYMBOL, D(price), START)
    assert ledger.peak_equity == D(1_060)
    assert ledger.max_drawdown == D(80)
    assert ledger.max_drawdown_pct == D(80) / D(1_060) * 100
    assert ledger.snapshot().drawdown_pct == ledger.max_drawdown_pct


def test_time_in_market_counts_marked_bars_with_a_position() -> None:
    ledger = Ledger(D(1_000))
    ledger.mark(SYMBOL, D(100), START)
    ledger.apply_trade(SYMBOL, D(1), D(100), D(0), START)
    ledger.mark(SYMBOL, D(100), START)
    ledger.mark(SYMBOL, D(100), START)
    ledger.apply_trade(SYMBOL, D(-1), D(100), D(0), START)
    ledger.mark(SYMBOL, D(100), START)
    assert ledger.time_in_market == D("0.5")


def test_bad_inputs_are_invariant_errors() -> None:
    ledger = Ledger(D(1_000))
    with pytest.raises(InvariantError, match="a fill needs quantity != 0"):
        ledger.apply_trade(SYMBOL, D(0), D(100), D(0), START)
    with pytest.raises(InvariantError, match="mark price for BTC/EUR must be > 0, was 0"):
        ledger.mark(SYMBOL, D(0), START)
    with pytest.raises(ValueError, match="start_balance must be > 0"):
        Ledger(D(0))


quantities = st.decimals(min_value=D("-5"), max_value=D("5"), places=8).filter(lambda q: q != 0)
prices = st.decimals(min_value=D("0.1"), max_value=D("100000"), places=1)
fees = st.decimals(min_value=D(0), max_value=D("50"), places=8)
trades = st.lists(
    st.tuples(st.sampled_from(["BTC/EUR", "ETH/EUR"]), quantities, prices, fees, prices),
    max_size=40,
)


@given(trades)
def test_ledger_identity_holds_exactly_after_any_fills(sequence: list[tuple]) -> None:  # type: ignore[type-arg]
    ledger = Ledger(D(100_000))
    for symbol, quantity, price, fee, mark in sequence:
        ledger.apply_trade(symbol, quantity, price, fee, START)
        ledger.mark(symbol, mark, START)
        assert _identity_holds(ledger)
        assert ledger.equity - ledger.start_balance == ledger.net_pnl
    assert ledger.trades == len(sequence)
