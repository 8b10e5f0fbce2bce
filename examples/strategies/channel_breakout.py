"""A strategy of one's own: long on a breakout above the recent highs, flat below recent lows.

Load it with `--strategy-path examples/strategies/channel_breakout.py` (or put its folder in
`[strategies] paths`) and run it with `--strategy channel_breakout`; set its parameters in
`[strategy.channel_breakout]`. docs/strategies.md walks through it.
"""

from __future__ import annotations

from collections import deque

from pydantic import Field

import peak_trade


class ChannelParams(peak_trade.StrategyParams):
    """`[strategy.channel_breakout]`: how many bars each channel looks back."""

    entry_bars: int = Field(20, ge=2, le=10_000)  # go long above the highest high of these
    exit_bars: int = Field(10, ge=2, le=10_000)  # go flat below the lowest low of these


class ChannelBreakout(peak_trade.Strategy[ChannelParams]):
    """Long when the close breaks above the highest high of the last `entry_bars` bars; flat
    when it falls below the lowest low of the last `exit_bars`."""

    key = "channel_breakout"
    description = (
        "long above the highest high of entry_bars, flat below the lowest low of exit_bars"
    )
    params_type = ChannelParams

    def __init__(self, params: ChannelParams) -> None:
        super().__init__(params)
        self.highs: deque[float] = deque(maxlen=params.entry_bars)
        self.lows: deque[float] = deque(maxlen=params.exit_bars)

    @property
    def required_bars(self) -> int:
        # a full channel of each kind, then the bar that is compared with it
        return max(self.params.entry_bars, self.params.exit_bars) + 1

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        highs, lows = self.highs, self.lows
        if len(highs) == highs.maxlen and close > max(highs):
            self.target = peak_trade.LONG
        elif len(lows) == lows.maxlen and close < min(lows):
            self.target = peak_trade.FLAT
        highs.append(high)
        lows.append(low)
        return self.target
