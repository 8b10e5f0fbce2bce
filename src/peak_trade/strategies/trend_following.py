"""`trend_following`: long while ADX shows a strong up-trend, flat when it fades."""

from __future__ import annotations

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import TrendFollowingParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets
from peak_trade.strategies.indicators import ADX, SMA

__all__ = ["TrendFollowingStrategy"]


class TrendFollowingStrategy(Strategy[TrendFollowingParams]):
    """Enter when ADX > threshold with +DI above -DI (and close above its SMA); exit on weakness."""

    key = "trend_following"
    params_type = TrendFollowingParams
    description = "ADX trend following: long while ADX is strong and +DI leads, flat when it fades"

    def __init__(self, params: TrendFollowingParams) -> None:
        super().__init__(params)
        self._adx = ADX(params.adx_period)
        self._trend = SMA(params.ma_period) if params.use_ma_filter else None
        # without the filter, the compiled rule is handed an SMA state it leaves alone
        self._trend_state = (self._trend or SMA(1)).state
        filtered = 1.0 if params.use_ma_filter else 0.0
        self._rule = np.array([params.adx_threshold, params.exit_threshold, filtered])
        self._held = np.array([float(FLAT)])  # the target, as the compiled rule keeps it

    @property
    def required_bars(self) -> int:
        """Return the bars needed for the first ADX (and the SMA filter when it is used)."""
        trend = self.params.ma_period if self._trend is not None else 0
        return max(2 * self.params.adx_period, trend)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; the exit condition wins when entry and exit hold on the same bar
        (compiled: `kernels.trend_following_step`)."""
        self.target = kernels.trend_following_step(
            self._adx.state, self._trend_state, self._rule, self._held, high, low, close
        )
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        targets = kernels.trend_following_columns(
            self._adx.state,
            self._trend_state,
            self._rule,
            self._held,
            columns.high,
            columns.low,
            columns.close,
        )
        return self._ran_columns(targets)
