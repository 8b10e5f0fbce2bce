"""`breakout`: trade closes beyond the previous N bars' range, with stops and targets."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import BreakoutParams
from peak_trade.strategies.base import FLAT, LONG, SHORT, Strategy, pick_price
from peak_trade.strategies.indicators import ATR, SMA, DonchianChannel

__all__ = ["BreakoutStrategy"]


class BreakoutStrategy(Strategy[BreakoutParams]):
    """Long above the previous N-bar high, short below the previous N-bar low (per risk_mode).

    A position leaves on its stop-loss, take-profit or trailing stop (checked against the bar's
    low and high), or on the opposite breakout, which in symmetric mode flips it.
    """

    key = "breakout"
    params_type = BreakoutParams
    description = (
        "Donchian breakout with optional ATR filter, stop-loss, take-profit, trailing stop"
    )

    def __init__(self, params: BreakoutParams) -> None:
        super().__init__(params)
        self._upper = DonchianChannel(params.high_window)
        self._lower = DonchianChannel(params.low_window)
        self._atr = ATR(params.atr_lookback)
        self._atr_mean = SMA(2 * params.atr_lookback)
        mode = params.effective_risk_mode
        self._may_long = mode in ("symmetric", "long_only")
        self._may_short = mode in ("symmetric", "short_only")
        self._entry = math.nan
        self._extreme = math.nan  # highest high while long, lowest low while short

    @property
    def required_bars(self) -> int:
        """Return the bars of the first previous-N levels (and the ATR filter when used)."""
        p = self.params
        needed = max(p.high_window, p.low_window) + 1
        if p.use_atr_filter:
            atr_bars = p.atr_lookback + 1
            if p.atr_multiplier is not None:
                atr_bars += 2 * p.atr_lookback - 1
            needed = max(needed, atr_bars)
        return needed

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar: check exits against the levels of the bars before it, then entries."""
        upper, lower = self._upper.upper, self._lower.lower  # levels of the previous bars
        self._upper.update(high, high)
        self._lower.update(low, low)
        atr_ok = self._atr_allows(high, low, close)
        if math.isnan(upper) or math.isnan(lower):
            return self.target
        price = pick_price(self.params.price_col, open_, high, low, close)
        if self.target == LONG:
            self._manage_long(high, low, price, lower)
        elif self.target == SHORT:
            self._manage_short(high, low, price, upper)
        elif atr_ok and self._may_long and price > upper:
            self._enter(LONG, price, high)
        elif atr_ok and self._may_short and price < lower:
            self._enter(SHORT, price, low)
        return self.target

    def _enter(self, side: int, price: float, extreme: float) -> None:
        self.target, self._entry, self._extreme = side, price, extreme

    def _manage_long(self, high: float, low: float, price: float, lower: float) -> None:
        p = self.params
        stopped = (p.stop_loss_pct is not None and low <= self._entry * (1 - p.stop_loss_pct)) or (
            p.take_profit_pct is not None and high >= self._entry * (1 + p.take_profit_pct)
        )
        trailed = p.trailing_stop_pct is not None and low <= self._extreme * (
            1 - p.trailing_stop_pct
        )
        self._extreme = max(self._extreme, high)
        if stopped or trailed:
            self.target = FLAT
        elif p.exit_on_opposite_breakout and price < lower:
            if self._may_short:
                self._enter(SHORT, price, low)
            else:
                self.target = FLAT

    def _manage_short(self, high: float, low: float, price: float, upper: float) -> None:
        p = self.params
        stopped = (p.stop_loss_pct is not None and high >= self._entry * (1 + p.stop_loss_pct)) or (
            p.take_profit_pct is not None and low <= self._entry * (1 - p.take_profit_pct)
        )
        trailed = p.trailing_stop_pct is not None and high >= self._extreme * (
            1 + p.trailing_stop_pct
        )
        self._extreme = min(self._extreme, low)
        if stopped or trailed:
            self.target = FLAT
        elif p.exit_on_opposite_breakout and price > upper:
            if self._may_long:
                self._enter(LONG, price, high)
            else:
                self.target = FLAT

    def _atr_allows(self, high: float, low: float, close: float) -> bool:
        atr = self._atr.update(high, low, close)
        mean = self._atr_mean.update(atr) if not math.isnan(atr) else math.nan
        if not self.params.use_atr_filter:
            return True
        if math.isnan(atr):
            return False
        multiplier = self.params.atr_multiplier
        return multiplier is None or (not math.isnan(mean) and atr >= multiplier * mean)
