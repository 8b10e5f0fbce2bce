"""`macd`: long from a MACD cross above its signal line until the cross back below."""

from __future__ import annotations

import math

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import MACDParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets
from peak_trade.strategies.indicators import MACD

__all__ = ["MACDStrategy"]


class MACDStrategy(Strategy[MACDParams]):
    """Hold long from a MACD cross above its signal line until the cross back below."""

    key = "macd"
    params_type = MACDParams
    description = "MACD: long from a cross above the signal line until the cross back below"

    def __init__(self, params: MACDParams) -> None:
        super().__init__(params)
        self._macd = MACD(params.fast_ema, params.slow_ema, params.signal_ema)
        self._cross = np.array([math.nan, float(FLAT)])  # the previous histogram, the target

    @property
    def required_bars(self) -> int:
        """Return slow + signal bars: the first signal value plus one bar to see a cross."""
        return self.params.slow_ema + self.params.signal_ema

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; a cross above the signal line sets long, a cross below sets flat
        (compiled: `kernels.macd_step`)."""
        m = self._macd
        self.target = kernels.macd_step(
            m.state, m.fast.state, m.slow.state, m.signal_ema.state, self._cross, close
        )
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        m = self._macd
        targets = kernels.macd_columns(
            m.state, m.fast.state, m.slow.state, m.signal_ema.state, self._cross, columns.close
        )
        return self._ran_columns(targets)
