"""price_ticks: vectorised rounding to the price step, identical to the Decimal rule."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.money import (
    decimal_places,
    price_ticks,
    round_half_even,
    steps,
    to_decimal,
    trimmed,
)


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


@pytest.mark.parametrize(
    ("text", "places"), [("10000", 0), ("0E-8", 8), ("48354.2", 1), ("1E+3", 0), ("-2.50", 2)]
)
def test_decimal_places_counts_the_written_decimals(text: str, places: int) -> None:
    assert decimal_places(Decimal(text)) == places


def test_steps_counts_a_value_in_steps_and_refuses_finer_values() -> None:
    assert steps(Decimal("48354.2"), 1) == 483_542
    assert steps(Decimal("0.02172619"), 8) == 2_172_619
    assert steps(Decimal("-2.50"), 1) == -25
    with pytest.raises(ValueError, match=r"0\.123 has more than 2 decimal places"):
        steps(Decimal("0.123"), 2)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0E-8", "0"),
        ("0.00000000", "0"),
        ("0.02074000", "0.02074"),
        ("10", "10"),
        ("1E+2", "100"),
        ("-0.50", "-0.5"),
        ("48234.6", "48234.6"),
    ],
)
def test_trimmed_reads_a_decimal_without_its_trailing_zeros(value: str, text: str) -> None:
    assert trimmed(Decimal(value)) == text
