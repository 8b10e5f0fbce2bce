"""The drawdown records of a mark: one kernel, compiled for the loop and on Python ints for
the ledger, both held to the exact answer."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.compiled import python_of
from peak_trade.core.wide import on_python_ints, ratio_above, to_wide
from peak_trade.portfolio.marking import drawdown_records, records_of, starts_day

MONEY = st.integers(1, 10**24)


def _exact(
    peak: int, equity: int, max_drawdown: int, pct: tuple[int, int]
) -> tuple[bool, bool, int]:
    rises = equity > peak
    peak = max(peak, equity)
    drawdown = peak - equity
    above = peak > 0 and Fraction(drawdown, peak) > Fraction(pct[0], pct[1])
    return rises, drawdown > max_drawdown, int(above)


@given(MONEY, MONEY, st.integers(0, 10**24), st.integers(0, 10**24), MONEY)
def test_the_records_are_exact_on_python_ints_and_compiled_where_floats_can_tell(
    peak: int, equity: int, max_drawdown: int, pct_drawdown: int, pct_peak: int
) -> None:
    expected = _exact(peak, equity, max_drawdown, (pct_drawdown, pct_peak))
    args = (peak, equity, max_drawdown, pct_drawdown, pct_peak)
    assert on_python_ints(drawdown_records)(*args) == expected
    rises, deeper, above = drawdown_records(*(to_wide(a) for a in args))
    assert (rises, deeper) == expected[:2]
    assert above in (expected[2], -1)  # -1: the loop hands the bar to the ledger


def test_a_percent_too_close_for_floats_is_decided_exactly_on_python_ints() -> None:
    # 1/3 against (10^20 + 1) / (3 x 10^20): equal as floats, the second is larger
    a, b, c, d = 1, 3, 10**20 + 1, 3 * 10**20
    assert ratio_above(to_wide(a), to_wide(b), to_wide(c), to_wide(d)) == -1
    assert on_python_ints(ratio_above)(a, b, c, d) == 0
    assert on_python_ints(ratio_above)(c, d, a, b) == 1


def test_the_ledger_reads_its_decimal_figures_at_one_scale() -> None:
    # a peak of 100.5, equity of 90.25: drawdown 10.25, over the record 10 / 100.5
    assert records_of(
        Decimal("100.5"), Decimal("90.25"), Decimal("10"), (Decimal("10"), Decimal("100.5"))
    ) == (False, True, 1)
    assert records_of(Decimal("100"), Decimal("101.000"), Decimal(0), (Decimal(0), Decimal(1)))[0]


@given(st.integers(0, 40_000), st.integers(-1, 40_000))
def test_a_new_day_starts_alike_compiled_and_in_python(day: int, current: int) -> None:
    expected = current >= 0 and day != current
    assert starts_day(day, current) is expected
    assert python_of(starts_day)(day, current) is expected
