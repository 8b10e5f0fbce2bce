"""What the engine hands on for each bar or run of bars, whichever path traded them.

`BarOutcome` for a bar on which something happened, `QuietRun` for a run of bars on which
only the marks changed, and `TradedBars` for a whole batch the compiled loop traded, for a
caller that counts and journals in bulk. The runner, the metrics, the recorder and the
compiled loop all speak these; none of them needs the others to.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.types import Bar
from peak_trade.engine.pipeline import ExecutionResult
from peak_trade.live.safety import SafetyAuditEntry
from peak_trade.orders.base import OrderExecutionResult, OrderFill, OrderRequest
from peak_trade.orders.sizing import SizingDecision
from peak_trade.portfolio.account import RunMarks

__all__ = ["AccountMark", "BarOutcome", "BatchLoop", "BlockStart", "QuietRun", "TradedBars"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AccountMark:
    """The account at a bar's close, as the ledger stood there: what the bar's journal row,
    a follower of the marks and the display read (the compiled loop settles the ledger only
    at its batch's end)."""

    cash: Decimal
    position: Decimal
    equity: Decimal
    peak: Decimal

    @property
    def marks(self) -> RunMarks:
        """Return the equity and drawdown as the marks of one bar."""
        equity = float(self.equity)
        return RunMarks.of(np.array([equity]), np.array([float(self.peak - self.equity)]))


@dataclass(frozen=True, slots=True)
class BarOutcome:
    """What happened on one bar."""

    bar: Bar
    target: int
    previous_target: int
    decision: SizingDecision
    result: ExecutionResult | None
    account: AccountMark  # at the bar's close
    venue_results: tuple[OrderExecutionResult, ...] = ()
    fills: tuple[OrderFill, ...] = field(default=())

    @property
    def target_changed(self) -> bool:
        """Return True when the strategy changed its target on this bar."""
        return self.target != self.previous_target


@dataclass(frozen=True, slots=True)
class QuietRun:
    """Rows `start` to `stop` of a column batch: bars on which only the marks changed.

    `peak` is the ledger's peak equity before the run's first bar: with the cash, position and
    closes it gives every mark of the run again (`marks.run_marks`).
    """

    columns: BarColumns
    start: int
    stop: int
    target: int
    marks: RunMarks
    peak: Decimal
    account: AccountMark  # at the close of the run's last bar

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class BlockStart:
    """What a traded batch's journal rows need besides its events: the account, target and
    queued order before its first row, and the texts its orders' ids and approvals share."""

    cash: Decimal
    position: Decimal
    traded: bool  # whether the account has traded: before that, the ledger shows no position
    target: int
    queued: OrderRequest | None  # the order waiting for the first row's open
    id_prefix: str  # what each client id starts with (`TradingEngine.client_id`)
    approval: SafetyAuditEntry  # the guard's approval of an order, but for its id (detail)
    texts: list[str]  # the amounts' texts (batch_text.texts)


@dataclass(frozen=True, slots=True)
class TradedBars:
    """A batch the compiled loop traded, handed on whole: its traded bars (`events`, rows of
    `compiled.layout.EVENT_FIELDS`) and runs of quiet bars (`quiet`, as the loop writes them).
    The engine yields one instead of each bar's items when asked to
    (`TradingEngine.traded_blocks`): the runner then counts and journals them in bulk
    (`journal.bulk_rows`), and the ledger, pipeline and guard have already taken them."""

    columns: BarColumns
    events: Ints
    quiet: Ints
    stop: int  # the row after the last
    start: BlockStart
    last_target: int  # the target after the batch's last bar


class BatchLoop(Protocol):
    """A faster path for a whole batch of bars (`compiled.trader.BatchTrader`): it trades
    what it can and hands every other bar back to the engine."""

    def opens(self, columns: BarColumns, rows: int) -> npt.NDArray[np.int64]:
        """Return the first `rows` opens in the ticks it trades in."""
        ...

    def trade(
        self,
        columns: BarColumns,
        targets: npt.NDArray[np.int64],
        ticks: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
        days: npt.NDArray[np.int64],
        start: int,
    ) -> Generator[QuietRun | BarOutcome | TradedBars, None, tuple[int, bool]]:
        """Trade rows `start`.. ; yield the items, return the row it stopped before and False
        if the engine's state kept it from starting at all."""
        ...
