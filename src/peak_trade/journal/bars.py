"""Traded bars read back from a journal: `bar` events, and runs of quiet bars in `bars` events.

A session journals each bar as a `bar` event. Runs of quiet bars (nothing but the marks changed:
no target change, no order, no skip, no fill) are `bars` events, in one of two forms:
- copied: the run's open, high, low, close, volume, equity and drawdown as one block of
  little-endian float64 and its times as int64 microseconds, both base64, with the cash,
  position and target the run had (written once); older journals hold one string per column;
- by reference (backtests): the run's first and last time, its length, and its cash, position,
  target and peak equity. The bars are in the data the run's `data_reference` event names (a
  file and its SHA-256, or the synthetic market's seed); their equity and drawdown follow from
  the close, the cash, the position and the peak by the ledger's own rule (`marks.run_marks`).
  Readers give such a run its data back through `ReferencedBars`.

`bar_rows` yields one `bar` payload per bar (for resume and reconcile); `bar_blocks` yields
columns, one block per event (for reports).
"""

from __future__ import annotations

import base64
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import DataError
from peak_trade.core.money import price_ticks
from peak_trade.core.types import Bar, Instrument, parse_symbol
from peak_trade.data.reference import open_reference
from peak_trade.journal.store import JournalEvent
from peak_trade.portfolio import marks

__all__ = [
    "BAR_KINDS",
    "COLUMNS",
    "EPOCH",
    "MICROS",
    "MICROSECOND",
    "BarBlock",
    "ReferencedBars",
    "bar_blocks",
    "bar_from_payload",
    "bar_payload",
    "bar_rows",
    "instrument_from_payload",
    "instrument_payload",
    "is_referenced",
    "referenced_bars",
]

# The journal kinds that hold traded bars: one bar, or a run of quiet bars.
BAR_KINDS: Final = ("bar", "bars")
# The columns of a copied `bars` event's block, in order.
COLUMNS: Final = ("o", "h", "l", "c", "v", "equity", "drawdown")
# Journal times are microseconds since this moment.
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND: Final = timedelta(microseconds=1)
MICROS: Final = 1_000_000


def bar_payload(bar: Bar) -> dict[str, Any]:
    """Return a bar as journal fields."""
    return {
        "t": bar.time,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
    }


def bar_from_payload(payload: dict[str, Any]) -> Bar:
    """Rebuild a journaled bar exactly."""
    return Bar(
        datetime.fromisoformat(payload["t"]).astimezone(UTC),
        payload["o"],
        payload["h"],
        payload["l"],
        payload["c"],
        payload["v"],
    )


def instrument_payload(instrument: Instrument) -> dict[str, Any]:
    """Return an instrument's rules as journal fields (amounts as exact text)."""
    return {
        "symbol": instrument.symbol,
        "price_decimals": instrument.price_decimals,
        "lot_decimals": instrument.lot_decimals,
        "min_order_size": str(instrument.min_order_size),
        "min_order_cost": str(instrument.min_order_cost),
    }


def instrument_from_payload(payload: dict[str, Any]) -> Instrument:
    """Rebuild journaled instrument rules exactly."""
    base, quote = parse_symbol(payload["symbol"])
    return Instrument(
        symbol=payload["symbol"],
        base=base,
        quote=quote,
        price_decimals=int(payload["price_decimals"]),
        lot_decimals=int(payload["lot_decimals"]),
        min_order_size=Decimal(payload["min_order_size"]),
        min_order_cost=Decimal(payload["min_order_cost"]),
    )


def _unpack(text: str, code: str = "d") -> list[Any]:
    return array(code, base64.b64decode(text)).tolist()


def _decode(text: str, dtype: str) -> npt.NDArray[Any]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


class ReferencedBars:
    """The data a backtest journaled its quiet bars by reference to, read beside the journal.

    `chunks` yields the run's bars in order, warmup included (`DataReference.reopen`); `take`
    returns the bars of one referenced `bars` event and their marks, and `columns` the bars
    alone, both reading forward only.
    """

    def __init__(self, chunks: Iterator[BarColumns], price_decimals: int) -> None:
        self._chunks = chunks
        self._chunk: BarColumns | None = None
        self._at = 0
        self._decimals = price_decimals
        self._step = Decimal(1).scaleb(-price_decimals)

    def take(
        self, payload: dict[str, Any]
    ) -> tuple[BarColumns, list[str], list[float], list[float]]:
        """Return the bars of a referenced run, their times as ISO text, and the equity and
        drawdown at each."""
        bars = self.columns(payload)
        ticks = price_ticks(bars.close, self._decimals)
        equity, drawdown = marks.run_marks(
            Decimal(payload["cash"]),
            Decimal(payload["position"]),
            self._step,
            Decimal(payload["peak"]),
            ticks,
        )
        return bars, _iso_seconds(bars.seconds), equity.tolist(), drawdown.tolist()

    def columns(self, payload: dict[str, Any]) -> BarColumns:
        """Return the bars of a referenced run (to trade them again); a DataError if the data
        does not hold them where the journal says."""
        first, n = int(payload["first_us"]) // MICROS, int(payload["n"])
        parts: list[BarColumns] = []
        got = 0
        while got < n:
            chunk = self._next_rows(first if not parts else None)
            if chunk is None or (not parts and int(chunk.seconds[self._at]) != first):
                raise DataError(
                    f"the data has no run of {n} bars from {_iso(first)}, where the journal "
                    "has one: it is not the data the run read"
                )
            stop = min(len(chunk), self._at + n - got)
            parts.append(chunk.slice(self._at, stop))
            got += stop - self._at
            self._at = stop
        bars = parts[0] if len(parts) == 1 else _concat(parts)
        if int(bars.seconds[-1]) * MICROS != int(payload["last_us"]):
            raise DataError(
                f"the data's run of {n} bars from {_iso(first)} ends at "
                f"{_iso(int(bars.seconds[-1]))}, the journal's at "
                f"{_iso(int(payload['last_us']) // MICROS)}: it is not the data the run read"
            )
        return bars

    def _next_rows(self, start: int | None) -> BarColumns | None:
        """Return the chunk holding the next bar to take (from time `start` on, if given:
        the bars before it were traded and are journaled in full)."""
        while True:
            chunk = self._chunk
            if chunk is not None and self._at < len(chunk):
                if start is None:
                    return chunk
                self._at += int(np.searchsorted(chunk.seconds[self._at :], start))
                if self._at < len(chunk):
                    return chunk
            self._chunk, self._at = next(self._chunks, None), 0
            if self._chunk is None:
                return None


def _iso(seconds: int) -> str:
    return _iso_times([seconds * MICROS])[0]


def _concat(parts: list[BarColumns]) -> BarColumns:
    return BarColumns(
        *(
            np.concatenate([getattr(part, name) for part in parts])
            for name in ("seconds", "open", "high", "low", "close", "volume")
        )
    )


def referenced_bars(
    events: Iterable[JournalEvent], moved_to: Path | None = None
) -> ReferencedBars | None:
    """Return the data of a run that journaled its quiet bars by reference, read again
    (`data.reference.open_reference`: from `moved_to` if its file moved); None for a run that
    copied them. `events`: the run's `data_reference`."""
    for event in events:
        if event.kind == "data_reference":
            payload = event.payload
            bars = open_reference(payload["source"], moved_to)
            return ReferencedBars(bars, int(payload["price_decimals"]))
    return None


def is_referenced(payload: dict[str, Any]) -> bool:
    """Return True for the payload of a `bars` event that refers to the run's data."""
    return "first_us" in payload


def _need(source: ReferencedBars | None) -> ReferencedBars:
    if source is None:
        raise DataError(
            "this run journaled its quiet bars by reference to its data (a backtest); "
            "read it together with that data (journal_bars.referenced_bars)"
        )
    return source


def bar_rows(
    events: Iterable[JournalEvent], source: ReferencedBars | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one `bar` payload per traded bar, expanding `bars` events; other kinds pass by.

    A run that journaled its quiet bars by reference needs its data as `source`.
    """
    for event in events:
        if event.kind == "bar":
            yield event.payload
        elif event.kind == "bars" and is_referenced(event.payload):
            yield from _expand_referenced(event.payload, _need(source))
        elif event.kind == "bars":
            yield from _expand(event.payload)


def _expand_referenced(payload: dict[str, Any], source: ReferencedBars) -> Iterator[dict[str, Any]]:
    bars, times, equity, drawdown = source.take(payload)
    constant = {k: payload[k] for k in ("target", "cash", "position")}
    columns = (c.tolist() for c in (bars.open, bars.high, bars.low, bars.close, bars.volume))
    for t, o, h, lo, c, v, e, d in zip(times, *columns, equity, drawdown, strict=True):
        yield {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": v, "equity": e, "drawdown": d} | (
            constant
        )


def _expand(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    columns, times = _columns(payload)
    constant = {k: payload[k] for k in ("target", "cash", "position")}
    for i, micros in enumerate(times):
        row: dict[str, Any] = {"t": (EPOCH + micros * MICROSECOND).isoformat()}
        row.update(zip(COLUMNS, (column[i] for column in columns), strict=True))
        row.update(constant)
        yield row


def _columns(
    payload: dict[str, Any], names: Sequence[str] = COLUMNS
) -> tuple[list[list[float]], list[int]]:
    """Return the `names` columns of a `bars` payload as lists, and its times in microseconds."""
    rows = [COLUMNS.index(name) for name in names]
    if "columns" in payload:
        block = _decode(payload["columns"], "<f8").reshape(len(COLUMNS), -1)
        times = _decode(payload["t_us"], "<i8").tolist()
        return [block[row].tolist() for row in rows], times
    # a journal written before the columns were packed into one block
    return [_unpack(payload[COLUMNS[row]]) for row in rows], _unpack(payload["t_us"], "q")


@dataclass(frozen=True, slots=True)
class BarBlock:
    """Consecutive traded bars with the same target, cash and position, as columns.

    `times` holds each bar's time as ISO text, exactly as a `bar` payload's `t`, and `seconds`
    the same times as whole seconds since the epoch (for a plot's axis; None: not known, read
    them from `times`); `cash` and `position` are the ledger's decimal text; `equity` and
    `drawdown` are floats.
    """

    times: list[str]
    close: list[float]
    equity: list[float]
    drawdown: list[float]
    target: int
    cash: str
    position: str
    seconds: npt.NDArray[np.int64] | None = None

    def epoch_seconds(self) -> npt.NDArray[np.int64]:
        """Return the bars' times in whole seconds since the epoch: `seconds`, else read
        from `times`."""
        if self.seconds is not None:
            return self.seconds
        return np.array([int(datetime.fromisoformat(t).timestamp()) for t in self.times])


def bar_blocks(
    events: Iterable[JournalEvent], source: ReferencedBars | None = None
) -> Iterator[BarBlock]:
    """Yield the traded bars of `bar` and `bars` events as blocks, one per event.

    The same bars as `bar_rows`, without building a payload per bar: for reports. A run that
    journaled its quiet bars by reference needs its data as `source`.
    """
    for event in events:
        p = event.payload
        if event.kind == "bar":
            yield BarBlock(
                [p["t"]],
                [p["c"]],
                [float(p["equity"])],
                [float(p["drawdown"])],
                p["target"],
                p["cash"],
                p["position"],
            )
        elif event.kind == "bars" and is_referenced(p):
            bars, times, equity, drawdown = _need(source).take(p)
            yield BarBlock(
                times,
                bars.close.tolist(),
                equity,
                drawdown,
                p["target"],
                p["cash"],
                p["position"],
                bars.seconds,
            )
        elif event.kind == "bars":
            (close, equity, drawdown), micros = _columns(p, ("c", "equity", "drawdown"))
            yield BarBlock(
                _iso_times(micros),
                close,
                equity,
                drawdown,
                p["target"],
                p["cash"],
                p["position"],
                np.array(micros, dtype=np.int64) // MICROS,
            )


def _iso_times(micros: list[int]) -> list[str]:
    """Return datetime.isoformat() of each UTC time given in microseconds since the epoch."""
    stamps = np.array(micros, dtype=np.int64)
    if not (stamps % MICROS).any():  # whole seconds: isoformat leaves out the micros
        return _iso_seconds(stamps // MICROS)
    return [(EPOCH + m * MICROSECOND).isoformat() for m in micros]


def _iso_seconds(seconds: npt.NDArray[np.int64]) -> list[str]:
    """Return datetime.isoformat() of each UTC time given in whole seconds since the epoch."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{t}+00:00" for t in text.tolist()]
