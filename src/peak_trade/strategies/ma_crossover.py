"""`ma_crossover`: long from a fast-over-slow SMA cross-up until the next cross-down."""

from __future__ import annotations

import math

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import MACrossoverParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets, pick_price
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
        self._cross = np.array([math.nan, float(FLAT)])  # previous fast - slow, the target

    @property
    def required_bars(self) -> int:
        """Return slow_window + 1: one bar more than the slow SMA, to see a first cross."""
        return self.params.slow_window + 1

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; a cross-up sets the target long, a cross-down sets it flat."""
        price = pick_price(self.params.price_col, open_, high, low, close)
        self.target = kernels.ma_cross_step(self._fast.state, self._slow.state, self._cross, price)
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        prices = getattr(columns, self.params.price_col)
        targets = kernels.ma_cross_columns(self._fast.state, self._slow.state, self._cross, prices)
        return self._ran_columns(targets)
