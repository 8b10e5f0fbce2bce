"""Runs of quiet bars waiting to be journaled as one `bars` event: copied as packed columns
(`QuietBars`) or, in a backtest, by reference to the data (`ReferencedRun`)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from peak_trade.engine.outcomes import QuietRun
from peak_trade.journal.bars import MICROS
from peak_trade.journal.schema import positional

__all__ = ["REFERENCED", "QuietBars", "ReferencedRun", "continues"]

# the `bars` payloads, as `to_json` would write them (base64 and a Decimal's text never need
# escaping)
_COPIED = positional("bars/copied", "cash", "columns", "n", "position", "t_us", "target")
REFERENCED = positional(
    "bars/referenced", "cash", "first_us", "last_us", "n", "peak", "position", "target"
)


class QuietBars:
    """A run of quiet bars, each with the same target, cash and position, as columns."""

    __slots__ = ("cash", "position", "single", "size", "target", "times", "values")

    def __init__(
        self,
        target: int,
        cash: Decimal,
        position: Decimal,
        buffers: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
    ) -> None:
        self.target, self.cash, self.position = target, cash, position
        self.times, self.values = buffers  # reused from run to run: one run is open at a time
        self.size = 0
        self.single: dict[str, Any] = {}  # the `bar` payload, while the run is one bar long

    def add(self, run: QuietRun, start: int, stop: int) -> None:
        columns, a, b = run.columns, run.start + start, run.start + stop
        at, to = self.size, self.size + stop - start
        np.multiply(columns.seconds[a:b], MICROS, out=self.times[at:to])
        values = self.values
        values[0, at:to] = columns.open[a:b]
        values[1, at:to] = columns.high[a:b]
        values[2, at:to] = columns.low[a:b]
        values[3, at:to] = columns.close[a:b]
        values[4, at:to] = columns.volume[a:b]
        values[5, at:to] = run.marks.equity[start:stop]
        values[6, at:to] = run.marks.drawdown[start:stop]
        self.size = to

    def payload_json(self) -> str:
        """Return the `bars` payload as `to_json` would encode it, without scanning the columns.

        `columns` holds the COLUMNS one after the other as little-endian float64, `t_us` the
        times as little-endian int64 microseconds, both base64. Neither base64 text nor the
        text of a Decimal (digits, sign, point, exponent) ever needs escaping in JSON, so they
        are joined in as they are, Decimals as strings as `to_json` writes them; `n` and
        `target` are whole numbers. Keys come out sorted, as there.
        """
        n = self.size
        columns, times = self.values[:, :n].tobytes(), self.times[:n].tobytes()
        return _COPIED % (
            self.cash,
            _base64(columns),
            int(n),
            self.position,
            _base64(times),
            int(self.target),
        )


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ReferencedRun:
    """A run of quiet bars journaled by reference: where it starts and ends, and its state."""

    __slots__ = ("cash", "first", "last", "peak", "position", "size", "target")

    def __init__(
        self, target: int, cash: Decimal, position: Decimal, peak: Decimal, first: int
    ) -> None:
        self.target, self.cash, self.position, self.peak = target, cash, position, peak
        self.first = first * MICROS  # the first bar's open, Unix microseconds
        self.last, self.size = 0, 0

    def add(self, last: int, size: int) -> None:
        """Extend the run by `size` bars, the last opening at Unix second `last`."""
        self.last = last * MICROS
        self.size += size

    def payload_json(self) -> str:
        """Return the `bars` payload as `to_json` would encode it (sorted keys, Decimals as
        strings; their text never needs escaping)."""
        return REFERENCED % (
            self.cash,
            self.first,
            self.last,
            self.size,
            self.peak,
            self.position,
            int(self.target),
        )


def continues(
    run: QuietBars | ReferencedRun, target: int, cash: Decimal, position: Decimal
) -> bool:
    """Return True when quiet bars with this state extend the open run (`is` first: between
    fills the ledger hands out the same Decimal objects)."""
    return (
        run.target == target
        and (run.cash is cash or run.cash == cash)
        and (run.position is position or run.position == position)
    )
