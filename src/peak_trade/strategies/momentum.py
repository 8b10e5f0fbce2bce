"""`momentum_1h`: long while the rate of change is strong, flat once it turns down."""

from __future__ import annotations

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import MomentumParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets
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
        self._rule = np.array([params.entry_threshold, params.exit_threshold])
        self._held = np.array([float(FLAT)])  # the target, as the compiled rule keeps it

    @property
    def required_bars(self) -> int:
        """Return lookback_period + 1: the bars of the first rate of change."""
        return self.params.lookback_period + 1

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave on the rate of change (compiled:
        `kernels.momentum_step`)."""
        self.target = kernels.momentum_step(self._change.state, self._rule, self._held, close)
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        targets = kernels.momentum_columns(
            self._change.state, self._rule, self._held, columns.close
        )
        return self._ran_columns(targets)
