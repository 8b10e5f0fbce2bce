"""Performance statistics from an equity curve and round trips (`portfolio.trips`), one bar
at a time.

Returns are simple per-bar returns of equity; Sharpe and Sortino use a zero risk-free rate and
are annualised with the number of bars in a 365-day year (crypto trades around the clock).
Sharpe uses the sample standard deviation; Sortino the root mean square of the negative
returns. The annualised figures (CAGR, Sharpe, Sortino) are None for a run spanning less than
`ANNUALISED_DAYS`: a few days scaled to a year give absurd numbers (a CAGR of 10^16 % after ten
bars), and a ranking by them means nothing. The drawdown duration is the longest run of bars
spent below an earlier peak. The running sums are folded in a compiled kernel (see
`core.compiled`), a column of closes at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled

Floats = npt.NDArray[np.float64]

__all__ = ["ANNUALISED_DAYS", "PerformanceStats", "RunningSums"]

ANNUALISED_DAYS = 30  # the shortest span an annualised figure is given for


class RunningSums(NamedTuple):
    """What the statistics keep of the closes so far: return moments and drawdown records."""

    previous: float  # the last equity (the start equity before any close)
    returns: int  # returns seen
    mean: float  # their mean (Welford)
    m2: float  # the sum of squared deviations from it (Welford)
    downside: float  # the sum of squared negative returns
    peak: float  # the highest equity so far
    below: int  # bars since the peak
    longest: int  # the most bars spent below a peak
    deepest: float  # the largest drawdown, percent


@dataclass
class PerformanceStats:
    """Accumulates equity bar by bar and round-trip results; `result()` reports them."""

    start_equity: float
    bars_per_year: float
    bars: int = 0
    bars_in_market: int = 0
    final_equity: float = math.nan
    sums: RunningSums = field(init=False)
    trips: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.start_equity > 0:
            raise ValueError(f"start_equity must be > 0, was {self.start_equity}")
        start = self.start_equity
        self.sums = RunningSums(start, 0, 0.0, 0.0, 0.0, start, 0, 0, 0.0)

    @property
    def max_drawdown_pct(self) -> float:
        """Return the largest drawdown from a peak so far, percent."""
        return self.sums.deepest

    @property
    def max_drawdown_bars(self) -> int:
        """Return the most bars spent below an earlier peak so far."""
        return self.sums.longest

    def add_bars(self, equity: Iterable[float] | Floats, in_market: bool) -> None:
        """Add the equity at several closes; all of them held a position, or none did."""
        values = np.asarray(equity, dtype=np.float64)
        if values.size == 0:
            return
        self.bars += values.size
        self.bars_in_market += values.size * in_market
        self.final_equity = float(values[-1])
        self.sums = RunningSums(*_accumulate(*self.sums, values))

    def add_bar(self, equity: float, in_market: bool) -> None:
        """Add the equity at one bar's close."""
        self.add_bars((equity,), in_market)

    def add_round_trip(self, pnl: float) -> None:
        """Add the net result of one position from open to flat."""
        self.trips.append(pnl)

    def result(self) -> dict[str, Any]:
        """Return the statistics; None where they are undefined (too few bars or trades)."""
        final = self.final_equity if self.bars else self.start_equity
        total = final / self.start_equity - 1.0
        years = self.bars / self.bars_per_year
        span_days = years * 365
        long_enough = span_days >= ANNUALISED_DAYS
        wins = [p for p in self.trips if p > 0]
        losses = [p for p in self.trips if p < 0]
        return {
            "bars": self.bars,
            "span_days": span_days,
            "total_return_pct": total * 100,
            "cagr_pct": ((final / self.start_equity) ** (1 / years) - 1) * 100
            if long_enough and final > 0
            else None,
            "sharpe": self._annualised(self._std()) if long_enough else None,
            "sortino": self._annualised(
                math.sqrt(self.sums.downside / self.sums.returns) if self.sums.returns else 0.0
            )
            if long_enough
            else None,
            "max_drawdown_pct": self.max_drawdown_pct,
            "max_drawdown_bars": self.max_drawdown_bars,
            "exposure_pct": self.bars_in_market / self.bars * 100 if self.bars else 0.0,
            "trades": len(self.trips),
            "win_rate_pct": len(wins) / len(self.trips) * 100 if self.trips else None,
            "profit_factor": sum(wins) / -sum(losses) if losses else None,
            "average_trade": sum(self.trips) / len(self.trips) if self.trips else None,
        }

    def _std(self) -> float:
        count, m2 = self.sums.returns, self.sums.m2
        return math.sqrt(m2 / (count - 1)) if count > 1 else 0.0

    def _annualised(self, spread: float) -> float | None:
        if self.sums.returns < 2 or spread <= 0:
            return None
        return self.sums.mean / spread * math.sqrt(self.bars_per_year)


@compiled
def _accumulate(
    previous: float,
    count: int,
    mean: float,
    m2: float,
    downside: float,
    peak: float,
    below: int,
    longest: int,
    deepest: float,
    equity: Floats,
) -> tuple[float, int, float, float, float, float, int, int, float]:
    """Fold closes into the running return moments (Welford) and the drawdown records."""
    for k in range(equity.shape[0]):
        value = equity[k]
        change = value / previous - 1.0
        previous = value
        count += 1
        delta = change - mean
        mean += delta / count
        m2 += delta * (change - mean)
        loss = min(change, 0.0)
        downside += loss * loss
        if value >= peak:
            peak, below = value, 0
        else:
            below += 1
            longest = max(longest, below)
            deepest = max(deepest, (peak - value) / peak * 100.0)
    return previous, count, mean, m2, downside, peak, below, longest, deepest
