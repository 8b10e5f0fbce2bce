"""The risk limits are decided by one kernel each, over integer money.

The compiled loop runs them on 128-bit integers; `risk_rules` runs the same functions on
Python ints (`on_python_ints`), scaled from Decimals. These tests hold both forms to the exact
answer (Fractions), and the Decimal rules to the kernels where the rounded Decimal would err.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.wide import from_wide, on_python_ints, to_wide
from peak_trade.live.risk_rules import (
    drawdown_over,
    drawdown_trips,
    exceeds,
    loss_reached,
    notional,
    state_refuses,
)
from peak_trade.portfolio.account import AccountSnapshot

MONEY = st.integers(-(10**30), 10**30)
LIMITS = st.integers(-1, 10**30)


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**12), st.integers(0, 12))
def test_a_value_in_money_steps_is_the_same_compiled_and_on_python_ints(
    lots: int, tick: int, places: int
) -> None:
    expected = abs(lots) * tick * 10**places
    assert from_wide(notional(lots, tick, places)) == expected
    assert on_python_ints(notional)(lots, tick, places) == expected


@given(MONEY, LIMITS)
def test_a_limit_is_exceeded_alike_compiled_and_on_python_ints(amount: int, limit: int) -> None:
    expected = limit >= 0 and amount > limit
    assert exceeds(to_wide(amount), to_wide(limit)) is expected
    assert on_python_ints(exceeds)(amount, limit) is expected


@given(MONEY, LIMITS)
def test_a_daily_loss_is_reached_alike_compiled_and_on_python_ints(pnl: int, limit: int) -> None:
    expected = limit >= 0 and pnl <= -limit
    assert loss_reached(to_wide(pnl), to_wide(limit)) is expected
    assert on_python_ints(loss_reached)(pnl, limit) is expected


@given(
    st.integers(-(10**20), 10**24),
    st.integers(-(10**20), 10**24),
    st.integers(0, 10**6),
    st.integers(0, 4),
)
def test_a_drawdown_trips_alike_compiled_and_on_python_ints(
    peak: int, equity: int, pct: int, places: int
) -> None:
    expected = peak > 0 and (peak - equity) * 100 * 10**places > pct * peak
    assert drawdown_over(to_wide(peak), to_wide(equity), pct, places) is expected
    assert on_python_ints(drawdown_over)(peak, equity, pct, places) is expected


def test_the_python_int_form_has_no_bound() -> None:
    # far beyond 128 bits: the Decimal path's amounts may have any number of places
    big = 10**60
    assert on_python_ints(exceeds)(big + 1, big) is True
    assert on_python_ints(drawdown_over)(big, big - big // 4, 25, 0) is False
    with pytest.raises(OverflowError):
        to_wide(big)


@pytest.mark.parametrize(
    ("severity", "reducing", "refused"),
    [(0, False, False), (0, True, False), (1, False, True), (1, True, False), (2, True, True)],
)
def test_a_trading_state_refuses_alike_compiled_and_in_python(
    severity: int, reducing: bool, refused: bool
) -> None:
    assert state_refuses(severity, reducing) is refused
    assert on_python_ints(state_refuses)(severity, reducing) is refused


@given(
    st.decimals(min_value=1, max_value=10**12, places=12),
    st.decimals(min_value=0, max_value=10**12, places=12),
    st.decimals(min_value="0.01", max_value=100, places=4),
)
def test_the_drawdown_limit_is_decided_exactly(
    peak: Decimal, equity: Decimal, limit: Decimal
) -> None:
    exact = (Fraction(peak) - Fraction(equity)) * 100 > Fraction(limit) * Fraction(peak)
    assert drawdown_trips(peak, equity, limit) is exact


def test_a_drawdown_a_hair_over_the_limit_trips_it_where_the_rounded_percent_does_not() -> None:
    # the 28-digit percent rounds to the limit itself; the drawdown is over it (found by a
    # search, the loop's exact comparison and the rounded quotient disagreed here)
    peak, limit = Decimal("86328446192016.782797872840"), Decimal("49.1609")
    equity = Decimal("43888605088005.604223393371")
    account = AccountSnapshot(peak, peak, equity, peak, {}, {}, Decimal(0))
    assert account.drawdown_pct == limit  # rounded
    assert drawdown_trips(peak, equity, limit)
