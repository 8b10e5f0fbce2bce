"""Download an exchange's candles into a replay file, resumably.

Pages go into `<out>.part` (CSV, Unix seconds) as they come, each flushed before the next is
asked for, beside `<out>.part.json`, which names what is downloaded. A download interrupted at
any moment (a signal, a dead connection, a full disk) keeps every page written; the same
command goes on after the last candle there. When the history is read to the end, the part
and any earlier file at `<out>` become the new `<out>`, with its metadata, in one move. An
`<out>` that already holds candles of the same exchange, symbol and timeframe is extended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from peak_trade.core.errors import ConfigError, DataError
from peak_trade.core.types import Timeframe
from peak_trade.data.candle_files import CandleMeta, read_meta, write_candles
from peak_trade.data.download import History
from peak_trade.data.replay import load_replay

__all__ = ["DownloadResult", "describe_span", "download"]

_LOG = logging.getLogger(__name__)

_HEADER = "time,open,high,low,close,volume\n"
Progress = Callable[[int, int], None]  # seconds of history done, of all to do


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What a download did: candles fetched now, candles in the file, its first and last."""

    fetched: int
    rows: int
    first: int | None
    last: int | None
    stopped: bool  # stopped before the end (the part is kept for the next run)


def _part_of(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".part"), out.with_name(out.name + ".part.json")


def _same(meta: CandleMeta, other: CandleMeta) -> bool:
    return (meta.exchange, meta.symbol, meta.timeframe) == (
        other.exchange,
        other.symbol,
        other.timeframe,
    )


def _describe(meta: CandleMeta) -> str:
    return f"{meta.symbol} {meta.timeframe} from {meta.exchange}"


def _existing(out: Path, meta: CandleMeta) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the times and candles `out` already holds, if any; refuse a file of others."""
    if not out.exists():
        return None
    held = read_meta(out)
    if held is None or not _same(held, meta):
        what = "candles without a description" if held is None else _describe(held)
        raise ConfigError(
            f"{out} already holds {what}, not {_describe(meta)}; choose another --out "
            "(a download extends only a file of the same exchange, symbol and timeframe)"
        )
    data = load_replay(out, Timeframe(meta.timeframe))
    return data.seconds, data.prices


def _part_rows(part: Path, part_meta: Path, meta: CandleMeta) -> np.ndarray:
    """Return the candles of an unfinished download (time first), checked to be of `meta`."""
    if not part.exists():
        return np.empty((0, 6))
    try:
        held = CandleMeta.model_validate_json(part_meta.read_text())
    except (OSError, ValueError):
        held = None
    if held is None or not _same(held, meta):
        raise ConfigError(
            f"{part} holds an unfinished download of something else; delete it and "
            f"{part_meta.name} to start over, or finish it with its own --symbol and --timeframe"
        )
    _drop_torn_row(part)
    if part.stat().st_size == 0:
        part.write_text(_HEADER)
    frame = pd.read_csv(part)
    return frame.to_numpy(dtype=np.float64).reshape(-1, 6)


def _drop_torn_row(part: Path) -> None:
    """Cut a row the process was killed in the middle of writing (the part ends without a line
    break): its candle is asked for again."""
    with part.open("rb+") as handle:
        size = handle.seek(0, 2)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        handle.seek(max(0, size - 4096))
        tail = handle.read()
        cut = tail.rfind(b"\n")
        handle.truncate(size - len(tail) + cut + 1 if cut >= 0 else 0)


def download(
    history: History,
    timeframe: Timeframe,
    out: Path,
    span: tuple[int, int],
    *,
    progress: Progress | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> DownloadResult:
    """Download the candles that open in `span` (Unix seconds, end excluded) into `out`."""
    meta = CandleMeta.of(history.exchange, timeframe.name, history.instrument(), history.source)
    step = timeframe.seconds
    old = _existing(out, meta)
    part, part_meta = _part_of(out)
    resumed = _part_rows(part, part_meta, meta)
    since = _resume_at(out, span[0], step, old, resumed)
    until = min(span[1], history.latest())
    fetched = 0
    if since < until:
        if not part.exists():
            part_meta.write_text(meta.model_dump_json() + "\n")
            part.write_text(_HEADER)
        with part.open("a") as handle:
            for page in history.pages(since, until):
                if len(page.candles):
                    handle.write(_csv(page.candles))
                    handle.flush()
                    fetched += len(page.candles)
                if progress is not None:
                    progress(page.reached - since, until - since)
                if stopped():
                    return DownloadResult(fetched, 0, None, None, True)
    rows = _finish(out, part, part_meta, meta, old)
    return DownloadResult(fetched, len(rows), *(_ends(rows)), False)


def _resume_at(
    out: Path,
    since: int,
    step: int,
    old: tuple[np.ndarray, np.ndarray] | None,
    resumed: np.ndarray,
) -> int:
    """Return where the download goes on: after the file's and the part's last candles."""
    if old is not None and len(old[0]):
        if since < int(old[0][0]) - step:
            _LOG.warning(
                "%s starts at %s: a download extends a file forward only, so the candles "
                "before it are not fetched (another --out can hold them)",
                out,
                _iso(int(old[0][0])),
            )
        since = max(since, int(old[0][-1]) + step)
    if len(resumed):
        since = max(since, int(resumed[-1, 0]) + step)
    return since


def _ends(rows: np.ndarray) -> tuple[int | None, int | None]:
    return (int(rows[0, 0]), int(rows[-1, 0])) if len(rows) else (None, None)


def _csv(candles: np.ndarray) -> str:
    """Return candles as the part's CSV rows: Unix seconds, then floats as their shortest
    exact text."""
    return "".join(
        f"{int(t)},{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for t, o, h, lo, c, v in candles.tolist()
    )


def _finish(
    out: Path,
    part: Path,
    part_meta: Path,
    meta: CandleMeta,
    old: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """Write `out` from its earlier candles and the part's; remove the part; return the rows."""
    new = _part_rows(part, part_meta, meta)
    parts = [new]
    if old is not None:
        parts.insert(0, np.column_stack((old[0].astype(np.float64), old[1])))
    rows = np.concatenate(parts)
    if len(rows) == 0:
        raise DataError(f"the exchange has no {_describe(meta)} candles in that time range")
    if (np.diff(rows[:, 0]) <= 0).any():
        raise DataError(f"{part}: candle times do not rise; delete it to download again")
    if not part.exists() and old is not None:
        return rows  # nothing new: the file stays as it is
    seconds = rows[:, 0].astype(np.int64)
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    frame = pd.DataFrame({"time": [f"{t}+00:00" for t in text.tolist()]})
    for k, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        frame[name] = rows[:, k]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_candles(out, frame, meta)
    part.unlink(missing_ok=True)
    part_meta.unlink(missing_ok=True)
    return rows


def describe_span(result: DownloadResult) -> str:
    """Return the file's first and last candle times as text."""
    if result.first is None or result.last is None:
        return "no candles"
    return f"{_iso(result.first)} to {_iso(result.last)}"


def _iso(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()
