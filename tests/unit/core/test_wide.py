"""128-bit integers in compiled code agree with Python's ints wherever the result fits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core import wide

WIDE = st.integers(-(2**125), 2**125)
INT64 = st.integers(-(2**63), 2**63 - 1)
DIVISOR = st.one_of(st.integers(1, 1000), st.integers(1, 2**63 - 1))


@given(WIDE)
def test_to_wide_from_wide_round_trip_returns_the_int(value: int) -> None:
    assert wide.from_wide(wide.to_wide(value)) == value


@given(WIDE, WIDE)
def test_add_subtract_compare_match_python_ints(a: int, b: int) -> None:
    x, y = wide.to_wide(a), wide.to_wide(b)

    assert wide.from_wide(wide.add(x, y)) == a + b
    assert wide.from_wide(wide.subtract(x, y)) == a - b
    assert wide.from_wide(wide.negate(x)) == -a
    assert wide.compare(x, y) == (a > b) - (a < b)
    assert wide.is_negative(x) == (a < 0)


@given(INT64)
def test_widen_returns_the_int64(value: int) -> None:
    assert wide.from_wide(wide.widen(value)) == value


@given(st.integers(-(2**64), 2**64), INT64)
def test_multiply_matches_python_ints(a: int, b: int) -> None:
    if abs(a * b) >= 2**127:  # magnitudes stay below 2^127 (-2^127 itself is refused too)
        with pytest.raises(OverflowError):
            wide.multiply(wide.to_wide(a), b)
    else:
        assert wide.from_wide(wide.multiply(wide.to_wide(a), b)) == a * b


@given(WIDE, DIVISOR)
def test_divide_floor_matches_divmod_for_either_sign(a: int, divisor: int) -> None:
    quotient, remainder = wide.divide_floor(wide.to_wide(a), divisor)

    assert (wide.from_wide(quotient), remainder) == divmod(a, divisor)


@given(st.integers(-(2**60), 2**60), st.integers(0, 19))
def test_powers_of_ten_scale_exactly_and_floor(a: int, places: int) -> None:
    scaled = wide.times_ten_to(wide.to_wide(a), places)

    assert wide.from_wide(scaled) == a * 10**places
    assert wide.from_wide(wide.floor_ten_to(wide.to_wide(a), places)) == a // 10**places


def test_to_wide_beyond_128_bits_raises_overflow() -> None:
    with pytest.raises(OverflowError, match="does not fit in 128 bits"):
        wide.to_wide(2**127)


@given(st.integers(2**64, 2**126), st.integers(2**62, 2**63 - 1), st.booleans())
def test_multiply_beyond_128_bits_raises_instead_of_wrapping(
    a: int, b: int, negative: bool
) -> None:
    if abs(a * b) < 2**127:
        return
    with pytest.raises(OverflowError, match="product does not fit in 128 bits"):
        wide.multiply(wide.to_wide(-a if negative else a), b)


@given(st.integers(2**125, 2**127 - 1), st.integers(2**125, 2**127 - 1))
def test_add_beyond_128_bits_raises_instead_of_wrapping(a: int, b: int) -> None:
    if a + b < 2**127:
        return
    with pytest.raises(OverflowError, match="sum does not fit in 128 bits"):
        wide.add(wide.to_wide(a), wide.to_wide(b))
    with pytest.raises(OverflowError, match="difference does not fit in 128 bits"):
        wide.subtract(wide.to_wide(-a), wide.to_wide(b))
