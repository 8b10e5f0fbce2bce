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

Each traded bar (a fill, an order or a target change) gets a row in `events`; quiet bars get
none: `quiet` lists the runs of them with the peak before each, for the journal.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.core.wide import (
    Wide,
    add,
    compare,
    is_negative,
    multiply,
    negate,
    subtract,
    times_ten_to,
    widen,
)
from peak_trade.orders.kernels import entry_lots, slipped_ticks

__all__ = [
    "EVENT_FIELDS",
    "SETTING_FIELDS",
    "STATE_FIELDS",
    "run_batch",
]

Ints = npt.NDArray[np.int64]

# --- settings: one int64 each ---------------------------------------------------------------
SETTING_FIELDS: Final = (
    "money_places",  # M: money is counted in steps of 10^-M
    "lot_places",  # L
    "price_places",  # T
    "fraction",
    "fraction_places",
    "slippage",
    "slippage_places",
    "fee",
    "fee_places",
    "allow_short",
    "fill_at_close",
    "min_lots",
    "min_cost_steps",  # the minimum order cost, in money steps
    "risk_on",  # 1: the exposure rules are checked
    # limits in money steps, wide (two slots); below zero: no limit
    "max_order_steps",
    "max_order_bits",
    "max_exposure_steps",  # the smaller of the symbol and total exposure limits
    "max_exposure_bits",
    "max_daily_loss_steps",  # the smaller of the absolute and percent daily loss limits
    "max_daily_loss_bits",
    "max_drawdown_pct",  # -1: no limit; else the limit x 10^pct_places
    "pct_places",
)
(
    _M,
    _L,
    _T,
    _FRACTION,
    _FRACTION_PLACES,
    _SLIPPAGE,
    _SLIPPAGE_PLACES,
    _FEE,
    _FEE_PLACES,
    _ALLOW_SHORT,
    _FILL_AT_CLOSE,
    _MIN_LOTS,
    _MIN_COST,
    _RISK_ON,
    _MAX_ORDER,
    _,
    _MAX_EXPOSURE,
    _,
    _MAX_DAILY_LOSS,
    _,
    _MAX_DRAWDOWN_PCT,
    _PCT_PLACES,
) = range(len(SETTING_FIELDS))

# --- state: wide values take two slots (their bits), the others one --------------------------
STATE_FIELDS: Final = (
    "cash",
    "cash_bits",
    "basis",
    "basis_bits",
    "fees",
    "fees_bits",
    "realized",
    "realized_bits",
    "peak",
    "peak_bits",
    "max_drawdown",
    "max_drawdown_bits",
    "pct_drawdown",  # the max drawdown percent as drawdown / peak at the mark it was set
    "pct_drawdown_bits",
    "pct_peak",
    "pct_peak_bits",
    "day_start",
    "day_start_bits",
    "position",  # lots
    "day",  # UTC day of the last mark, days since 1970; -1 before the first
    "bars_marked",
    "bars_in_market",
    "trades",
    "last_tick",  # the last mark or fill price, 0 before any
    "pending_lots",  # signed lots of the market order waiting for the next open, 0 if none
    "pending_sequence",
    "pending_row",  # the row of the bar the pending order was decided on
    "target",
    "sequence",  # the last client order number used
    # decimal places Decimal arithmetic would give each amount (its text has them)
    "cash_places",
    "peak_places",
    "max_drawdown_places",
    "pct_drawdown_places",
    "pct_peak_places",
    "day_start_places",
    "realized_places",
)
(
    _CASH,
    _,
    _BASIS,
    _,
    _FEES,
    _,
    _REALIZED,
    _,
    _PEAK,
    _,
    _MAX_DD,
    _,
    _PCT_DD,
    _,
    _PCT_PEAK,
    _,
    _DAY_START,
    _,
    _POSITION,
    _DAY,
    _BARS_MARKED,
    _BARS_IN_MARKET,
    _TRADES,
    _LAST_TICK,
    _PENDING_LOTS,
    _PENDING_SEQUENCE,
    _PENDING_ROW,
    _TARGET,
    _SEQUENCE,
    _CASH_PLACES,
    _PEAK_PLACES,
    _MAX_DD_PLACES,
    _PCT_DD_PLACES,
    _PCT_PEAK_PLACES,
    _DAY_START_PLACES,
    _REALIZED_PLACES,
) = range(len(STATE_FIELDS))

# --- events: one row per traded bar ---------------------------------------------------------
EVENT_FIELDS: Final = (
    "row",
    "previous_target",
    "target",
    "fill_lots",  # signed; 0: no fill on this bar
    "fill_tick",
    "market_tick",
    "fill_sequence",
    "fill_row",  # the row of the bar the filled order was decided on
    "fee",
    "fee_bits",
    "realized",
    "realized_bits",
    "order_lots",  # signed; 0: no order on this bar
    "order_sequence",
    "order_filled",  # 1: the order filled on this bar (fill_price = "close")
    "cash",
    "cash_bits",
    "position",
    "equity",
    "equity_bits",
    "peak",
    "peak_bits",
    "cash_places",
    "equity_places",
    "peak_places",
    "fill_closed",  # 1: the fill closed a position (its realized PnL is booked)
)
(
    _E_ROW,
    _E_PREVIOUS,
    _E_TARGET,
    _E_FILL_LOTS,
    _E_FILL_TICK,
    _E_MARKET_TICK,
    _E_FILL_SEQUENCE,
    _E_FILL_ROW,
    _E_FEE,
    _,
    _E_REALIZED,
    _,
    _E_ORDER_LOTS,
    _E_ORDER_SEQUENCE,
    _E_ORDER_FILLED,
    _E_CASH,
    _,
    _E_POSITION,
    _E_EQUITY,
    _,
    _E_PEAK,
    _,
    _E_CASH_PLACES,
    _E_EQUITY_PLACES,
    _E_PEAK_PLACES,
    _E_FILL_CLOSED,
) = range(len(EVENT_FIELDS))

# Why `run_batch` stopped: it traded every row, or it stopped before the returned row.
DONE: Final = 0
STEP_THIS_BAR: Final = 1


@compiled
def _get(values: Ints, at: int) -> Wide:
    return np.uint64(values[at]), np.uint64(values[at + 1])


@compiled
def _put(values: Ints, at: int, value: Wide) -> None:
    values[at] = np.int64(value[0])
    values[at + 1] = np.int64(value[1])


@compiled
def _money(settings: Ints, lots: int, tick: int) -> Wide:
    """Return lots x tick in money steps (M >= L + T)."""
    places = settings[_M] - settings[_L] - settings[_T]
    return times_ten_to(multiply(widen(lots), tick), places)


@compiled
def _fee(settings: Ints, lots: int, tick: int) -> Wide:
    """Return |lots x tick| x fee rate in money steps (M >= L + T + fee places)."""
    places = settings[_M] - settings[_L] - settings[_T] - settings[_FEE_PLACES]
    notional = multiply(widen(abs(lots)), tick)
    return times_ten_to(multiply(notional, settings[_FEE]), places)


@compiled
def _equity(settings: Ints, state: Ints) -> Wide:
    return add(_get(state, _CASH), _money(settings, state[_POSITION], state[_LAST_TICK]))


@compiled
def _equity_places(settings: Ints, state: Ints) -> int:
    """Return the places of cash + position x price (no position: cash + 0)."""
    places = int(state[_CASH_PLACES])
    return places if state[_POSITION] == 0 else max(places, int(settings[_L] + settings[_T]))


@compiled
def _float(a: Wide) -> float:
    if is_negative(a):
        return -_float(negate(a))
    return float(a[0]) * 18446744073709551616.0 + float(a[1])


@compiled
def _ratio_above(a: Wide, b: Wide, c: Wide, d: Wide) -> int:
    """Return 1 if a/b > c/d, 0 if not, -1 if floats cannot tell (a, c >= 0; b, d > 0)."""
    if compare(a, widen(0)) == 0 or (compare(a, c) == 0 and compare(b, d) == 0):
        return 0
    x = _float(a) / _float(b)
    y = _float(c) / _float(d)
    if abs(x - y) <= 1e-12 * max(abs(x), abs(y)):
        return -1
    return 1 if x > y else 0


@compiled
def _update_drawdown(settings: Ints, state: Ints) -> bool:
    """Raise peak, max drawdown and max drawdown percent to include the current equity, as
    `Ledger._update_drawdown` does; change nothing and return False if floats cannot tell the
    percent apart from the largest so far."""
    equity, places = _equity(settings, state), _equity_places(settings, state)
    peak, peak_places = _get(state, _PEAK), state[_PEAK_PLACES]
    if compare(equity, peak) > 0:
        peak, peak_places = equity, places
    drawdown = subtract(peak, equity)
    above = 0
    if compare(peak, widen(0)) > 0:
        above = _ratio_above(drawdown, peak, _get(state, _PCT_DD), _get(state, _PCT_PEAK))
        if above < 0:
            return False
    _put(state, _PEAK, peak)
    state[_PEAK_PLACES] = peak_places
    if compare(drawdown, _get(state, _MAX_DD)) > 0:
        _put(state, _MAX_DD, drawdown)
        state[_MAX_DD_PLACES] = max(peak_places, places)
    if above == 1:
        _put(state, _PCT_DD, drawdown)
        _put(state, _PCT_PEAK, peak)
        state[_PCT_DD_PLACES] = max(peak_places, places)
        state[_PCT_PEAK_PLACES] = peak_places
    return True


@compiled
def _mark(settings: Ints, state: Ints, tick: int, day: int) -> bool:
    """Mark at the close `tick` of a bar on `day`, as `Ledger.mark`; False: nothing changed,
    the bar must be stepped the ordinary way."""
    if state[_POSITION] == 0 and day == state[_DAY]:  # the equity stays the cash: no record
        state[_LAST_TICK] = tick
        state[_BARS_MARKED] += 1
        return True
    day_before, start_before = state[_DAY], _get(state, _DAY_START)
    places_before, tick_before = state[_DAY_START_PLACES], state[_LAST_TICK]
    if day != day_before:
        if day_before >= 0:
            _put(state, _DAY_START, _equity(settings, state))
            state[_DAY_START_PLACES] = _equity_places(settings, state)
        state[_DAY] = day
    state[_LAST_TICK] = tick
    if not _update_drawdown(settings, state):
        state[_DAY], state[_LAST_TICK] = day_before, tick_before
        _put(state, _DAY_START, start_before)
        state[_DAY_START_PLACES] = places_before
        return False
    state[_BARS_MARKED] += 1
    if state[_POSITION] != 0:
        state[_BARS_IN_MARKET] += 1
    return True


@compiled
def _book(settings: Ints, state: Ints, lots: int, tick: int) -> tuple[bool, Wide]:
    """Book a fill of signed `lots` at `tick` into position and basis, as `Ledger._book`;
    return False for a partial close (its rounding is the ledger's) and the realized PnL."""
    held = state[_POSITION]
    cost = _money(settings, lots, tick)
    if held == 0 or (held > 0) == (lots > 0):
        state[_POSITION] = held + lots
        _put(state, _BASIS, add(_get(state, _BASIS), cost))
        return True, widen(0)
    if abs(lots) < abs(held):
        return False, widen(0)
    removed = _get(state, _BASIS)
    realized = subtract(_money(settings, held, tick), removed)
    state[_REALIZED_PLACES] = max(state[_REALIZED_PLACES], settings[_L] + settings[_T])
    opening = lots + held  # what is left after closing opens the other side
    state[_POSITION] = opening
    _put(state, _BASIS, _money(settings, opening, tick))
    return True, realized


@compiled
def _fill(settings: Ints, state: Ints, lots: int, tick: int) -> tuple[bool, Wide, Wide]:
    """Fill signed `lots` at `tick` as the shadow venue and `Ledger.apply_trade` do; return
    False where the venue would refuse it (funds, position) or the ledger round (a partial
    close), and the fee and realized PnL."""
    fee = _fee(settings, lots, tick)
    cost = _money(settings, lots, tick)
    cash = _get(state, _CASH)
    if lots > 0 and compare(add(cost, fee), cash) > 0:
        return False, fee, fee
    if lots < 0 and settings[_ALLOW_SHORT] == 0 and -lots > state[_POSITION]:
        return False, fee, fee
    booked, realized = _book(settings, state, lots, tick)
    if not booked:
        return False, fee, fee
    _put(state, _CASH, subtract(cash, add(cost, fee)))
    _put(state, _FEES, add(_get(state, _FEES), fee))
    _put(state, _REALIZED, add(_get(state, _REALIZED), realized))
    places = settings[_L] + settings[_T] + settings[_FEE_PLACES]
    state[_CASH_PLACES] = max(state[_CASH_PLACES], places)
    state[_TRADES] += 1
    if state[_LAST_TICK] == 0:
        state[_LAST_TICK] = tick
    return _update_drawdown(settings, state), fee, realized


@compiled
def _order_lots(settings: Ints, state: Ints, target: int, tick: int) -> tuple[int, bool]:
    """Return the signed lots that bring the position to the state of `target` at `tick`
    (0: none needed), and False where sizing, the venue or the risk rules would not send
    them as one plain order (a flip, dust, an entry below the minimums, any denial)."""
    wanted = target if target >= 0 or settings[_ALLOW_SHORT] == 1 else 0
    held = state[_POSITION]
    holding = (held > 0) - (held < 0)
    if holding == wanted:
        return 0, True
    if holding != 0 and wanted != 0:
        return 0, False
    if holding != 0:
        lots = -held
    else:
        equity = _equity(settings, state)
        if compare(equity, widen(0)) <= 0:
            return 0, False
        size = entry_lots(
            wanted > 0,
            settings[_FRACTION],
            settings[_FRACTION_PLACES],
            equity,
            _get(state, _CASH),
            settings[_M],
            tick,
            settings[_T],
            settings[_L],
            settings[_SLIPPAGE],
            settings[_SLIPPAGE_PLACES],
            settings[_FEE],
            settings[_FEE_PLACES],
        )
        lots = size if wanted > 0 else -size
    if abs(lots) < settings[_MIN_LOTS]:
        return 0, False
    if compare(_money(settings, abs(lots), tick), widen(settings[_MIN_COST])) < 0:
        return 0, False
    return lots, _risk_allows(settings, state, lots, tick)


@compiled
def _limit_exceeded(amount: Wide, limit: Wide) -> bool:
    return not is_negative(limit) and compare(amount, limit) > 0


@compiled
def _risk_allows(settings: Ints, state: Ints, lots: int, tick: int) -> bool:
    """Return True when `LiveRiskLimits.check_orders` lets the order through unchanged: no
    drawdown trip, and for an order that adds risk no rule violated."""
    if settings[_MAX_DRAWDOWN_PCT] >= 0:  # drawdown x 100 x 10^p > limit x peak trips it
        peak, equity = _get(state, _PEAK), _equity(settings, state)
        if compare(peak, widen(0)) > 0:
            drawdown = multiply(times_ten_to(subtract(peak, equity), settings[_PCT_PLACES]), 100)
            if compare(drawdown, multiply(peak, settings[_MAX_DRAWDOWN_PCT])) > 0:
                return False
    if settings[_RISK_ON] == 0:
        return True
    held = state[_POSITION]
    after = held + lots
    reducing = held != 0 and abs(after) < abs(held) and (after == 0 or (after > 0) == (held > 0))
    if reducing:
        return True
    if _limit_exceeded(_money(settings, abs(lots), tick), _get(settings, _MAX_ORDER)):
        return False
    if _limit_exceeded(_money(settings, abs(after), tick), _get(settings, _MAX_EXPOSURE)):
        return False
    loss_limit = _get(settings, _MAX_DAILY_LOSS)
    if not is_negative(loss_limit):
        day_pnl = subtract(_equity(settings, state), _get(state, _DAY_START))
        if compare(day_pnl, negate(loss_limit)) <= 0:
            return False
    return True


@compiled
def _record(settings: Ints, state: Ints, events: Ints, n: int, row: int, previous: int) -> None:
    """Write the state after bar `row` into events[n] (the fill and order fields are set by
    the caller)."""
    event = events[n]
    event[_E_ROW] = row
    event[_E_PREVIOUS] = previous
    event[_E_TARGET] = state[_TARGET]
    _put(event, _E_CASH, _get(state, _CASH))
    event[_E_POSITION] = state[_POSITION]
    _put(event, _E_EQUITY, _equity(settings, state))
    _put(event, _E_PEAK, _get(state, _PEAK))
    event[_E_CASH_PLACES] = state[_CASH_PLACES]
    event[_E_EQUITY_PLACES] = _equity_places(settings, state)
    event[_E_PEAK_PLACES] = state[_PEAK_PLACES]


@compiled
def _closes(held: int, lots: int) -> int:
    """Return 1 if a fill of `lots` closes (part of) a position of `held` lots."""
    return int(held != 0 and (held > 0) != (lots > 0))


@compiled
def _fill_pending(settings: Ints, state: Ints, tick: int, event: Ints) -> bool:
    """Fill the order waiting for this bar at its open `tick`; False: the venue or ledger
    would not fill it plainly."""
    lots = state[_PENDING_LOTS]
    price = slipped_ticks(lots > 0, tick, settings[_SLIPPAGE], settings[_SLIPPAGE_PLACES])
    event[_E_FILL_CLOSED] = _closes(state[_POSITION], lots)
    filled, fee, realized = _fill(settings, state, lots, price)
    if not filled:
        return False
    event[_E_FILL_LOTS], event[_E_FILL_TICK], event[_E_MARKET_TICK] = lots, price, tick
    event[_E_FILL_SEQUENCE], event[_E_FILL_ROW] = state[_PENDING_SEQUENCE], state[_PENDING_ROW]
    _put(event, _E_FEE, fee)
    _put(event, _E_REALIZED, realized)
    state[_PENDING_LOTS] = 0
    return True


@compiled
def _send(settings: Ints, state: Ints, row: int, lots: int, tick: int, event: Ints) -> bool:
    """Send an order of signed `lots` decided at the close `tick` of bar `row`: fill it now
    (fill_price "close") or queue it for the next open."""
    state[_SEQUENCE] += 1
    event[_E_ORDER_LOTS], event[_E_ORDER_SEQUENCE] = lots, state[_SEQUENCE]
    if settings[_FILL_AT_CLOSE] == 0:
        state[_PENDING_LOTS], state[_PENDING_SEQUENCE] = lots, state[_SEQUENCE]
        state[_PENDING_ROW] = row
        return True
    price = slipped_ticks(lots > 0, tick, settings[_SLIPPAGE], settings[_SLIPPAGE_PLACES])
    event[_E_FILL_CLOSED] = _closes(state[_POSITION], lots)
    filled, fee, realized = _fill(settings, state, lots, price)
    if not filled:
        return False
    event[_E_FILL_LOTS], event[_E_FILL_TICK], event[_E_MARKET_TICK] = lots, price, tick
    event[_E_FILL_SEQUENCE], event[_E_FILL_ROW] = state[_SEQUENCE], row
    _put(event, _E_FEE, fee)
    _put(event, _E_REALIZED, realized)
    event[_E_ORDER_FILLED] = 1
    return True


@compiled
def _may_trade(settings: Ints, state: Ints, target: int) -> bool:
    """Return True unless the bar is surely quiet: nothing queued, the same target, and the
    position already in its state."""
    if state[_PENDING_LOTS] != 0 or target != state[_TARGET]:
        return True
    wanted = target if target >= 0 or settings[_ALLOW_SHORT] == 1 else 0
    held = state[_POSITION]
    return bool((held > 0) - (held < 0) != wanted)


@compiled
def _step(settings: Ints, state: Ints, row: int, bar: Ints, events: Ints, n: int) -> int:
    """Trade bar `row` (bar: open tick, close tick, day, target); return 1 if it was busy
    (events[n] written), 0 if quiet, -1 to stop before it (the state as it was)."""
    if not _may_trade(settings, state, bar[3]):
        return 0 if _mark(settings, state, bar[1], bar[2]) else -1
    saved = state.copy()
    event = events[n]
    event[:] = 0
    if state[_PENDING_LOTS] != 0 and not _fill_pending(settings, state, bar[0], event):
        state[:] = saved
        return -1
    previous, target = state[_TARGET], bar[3]
    if not _mark(settings, state, bar[1], bar[2]):
        state[:] = saved
        return -1
    state[_TARGET] = target
    lots, plain = _order_lots(settings, state, target, bar[1])
    if not plain or (lots != 0 and not _send(settings, state, row, lots, bar[1], event)):
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
        peak, peak_places = _get(state, _PEAK), state[_PEAK_PLACES]
        bar[0], bar[1], bar[2], bar[3] = opens[row], closes[row], days[row], targets[row]
        busy = _step(settings, state, row, bar, events, n_events)
        if busy == 0:
            if run_start < 0:
                run_start = row
                _put(quiet[n_quiet], 2, peak)
                quiet[n_quiet, 4] = peak_places
            row += 1
            continue
        if run_start >= 0:
            quiet[n_quiet, 0], quiet[n_quiet, 1] = run_start, row
            _put(quiet[n_quiet], 5, peak)
            quiet[n_quiet, 7] = peak_places
            n_quiet += 1
            run_start = -1
        if busy < 0:
            return STEP_THIS_BAR, row, n_events, n_quiet
        n_events += 1
        row += 1
    if run_start >= 0:
        quiet[n_quiet, 0], quiet[n_quiet, 1] = run_start, row
        _put(quiet[n_quiet], 5, _get(state, _PEAK))
        quiet[n_quiet, 7] = state[_PEAK_PLACES]
        n_quiet += 1
    return DONE, row, n_events, n_quiet
