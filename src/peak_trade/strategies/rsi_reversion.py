"""`rsi_reversion`: buy oversold, sell overbought, exit as RSI returns to its middle."""

from __future__ import annotations

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import RsiReversionParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets, pick_price
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
        # without the filter, the compiled rule is handed an SMA state it leaves alone
        self._trend_state = (self._trend or SMA(1)).state
        self._rule = np.array(
            [
                params.lower,
                params.upper,
                params.exit_lower,
                params.exit_upper,
                1.0 if params.use_trend_filter else 0.0,
            ]
        )
        self._held = np.array([float(FLAT)])  # the target, as the compiled rule keeps it

    @property
    def required_bars(self) -> int:
        """Return the bars needed for the first RSI (and the trend SMA when it is used)."""
        trend = self.params.trend_ma_window if self._trend is not None else 0
        return max(self.params.rsi_window + 1, trend)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and walk the flat/long/short state machine (compiled:
        `kernels.rsi_reversion_step`)."""
        price = pick_price(self.params.price_col, open_, high, low, close)
        rsi = self._rsi
        self.target = kernels.rsi_reversion_step(
            rsi.state, rsi.gains, rsi.losses, self._trend_state, self._rule, self._held, price
        )
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        rsi = self._rsi
        targets = kernels.rsi_reversion_columns(
            rsi.state,
            rsi.gains,
            rsi.losses,
            self._trend_state,
            self._rule,
            self._held,
            getattr(columns, self.params.price_col),
        )
        return self._ran_columns(targets)
