"""`breakout`: trade closes beyond the previous N bars' range, with stops and targets."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import BreakoutParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets, pick_price
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

        def flag(on: bool) -> float:
            return 1.0 if on else 0.0

        def fraction(value: float | None) -> float:
            return math.nan if value is None else value

        self._rule = np.array(
            [
                flag(mode in ("symmetric", "long_only")),
                flag(mode in ("symmetric", "short_only")),
                flag(params.use_atr_filter),
                fraction(params.atr_multiplier),
                fraction(params.stop_loss_pct),
                fraction(params.take_profit_pct),
                fraction(params.trailing_stop_pct),
                flag(params.exit_on_opposite_breakout),
            ]
        )
        # the target, the entry price, the extreme (highest high while long, lowest low while
        # short), as the compiled rule keeps them
        self._memory = np.array([float(FLAT), math.nan, math.nan])

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
        """Consume a bar: check exits against the levels of the bars before it, then entries
        (compiled: `kernels.breakout_step`)."""
        price = pick_price(self.params.price_col, open_, high, low, close)
        self.target = kernels.breakout_step(*self._states(), price, high, low, close)
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        targets = kernels.breakout_columns(
            *self._states(),
            getattr(columns, self.params.price_col),
            columns.high,
            columns.low,
            columns.close,
        )
        return self._ran_columns(targets)

    def _states(
        self,
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        return (
            self._upper.state,
            self._lower.state,
            self._atr.state,
            self._atr_mean.state,
            self._rule,
            self._memory,
        )
