"""Ledger.mark_run: marking a run of closes at once equals marking them one by one, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.errors import InvariantError
from peak_trade.portfolio.ledger import Ledger
from peak_trade.portfolio.marks import equity_floats

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

    for tick, day in run:
        one_by_one.mark(SYMBOL, D(tick) * STEP, EPOCH + timedelta(days=day))
    marks = at_once.mark_run(
        SYMBOL,
        np.array([tick for tick, _ in run], dtype=np.int64),
        STEP,
        np.array([day for _, day in run], dtype=np.int64),
    )

    assert _state(at_once) == _state(one_by_one)
    assert marks.equity[-1] == pytest.approx(float(one_by_one.equity), rel=1e-12)


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


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=-(10**7), max_value=10**7, places=12),
    st.decimals(min_value=D("-1E+3"), max_value=D("1E+3"), places=9).filter(bool),
    st.lists(st.integers(1, 10**9), min_size=1, max_size=20),
)
def test_equity_floats_round_as_float_of_the_exact_decimal(
    other: Decimal, quantity_step: Decimal, ticks: list[int]
) -> None:
    exact = [other + quantity_step * tick for tick in ticks]

    floats = equity_floats(other, quantity_step, np.array(ticks, dtype=np.int64), exact.__getitem__)

    assert floats.tolist() == [float(value) for value in exact]


def test_equity_floats_need_the_decimal_fallback_only_near_a_rounding_boundary() -> None:
    other, quantity_step = D("9876.543210987654"), D("0.00123")
    ticks = np.arange(400_000, 401_000, dtype=np.int64)
    asked: list[int] = []

    def exact(k: int) -> Decimal:
        asked.append(k)
        return other + quantity_step * int(ticks[k])

    floats = equity_floats(other, quantity_step, ticks, exact)

    assert asked == []
    assert floats.tolist() == [float(other + quantity_step * int(t)) for t in ticks]
