"""`rsi_reversion`: buy oversold, sell overbought, exit as RSI returns to its middle."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import RsiReversionParams
from peak_trade.strategies.base import FLAT, LONG, SHORT, Strategy, pick_price
from peak_trade.strategies.indicators import RSI, SMA

__all__ = ["RsiReversionStrategy"]


class RsiReversionStrategy(Strategy[RsiReversionParams]):
    """Long below `lower`, short above `upper`; leave at the exit levels, optional trend filter."""

    key = "rsi_reversion"
    params_type = RsiReversionParams
    description = "RSI reversion: long when oversold, short when overbought, exit near the middle"

    def __init__(self, params: RsiReversionParams) -> None:
        super().__init__(params)
        self._rsi = RSI(params.rsi_window, wilder=params.use_wilder)
        self._trend = SMA(params.trend_ma_window) if params.use_trend_filter else None

    @property
    def required_bars(self) -> int:
        """Return the bars needed for the first RSI (and the trend SMA when it is used)."""
        trend = self.params.trend_ma_window if self._trend is not None else 0
        return max(self.params.rsi_window + 1, trend)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and walk the flat/long/short state machine."""
        p = self.params
        price = pick_price(p.price_col, open_, high, low, close)
        rsi = self._rsi.update(price)
        trend = self._trend.update(price) if self._trend is not None else math.nan
        if math.isnan(rsi) or (self._trend is not None and math.isnan(trend)):
            return self.target
        trend_up = self._trend is None or price > trend
        trend_down = self._trend is None or price < trend
        long_entry = rsi < p.lower and trend_up
        short_entry = rsi > p.upper and trend_down
        if self.target == LONG and rsi >= p.exit_lower:
            self.target = SHORT if short_entry else FLAT
        elif self.target == SHORT and rsi <= p.exit_upper:
            self.target = LONG if long_entry else FLAT
        elif self.target == FLAT:
            self.target = LONG if long_entry else SHORT if short_entry else FLAT
        return self.target
