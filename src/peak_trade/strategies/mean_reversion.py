"""`mean_reversion`: long when the z-score is stretched low, flat once it recovers."""

from __future__ import annotations

import math

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import MeanReversionParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets
from peak_trade.strategies.indicators import RollingStd, ZScore

__all__ = ["MeanReversionStrategy", "RollingPercentile"]


class RollingPercentile:
    """Percentile rank of each value among the last `window` values (itself included;
    compiled: `kernels.percentile_push`)."""

    __slots__ = ("state", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.state = kernels.percentile_state(window)

    def update(self, x: float) -> float:
        """Add a value and return the share of the window at or below it, in percent."""
        return kernels.percentile_push(self.state, x)


class MeanReversionStrategy(Strategy[MeanReversionParams]):
    """Enter when z < entry_threshold (and volatility is low enough); exit when z > exit_threshold.

    The original ranked volatility against every earlier bar, which costs O(n) per bar; the rank
    here is over the last `vol_rank_window` values, so each bar costs the same.
    """

    key = "mean_reversion"
    params_type = MeanReversionParams
    description = "Z-score reversion: long when price is stretched below its mean, flat on recovery"

    def __init__(self, params: MeanReversionParams) -> None:
        super().__init__(params)
        self._z = ZScore(params.lookback)
        # without the filter, the compiled rule is handed a deviation state it leaves alone
        self._vol = RollingStd(params.vol_window if params.use_vol_filter else 2)
        self._rank = RollingPercentile(params.vol_rank_window)
        self._rule = np.array(
            [
                params.entry_threshold,
                params.exit_threshold,
                1.0 if params.use_vol_filter else 0.0,
                params.max_vol_percentile,
            ]
        )
        self._memory = np.array([float(FLAT), math.nan])  # the target, the previous close

    @property
    def required_bars(self) -> int:
        """Return the bars of the first z-score, and of the first volatility rank if filtered."""
        if not self.params.use_vol_filter:
            return self.params.lookback
        return max(self.params.lookback, self.params.vol_window + 1)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave on the z-score (compiled:
        `kernels.mean_reversion_step`)."""
        self.target = kernels.mean_reversion_step(
            self._z.std_state, self._vol.state, self._rank.state, self._rule, self._memory, close
        )
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        targets = kernels.mean_reversion_columns(
            self._z.std_state,
            self._vol.state,
            self._rank.state,
            self._rule,
            self._memory,
            columns.close,
        )
        return self._ran_columns(targets)
