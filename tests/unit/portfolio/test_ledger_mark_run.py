"""Ledger.mark_run: marking a run of closes at once equals marking them one by one, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.errors import InvariantError
from peak_trade.portfolio import marks
from peak_trade.portfolio.ledger import Ledger
from peak_trade.portfolio.marks import run_floats

SYMBOL = "BTC/EUR"
D = Decimal
STEP = D("0.1")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _state(ledger: Ledger) -> tuple[object, ...]:
    # str() as well as the values: the same figures must also keep the same decimal places
    figures = (
        ledger.equity,
        ledger.peak_equity,
        ledger.max_drawdown,
        ledger.max_drawdown_pct,
        ledger.day_pnl(),
        ledger.last_price(SYMBOL),
    )
    return (*figures, *map(str, figures), ledger.bars_marked, ledger.bars_in_market)


def _ledger(history: list[tuple[str, int, int]]) -> Ledger:
    """Replay trades ("t", lots, tick) and marks ("m", tick, day) on a fresh ledger."""
    ledger = Ledger(D(10_000))
    for kind, a, b in history:
        if kind == "t":
            ledger.apply_trade(SYMBOL, D(a) / 100, D(b) * STEP, D("0.25"), EPOCH)
        else:
            ledger.mark(SYMBOL, D(a) * STEP, EPOCH + timedelta(days=b))
    return ledger


ticks_st = st.integers(min_value=1, max_value=2_000_000)
history_st = st.lists(
    st.one_of(
        st.tuples(st.just("t"), st.integers(-50, 50).filter(bool), ticks_st),
        st.tuples(st.just("m"), ticks_st, st.integers(0, 3)),
    ),
    max_size=6,
)
# Runs with repeated closes and few distinct values make ties, the hard case for shortlists.
run_st = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 499_990, 500_000, 500_001, 510_000, 2_000_000]), st.integers(0, 2)
    )
    | st.tuples(ticks_st, st.integers(0, 6)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(history_st, run_st)
def test_mark_run_equals_marking_one_by_one(
    history: list[tuple[str, int, int]], run: list[tuple[int, int]]
) -> None:
    run = sorted(run, key=lambda item: item[1])  # days never go backwards
    one_by_one, at_once = _ledger(history), _ledger(history)
    last_day = max((b for kind, _, b in history if kind == "m"), default=0)
    run = [(tick, day + last_day) for tick, day in run]

    equity, drawdown = [], []
    for tick, day in run:
        one_by_one.mark(SYMBOL, D(tick) * STEP, EPOCH + timedelta(days=day))
        equity.append(float(one_by_one.equity))
        drawdown.append(float(one_by_one.peak_equity - one_by_one.equity))
    marks = at_once.mark_run(
        SYMBOL,
        np.array([tick for tick, _ in run], dtype=np.int64),
        STEP,
        np.array([day for _, day in run], dtype=np.int64),
    )

    assert _state(at_once) == _state(one_by_one)
    # the floats a journal holds: each exactly float() of the Decimal, bar by bar
    assert marks.equity.tolist() == equity
    assert marks.drawdown.tolist() == drawdown


def test_mark_run_reports_equity_and_drawdown_per_close() -> None:
    ledger = Ledger(D(10_000))
    ledger.apply_trade(SYMBOL, D(1), D(5_000), D(0), EPOCH)  # cash 5,000 and 1 unit

    marks = ledger.mark_run(
        SYMBOL, np.array([50_000, 60_000, 45_000, 55_000]), STEP, np.zeros(4, dtype=np.int64)
    )

    assert marks.equity.tolist() == [10_000.0, 11_000.0, 9_500.0, 10_500.0]
    assert marks.drawdown.tolist() == [0.0, 0.0, 1_500.0, 500.0]
    assert ledger.peak_equity == D("11000.0")
    assert ledger.max_drawdown == D("1500.0")
    assert ledger.last_price(SYMBOL) == D("5500.0")


def test_mark_run_refuses_a_price_of_zero_ticks() -> None:
    ledger = Ledger(D(10_000))

    with pytest.raises(InvariantError, match=r"mark price for BTC/EUR must be > 0, was 0\.0"):
        ledger.mark_run(SYMBOL, np.array([5, 0]), STEP, np.zeros(2, dtype=np.int64))
    assert ledger.bars_marked == 0


def _best(ticks: list[int], step: Decimal) -> npt.NDArray[np.int64]:
    sign = 1 if step > 0 else -1
    array = np.array(ticks, dtype=np.int64)
    return np.asarray(np.maximum.accumulate(array * sign) * sign, dtype=np.int64)


def _exact_floats(
    other: Decimal, step: Decimal, peak: Decimal, ticks: list[int]
) -> tuple[list[float], list[float]]:
    equity, drawdown = [], []
    for tick in ticks:
        value = other + step * tick
        peak = max(peak, value)
        equity.append(float(value))
        drawdown.append(float(peak - value))
    return equity, drawdown


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=-(10**7), max_value=10**7, places=12),
    st.decimals(min_value=D("-1E+3"), max_value=D("1E+3"), places=9).filter(bool),
    st.decimals(min_value=-(10**7), max_value=10**8, places=12),
    st.lists(st.integers(1, 10**9), min_size=1, max_size=20),
)
def test_run_floats_round_as_float_of_the_exact_decimal(
    other: Decimal, step: Decimal, peak: Decimal, ticks: list[int]
) -> None:
    equity, drawdown = run_floats(
        other, step, peak, np.array(ticks, dtype=np.int64), _best(ticks, step)
    )

    assert (equity.tolist(), drawdown.tolist()) == _exact_floats(other, step, peak, ticks)


def _left_to_decimal(
    other: Decimal,
    step: Decimal,
    peak: Decimal,
    ticks: npt.NDArray[np.int64],
    best: npt.NDArray[np.int64],
) -> tuple[list[bool], list[bool]]:
    """Return, per close, whether the kernel leaves its equity and its drawdown to Decimal."""
    _, unsettled, _, undecided = marks._run_kernel(
        marks._double_double(other),
        marks._double_double(step),
        marks._double_double(peak - other),
        float(peak),
        ticks,
        best,
    )
    return unsettled.tolist(), undecided.tolist()


def test_run_floats_need_the_decimal_fallback_only_near_a_rounding_boundary() -> None:
    other, step, peak = D("9876.543210987654"), D("0.00123"), D("10400.1234567")
    ticks = np.concatenate([np.arange(400_000, 401_000), np.arange(401_000, 400_000, -1)])
    best = _best(ticks.tolist(), step)

    unsettled, undecided = _left_to_decimal(other, step, peak, ticks, best)
    equity, drawdown = run_floats(other, step, peak, ticks, best)

    assert not any(unsettled)  # no value of this run is left for Decimal to settle
    assert not any(undecided)
    assert (equity.tolist(), drawdown.tolist()) == _exact_floats(other, step, peak, ticks.tolist())


def test_run_floats_leave_a_close_level_with_the_old_peak_to_decimal() -> None:
    other, step = D("5000"), D("0.1")
    peak = other + step * 50_000  # the third close equals the old peak exactly
    ticks = np.array([49_000, 49_999, 50_000, 49_500], dtype=np.int64)
    best = _best(ticks.tolist(), step)

    _, undecided = _left_to_decimal(other, step, peak, ticks, best)
    equity, drawdown = run_floats(other, step, peak, ticks, best)

    assert undecided == [False, False, True, True]
    assert drawdown.tolist() == [100.0, 0.1, 0.0, 50.0]
    assert equity.tolist() == [9_900.0, 9_999.9, 10_000.0, 9_950.0]
