"""`trend_following`: long while ADX shows a strong up-trend, flat when it fades."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import TrendFollowingParams
from peak_trade.strategies.base import FLAT, LONG, Strategy
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

    @property
    def required_bars(self) -> int:
        """Return the bars needed for the first ADX (and the SMA filter when it is used)."""
        trend = self.params.ma_period if self._trend is not None else 0
        return max(2 * self.params.adx_period, trend)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar; the exit condition wins when entry and exit hold on the same bar."""
        p = self.params
        adx = self._adx.update(high, low, close)
        trend = self._trend.update(close) if self._trend is not None else math.nan
        if math.isnan(adx) or (self._trend is not None and math.isnan(trend)):
            return self.target
        plus, minus = self._adx.plus_di, self._adx.minus_di
        exit_now = adx < p.exit_threshold or minus > plus
        entry = adx > p.adx_threshold and plus > minus and (self._trend is None or close > trend)
        if exit_now:
            self.target = FLAT
        elif entry:
            self.target = LONG
        return self.target
