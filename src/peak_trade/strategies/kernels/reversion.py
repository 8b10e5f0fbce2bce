"""Compiled reversion rules (bollinger_bands, rsi_reversion, mean_reversion): for each, a step
kernel for one bar and a column kernel that runs the same step over a column of bars without
leaving compiled code.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.strategies.kernels.oscillators import (
    rsi_push,
)
from peak_trade.strategies.kernels.rules import long_or_flat
from peak_trade.strategies.kernels.windows import (
    BANDS_LOWER,
    BANDS_UPPER,
    bands_push,
    percentile_push,
    sma_push,
    std_push,
    zscore_push,
)

__all__ = [
    "bollinger_columns",
    "bollinger_step",
    "mean_reversion_columns",
    "mean_reversion_step",
    "rsi_reversion_columns",
    "rsi_reversion_step",
]

Floats = npt.NDArray[np.float64]

# The rsi_reversion rule: lower, upper, exit_lower, exit_upper, 1.0 with the trend filter.
_LOWER_LEVEL, _UPPER_LEVEL, _EXIT_LOWER, _EXIT_UPPER, _TREND_FILTER = 0, 1, 2, 3, 4


# The mean_reversion rule: entry and exit z-score, 1.0 with the volatility filter, the highest
# volatility percentile it lets trade at. Its memory: the target, the previous close.
_Z_ENTRY, _Z_EXIT, _VOL_FILTER, _VOL_PERCENTILE = 0, 1, 2, 3


@compiled
def bollinger_step(std: Floats, bands: Floats, rule: Floats, held: Floats, close: float) -> int:
    """Feed a close; long at or below the lower band x entry, flat at the exit level.

    `rule` holds the deviations, the entry threshold and the exit threshold (the fraction of
    the way from the lower to the upper band); `held[0]` the target, updated here.
    """
    if math.isnan(bands_push(std, bands, rule[0], close)):
        return int(held[0])
    lower, upper = bands[BANDS_LOWER], bands[BANDS_UPPER]
    return long_or_flat(held, close <= lower * rule[1], close >= lower + rule[2] * (upper - lower))


@compiled
def bollinger_columns(
    std: Floats, bands: Floats, rule: Floats, held: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `bollinger_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = bollinger_step(std, bands, rule, held, closes[k])
    return targets


@compiled
def rsi_reversion_step(
    rsi: Floats, gains: Floats, losses: Floats, trend: Floats, rule: Floats, held: Floats, x: float
) -> int:
    """Feed a price; walk the flat/long/short machine of `rsi_reversion`.

    Long below the lower level, short above the upper, each left at its exit level (for the
    opposite side at once if it qualifies); with the trend filter (the SMA state `trend`), a
    long needs the price above the trend and a short below it. `held[0]` keeps the target.
    """
    target = int(held[0])
    value = rsi_push(rsi, gains, losses, x)
    filtered = rule[_TREND_FILTER] != 0.0
    level = sma_push(trend, x) if filtered else math.nan
    if math.isnan(value) or (filtered and math.isnan(level)):
        return target
    long_entry = value < rule[_LOWER_LEVEL] and (not filtered or x > level)
    short_entry = value > rule[_UPPER_LEVEL] and (not filtered or x < level)
    if target == 1 and value >= rule[_EXIT_LOWER]:
        target = -1 if short_entry else 0
    elif target == -1 and value <= rule[_EXIT_UPPER]:
        target = 1 if long_entry else 0
    elif target == 0:
        target = 1 if long_entry else -1 if short_entry else 0
    held[0] = target
    return target


@compiled
def rsi_reversion_columns(
    rsi: Floats,
    gains: Floats,
    losses: Floats,
    trend: Floats,
    rule: Floats,
    held: Floats,
    prices: Floats,
) -> npt.NDArray[np.int64]:
    """Run `rsi_reversion_step` over a column of prices; return the target after each."""
    targets = np.empty(prices.shape[0], dtype=np.int64)
    for k in range(prices.shape[0]):
        targets[k] = rsi_reversion_step(rsi, gains, losses, trend, rule, held, prices[k])
    return targets


@compiled
def mean_reversion_step(
    z_std: Floats, vol_std: Floats, rank: Floats, rule: Floats, memory: Floats, close: float
) -> int:
    """Feed a close; long when the z-score falls below the entry level (and, with the filter,
    the volatility of returns ranks at or below its percentile), flat above the exit level.

    `z_std` and `vol_std` are deviation states (of closes, and of returns), `rank` a
    percentile state; `memory` holds the target and the previous close.
    """
    target = int(memory[0])
    z = zscore_push(z_std, close)
    previous = memory[1]
    memory[1] = close
    calm = True
    if rule[_VOL_FILTER] != 0.0:
        calm = False
        if not math.isnan(previous):
            vol = std_push(vol_std, close / previous - 1.0)
            if not math.isnan(vol):
                calm = percentile_push(rank, vol) <= rule[_VOL_PERCENTILE]
    if math.isnan(z):
        return target
    return long_or_flat(memory, z < rule[_Z_ENTRY] and calm, z > rule[_Z_EXIT])


@compiled
def mean_reversion_columns(
    z_std: Floats, vol_std: Floats, rank: Floats, rule: Floats, memory: Floats, closes: Floats
) -> npt.NDArray[np.int64]:
    """Run `mean_reversion_step` over a column of closes; return the target after each."""
    targets = np.empty(closes.shape[0], dtype=np.int64)
    for k in range(closes.shape[0]):
        targets[k] = mean_reversion_step(z_std, vol_std, rank, rule, memory, closes[k])
    return targets
