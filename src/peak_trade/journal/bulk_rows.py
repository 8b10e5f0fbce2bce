"""The journal rows of a batch the compiled loop traded, worded in bulk.

`SessionRecorder.outcome` builds each row's payload as a dict and encodes it; a backtest's
batch holds thousands of traded bars, so their rows are written here as text directly from the
loop's events, byte for byte the same: sorted keys, Decimals as strings (`batch_text` writes
them; their text never needs escaping), floats, times and other text as orjson writes them.
Times, prices and amounts are worded for the whole batch at once, and a run of quiet bars
between traded bars becomes its `bars` row at once (the runs a batch starts or ends with are
left to the recorder, which may join them to the next or last batch's). An order the REDUCING
state refused gets its `order_denied` row as the pipeline words it. The parity tests of the
compiled loop compare the two forms row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import orjson

from peak_trade.compiled.layout import (
    E_FILL_LOTS,
    E_ORDER_DENIED,
    E_ORDER_FILLED,
    E_ORDER_LOTS,
    E_ORDER_SEQUENCE,
    E_PREVIOUS,
    E_ROW,
    E_TARGET,
)
from peak_trade.compiled.text import (
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
from peak_trade.compiled.view import order_reason
from peak_trade.core.errors import InvariantError
from peak_trade.engine.outcomes import TradedBars
from peak_trade.engine.pipeline import ExecutionStatus, risk_reasons
from peak_trade.journal.bars import MICROS
from peak_trade.journal.quiet_runs import REFERENCED
from peak_trade.journal.schema import positional, rendered
from peak_trade.live.risk_limits import REDUCING_REFUSAL
from peak_trade.orders.base import order_id

__all__ = ["BlockRows", "JournalRow", "QuietBars", "iso_times", "journal_rows"]

Ints = npt.NDArray[np.int64]
JournalRow = tuple[str, str, str, str, str]  # run id, kind, bar time, time written, payload
# a run of quiet bars: first row, the row after its last, target, cash, position, peak before
QuietBars = tuple[int, int, int, Decimal, Decimal, Decimal]
_FIELDS = len(TEXT_FIELDS)
# the rows' payloads as the recorder's dicts encode (`journal.schema.PAYLOADS`)
_SAFETY = positional("safety", "action", "allowed", "detail", "environment", "reason")
# a market order's: its type filled in, the other fields left to fill
_ORDER = positional("order", "client_id", "quantity", "reason", "side", "type") % (
    "%s",
    "%s",
    "%s",
    "%s",
    "market",
)
_FILL = positional("fill", "client_id", "fee", "market_price", "price", "quantity", "side")
_TARGET_CHANGED = positional("target_changed", "from", "to")
_ORDER_DENIED = positional("order_denied", "client_ids", "reasons", "status")


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


@dataclass(frozen=True, slots=True)
class BlockRows:
    """A batch's journal rows: those of its traded bars and the runs of quiet bars between
    them, in row order, and the runs of quiet bars it starts or ends with, left to the
    recorder (the first may extend the run the batch before ended with, the last the next
    batch's). `written` is the time the rows after the first run are written at."""

    first: QuietBars | None
    rows: list[JournalRow]
    written: str
    last: QuietBars | None


def journal_rows(
    block: TradedBars, run_id: str, written: str, bar_seconds: int | None
) -> BlockRows:
    """Return the batch's journal rows. Each item's rows are written at the close of the bar
    before it (bars of `bar_seconds`), as a backtest's clock moves, the first item's at
    `written`; all at `written` without `bar_seconds`. A traded bar's rows come in the order
    `SessionRecorder` journals them: the approval of its order, the bar, the target change,
    the order, its fills; a run of quiet bars between traded bars is one `bars` row."""
    start, events, quiet = block.start, block.events, block.quiet
    n, texts = len(events), start.texts
    if not n:  # quiet throughout
        run = quiet[0].tolist()
        first_run = _quiet_bars(run, start.target, (start.cash, start.position), texts[0])
        return BlockRows(first_run, [], written, None)
    seconds = block.columns.seconds
    rows = events[:, E_ROW]
    first_row = min(int(rows[0]), int(quiet[0, 0]) if len(quiet) else int(rows[0]))
    times = iso_times(seconds[rows])
    if bar_seconds is None:
        event_written, quiet_written = [written] * n, [written] * len(quiet)
    else:  # the close of the bar before each
        event_written = iso_times(seconds[rows - 1] + bar_seconds)
        quiet_written = iso_times(seconds[quiet[:, 1] - 1] + bar_seconds)
        if rows[0] == first_row:
            event_written[0] = written
    words = _Words(block, times)
    journal: list[JournalRow] = []
    runs, k = quiet.tolist(), 0
    first: QuietBars | None = None
    if runs and runs[0][0] == first_row:
        account = (start.cash, start.position)
        first = _quiet_bars(runs[0], start.target, account, texts[n * _FIELDS])
        k = 1
    for i, event in enumerate(events.tolist()):
        while k < len(runs) and runs[k][0] < event[E_ROW]:  # between traded bars
            journal.append(words.quiet_row(run_id, k, runs[k], i - 1, quiet_written[k]))
            k += 1
        words.traded_bar(journal, run_id, i, event, event_written[i])
    last: QuietBars | None = None
    if k < len(runs):
        last = _quiet_bars(runs[k], words.targets[-1], words.account(n - 1), texts[n * _FIELDS + k])
    return BlockRows(first, journal, event_written[0], last)


def _quiet_bars(
    run: Sequence[int], target: int, account: tuple[Decimal, Decimal], peak: str
) -> QuietBars:
    """Return a run of quiet bars with the target and account during it."""
    return run[0], run[1], target, account[0], account[1], Decimal(peak)


Order = tuple[str, str, str]  # client id (JSON), quantity, side


class _Words:
    """The texts of a batch's journal rows, worded for all its traded bars at once, and the
    order waiting for an open as the rows are put together one traded bar after another."""

    def __init__(self, block: TradedBars, times: list[str]) -> None:
        start, columns, events = block.start, block.columns, block.events
        n, texts = len(events), start.texts
        self.times, self.peaks, self.texts = times, n * _FIELDS, texts
        self.seconds = columns.seconds
        self.quiet_times = iso_times(columns.seconds[block.quiet[:, 0]])
        field = {f: texts[f : n * _FIELDS : _FIELDS] for f in range(_FIELDS)}
        self.cash, self.quantity = field[T_CASH], field[T_ORDER_QUANTITY]
        self.fill = list(zip(field[T_FEE], field[T_MARKET_PRICE], field[T_FILL_PRICE], strict=True))
        self.position = field[T_POSITION]
        if not start.traded:  # before its first fill the ledger shows the position as it was
            fills = np.flatnonzero(events[:, E_FILL_LOTS])
            first_fill = int(fills[0]) if fills.size else n
            self.position[:first_fill] = [str(start.position)] * first_fill
        self.targets = events[:, E_TARGET].tolist()
        rows = events[:, E_ROW]
        prices = (columns.open, columns.high, columns.low, columns.close, columns.volume)
        o, h, low, c, v = (_floats(column[rows]) for column in prices)
        bar = {"o": o, "h": h, "l": low, "c": c, "v": v, "t": times, "target": self.targets}
        account = {"cash": self.cash, "position": self.position}
        marks = {"equity": field[T_EQUITY], "drawdown": field[T_DRAWDOWN]}
        self.bars = rendered("bar", bar | account | marks)
        self.prefix = start.id_prefix
        approval = start.approval
        # the approval's payload around its detail (the order's id), the same for every order
        fields = (_text(approval.action), "true", "\0", _text(approval.environment))
        self.approved = (_SAFETY % (*fields, _text(approval.reason))).split("\0")
        # what the pipeline says of an order the REDUCING state refused
        self.refusal = orjson.dumps(list(risk_reasons(REDUCING_REFUSAL))).decode()
        self.blocked = ExecutionStatus.BLOCKED_BY_RISK.value
        queued = start.queued
        self.waiting: Order | None = None
        if queued is not None:
            self.waiting = (_text(queued.client_id), str(queued.quantity), queued.side.value)

    def account(self, i: int) -> tuple[Decimal, Decimal]:
        """Return the cash and position after the `i`-th traded bar."""
        return Decimal(self.cash[i]), Decimal(self.position[i])

    def quiet_row(
        self, run_id: str, k: int, run: list[int], after: int, written: str
    ) -> JournalRow:
        """Return the `bars` row of the `k`-th run of quiet bars (after traded bar `after`),
        by reference to the data."""
        first, last = int(self.seconds[run[0]]), int(self.seconds[run[1] - 1])
        payload = REFERENCED % (
            self.cash[after],
            first * MICROS,
            last * MICROS,
            run[1] - run[0],
            self.texts[self.peaks + k],
            self.position[after],
            self.targets[after],
        )
        return run_id, "bars", self.quiet_times[k], written, payload

    def traded_bar(
        self, journal: list[JournalRow], run_id: str, i: int, event: list[int], written: str
    ) -> None:
        """Add the journal rows of the `i`-th traded bar to `journal`."""
        time, lots = self.times[i], event[E_ORDER_LOTS]
        if lots:
            minute = f"{time[0:4]}{time[5:7]}{time[8:10]}T{time[11:13]}{time[14:16]}"
            client = _text(order_id(self.prefix, minute, event[E_ORDER_SEQUENCE]))
            approved = client.join(self.approved)
            journal.append((run_id, "safety", time, written, approved))
        journal.append((run_id, "bar", time, written, self.bars[i]))
        target, previous = event[E_TARGET], event[E_PREVIOUS]
        if target != previous:
            changed = _TARGET_CHANGED % (previous, target)
            journal.append((run_id, "target_changed", time, written, changed))
        filling = self._filling(bool(event[E_FILL_LOTS]) and not event[E_ORDER_FILLED])
        if lots:
            order = (client, self.quantity[i], "buy" if lots > 0 else "sell")
            payload = _ORDER % (client, order[1], order_reason(event), order[2])
            journal.append((run_id, "order", time, written, payload))
            if event[E_ORDER_DENIED]:
                journal.append((run_id, "order_denied", time, written, self._denied(client)))
            elif event[E_ORDER_FILLED]:
                filling = order
            else:
                self.waiting = order
        if filling is not None:
            journal.append((run_id, "fill", time, written, _fill_json(*filling, *self.fill[i])))

    def _denied(self, client: str) -> str:
        """Return the `order_denied` payload of an order the REDUCING state refused."""
        return _ORDER_DENIED % (f"[{client}]", self.refusal, self.blocked)

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
    return _FILL % (client, fee, market_price, price, quantity, side)
