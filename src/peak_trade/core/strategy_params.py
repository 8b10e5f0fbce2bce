"""Parameter schemas of the built-in strategies, one `[strategy.<key>]` table each.

They live in `core` so that `load_config` can validate every section of the config file
without importing strategy code; each strategy module reads its own model from here.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BollingerBandsParams",
    "BreakoutParams",
    "MACDParams",
    "MACrossoverParams",
    "MeanReversionParams",
    "MomentumParams",
    "RsiReversionParams",
    "StrategyParams",
    "StrategySections",
    "TrendFollowingParams",
]

# A window is at most the longest warmup a run may have (core.types.MAX_WARMUP_CANDLES).
MAX_WINDOW = 100_000
Window = Annotated[int, Field(ge=2, le=MAX_WINDOW)]
PositiveInt = Annotated[int, Field(gt=0, le=MAX_WINDOW)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
PriceColumn = Literal["open", "high", "low", "close"]


class StrategyParams(BaseModel):
    """Base of every parameter model: frozen, strict about names and types."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class MACrossoverParams(StrategyParams):
    """Simple moving-average crossover: long from a cross-up until the next cross-down."""

    fast_window: Window = 20
    slow_window: Window = 50
    price_col: PriceColumn = "close"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast_window >= self.slow_window:
            raise ValueError(
                "fast_window must be < slow_window, "
                f"was fast_window={self.fast_window}, slow_window={self.slow_window}"
            )
        return self


class RsiReversionParams(StrategyParams):
    """RSI mean reversion with separate entry and exit levels."""

    rsi_window: Window = 14
    lower: Annotated[float, Field(ge=0, le=100)] = 30.0
    upper: Annotated[float, Field(ge=0, le=100)] = 70.0
    exit_lower: Annotated[float, Field(ge=0, le=100)] = 50.0
    exit_upper: Annotated[float, Field(ge=0, le=100)] = 50.0
    use_trend_filter: bool = False
    trend_ma_window: Window = 50
    use_wilder: bool = True
    price_col: PriceColumn = "close"

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        if self.lower >= self.upper:
            raise ValueError(f"lower must be < upper, was lower={self.lower}, upper={self.upper}")
        return self


class TrendFollowingParams(StrategyParams):
    """ADX trend following, long while the trend is strong and up."""

    adx_period: Window = 14
    adx_threshold: Annotated[float, Field(gt=0, lt=100)] = 25.0
    exit_threshold: Annotated[float, Field(ge=0, lt=100)] = 20.0
    ma_period: Window = 50
    use_ma_filter: bool = True

    @model_validator(mode="after")
    def _exit_below_entry(self) -> Self:
        if self.exit_threshold >= self.adx_threshold:
            raise ValueError(
                "exit_threshold must be < adx_threshold, "
                f"was exit_threshold={self.exit_threshold}, adx_threshold={self.adx_threshold}"
            )
        return self


_SIDE_TO_RISK_MODE: dict[str, str] = {
    "long": "long_only",
    "short": "short_only",
    "both": "symmetric",
}


class BreakoutParams(StrategyParams):
    """Donchian breakout with optional ATR filter, stop-loss, take-profit and trailing stop."""

    lookback_breakout: Window = 20
    lookback_high: Window | None = None
    lookback_low: Window | None = None
    atr_lookback: Window = 14
    atr_multiplier: Annotated[float, Field(gt=0)] | None = None
    use_atr_filter: bool = False
    exit_on_opposite_breakout: bool = True
    risk_mode: Literal["symmetric", "long_only", "short_only"] = "symmetric"
    side: Literal["long", "short", "both"] | None = None
    stop_loss_pct: Fraction | None = None
    take_profit_pct: Annotated[float, Field(gt=0)] | None = None
    trailing_stop_pct: Fraction | None = None
    price_col: PriceColumn = "close"

    @property
    def effective_risk_mode(self) -> str:
        """Return risk_mode, or the legacy `side` mapped onto it when `side` is given."""
        return _SIDE_TO_RISK_MODE[self.side] if self.side is not None else self.risk_mode

    @property
    def high_window(self) -> int:
        """Return the lookback of the upper Donchian level."""
        return self.lookback_high or self.lookback_breakout

    @property
    def low_window(self) -> int:
        """Return the lookback of the lower Donchian level."""
        return self.lookback_low or self.lookback_breakout


class MACDParams(StrategyParams):
    """MACD versus its signal line, long while MACD is above it."""

    fast_ema: Window = 12
    slow_ema: Window = 26
    signal_ema: Window = 9

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast_ema >= self.slow_ema:
            raise ValueError(
                "fast_ema must be < slow_ema, "
                f"was fast_ema={self.fast_ema}, slow_ema={self.slow_ema}"
            )
        return self


class BollingerBandsParams(StrategyParams):
    """Bollinger reversion: buy at the entry level under the lower band, exit near the middle."""

    bb_period: Window = 20
    bb_std: Annotated[float, Field(gt=0)] = 2.0
    entry_threshold: Annotated[float, Field(gt=0, le=1)] = 0.95
    exit_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5


class MeanReversionParams(StrategyParams):
    """Z-score mean reversion with an optional volatility filter."""

    lookback: Window = 20
    entry_threshold: float = -2.0
    exit_threshold: float = 0.0
    use_vol_filter: bool = False
    vol_window: Window = 20
    max_vol_percentile: Annotated[float, Field(gt=0, le=100)] = 70.0
    vol_rank_window: Annotated[int, Field(ge=10)] = 500

    @model_validator(mode="after")
    def _entry_below_exit(self) -> Self:
        if self.entry_threshold >= self.exit_threshold:
            raise ValueError(
                "entry_threshold must be < exit_threshold, "
                f"was entry_threshold={self.entry_threshold}, exit_threshold={self.exit_threshold}"
            )
        return self


class MomentumParams(StrategyParams):
    """Rate-of-change momentum: enter when it rises through one level, exit below another."""

    lookback_period: PositiveInt = 20
    entry_threshold: float = 0.02
    exit_threshold: float = -0.01

    @model_validator(mode="after")
    def _entry_above_exit(self) -> Self:
        if self.entry_threshold <= self.exit_threshold:
            raise ValueError(
                "entry_threshold must be > exit_threshold, "
                f"was entry_threshold={self.entry_threshold}, exit_threshold={self.exit_threshold}"
            )
        return self


class StrategySections(StrategyParams):
    """The `[strategy.<key>]` tables; an absent table means the strategy's defaults. A table
    of another name is kept as it is, for a user strategy loaded later (its file defines its
    parameters); one that names no strategy is refused when a strategy is built."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True, allow_inf_nan=False)

    ma_crossover: MACrossoverParams = MACrossoverParams()
    rsi_reversion: RsiReversionParams = RsiReversionParams()
    trend_following: TrendFollowingParams = TrendFollowingParams()
    breakout: BreakoutParams = BreakoutParams()
    macd: MACDParams = MACDParams()
    bollinger_bands: BollingerBandsParams = BollingerBandsParams()
    mean_reversion: MeanReversionParams = MeanReversionParams()
    momentum_1h: MomentumParams = MomentumParams()
