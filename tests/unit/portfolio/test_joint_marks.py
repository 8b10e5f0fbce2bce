"""Marking several symbols' closes at once equals marking the account bar time by bar time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.money import tick_price
from peak_trade.portfolio.joint_marks import mark_jointly
from peak_trade.portfolio.ledger import Ledger
from peak_trade.testing.builders import START

D = Decimal
SYMBOLS = ("BTC/EUR", "ETH/EUR", "SOL/EUR")
STEPS = (D("0.1"), D("0.01"), D("0.001"))
HOURS = 7  # bars 7 hours apart: a run crosses UTC days


def _ledger(positions: list[D], opening: list[int]) -> Ledger:
    ledger = Ledger(D(10_000))
    for symbol, quantity, tick, step in zip(SYMBOLS, positions, opening, STEPS, strict=True):
        if quantity:
            ledger.apply_trade(symbol, quantity, tick_price(tick, step), D("0.5"), START)
        ledger.mark(symbol, tick_price(tick, step), START)
    return ledger


def _state(ledger: Ledger) -> tuple[object, ...]:
    return (
        ledger.equity,
        ledger.cash,
        ledger.peak_equity,
        ledger.max_drawdown,
        ledger.max_drawdown_pct,
        ledger.day_pnl(),
        ledger.bars_marked,
        ledger.bars_in_market,
        [ledger.last_price(symbol) for symbol in SYMBOLS],
    )


quantities = st.decimals(min_value=D(-3), max_value=D(3), places=4)
moves = st.lists(st.integers(-400, 400), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    positions=st.lists(quantities, min_size=3, max_size=3),
    paths=st.lists(moves, min_size=3, max_size=3),
)
def test_marking_jointly_equals_marking_each_bar_time(
    positions: list[D], paths: list[list[int]]
) -> None:
    n = min(len(path) for path in paths)
    opening = [500_000, 300_000, 150_000]
    ticks = [
        np.maximum(1, start + np.cumsum(path[:n])).astype(np.int64)
        for start, path in zip(opening, paths, strict=True)
    ]
    times = [START + timedelta(hours=HOURS * (k + 1)) for k in range(n)]
    days = np.array([(t - START).days + START.toordinal() - 719163 for t in times])
    one_by_one, jointly = _ledger(positions, opening), _ledger(positions, opening)

    equity, drawdown = [], []
    for k, time in enumerate(times):
        closes = {
            s: tick_price(t[k], step) for s, t, step in zip(SYMBOLS, ticks, STEPS, strict=True)
        }
        one_by_one.mark_all(closes, time)
        equity.append(float(one_by_one.equity))
        drawdown.append(float(one_by_one.peak_equity - one_by_one.equity))
    run = mark_jointly(jointly, SYMBOLS, ticks, STEPS, days)

    assert run is not None
    assert _state(jointly) == _state(one_by_one)
    assert run.equity.tolist() == equity
    assert run.drawdown.tolist() == drawdown


def test_a_joint_value_beyond_the_exact_range_is_left_to_marking_bar_by_bar() -> None:
    ledger = _ledger([D("9E+6"), D(0), D(0)], [500_000, 300_000, 150_000])
    before = _state(ledger)
    ticks = [np.array([2**40, 2**40]), np.array([1, 1]), np.array([1, 1])]

    assert mark_jointly(ledger, SYMBOLS, ticks, STEPS, np.array([19723, 19723])) is None
    assert _state(ledger) == before
