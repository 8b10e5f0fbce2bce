"""The open times of a candle file: ISO-8601 text or Unix seconds or milliseconds, one way
for the whole file, each bad one named by its row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from peak_trade.core.errors import DataError

__all__ = ["parse_times"]


def parse_times(column: pd.Series, source: Path, offset: int) -> np.ndarray:
    """Return the times of a frame whose first row is row `offset` of the file."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = _row(offset + int(np.argmax(bad)))
            raise DataError(f"{source}: row {row}: time is not a number")
        # Unix milliseconds are over 1e11; Unix seconds stay below that until the year 5138.
        return np.where(values > 1e11, values // 1000, values).astype(np.int64)
    try:
        times = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        row, problem = _time_problem(column, offset)
        raise DataError(f"{source}: row {_row(offset + row)}: {problem}") from None
    if times.isna().any():
        row = _row(offset + int(np.argmax(times.isna())))
        raise DataError(f"{source}: row {row}: time is empty")
    seconds: np.ndarray = times.astype("datetime64[s, UTC]").astype("int64").to_numpy()
    return seconds


def _time_problem(column: pd.Series, offset: int) -> tuple[int, str]:
    """Return the position of the first time that does not parse, and what is wrong with it:
    not a time at all, or one written another way than the column's first (Unix seconds
    beside ISO text), which each parse on their own."""
    first: tuple[int, str] | None = None
    for position, value in enumerate(column):
        kind = _time_kind(value)
        if kind is None:
            return position, (
                f"time {value!r} is neither ISO-8601 text nor Unix seconds or milliseconds "
                "(e.g. 2024-01-02T03:04:00Z or 1704164640)"
            )
        if first is None:
            first = (position, kind)
        elif kind != first[1]:
            return position, (
                f"time {value!r} is {kind}, but row {_row(offset + first[0])} has "
                f"{first[1]}; write every time of a file the same way"
            )
    return 0, "times mix formats; write every time of a file the same way"


def _time_kind(value: object) -> str | None:
    """Return how a time is written ("Unix time" or "ISO-8601 text"), or None if it is not."""
    if str(value).strip().lstrip("-").isdigit():
        return "Unix time"
    try:
        pd.to_datetime(str(value), utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return None
    return "ISO-8601 text"


def _row(index: int) -> int:
    """Return the 1-based data row (the header is not counted)."""
    return index + 1
