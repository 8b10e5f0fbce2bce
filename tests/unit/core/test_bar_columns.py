"""BarColumns: the column form of closed candles refuses exactly the rows a Bar refuses."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.core.types import Bar
from peak_trade.testing.builders import bars_from_closes

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1.0, 2.0, 3.0, math.nan, math.inf]),
)


def _bar_refuses(row: tuple[float, ...]) -> bool:
    try:
        Bar(datetime(2024, 1, 1, tzinfo=UTC), *row)
    except DataError:
        return True
    return False


@given(st.lists(st.tuples(values, values, values, values, values), min_size=1, max_size=8))
def test_bad_rows_flags_exactly_the_rows_a_bar_refuses(rows: list[tuple[float, ...]]) -> None:
    columns = BarColumns(np.zeros(len(rows), dtype=np.int64), *np.array(rows, dtype=float).T)

    assert columns.bad_rows().tolist() == [_bar_refuses(row) for row in rows]


def test_validate_raises_the_bar_error_for_the_first_bad_row() -> None:
    bars = bars_from_closes([100.0, 101.0, 102.0])
    columns = BarColumns.from_bars(bars)
    broken = BarColumns(
        columns.seconds,
        columns.open,
        columns.high,
        columns.low,
        np.array([100.0, -5.0, 0.0]),
        columns.volume,
    )

    with pytest.raises(
        DataError, match=r"bad candle at .*: close must be a finite price > 0, was -5\.0"
    ):
        broken.validate()


def test_from_bars_and_bar_round_trip_exactly() -> None:
    bars = bars_from_closes([100.0, 101.25, 99.5])

    columns = BarColumns.from_bars(bars)

    assert list(columns.bars()) == bars
    assert list(columns.slice(1, 3).bars()) == bars[1:]
    assert len(columns) == 3


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"one length, had \[1, 2\]"):
        BarColumns(np.zeros(2, dtype=np.int64), *(np.ones(2),) * 4, np.ones(1))
