"""`bollinger_bands`: buy a close at or below the entry level under the lower band, exit higher."""

from __future__ import annotations

import math

from peak_trade.core.strategy_params import BollingerBandsParams
from peak_trade.strategies.base import FLAT, LONG, Strategy
from peak_trade.strategies.indicators import BollingerBands

__all__ = ["BollingerBandsStrategy"]


class BollingerBandsStrategy(Strategy[BollingerBandsParams]):
    """Enter at close <= lower band x entry_threshold; exit at close >= the exit level.

    The exit level is `exit_threshold` of the way from the lower to the upper band, so the
    default 0.5 exits at the middle band, as the original did.
    """

    key = "bollinger_bands"
    params_type = BollingerBandsParams
    description = "Bollinger reversion: long below the lower band, exit back at the middle band"

    def __init__(self, params: BollingerBandsParams) -> None:
        super().__init__(params)
        self._bands = BollingerBands(params.bb_period, params.bb_std)

    @property
    def required_bars(self) -> int:
        """Return bb_period: the bars of the first band."""
        return self.params.bb_period

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave around the bands."""
        if math.isnan(self._bands.update(close)):
            return self.target
        bands, p = self._bands, self.params
        if self.target == FLAT and close <= bands.lower * p.entry_threshold:
            self.target = LONG
        elif self.target == LONG and close >= bands.lower + p.exit_threshold * (
            bands.upper - bands.lower
        ):
            self.target = FLAT
        return self.target
