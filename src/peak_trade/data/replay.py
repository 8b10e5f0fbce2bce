"""Replay of recorded candles from CSV or Parquet, validated on load.

A file needs an open-time column (`time`, `timestamp`, `open_time`, `date` or `datetime`:
ISO-8601 text, where text without an offset is read as UTC, or Unix seconds or milliseconds)
and `open`, `high`, `low`, `close`, `volume`. Every row is checked; duplicate or backward
times, spacing that does not fit the timeframe and malformed candles are errors that name
their rows and times; so is a file whose bars are most often one longer timeframe apart (its
candles are of that timeframe). Gaps are allowed (exchanges omit candles without trades) but
each one is reported in `ReplayData.gaps` and in the log, never skipped silently.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.core.files import is_file
from peak_trade.core.types import TIMEFRAMES, Bar, Timeframe
from peak_trade.data.ports import DataReference, IteratorFeed
from peak_trade.data.replay_times import parse_times

__all__ = [
    "Gap",
    "ReplayData",
    "file_digest",
    "load_replay",
    "open_replay",
    "replay_feed",
    "replay_identity",
]

_LOG = logging.getLogger(__name__)
_TIME_COLUMNS: Final = ("time", "timestamp", "open_time", "date", "datetime")
_PRICE_COLUMNS: Final = ("open", "high", "low", "close", "volume")
_MAX_LISTED: Final = 5
_CHUNK: Final = 4096
_READ_ROWS: Final = 262_144


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles between two consecutive rows."""

    after: datetime
    before: datetime
    missing_bars: int

    def __str__(self) -> str:
        span = f"{self.after:%Y-%m-%d %H:%M} and {self.before:%Y-%m-%d %H:%M} UTC"
        return f"{self.missing_bars} missing bar(s) between {span}"


@dataclass(frozen=True)
class ReplayData:
    """Validated candles of one file, kept as columns; bars are built as they are read."""

    path: Path
    timeframe: Timeframe
    seconds: np.ndarray
    prices: np.ndarray  # shape (n, 5): open, high, low, close, volume
    gaps: tuple[Gap, ...]
    span: tuple[int | None, int | None] | None = None  # the --timerange read, if any

    def check_price_step(self, symbol: str, decimals: int) -> None:
        """Refuse prices that need more decimals than the instrument's price step allows: the
        file's candles are of another instrument (or its rules are not the exchange's), and
        every fill would be rounded to a step that does not fit them."""
        ticks = self.prices[:, :4] * 10.0**decimals
        exact = np.abs(ticks) < 2.0**52  # beyond, a float cannot tell a step from a fraction
        off = exact & (np.abs(ticks - np.rint(ticks)) > 1e-6)
        if not off.any():
            return
        row, column = divmod(int(np.argmax(off)), 4)
        step = f"{10.0**-decimals:.{decimals}f}" if decimals else "1"
        name = _PRICE_COLUMNS[column]
        raise DataError(
            f"{self.path}: row {_row(row)}: {name} {float(self.prices[row, column])!r} needs more "
            f"decimals than {symbol}'s price step {step}: the candles are not of {symbol}, or "
            f"its rules are not these (name the symbol with --symbol, or its rules in "
            f'[instruments."{symbol}"] in the config)'
        )

    def within(self, span: tuple[int | None, int | None] | None) -> ReplayData:
        """Return the candles that open in `span` (Unix seconds, end excluded; None: all), or a
        DataError naming what the file holds when none do."""
        if span is None:
            return self
        start, end = span
        first = 0 if start is None else int(np.searchsorted(self.seconds, start))
        last = len(self.seconds) if end is None else int(np.searchsorted(self.seconds, end))
        if first >= last:
            raise DataError(
                f"{self.path}: no candle opens in the --timerange ({_ends(span)}); the file "
                f"holds {_iso(self.seconds[0])} to {_iso(self.seconds[-1])}"
            )
        kept = tuple(g for g in self.gaps if start is None or g.after.timestamp() >= start)
        return replace(
            self,
            seconds=self.seconds[first:last],
            prices=self.prices[first:last],
            gaps=kept,
            span=span,
        )

    def __len__(self) -> int:
        return len(self.seconds)

    def columns(self) -> BarColumns:
        """Return every candle as columns (views of the prices when they are column-major)."""
        return BarColumns(self.seconds, *np.asfortranarray(self.prices).T)

    def bars(self, start: int = 0) -> Iterator[Bar]:
        """Yield the candles from row `start` on."""
        yield from self.columns().slice(start, len(self)).bars()

    def chunks(self, size: int = _CHUNK) -> Iterator[BarColumns]:
        """Yield the candles as columns of up to `size` rows."""
        columns = self.columns()
        for start in range(0, len(self), size):
            yield columns.slice(start, start + size)


def load_replay(
    path: str | Path, timeframe: Timeframe, *, read_rows: int = _READ_ROWS
) -> ReplayData:
    """Read and validate a CSV or Parquet candle file.

    The file is parsed `read_rows` rows at a time into the columns it is kept as (48 bytes a
    bar), so its text or a whole-file DataFrame never sits in memory.
    """
    source = Path(path)
    names: tuple[object, list[object]] | None = None
    times: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    rows = 0
    for frame in _read_frames(source, read_rows):
        names = names or _column_names(frame, source)
        times.append(parse_times(frame[names[0]], source, rows))
        prices.append(_parse_prices(frame, names[1], source, rows))
        rows += len(frame)
    if rows == 0:
        raise DataError(f"{source}: no candle rows")
    seconds = np.concatenate(times)
    # column-major, so that each price column is one contiguous array that bars are read from
    table = np.empty((rows, len(_PRICE_COLUMNS)), order="F")
    np.concatenate(prices, out=table)
    times.clear()  # the chunks are copied: let them go before the checks need memory
    prices.clear()
    _check_rows(source, seconds, table)
    gaps = _check_spacing(source, seconds, timeframe)
    for gap in gaps[:_MAX_LISTED]:
        _LOG.warning("%s: %s", source, gap)
    if len(gaps) > _MAX_LISTED:
        _LOG.warning("%s: %d more gaps", source, len(gaps) - _MAX_LISTED)
    return ReplayData(source, timeframe, seconds, table, tuple(gaps))


def _column_names(frame: pd.DataFrame, source: Path) -> tuple[object, list[object]]:
    """Return the frame's time column and its open, high, low, close, volume columns."""
    columns = {str(name).strip().lower(): name for name in frame.columns}
    time_key = next((name for name in _TIME_COLUMNS if name in columns), None)
    missing = [name for name in _PRICE_COLUMNS if name not in columns]
    if time_key is None or missing:
        wanted = [] if time_key else [f"a time column ({'/'.join(_TIME_COLUMNS)})"]
        raise DataError(
            f"{source}: missing column(s) {', '.join(wanted + missing)}; "
            f"found {list(frame.columns)}"
        )
    return columns[time_key], [columns[name] for name in _PRICE_COLUMNS]


def replay_feed(
    path: str | Path,
    symbol: str,
    timeframe: Timeframe,
    span: tuple[int | None, int | None] | None = None,
    price_decimals: int | None = None,
) -> IteratorFeed:
    """Return a feed that replays a validated candle file (the part of it in `span`), its
    prices checked against the instrument's price step (`price_decimals`) when given."""
    whole = load_replay(path, timeframe)
    if price_decimals is not None:
        whole.check_price_step(symbol, price_decimals)
    data = whole.within(span)
    source = f"replay file {data.path}"
    reference = DataReference(partial(replay_identity, data), data.chunks)
    return IteratorFeed(
        symbol, timeframe, data.chunks(), source=source, length=len(data), reference=reference
    )


def replay_identity(data: ReplayData) -> dict[str, Any]:
    """Return what names the bars of a loaded file: its path, rows and SHA-256."""
    return {
        "kind": "replay",
        "path": str(data.path.resolve()),
        "rows": len(data),
        "timeframe": data.timeframe.name,
        "sha256": file_digest(data.path),
    } | ({} if data.span is None else {"timerange": list(data.span)})


def open_replay(identity: Mapping[str, Any]) -> Iterator[BarColumns]:
    """Yield the bars that `replay_identity` named, again; a DataError if the file changed."""
    path = Path(str(identity["path"]))
    expected = str(identity["sha256"])
    kept = "its journal refers to the bars there instead of copying them"
    if not is_file(path):
        raise DataError(
            f"{path}: the run read its bars from this file, which is gone; {kept}, so put the "
            f"file back (SHA-256 {expected[:12]}…), or name where it is now (reconcile "
            "--data-path), to read the run"
        )
    digest = file_digest(path)
    if digest != expected:
        raise DataError(
            f"{path}: the file changed since the run read it (SHA-256 {digest[:12]}…, "
            f"expected {expected[:12]}…); {kept}, so put the original back to read the run"
        )
    span = identity.get("timerange")
    data = load_replay(path, Timeframe(str(identity["timeframe"])))
    return data.within(None if span is None else (span[0], span[1])).chunks()


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file, in hex."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None


def _read_frames(source: Path, rows: int) -> Iterator[pd.DataFrame]:
    """Yield the file's rows as frames of up to `rows` rows."""
    if not is_file(source):
        raise DataError(f"replay file not found: {source.resolve()}")
    suffix = source.suffix.lower()
    if suffix not in (".parquet", ".csv", ".txt"):
        raise DataError(
            f"{source}: expected a .csv or .parquet file, found {suffix or 'no extension'!r}"
        )
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            # read the file in pieces, not a whole row group's bytes ahead (a row group may hold
            # a million rows): 537 -> 464 MB peak for 2M rows
            parquet = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)
            for batch in parquet.iter_batches(batch_size=rows):
                yield batch.to_pandas()
        else:
            with pd.read_csv(source, chunksize=rows) as reader:
                yield from reader
    except (ValueError, OSError) as error:  # pyarrow's errors are ValueErrors or OSErrors
        raise DataError(f"{source}: cannot be read as {suffix[1:]}: {error}") from None


def _parse_prices(
    frame: pd.DataFrame, names: list[object], source: Path, offset: int
) -> np.ndarray:
    """Return the price columns as floats; a DataError names the first cell that is not a
    number by its row (counted over the whole file, `offset` rows before this frame)."""
    try:
        prices: np.ndarray = frame[names].apply(pd.to_numeric, errors="raise").to_numpy(dtype=float)
    except (ValueError, TypeError):
        for name in names:
            column = frame[name]
            try:
                bad = column.notna() & pd.to_numeric(column, errors="coerce").isna()
            except (ValueError, TypeError):  # cells no parser takes (nested values)
                continue
            if bad.any():
                at = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{source}: row {_row(offset + at)}: {name} must be a number, "
                    f"was {column.iloc[at]!r}"
                ) from None
        raise DataError(f"{source}: open/high/low/close/volume must be numbers") from None
    return prices


def _check_rows(source: Path, seconds: np.ndarray, prices: np.ndarray) -> None:
    rows = np.flatnonzero(BarColumns(seconds, *prices.T).bad_rows())
    if rows.size:
        problems = []
        for i in rows[:_MAX_LISTED]:
            try:  # Bar holds the rules and their wording; build it to get the exact reason
                Bar(datetime.fromtimestamp(int(seconds[i]), tz=UTC), *map(float, prices[i]))
            except DataError as error:
                problems.append(f"row {_row(int(i))}: {error}")
        more = f" (and {rows.size - _MAX_LISTED} more)" if rows.size > _MAX_LISTED else ""
        raise DataError(f"{source}: {rows.size} malformed candle(s){more}: " + "; ".join(problems))


def _check_spacing(source: Path, seconds: np.ndarray, timeframe: Timeframe) -> list[Gap]:
    """Refuse bars off the timeframe's grid, repeated or out of order; return the gaps.

    The grid is the one the first bar sets: many files count from the Unix epoch (a week then
    opens on a Thursday), but weekly candles from other sources open on Mondays, and daily ones
    may open at a local midnight. Such a file is read as it is, as long as every bar keeps to
    that grid.
    """
    step = timeframe.seconds
    deltas = np.diff(seconds)
    phase = int(seconds[0]) % step if seconds.size else 0
    grid = (
        f"time is not on a {timeframe.name} boundary"
        if phase == 0
        else f"time is not on the {timeframe.name} grid of the first bar ({_iso(seconds[0])})"
    )
    problems = (  # each entry: indices of the offending rows, and what is wrong with them
        (np.flatnonzero((seconds - phase) % step != 0), grid),
        (np.flatnonzero(deltas == 0) + 1, "duplicate time"),
        (np.flatnonzero(deltas < 0) + 1, "time goes backwards"),
        (
            np.flatnonzero((deltas > 0) & (deltas % step != 0)) + 1,
            f"spacing is not a multiple of {timeframe.name}",
        ),
    )
    for rows, what in problems:
        if rows.size:
            listed = ", ".join(
                f"row {_row(int(i))} at {_iso(seconds[i])}" for i in rows[:_MAX_LISTED]
            )
            usual = _usual_timeframe(deltas, timeframe)
            hint = "" if usual is None else f"; {usual}"
            raise DataError(f"{source}: {what} in {rows.size} row(s): {listed}{hint}")
    usual = _usual_timeframe(deltas, timeframe)
    if usual is not None:
        raise DataError(f"{source}: {usual}")
    return [
        Gap(
            after=_time(seconds[i]),
            before=_time(seconds[i + 1]),
            missing_bars=int(deltas[i] // step) - 1,
        )
        for i in np.flatnonzero(deltas > step)
    ]


def _usual_timeframe(deltas: np.ndarray, timeframe: Timeframe) -> str | None:
    """Say so when the bars are most often another timeframe apart: the file holds candles of
    that timeframe, and read as `timeframe` they would be misplaced or all gaps and skew every
    statistic. None when they are `timeframe` apart, or no timeframe's."""
    if deltas.size == 0:
        return None
    spacings, counts = np.unique(deltas[deltas > 0], return_counts=True)
    if spacings.size == 0:
        return None
    usual = int(spacings[np.argmax(counts)])
    named = {minutes * 60: name for name, minutes in TIMEFRAMES.items()}
    if usual == timeframe.seconds or usual not in named:
        return None
    return (
        f"its bars are {named[usual]} apart (most of them), not {timeframe.name}; "
        f"replay it with --timeframe {named[usual]}"
    )


def _row(index: int) -> int:
    """Return the 1-based data row (the header is not counted)."""
    return index + 1


def _time(seconds: np.integer | int) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def _ends(span: tuple[int | None, int | None]) -> str:
    start, end = span
    return f"{'' if start is None else _iso(start)}:{'' if end is None else _iso(end)}"


def _iso(seconds: np.integer | int) -> str:
    return _time(seconds).strftime("%Y-%m-%d %H:%M:%S UTC")
