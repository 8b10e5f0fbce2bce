"""`momentum_1h`: long while the rate of change is strong, flat once it turns down."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import MomentumParams
from peak_trade.strategies.base import FLAT, LONG, Strategy
from peak_trade.strategies.indicators import RateOfChange

__all__ = ["MomentumStrategy"]


class MomentumStrategy(Strategy[MomentumParams]):
    """Enter when momentum rises above entry_threshold; exit when it falls below exit_threshold."""

    key = "momentum_1h"
    params_type = MomentumParams
    description = "Momentum: long when the N-bar change rises above a level, flat below another"

    def __init__(self, params: MomentumParams) -> None:
        super().__init__(params)
        self._change = RateOfChange(params.lookback_period)

    @property
    def required_bars(self) -> int:
        """Return lookback_period + 1: the bars of the first rate of change."""
        return self.params.lookback_period + 1

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave on the rate of change."""
        momentum = self._change.update(close)
        if math.isnan(momentum):
            return self.target
        if self.target == FLAT and momentum > self.params.entry_threshold:
            self.target = LONG
        elif self.target == LONG and momentum < self.params.exit_threshold:
            self.target = FLAT
        return self.target
