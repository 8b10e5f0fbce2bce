"""The strategy contract: closed bars in, a held target position in {-1, 0, +1} out."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import StrategyError
from peak_trade.core.strategy_params import StrategyParams
from peak_trade.core.types import Bar

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FLAT", "LONG", "SHORT", "Strategy", "Targets"]

LONG, FLAT, SHORT = 1, 0, -1
P = TypeVar("P", bound=StrategyParams)
# Targets of a column of bars: a list from Python rules, int64 from compiled ones.
Targets = Sequence[int] | npt.NDArray[np.int64]


class Strategy(ABC, Generic[P]):
    """A strategy that sees one closed bar at a time and holds a target position.

    The target is a state, not an event: +1 means "be long", 0 "be flat", -1 "be short", and it
    stays the same until the strategy's rule changes it. Subclasses implement `update` with O(1)
    incremental indicators and declare `required_bars`, the bars needed before the first target
    can differ from 0.
    """

    key: ClassVar[str]
    description: ClassVar[str]
    params_type: ClassVar[type[StrategyParams]] = StrategyParams  # no parameters

    def __init__(self, params: P) -> None:
        self.params = params
        self.target = FLAT

    @property
    @abstractmethod
    def required_bars(self) -> int:
        """Return how many closed bars the strategy needs before it can act."""

    @abstractmethod
    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        """Consume one closed bar's prices and return the target position."""

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        """Consume every row of `columns`; return the target after each row.

        If `update` raises on a row, return the targets of the rows before it and the error.
        Strategies with a compiled rule override this to run it without leaving compiled code.
        """
        targets: list[int] = []
        update = self.update
        rows = zip(
            columns.open.tolist(),
            columns.high.tolist(),
            columns.low.tolist(),
            columns.close.tolist(),
            columns.volume.tolist(),
            strict=True,
        )
        try:
            for row in rows:
                targets.append(update(*row))
        except Exception as error:  # the engine raises it again on its own bar
            return targets, error
        return targets, None

    def _ran_columns(self, targets: npt.NDArray[np.int64]) -> tuple[Targets, Exception | None]:
        """Take the last of a compiled rule's column of targets as the held target."""
        if targets.size:
            self.target = int(targets[-1])
        return targets, None

    def on_bar(self, bar: Bar) -> int:
        """Consume one closed bar and return the target position in {-1, 0, +1}."""
        return self.update(bar.open, bar.high, bar.low, bar.close, bar.volume)

    def fresh(self) -> Strategy[P]:
        """Return a new instance with the same parameters and no history."""
        return type(self)(self.params)

    def generate_signals(self, frame: pd.DataFrame) -> pd.Series:
        """Return the target position for every row of an OHLCV frame (research API).

        The frame needs a `close` column; `open`, `high` and `low` fall back to `close` when
        absent and `volume` to 0. It runs a fresh copy of this strategy over the rows, so the
        result is exactly what a session would do on the same bars.
        """
        if "close" not in frame.columns:
            raise StrategyError(
                f"{self.key}: generate_signals needs a 'close' column, found {list(frame.columns)}"
            )
        close = frame["close"].to_numpy(dtype=float)
        columns = {
            name: frame[name].to_numpy(dtype=float) if name in frame.columns else close
            for name in ("open", "high", "low")
        }
        volume = (
            frame["volume"].to_numpy(dtype=float)
            if "volume" in frame.columns
            else np.zeros(len(close))
        )
        runner = self.fresh()
        targets = np.zeros(len(close), dtype=np.int8)
        rows = zip(columns["open"], columns["high"], columns["low"], close, volume, strict=True)
        for i, (o, h, lo, c, v) in enumerate(rows):
            if not math.isfinite(c):
                raise StrategyError(f"{self.key}: close at row {i} is {c}; expected a finite price")
            targets[i] = runner.update(float(o), float(h), float(lo), float(c), float(v))
        import pandas as pd

        return pd.Series(targets, index=frame.index, name="signal")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


def pick_price(column: str, open_: float, high: float, low: float, close: float) -> float:
    """Return the price named by a strategy's `price_col` parameter."""
    if column == "close":
        return close
    return {"open": open_, "high": high, "low": low}[column]
