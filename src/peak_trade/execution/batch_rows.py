"""The journal rows of a batch the compiled loop traded, worded in bulk.

`SessionRecorder.outcome` builds each row's payload as a dict and encodes it; a backtest's
batch holds thousands of traded bars, so their rows are written here as text directly from the
loop's events, byte for byte the same: sorted keys, Decimals as strings (`batch_text` writes
them; their text never needs escaping), floats, times and other text as orjson writes them.
Times are worded for the whole batch at once. The parity tests of the compiled loop compare
the two forms row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import orjson

from peak_trade.core.errors import InvariantError
from peak_trade.execution.batch_layout import (
    E_FILL_LOTS,
    E_ORDER_FILLED,
    E_ORDER_LOTS,
    E_ORDER_SEQUENCE,
    E_PREVIOUS,
    E_ROW,
    E_TARGET,
)
from peak_trade.execution.batch_text import (
    T_CASH,
    T_DRAWDOWN,
    T_EQUITY,
    T_FEE,
    T_FILL_PRICE,
    T_MARKET_PRICE,
    T_ORDER_QUANTITY,
    T_POSITION,
    TEXT_FIELDS,
)
from peak_trade.execution.batch_view import TradedBars, in_row_order, order_reason

__all__ = ["JournalRow", "QuietBars", "iso_times", "journal_items"]

Ints = npt.NDArray[np.int64]
JournalRow = tuple[str, str, str, str, str]  # run id, kind, bar time, time written, payload
# a run of quiet bars: first row, the row after its last, target, cash, position, peak before
QuietBars = tuple[int, int, int, Decimal, Decimal, Decimal]
_FIELDS = len(TEXT_FIELDS)


def _text(value: str) -> str:
    """Return text as JSON, as orjson writes it."""
    return orjson.dumps(value).decode()


def iso_times(seconds: Ints) -> list[str]:
    """Return Unix times in seconds as `datetime.isoformat` writes them in UTC."""
    texts = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return [f"{text}+00:00" for text in texts]


def _floats(values: npt.NDArray[np.float64]) -> list[str]:
    """Return floats as JSON numbers, as orjson writes them (shortest round trip)."""
    if not len(values):
        return []
    return orjson.dumps(values.tolist()).decode()[1:-1].split(",")


def journal_items(
    block: TradedBars, run_id: str, written: str, bar_seconds: int | None
) -> Iterator[tuple[str, QuietBars | list[JournalRow]]]:
    """Yield the batch's runs of quiet bars and its traded bars' journal rows in row order,
    each with the time its rows are written at (ISO text): `written` for the first, then the
    close of the bar before each (bars of `bar_seconds`), as a backtest's clock moves; all at
    `written` without `bar_seconds`. A traded bar's rows come in the order `SessionRecorder`
    journals them: the approval of its order, the bar, the target change, the order, its
    fills."""
    seconds, events, quiet = block.columns.seconds, block.events, block.quiet
    if bar_seconds is None:
        closes, quiet_closes = [written] * len(events), [written] * len(quiet)
    else:
        closes = iso_times(seconds[events[:, E_ROW]] + bar_seconds)
        quiet_closes = iso_times(seconds[quiet[:, 1] - 1] + bar_seconds)
    words = _Words(block)
    i = k = 0
    for is_event, event in in_row_order(events, quiet):
        if is_event:
            rows = words.traded_bar(i, event)
            yield written, [(run_id, kind, ts, written, text) for kind, ts, text in rows]
            written = closes[i]
            i += 1
        else:
            yield written, words.quiet_bars(k, event)
            written = quiet_closes[k]
            k += 1


Order = tuple[str, str, str]  # client id (JSON), quantity, side


class _Words:
    """The texts a batch's journal rows share, and the account and queued order as its rows
    are worded one after another."""

    def __init__(self, block: TradedBars) -> None:
        start, columns, events = block.start, block.columns, block.events
        self.texts, self.peaks = start.texts, len(events) * _FIELDS
        rows = events[:, E_ROW]
        self.times = iso_times(columns.seconds[rows])
        prices = (columns.open, columns.high, columns.low, columns.close, columns.volume)
        self.prices = [_floats(column[rows]) for column in prices]
        self.prefix = _text(start.id_prefix)[:-1]  # the opening quote and the prefix, escaped
        approval = start.approval
        environment, reason = _text(approval.environment), _text(approval.reason)
        self.approved = f'{{"action":{_text(approval.action)},"allowed":true,"detail":'
        self.because = f',"environment":{environment},"reason":{reason}}}'
        queued = start.queued
        self.waiting: Order | None = None
        if queued is not None:
            self.waiting = (_text(queued.client_id), str(queued.quantity), queued.side.value)
        self.traded, self.target, self.untraded = start.traded, start.target, start.position
        self.account: tuple[Decimal | str, Decimal | str] = (start.cash, start.position)

    def quiet_bars(self, k: int, run: list[int]) -> QuietBars:
        """Return the `k`-th run of quiet bars with the account during it."""
        cash, held = (Decimal(x) if isinstance(x, str) else x for x in self.account)
        peak = Decimal(self.texts[self.peaks + k])
        return run[0], run[1], self.target, cash, held, peak

    def traded_bar(self, i: int, event: list[int]) -> list[tuple[str, str, str]]:
        """Return the kind, time and payload of each journal row of the `i`-th traded bar."""
        texts, at, time = self.texts, i * _FIELDS, self.times[i]
        lots, filled = event[E_ORDER_LOTS], bool(event[E_FILL_LOTS])
        self.traded = self.traded or filled
        rows: list[tuple[str, str, str]] = []
        order: Order | None = None
        if lots:
            minute = f"{time[0:4]}{time[5:7]}{time[8:10]}T{time[11:13]}{time[14:16]}"
            client = f'{self.prefix}-{minute}-{event[E_ORDER_SEQUENCE]:06d}"'
            order = (client, texts[at + T_ORDER_QUANTITY], "buy" if lots > 0 else "sell")
            rows.append(("safety", time, f"{self.approved}{client}{self.because}"))
        position = texts[at + T_POSITION] if self.traded else self.untraded
        self.target, previous = event[E_TARGET], event[E_PREVIOUS]
        o, h, low, c, v = (column[i] for column in self.prices)
        rows.append(
            (
                "bar",
                time,
                f'{{"c":{c},"cash":"{texts[at + T_CASH]}","drawdown":"{texts[at + T_DRAWDOWN]}",'
                f'"equity":"{texts[at + T_EQUITY]}","h":{h},"l":{low},"o":{o},'
                f'"position":"{position}","t":"{time}","target":{self.target},"v":{v}}}',
            )
        )
        if self.target != previous:
            rows.append(("target_changed", time, f'{{"from":{previous},"to":{self.target}}}'))
        self.account = (texts[at + T_CASH], position)
        filling = self._filling(filled and not event[E_ORDER_FILLED])
        if order is not None:
            client, quantity, side = order
            rows.append(
                (
                    "order",
                    time,
                    f'{{"client_id":{client},"quantity":"{quantity}",'
                    f'"reason":"{order_reason(event)}","side":"{side}","type":"market"}}',
                )
            )
            if event[E_ORDER_FILLED]:
                filling = order
            else:
                self.waiting = order
        if filling is not None:
            fill = (texts[at + T_FEE], texts[at + T_MARKET_PRICE], texts[at + T_FILL_PRICE])
            rows.append(("fill", time, _fill_json(*filling, *fill)))
        return rows

    def _filling(self, at_open: bool) -> Order | None:
        """Return the waiting order if it filled at this bar's open, no longer waiting."""
        if not at_open:
            return None
        order, self.waiting = self.waiting, None
        if order is None:  # pragma: no cover - the loop fills only what was queued
            raise InvariantError("the compiled loop filled an order nobody queued")
        return order


def _fill_json(
    client: str, quantity: str, side: str, fee: str, market_price: str, price: str
) -> str:
    return (
        f'{{"client_id":{client},"fee":"{fee}","market_price":"{market_price}",'
        f'"price":"{price}","quantity":"{quantity}","side":"{side}"}}'
    )
