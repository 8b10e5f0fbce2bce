"""`bollinger_bands`: buy a close at or below the entry level under the lower band, exit higher."""

from __future__ import annotations

import numpy as np

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.strategy_params import BollingerBandsParams
from peak_trade.strategies import kernels
from peak_trade.strategies.base import FLAT, Strategy, Targets
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
        self._rule = np.array([params.bb_std, params.entry_threshold, params.exit_threshold])
        self._held = np.array([float(FLAT)])  # the target, as the compiled rule keeps it

    @property
    def required_bars(self) -> int:
        """Return bb_period: the bars of the first band."""
        return self.params.bb_period

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume a bar and enter or leave around the bands (compiled: `bollinger_step`)."""
        bands = self._bands
        self.target = kernels.bollinger_step(
            bands.std_state, bands.bands, self._rule, self._held, close
        )
        return self.target

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row in compiled code; the same rule as `update`, row by row."""
        bands = self._bands
        targets = kernels.bollinger_columns(
            bands.std_state, bands.bands, self._rule, self._held, columns.close
        )
        return self._ran_columns(targets)
