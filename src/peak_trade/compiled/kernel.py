"""The compiled backtest loop: many bars of one symbol, traded as the engine trades them.

`run_batch` takes a column batch's closes and opens in ticks, their UTC days, the strategy's
target for each bar, the run's settings and the account's state, and trades the bars in order
as `TradingEngine.step` does: queued market orders fill at the open with slippage and fee, the
ledger is marked at the close, and a target the position is not in becomes orders, which pass
the risk rules and go to the venue. Money is exact: wide integers (`core.wide`) in steps of
10^-M, quantities in lots, prices in ticks; the fill price and the entry size come from the
order kernels the shadow venue and sizing use (`orders.kernels`).

Whatever is not the plain case stops the loop *before* the bar, untouched, and returns its row:
an order the risk rules or the venue would refuse, a skipped entry, a change of the trading
state, a flip from long to short, a partial close, a drawdown percent too close to call in
floats. The engine then steps that bar the ordinary way and calls the loop again after it.
In a REDUCING trading state the loop refuses an order that would not shrink the position
itself, as `LiveRiskLimits` does (the event says so), and holds it back until the target
changes, as the engine does.

Each traded bar (a fill, an order or a target change) gets a row in `events`; quiet bars get
none: `quiet` lists the runs of them with the peak before each, for the journal.
"""

from __future__ import annotations

import numpy as np

from peak_trade.compiled.layout import (
    CASH,
    CASH_PLACES,
    DAY_START,
    DONE,
    E_CASH,
    E_CASH_PLACES,
    E_EQUITY,
    E_EQUITY_PLACES,
    E_FEE,
    E_FILL_LOTS,
    E_FILL_ROW,
    E_FILL_SEQUENCE,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_ORDER_DENIED,
    E_ORDER_FILLED,
    E_ORDER_LOTS,
    E_ORDER_SEQUENCE,
    E_PEAK,
    E_PEAK_PLACES,
    E_POSITION,
    E_PREVIOUS,
    E_REALIZED,
    E_ROW,
    E_TARGET,
    HELD_NONE,
    HELD_TARGET,
    PEAK,
    PEAK_PLACES,
    PENDING_LOTS,
    PENDING_ROW,
    PENDING_SEQUENCE,
    POSITION,
    REFUSED,
    S_ALLOW_SHORT,
    S_FEE,
    S_FEE_PLACES,
    S_FILL_AT_CLOSE,
    S_FRACTION,
    S_FRACTION_PLACES,
    S_LOT_PLACES,
    S_MAX_DAILY_LOSS,
    S_MAX_DRAWDOWN_PCT,
    S_MAX_EXPOSURE,
    S_MAX_ORDER,
    S_MIN_COST,
    S_MIN_LOTS,
    S_MONEY_PLACES,
    S_PCT_PLACES,
    S_PRICE_PLACES,
    S_REDUCING,
    S_RISK_ON,
    S_SLIPPAGE,
    S_SLIPPAGE_PLACES,
    SEND,
    SEQUENCE,
    STEP,
    STEP_THIS_BAR,
    TARGET,
    Ints,
    get,
    put,
)
from peak_trade.compiled.ledger import equity_places, equity_steps, fill, mark, value_of
from peak_trade.core.compiled import compiled
from peak_trade.core.wide import (
    compare,
    subtract,
    widen,
)
from peak_trade.engine.targets import is_quiet
from peak_trade.live.risk_rules import (
    drawdown_over,
    exceeds,
    loss_reached,
    notional,
    reduces,
    state_refuses,
)
from peak_trade.orders.kernels import entry_lots, slipped_ticks
from peak_trade.orders.sizing import state_of, wanted_position

__all__ = ["run_batch"]


@compiled
def _order_lots(settings: Ints, state: Ints, target: int, tick: int) -> tuple[int, int]:
    """Return the signed lots that bring the position to the state of `target` at `tick`
    (0: none needed) and what the risk rules make of them: SEND, REFUSED by the trading state,
    or STEP where sizing, the venue or the risk rules would not send them as one plain order
    (a flip, dust, an entry below the minimums, any other denial)."""
    wanted = wanted_position(target, settings[S_ALLOW_SHORT] == 1)
    held = state[POSITION]
    holding = state_of(held)
    if holding == wanted:
        return 0, SEND
    if holding != 0 and wanted != 0:
        return 0, STEP
    if holding != 0:
        lots = -held
    else:
        equity = equity_steps(settings, state)
        if compare(equity, widen(0)) <= 0:
            return 0, STEP
        size = entry_lots(
            wanted > 0,
            settings[S_FRACTION],
            settings[S_FRACTION_PLACES],
            equity,
            get(state, CASH),
            settings[S_MONEY_PLACES],
            tick,
            settings[S_PRICE_PLACES],
            settings[S_LOT_PLACES],
            settings[S_SLIPPAGE],
            settings[S_SLIPPAGE_PLACES],
            settings[S_FEE],
            settings[S_FEE_PLACES],
        )
        lots = size if wanted > 0 else -size
    if abs(lots) < settings[S_MIN_LOTS]:
        return 0, STEP
    if compare(value_of(settings, abs(lots), tick), widen(settings[S_MIN_COST])) < 0:
        return 0, STEP
    return lots, _risk_verdict(settings, state, lots, tick)


@compiled
def _risk_verdict(settings: Ints, state: Ints, lots: int, tick: int) -> int:
    """Return what `LiveRiskLimits.check_orders` makes of the order, by its own rules: SEND
    it unchanged (no drawdown trip, and for an order that adds risk no limit exceeded),
    REFUSED by a REDUCING trading state (an order that does not shrink the position), or STEP
    (anything else: the engine then checks it and says why)."""
    reducing = reduces(state[POSITION], lots)
    if state_refuses(settings[S_REDUCING], reducing):
        return REFUSED
    if settings[S_REDUCING] == 1:  # already tripped, and the order only shrinks the position
        return SEND
    equity = equity_steps(settings, state)
    pct = settings[S_MAX_DRAWDOWN_PCT]
    if pct >= 0 and drawdown_over(get(state, PEAK), equity, pct, settings[S_PCT_PLACES]):
        return STEP
    if settings[S_RISK_ON] == 0 or reducing:
        return SEND
    places = settings[S_MONEY_PLACES] - settings[S_LOT_PLACES] - settings[S_PRICE_PLACES]
    if exceeds(notional(lots, tick, places), get(settings, S_MAX_ORDER)):
        return STEP
    after = state[POSITION] + lots  # one symbol: its exposure is the total exposure
    if exceeds(notional(after, tick, places), get(settings, S_MAX_EXPOSURE)):
        return STEP
    day_pnl = subtract(equity, get(state, DAY_START))
    if loss_reached(day_pnl, get(settings, S_MAX_DAILY_LOSS)):
        return STEP
    return SEND


@compiled
def _record(settings: Ints, state: Ints, events: Ints, n: int, row: int, previous: int) -> None:
    """Write the state after bar `row` into events[n] (the fill and order fields are set by
    the caller)."""
    event = events[n]
    event[E_ROW] = row
    event[E_PREVIOUS] = previous
    event[E_TARGET] = state[TARGET]
    put(event, E_CASH, get(state, CASH))
    event[E_POSITION] = state[POSITION]
    put(event, E_EQUITY, equity_steps(settings, state))
    put(event, E_PEAK, get(state, PEAK))
    event[E_CASH_PLACES] = state[CASH_PLACES]
    event[E_EQUITY_PLACES] = equity_places(settings, state)
    event[E_PEAK_PLACES] = state[PEAK_PLACES]


@compiled
def _fill_at(
    settings: Ints, state: Ints, lots: int, market: int, number: int, row: int, event: Ints
) -> bool:
    """Fill signed `lots` of order `number`, decided on bar `row`, at the `market` tick moved
    against the trader by the slippage; write the fill into `event`. False: the venue or
    ledger would not fill it plainly."""
    price = slipped_ticks(lots > 0, market, settings[S_SLIPPAGE], settings[S_SLIPPAGE_PLACES])
    filled, fee, realized = fill(settings, state, lots, price)
    if not filled:
        return False
    event[E_FILL_LOTS], event[E_FILL_TICK], event[E_MARKET_TICK] = lots, price, market
    event[E_FILL_SEQUENCE], event[E_FILL_ROW] = number, row
    put(event, E_FEE, fee)
    put(event, E_REALIZED, realized)
    return True


@compiled
def _fill_pending(settings: Ints, state: Ints, tick: int, event: Ints) -> bool:
    """Fill the order waiting for this bar at its open `tick`; False: the venue or ledger
    would not fill it plainly."""
    lots, number, row = state[PENDING_LOTS], state[PENDING_SEQUENCE], state[PENDING_ROW]
    if not _fill_at(settings, state, lots, tick, number, row, event):
        return False
    state[PENDING_LOTS] = 0
    return True


@compiled
def _send(settings: Ints, state: Ints, row: int, lots: int, tick: int, event: Ints) -> bool:
    """Send an order of signed `lots` decided at the close `tick` of bar `row`: fill it now
    (fill_price "close") or queue it for the next open."""
    state[SEQUENCE] += 1
    event[E_ORDER_LOTS], event[E_ORDER_SEQUENCE] = lots, state[SEQUENCE]
    if settings[S_FILL_AT_CLOSE] == 0:
        state[PENDING_LOTS], state[PENDING_SEQUENCE] = lots, state[SEQUENCE]
        state[PENDING_ROW] = row
        return True
    if not _fill_at(settings, state, lots, tick, state[SEQUENCE], row, event):
        return False
    event[E_ORDER_FILLED] = 1
    return True


@compiled
def _may_trade(settings: Ints, state: Ints, target: int) -> bool:
    """Return True unless the bar is surely quiet: nothing queued, the same target, and the
    position already in its state or its order held back by the trading state."""
    pending, previous = state[PENDING_LOTS] != 0, state[TARGET]
    wanted = wanted_position(target, settings[S_ALLOW_SHORT] == 1)
    held_back = state[HELD_TARGET] == target
    return not is_quiet(pending, target, previous, state_of(state[POSITION]), wanted, held_back)


@compiled
def _step(settings: Ints, state: Ints, row: int, bar: Ints, events: Ints, n: int) -> int:
    """Trade bar `row` (bar: open tick, close tick, day, target); return 1 if it was busy
    (events[n] written), 0 if quiet, -1 to stop before it (the state as it was)."""
    if not _may_trade(settings, state, bar[3]):
        return 0 if mark(settings, state, bar[1], bar[2]) else -1
    saved = state.copy()
    event = events[n]
    event[:] = 0
    if state[PENDING_LOTS] != 0 and not _fill_pending(settings, state, bar[0], event):
        state[:] = saved
        return -1
    previous, target = state[TARGET], bar[3]
    if not mark(settings, state, bar[1], bar[2]):
        state[:] = saved
        return -1
    state[TARGET] = target
    lots, verdict = _order_lots(settings, state, target, bar[1])
    if verdict == STEP:
        state[:] = saved
        return -1
    if lots != 0 and verdict == REFUSED:  # planned and refused: held back until it changes
        state[SEQUENCE] += 1
        event[E_ORDER_LOTS], event[E_ORDER_SEQUENCE] = lots, state[SEQUENCE]
        event[E_ORDER_DENIED], state[HELD_TARGET] = 1, target
    elif lots != 0:
        state[HELD_TARGET] = HELD_NONE
        if not _send(settings, state, row, lots, bar[1], event):
            state[:] = saved
            return -1
    _record(settings, state, events, n, row, previous)
    return 1


@compiled
def run_batch(
    settings: Ints,
    state: Ints,
    opens: Ints,
    closes: Ints,
    days: Ints,
    targets: Ints,
    start: int,
    events: Ints,
    quiet: Ints,
) -> tuple[int, int, int, int]:
    """Trade rows `start`.. of a batch; return (status, row, events written, quiet runs).

    `quiet[k]` is (first row, row after the last, peak before the first as two slots, its
    places, peak after the last as two slots, its places) of the k-th run of quiet bars.
    Status DONE: every row traded; STEP_THIS_BAR: stopped before `row`, which the engine
    steps itself.
    """
    n_events, n_quiet = 0, 0
    bar = np.empty(4, dtype=np.int64)
    run_start = -1
    row = start
    while row < len(targets):
        peak, peak_places = get(state, PEAK), state[PEAK_PLACES]
        bar[0], bar[1], bar[2], bar[3] = opens[row], closes[row], days[row], targets[row]
        busy = _step(settings, state, row, bar, events, n_events)
        if busy == 0:
            if run_start < 0:
                run_start = row
                put(quiet[n_quiet], 2, peak)
                quiet[n_quiet, 4] = peak_places
            row += 1
            continue
        if run_start >= 0:
            quiet[n_quiet, 0], quiet[n_quiet, 1] = run_start, row
            put(quiet[n_quiet], 5, peak)
            quiet[n_quiet, 7] = peak_places
            n_quiet += 1
            run_start = -1
        if busy < 0:
            return STEP_THIS_BAR, row, n_events, n_quiet
        n_events += 1
        row += 1
    if run_start >= 0:
        quiet[n_quiet, 0], quiet[n_quiet, 1] = run_start, row
        put(quiet[n_quiet], 5, get(state, PEAK))
        quiet[n_quiet, 7] = state[PEAK_PLACES]
        n_quiet += 1
    return DONE, row, n_events, n_quiet
