"""price_ticks: vectorised rounding to the price step, identical to the Decimal rule."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.money import price_ticks, round_half_even, to_decimal


def _rule(value: float, decimals: int) -> int:
    step = Decimal(1).scaleb(-decimals)
    return int(round_half_even(to_decimal(value), step).scaleb(decimals))


prices = st.one_of(
    st.floats(min_value=1e-6, max_value=1e7, allow_nan=False),
    # exact half steps in their shortest text, the case a scaled float may round the other way
    st.integers(1, 10**8).map(lambda n: float(Decimal(n) / 20)),
    st.integers(1, 10**9).map(lambda n: float(Decimal(2 * n + 1) / 200)),
)


@given(st.lists(prices, min_size=1, max_size=30), st.integers(0, 4))
def test_price_ticks_equals_the_decimal_rule(values: list[float], decimals: int) -> None:
    ticks = price_ticks(np.array(values), decimals)

    assert ticks.tolist() == [_rule(value, decimals) for value in values]


def test_price_ticks_rounds_half_steps_to_even_as_the_text_reads() -> None:
    ticks = price_ticks(np.array([50000.05, 50000.15, 0.25, 1.35, 2.5]), 1)

    assert ticks.tolist() == [500000, 500002, 2, 14, 25]
