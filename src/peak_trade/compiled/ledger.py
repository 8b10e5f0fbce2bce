"""The compiled backtest loop's ledger and fill steps, on its state arrays (`layout`).

Each step applies the rules the ledger and the shadow venue apply, by calling the same kernels:
marking at a close (`mark`: the day's start, then `portfolio.marking.drawdown_records`), and
filling an order (`fill`: the venue's `orders.kernels.fee_of` and `refusal`, then
`portfolio.booking.book`). Where a rule would round (a partial close) or floats cannot tell a
drawdown percent apart from the largest so far, it changes nothing and says so: the engine
then steps that bar itself.
"""

from __future__ import annotations

from peak_trade.compiled.layout import (
    BARS_IN_MARKET,
    BARS_MARKED,
    BASIS,
    CASH,
    CASH_PLACES,
    DAY,
    DAY_START,
    DAY_START_PLACES,
    E_FEE,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_REALIZED,
    E_ROW,
    FEES,
    LAST_TICK,
    MAX_DD,
    MAX_DD_PLACES,
    PCT_DD,
    PCT_DD_PLACES,
    PCT_PEAK,
    PCT_PEAK_PLACES,
    PEAK,
    PEAK_PLACES,
    POSITION,
    REALIZED,
    REALIZED_PLACES,
    S_ALLOW_SHORT,
    S_FEE,
    S_FEE_PLACES,
    S_LOT_PLACES,
    S_MONEY_PLACES,
    S_PRICE_PLACES,
    TRADES,
    Ints,
    get,
    put,
)
from peak_trade.core.compiled import compiled
from peak_trade.core.decimal_text import floor_scaled
from peak_trade.core.wide import (
    Wide,
    add,
    is_negative,
    multiply,
    negate,
    subtract,
    widen,
)
from peak_trade.orders.kernels import FILLS, fee_of, refusal
from peak_trade.portfolio.booking import ADDED, PARTIAL, book, value
from peak_trade.portfolio.marking import drawdown_records, starts_day


@compiled
def value_of(settings: Ints, lots: int, tick: int) -> Wide:
    """Return lots x tick in money steps (M >= L + T)."""
    places = settings[S_MONEY_PLACES] - settings[S_LOT_PLACES] - settings[S_PRICE_PLACES]
    return value(lots, tick, places)


@compiled
def _fee(settings: Ints, lots: int, tick: int) -> Wide:
    """Return a fill's fee in money steps by the venue's rule (M >= L + T + fee places)."""
    places = (
        settings[S_MONEY_PLACES]
        - settings[S_LOT_PLACES]
        - settings[S_PRICE_PLACES]
        - settings[S_FEE_PLACES]
    )
    return fee_of(lots, tick, settings[S_FEE], places)


@compiled
def equity_steps(settings: Ints, state: Ints) -> Wide:
    return add(get(state, CASH), value_of(settings, state[POSITION], state[LAST_TICK]))


@compiled
def equity_places(settings: Ints, state: Ints) -> int:
    """Return the places of cash + position x price (no position: cash + 0)."""
    places = int(state[CASH_PLACES])
    return (
        places
        if state[POSITION] == 0
        else max(places, int(settings[S_LOT_PLACES] + settings[S_PRICE_PLACES]))
    )


@compiled
def _update_drawdown(settings: Ints, state: Ints) -> bool:
    """Raise peak, max drawdown and max drawdown percent to include the current equity, by the
    ledger's rule (`portfolio.marking`); change nothing and return False if floats cannot tell
    the percent apart from the largest so far."""
    equity, places = equity_steps(settings, state), equity_places(settings, state)
    peak, peak_places = get(state, PEAK), state[PEAK_PLACES]
    rises, deeper, above = drawdown_records(
        peak, equity, get(state, MAX_DD), get(state, PCT_DD), get(state, PCT_PEAK)
    )
    if above < 0:
        return False
    if rises:
        peak, peak_places = equity, places
    drawdown = subtract(peak, equity)
    put(state, PEAK, peak)
    state[PEAK_PLACES] = peak_places
    if deeper:
        put(state, MAX_DD, drawdown)
        state[MAX_DD_PLACES] = max(peak_places, places)
    if above == 1:
        put(state, PCT_DD, drawdown)
        put(state, PCT_PEAK, peak)
        state[PCT_DD_PLACES] = max(peak_places, places)
        state[PCT_PEAK_PLACES] = peak_places
    return True


@compiled
def mark(settings: Ints, state: Ints, tick: int, day: int) -> bool:
    """Mark at the close `tick` of a bar on `day`, as `Ledger.mark`; False: nothing changed,
    the bar must be stepped the ordinary way."""
    if state[POSITION] == 0 and day == state[DAY]:  # the equity stays the cash: no record
        state[LAST_TICK] = tick
        state[BARS_MARKED] += 1
        return True
    day_before, start_before = state[DAY], get(state, DAY_START)
    places_before, tick_before = state[DAY_START_PLACES], state[LAST_TICK]
    if starts_day(day, day_before):
        put(state, DAY_START, equity_steps(settings, state))
        state[DAY_START_PLACES] = equity_places(settings, state)
    state[DAY] = day
    state[LAST_TICK] = tick
    if not _update_drawdown(settings, state):
        state[DAY], state[LAST_TICK] = day_before, tick_before
        put(state, DAY_START, start_before)
        state[DAY_START_PLACES] = places_before
        return False
    state[BARS_MARKED] += 1
    if state[POSITION] != 0:
        state[BARS_IN_MARKET] += 1
    return True


@compiled
def _book(settings: Ints, state: Ints, lots: int, tick: int) -> tuple[bool, Wide]:
    """Book a fill of signed `lots` at `tick` into position and basis by the ledger's rule
    (`portfolio.booking.book`); return False for a partial close (its rounding is the
    ledger's) and the realized PnL."""
    places = settings[S_MONEY_PLACES] - settings[S_LOT_PLACES] - settings[S_PRICE_PLACES]
    how, position, basis, realized = book(state[POSITION], get(state, BASIS), lots, tick, places)
    if how == PARTIAL:
        return False, realized
    if how != ADDED:
        state[REALIZED_PLACES] = max(
            state[REALIZED_PLACES], settings[S_LOT_PLACES] + settings[S_PRICE_PLACES]
        )
    state[POSITION] = position
    put(state, BASIS, basis)
    return True, realized


@compiled
def fill(settings: Ints, state: Ints, lots: int, tick: int) -> tuple[bool, Wide, Wide]:
    """Fill signed `lots` at `tick` as the shadow venue and `Ledger.apply_trade` do; return
    False where the venue would refuse it (funds, position) or the ledger round (a partial
    close), and the fee and realized PnL."""
    fee = _fee(settings, lots, tick)
    cost = value_of(settings, lots, tick)
    cash = get(state, CASH)
    allow_short = settings[S_ALLOW_SHORT] == 1
    if refusal(lots, cost, fee, cash, state[POSITION], allow_short) != FILLS:
        return False, fee, fee
    booked, realized = _book(settings, state, lots, tick)
    if not booked:
        return False, fee, fee
    put(state, CASH, subtract(cash, add(cost, fee)))
    put(state, FEES, add(get(state, FEES), fee))
    put(state, REALIZED, add(get(state, REALIZED), realized))
    places = settings[S_LOT_PLACES] + settings[S_PRICE_PLACES] + settings[S_FEE_PLACES]
    state[CASH_PLACES] = max(state[CASH_PLACES], places)
    state[TRADES] += 1
    if state[LAST_TICK] == 0:
        state[LAST_TICK] = tick
    return _update_drawdown(settings, state), fee, realized


@compiled
def fill_sums(
    events: Ints, first: int, days: Ints, fee_scale: int, totals: Ints, by_day: Ints
) -> int:
    """Sum the fills of `events[first:]` as the ledger and pipeline book them: `totals` gets
    their count, notional (lots x ticks, wide) and fees (floored to the fee places: `fee_scale`
    fewer than the money steps; wide), and each row of `by_day` a day's number, its PnL net of
    fees and the sum of those PnLs' magnitudes (both wide, at the fee places), for each day
    with fills in order. Return the number of days."""
    totals[:] = 0
    days_written = 0
    for i in range(first, len(events)):
        event = events[i]
        lots = event[E_FILL_LOTS]
        if lots == 0:
            continue
        totals[0] += 1
        put(totals, 1, add(get(totals, 1), multiply(widen(abs(lots)), event[E_FILL_TICK])))
        fee = get(event, E_FEE)
        put(totals, 3, add(get(totals, 3), floor_scaled(fee, fee_scale)))
        net = floor_scaled(subtract(get(event, E_REALIZED), fee), fee_scale)
        day = days[event[E_ROW]]
        if days_written == 0 or by_day[days_written - 1, 0] != day:
            by_day[days_written, :] = 0
            by_day[days_written, 0] = day
            days_written += 1
        row = by_day[days_written - 1]
        put(row, 1, add(get(row, 1), net))
        put(row, 3, add(get(row, 3), negate(net) if is_negative(net) else net))
    return days_written
