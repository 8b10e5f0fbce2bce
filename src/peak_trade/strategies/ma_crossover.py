"""`ma_crossover`: long from a fast-over-slow SMA cross-up until the next cross-down."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import MACrossoverParams
from peak_trade.strategies.base import FLAT, LONG, Strategy, pick_price
from peak_trade.strategies.indicators import SMA

__all__ = ["MACrossoverStrategy"]


class MACrossoverStrategy(Strategy[MACrossoverParams]):
    """Go long when the fast SMA crosses above the slow one; go flat when it crosses below."""

    key = "ma_crossover"
    params_type = MACrossoverParams
    description = "SMA crossover: long from a fast-over-slow cross-up until the next cross-down"

    def __init__(self, params: MACrossoverParams) -> None:
        super().__init__(params)
        self._fast = SMA(params.fast_window)
        self._slow = SMA(params.slow_window)
        self._previous_diff = math.nan

    @property
    def required_bars(self) -> int:
        """Return slow_window + 1: one bar more than the slow SMA, to see a first cross."""
        return self.params.slow_window + 1

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; a cross-up sets the target long, a cross-down sets it flat."""
        price = pick_price(self.params.price_col, open_, high, low, close)
        fast = self._fast.update(price)
        slow = self._slow.update(price)
        if math.isnan(slow):
            return self.target
        diff = fast - slow
        previous, self._previous_diff = self._previous_diff, diff
        if not math.isnan(previous):
            if diff > 0 >= previous:
                self.target = LONG
            elif diff < 0 <= previous:
                self.target = FLAT
        return self.target
