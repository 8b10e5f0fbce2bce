"""`macd`: long from a MACD cross above its signal line until the cross back below."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import MACDParams
from peak_trade.strategies.base import FLAT, LONG, Strategy
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
        self._previous_gap = math.nan

    @property
    def required_bars(self) -> int:
        """Return slow + signal bars: the first signal value plus one bar to see a cross."""
        return self.params.slow_ema + self.params.signal_ema

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; a cross above the signal line sets long, a cross below sets flat."""
        self._macd.update(close)
        gap = self._macd.histogram
        if math.isnan(gap):
            return self.target
        previous, self._previous_gap = self._previous_gap, gap
        if not math.isnan(previous):
            if gap > 0 >= previous:
                self.target = LONG
            elif gap < 0 <= previous:
                self.target = FLAT
        return self.target
