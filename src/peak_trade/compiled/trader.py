"""Trade a column batch with the compiled loop, and hand its results on as the engine's.

`BatchTrader.trade` runs `batch_kernel.run_batch` over a batch's rows and yields what
`TradingEngine.run_columns` yields: a `QuietRun` for each run of quiet bars and a `BarOutcome`
for each other bar, with the same orders, fills and ledger figures, to the digit and exponent
of every Decimal (the journal holds their text). The ledger, the venue's queue, the pipeline's
state table and the safety guard's audit see what the ordinary path would have left in them.
A bar the loop does not trade plainly (see `batch_kernel`) is stepped by the engine itself.

The loop is used where the engine's setup is the plain one: the shadow venue filling at the
next open or the close, a safety guard that permits simulated fills, risk limits in an ACTIVE
or REDUCING state and not replaying a journal, and money that fits in the loop's steps.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.compiled import kernel
from peak_trade.compiled.layout import (
    EPOCH_DAY,
    EVENT_FIELDS,
    HELD_NONE,
    SETTING_FIELDS,
    STATE_FIELDS,
    store_wide,
)
from peak_trade.compiled.view import BatchView, amount, in_row_order
from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.money import decimal_places, price_ticks, steps
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome, QuietRun, TradedBars
from peak_trade.live.risk_limits import SEVERITY, TradingState
from peak_trade.live.risk_rules import RULES, Rule, daily_loss_pct_limit
from peak_trade.orders.base import (
    OrderExecutionResult,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from peak_trade.orders.shadow import ShadowOrderExecutor
from peak_trade.portfolio.account import LedgerTotals, PositionState

__all__ = ["BatchTrader"]

Ints = npt.NDArray[np.int64]
_MAX_PLACES = 30  # money steps of 10^-30 still leave 10^8 of room below 2^127 for 10^12 EUR
_MONEY = ("start", "min_cost", "max_order", "max_exposure", "max_daily_loss")
_S = {name: i for i, name in enumerate(SETTING_FIELDS)}
_F = {name: i for i, name in enumerate(STATE_FIELDS)}
_STATES = (TradingState.ACTIVE, TradingState.REDUCING)  # the trading states the loop keeps
# The exposure rules the loop applies itself (compiled.kernel), by name: max_order_notional,
# the two exposure limits and the daily loss by their limits, max_open_positions because the
# loop trades one symbol only (held symbols stay <= 1, and the limit is >= 1). Limits that
# hold any other rule, or another function under one of these names, trade bar by bar.
LOOP_RULES: Final = {
    name: RULES[name]
    for name in (
        "max_order_notional",
        "max_symbol_exposure_notional",
        "max_total_exposure_notional",
        "max_open_positions",
        "max_daily_loss",
    )
}


class BatchTrader:
    """Runs the compiled loop for one engine; `for_engine` says whether it can."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        instrument = engine.rules.instrument
        self.lot_places, self.price_places = instrument.lot_decimals, instrument.price_decimals
        self.fee_places = engine.rules.rates[5]
        venue = engine.pipeline.venue
        assert isinstance(venue, ShadowOrderExecutor)  # noqa: S101 - for_engine made sure
        self._venue = venue
        self.queued: OrderRequest | None = None  # the market order waiting for the next open
        self.queued_tracked = False  # whether the pipeline's state table holds it

    @classmethod
    def for_engine(cls, engine: TradingEngine) -> BatchTrader | None:
        """Return a trader for `engine`, or None where its venue or guard is not the loop's."""
        venue = engine.pipeline.venue
        if not isinstance(venue, ShadowOrderExecutor) or venue.fill_price == "book":
            return None
        if not engine.pipeline.safety_guard.permits(venue.venue_action):
            return None
        risk = engine.pipeline.risk_limits
        if risk is not None and not _applies_all(risk.rules):
            return None  # fail closed: a rule the loop does not know is checked bar by bar
        return cls(engine)

    def _ready(self) -> bool:
        """Return True when the engine's state now lets the loop trade."""
        engine = self.engine
        risk = engine.pipeline.risk_limits
        if risk is not None and (risk.state not in _STATES or risk.is_replaying):
            return False
        held = engine.held
        if held is not None and (risk is None or held[1] is not risk.state):
            return False
        if set(engine.ledger.positions) - {engine.symbol}:
            return False
        if engine.ledger.last_price(engine.symbol) is None:
            return False
        pending = engine.pipeline.venue.pending
        return len(pending) <= 1 and all(
            o.order_type is OrderType.MARKET and o.symbol == engine.symbol for o in pending
        )

    def opens(self, columns: BarColumns, rows: int) -> Ints:
        """Return the opens of the first `rows` rows in ticks, as the shadow venue prices
        them (once per batch: the loop may be started several times on it)."""
        return price_ticks(columns.open[:rows], self.price_places)

    def settings(self) -> tuple[Ints, int] | None:
        """Return the loop's settings and money places now, or None where it cannot trade."""
        if not self._ready():
            return None
        values = _limits(self.engine)
        money_places = max(
            self.lot_places + self.price_places + self.fee_places,
            *(decimal_places(v) for k, v in values.items() if v is not None and k in _MONEY),
        )
        if money_places > _MAX_PLACES:
            return None
        try:
            return _settings(self.engine, values, money_places), money_places
        except ValueError:  # a minimum finer than the lot or money steps
            return None

    def trade(
        self, columns: BarColumns, targets: Ints, ticks: tuple[Ints, Ints], days: Ints, start: int
    ) -> Generator[QuietRun | BarOutcome | TradedBars, None, tuple[int, bool]]:
        """Trade rows `start`.. of `columns` in the loop; yield what the engine yields, and
        return the row it stopped before (the length when it traded them all) and False if
        the engine's state kept it from starting at all. `ticks` are the rows' opens (`opens`)
        and closes in ticks, `days` their UTC days."""
        prepared = self.settings()
        if prepared is None:
            return start, False
        settings, money_places = prepared
        opens, closes = ticks
        state = self._load(money_places)
        size = len(targets) - start
        events = np.empty((size, len(EVENT_FIELDS)), dtype=np.int64)
        quiet = np.empty((size, 8), dtype=np.int64)
        _, row, n_events, n_quiet = kernel.run_batch(
            settings, state, opens, closes, days, targets, start, events, quiet
        )
        view = BatchView(self, money_places)
        events, quiet = events[:n_events], quiet[:n_quiet]
        block = None
        if self.engine.traded_blocks and row > start:  # else: stopped before its first row
            block = view.block(columns, days, events, quiet, row)
        if block is not None:
            yield block
        elif row > start:
            yield from self._emit(view, columns, closes, days, events, quiet)
        self._store(state, money_places, row - start, view.realized_by_day)
        return row, True

    # --- the loop's results as the engine's ----------------------------------------------------

    def _emit(
        self,
        view: BatchView,
        columns: BarColumns,
        closes: Ints,
        days: Ints,
        events: Ints,
        quiet: Ints,
    ) -> Iterator[QuietRun | BarOutcome]:
        """Yield the quiet runs and traded bars in row order, each with the account at its
        close (the ledger is settled at the batch's end, by `_store`)."""
        for is_event, row in in_row_order(events, quiet):
            if is_event:
                yield view.outcome(columns, closes, days, row)
            else:
                yield view.quiet_run(columns, closes, row)

    # --- the account into the loop's state and back --------------------------------------------

    def _load(self, money_places: int) -> Ints:
        engine, ledger = self.engine, self.engine.ledger
        totals, symbol = ledger.totals(), engine.symbol
        state = np.zeros(len(STATE_FIELDS), dtype=np.int64)
        held = ledger.position_state(symbol)
        wide = {
            "cash": totals.cash,
            "basis": held.cost_basis,
            "fees": totals.fees_paid,
            "realized": totals.realized_pnl,
            "peak": totals.peak_equity,
            "max_drawdown": totals.max_drawdown,
            "pct_drawdown": totals.max_drawdown_at[0],
            "pct_peak": totals.max_drawdown_at[1],
            "day_start": totals.day_start_equity,
        }
        for name, value in wide.items():
            store_wide(state, _F[name], steps(value, money_places))
        for name in ("cash", "peak", "max_drawdown", "pct_drawdown", "pct_peak", "day_start"):
            state[_F[f"{name}_places"]] = decimal_places(wide[name])
        state[_F["realized_places"]] = decimal_places(totals.realized_pnl)
        state[_F["position"]] = steps(held.quantity, self.lot_places)
        state[_F["day"]] = -1 if totals.day is None else totals.day.toordinal() - EPOCH_DAY
        state[_F["bars_marked"]] = totals.bars_marked
        state[_F["bars_in_market"]] = totals.bars_in_market
        state[_F["trades"]] = totals.trades
        price = ledger.last_price(symbol)
        state[_F["last_tick"]] = 0 if price is None else steps(price, self.price_places)
        state[_F["target"]] = engine.target
        state[_F["sequence"]] = engine.order_sequence
        state[_F["held_target"]] = HELD_NONE if engine.held is None else engine.held[0]
        pending = engine.pipeline.venue.pending
        self.queued = pending[0] if pending else None
        self.queued_tracked = True  # sent through the pipeline, or taken into it by `_store`
        if self.queued is not None:
            state[_F["pending_lots"]] = steps(self.queued.signed_quantity, self.lot_places)
        return state

    def _store(
        self, state: Ints, money_places: int, rows: int, by_day: dict[date, Decimal]
    ) -> None:
        engine, ledger = self.engine, self.engine.ledger
        before = ledger.totals()
        traded = int(state[_F["trades"]]) > 0
        fee_places = self.lot_places + self.price_places + self.fee_places

        def figure(name: str, places: int) -> Decimal:
            return amount(state, _F[name], money_places, places)

        day = int(state[_F["day"]])
        totals = LedgerTotals(
            cash=figure("cash", int(state[_F["cash_places"]])),
            fees_paid=figure(
                "fees", max(decimal_places(before.fees_paid), fee_places if traded else 0)
            ),
            realized_pnl=figure("realized", int(state[_F["realized_places"]])),
            trades=int(state[_F["trades"]]),
            peak_equity=figure("peak", int(state[_F["peak_places"]])),
            max_drawdown=figure("max_drawdown", int(state[_F["max_drawdown_places"]])),
            max_drawdown_at=(
                figure("pct_drawdown", int(state[_F["pct_drawdown_places"]])),
                figure("pct_peak", int(state[_F["pct_peak_places"]])),
            ),
            bars_marked=int(state[_F["bars_marked"]]),
            bars_in_market=int(state[_F["bars_in_market"]]),
            day=None if day < 0 else date.fromordinal(day + EPOCH_DAY),
            day_start_equity=figure("day_start", int(state[_F["day_start_places"]])),
            realized_by_day=by_day,
        )
        position = None
        if traded:
            quantity = Decimal(int(state[_F["position"]])).scaleb(-self.lot_places)
            position = PositionState(quantity, figure("basis", self.lot_places + self.price_places))
        price = Decimal(int(state[_F["last_tick"]])).scaleb(-self.price_places)
        ledger.restore(totals, engine.symbol, price, position)
        held_target = int(state[_F["held_target"]])
        risk = engine.pipeline.risk_limits
        held = None if held_target == HELD_NONE or risk is None else (held_target, risk.state)
        engine.take_batch(int(state[_F["target"]]), int(state[_F["sequence"]]), rows, held)
        queued = self.queued if int(state[_F["pending_lots"]]) else None
        if queued is not None and not self.queued_tracked:  # the engine may fill it itself
            engine.pipeline.track_sent([OrderExecutionResult(queued, OrderStatus.SUBMITTED)])
        self._venue.take_pending([] if queued is None else [queued])


def _applies_all(rules: Mapping[str, Rule]) -> bool:
    """Return True when the loop applies each of `rules` itself (the same function)."""
    return all(LOOP_RULES.get(name) is rule for name, rule in rules.items())


def _limits(engine: TradingEngine) -> dict[str, Decimal | None]:
    """Return the risk limits the loop checks (None: not checked) and the amounts it counts."""
    values: dict[str, Decimal | None] = {
        "start": engine.ledger.start_balance,
        "min_cost": engine.rules.instrument.min_order_cost,
        "max_order": None,
        "max_exposure": None,
        "max_daily_loss": None,
        "max_drawdown_pct": None,
    }
    risk = engine.pipeline.risk_limits
    if risk is None or not risk.config.enabled:
        return values
    config = risk.config
    exposures = [
        v
        for v in (config.max_symbol_exposure_notional, config.max_total_exposure_notional)
        if v is not None
    ]
    losses = [] if config.max_daily_loss_abs is None else [config.max_daily_loss_abs]
    if config.max_daily_loss_pct is not None:
        losses.append(daily_loss_pct_limit(engine.ledger.start_balance, config.max_daily_loss_pct))
    values["max_order"] = config.max_order_notional
    values["max_exposure"] = min(exposures) if exposures else None
    values["max_daily_loss"] = min(losses) if losses else None
    values["max_drawdown_pct"] = config.max_drawdown_pct
    return values


def _settings(engine: TradingEngine, values: dict[str, Decimal | None], money_places: int) -> Ints:
    rules, instrument = engine.rules, engine.rules.instrument
    fraction, fraction_places, slippage, slippage_places, fee, fee_places = rules.rates
    venue = engine.pipeline.venue
    fill_at_close = isinstance(venue, ShadowOrderExecutor) and venue.fill_price == "close"
    risk = engine.pipeline.risk_limits
    settings = np.zeros(len(SETTING_FIELDS), dtype=np.int64)
    plain = {
        "money_places": money_places,
        "lot_places": instrument.lot_decimals,
        "price_places": instrument.price_decimals,
        "fraction": fraction,
        "fraction_places": fraction_places,
        "slippage": slippage,
        "slippage_places": slippage_places,
        "fee": fee,
        "fee_places": fee_places,
        "allow_short": int(rules.allow_short),
        "fill_at_close": int(fill_at_close),
        "min_lots": steps(instrument.min_order_size, instrument.lot_decimals),
        "min_cost_steps": steps(instrument.min_order_cost, money_places),
        "risk_on": 1,
        "max_drawdown_pct": -1,
        "pct_places": 0,
        "reducing": 0 if risk is None else SEVERITY[risk.state],  # ACTIVE or REDUCING here
    }
    for name, value in plain.items():
        settings[_S[name]] = value
    for name in ("max_order", "max_exposure", "max_daily_loss"):
        limit = values[name]
        store_wide(
            settings, _S[f"{name}_steps"], -1 if limit is None else steps(limit, money_places)
        )
    pct = values["max_drawdown_pct"]
    if pct is not None:
        places = decimal_places(pct)
        settings[_S["max_drawdown_pct"]] = steps(pct, places)
        settings[_S["pct_places"]] = places
    return settings
