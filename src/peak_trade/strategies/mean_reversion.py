"""`mean_reversion`: long when the z-score is stretched low, flat once it recovers."""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque

from peak_trade.core.strategy_params import MeanReversionParams
from peak_trade.strategies.base import FLAT, LONG, Strategy
from peak_trade.strategies.indicators import RollingStd, ZScore

__all__ = ["MeanReversionStrategy", "RollingPercentile"]


class RollingPercentile:
    """Percentile rank of each value among the last `window` values (itself included)."""

    __slots__ = ("_order", "_sorted", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def update(self, x: float) -> float:
        """Add a value and return the share of the window at or below it, in percent."""
        if len(self._order) == self.window:
            old = self._order.popleft()
            del self._sorted[bisect_right(self._sorted, old) - 1]
        self._order.append(x)
        insort(self._sorted, x)
        return 100.0 * bisect_right(self._sorted, x) / len(self._sorted)


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
        self._previous_close = math.nan
        self._vol = RollingStd(params.vol_window) if params.use_vol_filter else None
        self._rank = RollingPercentile(params.vol_rank_window)

    @property
    def required_bars(self) -> int:
        """Return the bars of the first z-score, and of the first volatility rank if filtered."""
        if self._vol is None:
            return self.params.lookback
        return max(self.params.lookback, self.params.vol_window + 1)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave on the z-score."""
        z = self._z.update(close)
        calm = self._volatility_allows(close)
        if math.isnan(z):
            return self.target
        if self.target == FLAT and z < self.params.entry_threshold and calm:
            self.target = LONG
        elif self.target == LONG and z > self.params.exit_threshold:
            self.target = FLAT
        return self.target

    def _volatility_allows(self, close: float) -> bool:
        previous, self._previous_close = self._previous_close, close
        if self._vol is None:
            return True
        if math.isnan(previous):
            return False
        vol = self._vol.update(close / previous - 1.0)
        if math.isnan(vol):
            return False
        return self._rank.update(vol) <= self.params.max_vol_percentile
