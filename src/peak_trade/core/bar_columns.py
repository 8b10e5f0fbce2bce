"""Closed candles as columns, for feeds that hand over many bars at once (backtests).

A `Bar` holds the rules of a valid candle and their wording. `bad_rows` states the same rules
over whole columns; `validate` builds the first bad row as a Bar, so the error a user reads is
always the Bar's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import InvariantError
from peak_trade.core.types import MAX_PRICE, MIN_PRICE, Bar

__all__ = ["BarColumns"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Candles as columns: open times in Unix seconds, then open, high, low, close, volume."""

    seconds: npt.NDArray[np.int64]
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats

    def __post_init__(self) -> None:
        sizes = {len(column) for column in self._columns()}
        if len(sizes) > 1:
            raise ValueError(f"bar columns must have one length, had {sorted(sizes)}")

    def _columns(self) -> tuple[npt.NDArray[np.generic], ...]:
        return (self.seconds, self.open, self.high, self.low, self.close, self.volume)

    @classmethod
    def from_bars(cls, bars: Sequence[Bar]) -> BarColumns:
        """Return the columns of `bars`."""
        return cls(
            np.array([int(bar.time.timestamp()) for bar in bars], dtype=np.int64),
            *(
                np.array([getattr(bar, name) for bar in bars], dtype=np.float64)
                for name in ("open", "high", "low", "close", "volume")
            ),
        )

    def __len__(self) -> int:
        return len(self.seconds)

    def time(self, i: int) -> datetime:
        """Return the open time of row `i`."""
        return datetime.fromtimestamp(self.seconds.item(i), UTC)  # positional: faster

    def bar(self, i: int) -> Bar:
        """Return row `i` as a Bar (validated)."""
        return Bar(
            self.time(i),
            self.open.item(i),
            self.high.item(i),
            self.low.item(i),
            self.close.item(i),
            self.volume.item(i),
        )

    def bars(self) -> Iterator[Bar]:
        """Yield every row as a Bar."""
        for i in range(len(self)):
            yield self.bar(i)

    def slice(self, start: int, stop: int) -> BarColumns:
        """Return rows `start` to `stop` (views, not copies)."""
        return BarColumns(
            self.seconds[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )

    def bad_rows(self) -> npt.NDArray[np.bool_]:
        """Return True for each row that a Bar would refuse."""
        o, h, lo, c, v = self.open, self.high, self.low, self.close, self.volume
        with np.errstate(invalid="ignore"):
            prices = np.stack([o, h, lo, c])
            bad = ~((prices >= MIN_PRICE) & (prices <= MAX_PRICE)).all(axis=0)
            bad |= ~(np.isfinite(v) & (v >= 0))
            bad |= (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
        return bad

    def validate(self) -> None:
        """Raise the Bar's DataError for the first row a Bar would refuse."""
        rows = np.flatnonzero(self.bad_rows())
        if rows.size:
            self.bar(int(rows[0]))
            raise InvariantError(f"row {int(rows[0])} was flagged, but a Bar accepts it")
