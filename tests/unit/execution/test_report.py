"""The report's plot data: a long run is drawn from an envelope that keeps every extreme."""

from __future__ import annotations

import numpy as np

from peak_trade.execution.report import envelope


def test_a_short_run_is_drawn_bar_by_bar() -> None:
    equity = np.array([100.0, 101.0, 99.5])
    drawdown = np.array([0.0, 0.0, -1.5])

    steps, low, high, deepest = envelope(equity, drawdown, points=10)

    assert steps.tolist() == [0.0, 1.0, 2.0]
    assert low is high
    assert low.tolist() == equity.tolist()
    assert deepest.tolist() == drawdown.tolist()


def test_a_long_run_keeps_the_extremes_of_each_stretch_of_bars() -> None:
    rng = np.random.default_rng(3)
    equity = 10_000 + np.cumsum(rng.normal(0, 5, 10_001))
    drawdown = equity - np.maximum.accumulate(equity)

    steps, low, high, deepest = envelope(equity, drawdown, points=1_000)

    # 11 bars a point (10,001 / 1,000 rounded up), the last point holds what is left
    assert len(steps) == 910
    assert steps[:3].tolist() == [0.0, 11.0, 22.0]
    assert (low[0], high[0], deepest[0]) == (
        equity[:11].min(),
        equity[:11].max(),
        drawdown[:11].min(),
    )
    assert (low.min(), high.max(), deepest.min()) == (equity.min(), equity.max(), drawdown.min())
    assert high[-1] == equity[steps[-1].astype(int) :].max()
