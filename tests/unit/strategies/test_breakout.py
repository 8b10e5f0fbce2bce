"""Breakout scenarios built bar by bar: entries, stops, targets, trailing and flips."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from peak_trade.core.strategy_params import BreakoutParams
from peak_trade.strategies.breakout import BreakoutStrategy
from peak_trade.testing.builders import START, make_bar

LOOKBACK = 5


def _run(rows: list[tuple[float, float, float]], **params: Any) -> list[int]:
    """Feed (high, low, close) rows after a flat range of 100 +- 1 and return the targets."""
    strategy = BreakoutStrategy(BreakoutParams(lookback_breakout=LOOKBACK, **params))
    flat = [(101.0, 99.0, 100.0)] * LOOKBACK
    targets = []
    for i, (high, low, close) in enumerate(flat + rows):
        bar = make_bar(close, time=START + timedelta(minutes=i), open=close, high=high, low=low)
        targets.append(strategy.on_bar(bar))
    return targets[LOOKBACK:]


def test_breakout_close_above_previous_high_goes_long() -> None:
    assert _run([(101.0, 99.5, 100.5), (103.0, 100.0, 102.0)]) == [0, 1]


def test_breakout_close_equal_to_previous_high_stays_flat() -> None:
    assert _run([(101.0, 99.5, 101.0)]) == [0]


def test_breakout_close_below_previous_low_goes_short_in_symmetric_mode() -> None:
    assert _run([(100.0, 97.0, 98.0)]) == [-1]


def test_breakout_long_only_ignores_downside_breaks() -> None:
    assert _run([(100.0, 97.0, 98.0)], risk_mode="long_only") == [0]


def test_breakout_legacy_side_long_maps_to_long_only() -> None:
    assert _run([(100.0, 97.0, 98.0), (103.0, 98.0, 102.0)], side="long") == [0, 1]


def test_breakout_stop_loss_exits_when_low_touches_it() -> None:
    # entry at 102; stop at 102 * 0.97 = 98.94
    rows = [(103.0, 100.0, 102.0), (102.5, 99.0, 101.0), (101.0, 98.94, 99.5)]
    assert _run(rows, stop_loss_pct=0.03, exit_on_opposite_breakout=False) == [1, 1, 0]


def test_breakout_take_profit_exits_when_high_reaches_it() -> None:
    # entry at 102; target at 102 * 1.06 = 108.12
    rows = [(103.0, 100.0, 102.0), (108.0, 102.0, 107.0), (108.2, 106.0, 107.5)]
    assert _run(rows, take_profit_pct=0.06) == [1, 1, 0]


def test_breakout_trailing_stop_follows_the_highest_high() -> None:
    # peak rises to 110, trail 2 %: exit once the low reaches 107.8
    rows = [
        (103.0, 100.0, 102.0),
        (110.0, 103.0, 109.0),
        (109.5, 108.0, 108.5),
        (108.5, 107.8, 108.0),
    ]
    assert _run(rows, trailing_stop_pct=0.02) == [1, 1, 1, 0]


def test_breakout_opposite_break_flips_long_to_short_in_symmetric_mode() -> None:
    rows = [(103.0, 100.0, 102.0), (102.0, 95.0, 96.0)]
    assert _run(rows) == [1, -1]


def test_breakout_opposite_break_closes_long_only_position() -> None:
    rows = [(103.0, 100.0, 102.0), (102.0, 95.0, 96.0)]
    assert _run(rows, risk_mode="long_only") == [1, 0]


def test_breakout_short_stop_loss_exits_when_high_touches_it() -> None:
    # short entry at 98; stop at 98 * 1.03 = 100.94
    rows = [(100.0, 97.0, 98.0), (100.94, 97.5, 99.0)]
    assert _run(rows, stop_loss_pct=0.03, exit_on_opposite_breakout=False) == [-1, 0]


def test_breakout_atr_filter_blocks_entries_until_atr_exists() -> None:
    strategy = BreakoutStrategy(
        BreakoutParams(lookback_breakout=LOOKBACK, use_atr_filter=True, atr_lookback=10)
    )
    assert strategy.required_bars == 11
    targets = _run([(103.0, 100.0, 102.0)], use_atr_filter=True, atr_lookback=10)
    assert targets == [0]  # only 6 bars seen: the ATR of 10 is not ready, so no entry
