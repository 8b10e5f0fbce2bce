"""The compiled loop's amounts as text: each is the text of the Decimal the view would build."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.compiled.layout import (
    E_CASH,
    E_CASH_PLACES,
    E_EQUITY,
    E_EQUITY_PLACES,
    E_FEE,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_ORDER_LOTS,
    E_PEAK,
    E_PEAK_PLACES,
    E_POSITION,
    EVENT_FIELDS,
    store_wide,
)
from peak_trade.compiled.text import TEXT_FIELDS, texts
from peak_trade.compiled.view import _adds_exactly, amount

MONEY, LOT, TICK, FEE = 16, 8, 2, 14
STEPS = st.integers(-(10**27), 10**27)
LOTS = st.integers(-(10**12), 10**12)
PLACES = st.integers(0, MONEY + 2)


def _event(
    cash: int, equity: int, peak: int, lots: int, places: tuple[int, int, int]
) -> npt.NDArray[np.int64]:
    event = np.zeros((1, len(EVENT_FIELDS)), dtype=np.int64)
    for at, value in ((E_CASH, cash), (E_EQUITY, equity), (E_PEAK, peak), (E_FEE, abs(cash))):
        store_wide(event[0], at, value)
    event[0, E_CASH_PLACES], event[0, E_EQUITY_PLACES], event[0, E_PEAK_PLACES] = places
    event[0, E_POSITION] = event[0, E_ORDER_LOTS] = event[0, E_FILL_LOTS] = lots
    event[0, E_FILL_TICK], event[0, E_MARKET_TICK] = 6_512_345, 6_510_000
    return event


@given(STEPS, STEPS, STEPS, LOTS, st.tuples(PLACES, PLACES, PLACES))
def test_texts_are_the_decimals_of_the_view(
    cash: int, equity: int, peak: int, lots: int, places: tuple[int, int, int]
) -> None:
    event = _event(cash, equity, peak, lots, places)
    quiet = np.zeros((1, 8), dtype=np.int64)
    store_wide(quiet[0], 2, peak)
    quiet[0, 4] = places[2]

    written = texts(event, quiet, MONEY, LOT, TICK, FEE)

    row = event[0].tolist()
    equity_decimal = amount(row, E_EQUITY, MONEY, places[1])
    peak_decimal = amount(row, E_PEAK, MONEY, places[2])
    lot = Decimal(abs(lots)).scaleb(-LOT)
    expected = [
        amount(row, E_CASH, MONEY, places[0]),
        equity_decimal,
        peak_decimal - equity_decimal,
        Decimal(lots).scaleb(-LOT),
        lot if lots else "",
        lot if lots else "",
        Decimal(6_512_345).scaleb(-TICK) if lots else "",
        Decimal(6_510_000).scaleb(-TICK) if lots else "",
        amount(row, E_FEE, MONEY, FEE) if lots else "",
        peak_decimal,
        "",  # after the last separator
    ]
    assert len(TEXT_FIELDS) == 9
    assert written == [str(value) for value in expected]


def test_texts_refuse_an_amount_past_28_digits() -> None:
    event = _event(10**30, 10**20, 10**20, 1, (MONEY, MONEY, MONEY))
    quiet = np.zeros((0, 8), dtype=np.int64)

    assert texts(event, quiet, MONEY, LOT, TICK, FEE) is None
    assert texts(event[:0], quiet, MONEY, LOT, TICK, FEE) == [""]


def test_adds_exactly_holds_while_every_partial_sum_keeps_28_digits() -> None:
    total = Decimal("123.45")  # 12345 x 10^-2

    assert _adds_exactly(total, 10**28 - 12345 * 10**8 - 1, 10)
    assert not _adds_exactly(total, 10**28 - 12345 * 10**8, 10)
    assert not _adds_exactly(Decimal(10**26), 10**10, 2)
