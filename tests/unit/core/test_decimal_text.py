"""Compiled Decimal text is `str(Decimal)`'s, digit for digit, for any scaled integer."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core import wide
from peak_trade.core.decimal_text import DIGITS, floor_scaled, scratch_space, write_decimal

WIDE = st.integers(-(2**126), 2**126)
SMALL = st.integers(-(10**12), 10**12)
PLACES = st.integers(0, 40)


def _text(value: int, places: int) -> str | None:
    out = np.zeros(64, dtype=np.uint8)
    end = write_decimal(out, 3, wide.to_wide(value), places, scratch_space())
    return None if end < 0 else out[3:end].tobytes().decode()


@given(st.one_of(WIDE, SMALL), PLACES)
def test_write_decimal_writes_str_of_the_decimal(value: int, places: int) -> None:
    text = _text(value, places)

    if len(str(abs(value))) > DIGITS:
        assert text is None
    else:
        assert text == str(Decimal(value).scaleb(-places))


def test_write_decimal_switches_to_scientific_below_an_adjusted_exponent_of_minus_six() -> None:
    cases = {(0, 8): "0E-8", (0, 6): "0.000000", (5, 7): "5E-7", (12, 8): "1.2E-7",
             (12, 7): "0.0000012", (-1250, 2): "-12.50", (7, 0): "7",
             (10**27, 30): "0.001" + "0" * 27}  # fmt: skip

    assert {case: _text(*case) for case in cases} == cases


@given(WIDE, PLACES)
def test_floor_scaled_is_floor_division_by_a_power_of_ten(value: int, places: int) -> None:
    assert wide.from_wide(floor_scaled(wide.to_wide(value), places)) == value // 10**places
