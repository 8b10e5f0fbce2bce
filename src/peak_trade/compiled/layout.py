"""The compiled backtest loop's arrays: settings, account state and events, one int64 each.

Wide amounts (`core.wide`) take two slots, their high and low 64 bits: `get` and `put` read and
write them in compiled code, `load_wide` and `store_wide` as Python ints. Days are counted from
1970-01-01 (`EPOCH_DAY` is its ordinal). `batch_kernel` and `batch_ledger` work on these arrays;
`batch` fills the settings and state from the engine and reads the events back.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.core.wide import Wide

Ints = npt.NDArray[np.int64]
Row = list[int]  # a row of events or quiet runs, as Python ints (`tolist()`)

EPOCH_DAY: Final = date(1970, 1, 1).toordinal()
_LOW = 2**64 - 1

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
    "reducing",  # 1: the trading state is REDUCING (orders that add risk are refused)
)
(
    S_MONEY_PLACES,
    S_LOT_PLACES,
    S_PRICE_PLACES,
    S_FRACTION,
    S_FRACTION_PLACES,
    S_SLIPPAGE,
    S_SLIPPAGE_PLACES,
    S_FEE,
    S_FEE_PLACES,
    S_ALLOW_SHORT,
    S_FILL_AT_CLOSE,
    S_MIN_LOTS,
    S_MIN_COST,
    S_RISK_ON,
    S_MAX_ORDER,
    _,
    S_MAX_EXPOSURE,
    _,
    S_MAX_DAILY_LOSS,
    _,
    S_MAX_DRAWDOWN_PCT,
    S_PCT_PLACES,
    S_REDUCING,
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
    "held_target",  # the target whose order the trading state refused (HELD_NONE: none)
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
    CASH,
    _,
    BASIS,
    _,
    FEES,
    _,
    REALIZED,
    _,
    PEAK,
    _,
    MAX_DD,
    _,
    PCT_DD,
    _,
    PCT_PEAK,
    _,
    DAY_START,
    _,
    POSITION,
    DAY,
    BARS_MARKED,
    BARS_IN_MARKET,
    TRADES,
    LAST_TICK,
    PENDING_LOTS,
    PENDING_SEQUENCE,
    PENDING_ROW,
    TARGET,
    SEQUENCE,
    HELD_TARGET,
    CASH_PLACES,
    PEAK_PLACES,
    MAX_DD_PLACES,
    PCT_DD_PLACES,
    PCT_PEAK_PLACES,
    DAY_START_PLACES,
    REALIZED_PLACES,
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
    "order_denied",  # 1: the trading state (REDUCING) refused the order; it was not sent
)
(
    E_ROW,
    E_PREVIOUS,
    E_TARGET,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_FILL_SEQUENCE,
    E_FILL_ROW,
    E_FEE,
    _,
    E_REALIZED,
    _,
    E_ORDER_LOTS,
    E_ORDER_SEQUENCE,
    E_ORDER_FILLED,
    E_CASH,
    _,
    E_POSITION,
    E_EQUITY,
    _,
    E_PEAK,
    _,
    E_CASH_PLACES,
    E_EQUITY_PLACES,
    E_PEAK_PLACES,
    E_ORDER_DENIED,
) = range(len(EVENT_FIELDS))

HELD_NONE: Final = -9  # no order held back by the trading state

# What the risk rules make of an order: sent, handed back to the engine, refused by the state.
SEND: Final = 1
STEP: Final = 0
REFUSED: Final = 2

# Why `run_batch` stopped: it traded every row, or it stopped before the returned row.
DONE: Final = 0
STEP_THIS_BAR: Final = 1


@compiled
def get(values: Ints, at: int) -> Wide:
    """Return the wide amount in slots `at` and `at + 1`."""
    return np.uint64(values[at]), np.uint64(values[at + 1])


@compiled
def put(values: Ints, at: int, value: Wide) -> None:
    """Write a wide amount into slots `at` and `at + 1`."""
    values[at] = np.int64(value[0])
    values[at + 1] = np.int64(value[1])


def load_wide(values: Ints | Row, at: int) -> int:
    """Return the wide amount in slots `at` and `at + 1` as a Python int (`get`'s twin)."""
    return (int(values[at]) << 64) | (int(values[at + 1]) & _LOW)


def store_wide(values: Ints, at: int, value: int) -> None:
    """Write a Python int into slots `at` and `at + 1` (`put`'s twin)."""
    if not -(2**127) <= value < 2**127:
        raise OverflowError(f"{value} does not fit in 128 bits")
    low = value & _LOW
    values[at], values[at + 1] = value >> 64, low - (low >> 63 << 64)
