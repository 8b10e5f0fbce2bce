"""The compiled order rules give what the Decimal formulas of the rules give, exactly."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from peak_trade.core.wide import from_wide, on_python_ints, to_wide
from peak_trade.orders.kernels import (
    FILLS,
    NO_FUNDS,
    NO_POSITION,
    entry_lots,
    fee_of,
    rate_steps,
    refusal,
    slipped_ticks,
)

BPS = st.decimals(min_value=0, max_value=1000, places=3)
RATE = st.decimals(min_value=0, max_value=Decimal("0.0999"), places=5)
FRACTION = st.decimals(min_value=Decimal("0.001"), max_value=1, places=3)


@given(st.booleans(), st.integers(1, 10**12), BPS, st.integers(0, 8))
def test_slipped_ticks_round_against_the_trader_as_decimal_does(
    buy: bool, ticks: int, bps: Decimal, places: int
) -> None:
    step = Decimal(1).scaleb(-places)
    market = Decimal(ticks).scaleb(-places)
    if buy:
        expected = (market * (1 + bps / 10_000)).quantize(step, rounding=ROUND_CEILING)
    else:
        expected = (market * (1 - bps / 10_000)).quantize(step, rounding=ROUND_FLOOR)

    result = slipped_ticks(buy, ticks, *rate_steps("slippage_bps", bps, 4))

    assert Decimal(result).scaleb(-places) == expected


def _exact_lots(
    buy: bool,
    fraction: Decimal,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    bps: Decimal,
    fee: Decimal,
    lot_places: int,
) -> int:
    """floor(min(fraction x equity / price, cash / worst price) x 10^L), in exact fractions."""
    size = Fraction(fraction) * Fraction(equity) / Fraction(price)
    if buy:
        worst = Fraction(price) * (1 + Fraction(bps) / 10_000) * (1 + Fraction(fee))
        size = min(size, max(Fraction(cash), Fraction(0)) / worst)
    return int(size * 10**lot_places // 1)


def _lots(
    buy: bool,
    fraction: Decimal,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    bps: Decimal,
    fee: Decimal,
    lot_places: int,
    money_places: int,
    price_places: int,
) -> int:
    return int(
        entry_lots(
            buy,
            *rate_steps("position_fraction", fraction),
            to_wide(int(equity.scaleb(money_places))),
            to_wide(int(cash.scaleb(money_places))),
            money_places,
            int(price.scaleb(price_places)),
            price_places,
            lot_places,
            *rate_steps("slippage_bps", bps, 4),
            *rate_steps("fee_rate", fee),
        )
    )


SIZING = {
    "buy": st.booleans(),
    "fraction": FRACTION,
    "price_ticks": st.integers(1, 10**12),
    "price_places": st.integers(0, 8),
    "lot_places": st.integers(0, 10),
    "bps": BPS,
    "fee": RATE,
}


@given(
    equity_steps=st.integers(1, 10**28),
    cash_steps=st.integers(-(10**20), 10**28),
    money_places=st.integers(0, 18),
    **SIZING,
)
def test_entry_lots_is_the_exact_floor_or_refused_never_wrong(
    buy: bool,
    fraction: Decimal,
    equity_steps: int,
    cash_steps: int,
    money_places: int,
    price_ticks: int,
    price_places: int,
    lot_places: int,
    bps: Decimal,
    fee: Decimal,
) -> None:
    """Any amount Decimal holds (28 digits): the exact size, or OverflowError where a step of
    the division needs more than 128 bits or the size more than 64."""
    equity = Decimal(equity_steps).scaleb(-money_places)
    cash = Decimal(cash_steps).scaleb(-money_places)
    price = Decimal(price_ticks).scaleb(-price_places)
    args = (buy, fraction, equity, cash, price, bps, fee, lot_places)
    try:
        lots = _lots(*args, money_places, price_places)
    except OverflowError:
        lots = None
    if lots is not None:
        assert lots == _exact_lots(*args)


@given(
    equity=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2),
    cash=st.decimals(min_value=-(10**6), max_value=Decimal(10**9), places=2),
    traded=st.booleans(),
    **SIZING,
)
def test_entry_lots_of_any_account_up_to_a_billion_is_exact(
    buy: bool,
    fraction: Decimal,
    equity: Decimal,
    cash: Decimal,
    traded: bool,
    price_ticks: int,
    price_places: int,
    lot_places: int,
    bps: Decimal,
    fee: Decimal,
) -> None:
    """Money with the ledger's places: those of the start balance before the first trade, and
    at least those of quantity x price x fee after it; prices and lots with up to 14 decimal
    places together (Kraken's pairs have at most 13). A size beyond int64 is refused."""
    assume(price_places + lot_places <= 14)
    price = Decimal(price_ticks).scaleb(-price_places)
    places = 2
    if traded:
        places = max(places, lot_places + price_places + -int(fee.as_tuple().exponent))
    args = (buy, fraction, equity, cash, price, bps, fee, lot_places)
    expected = _exact_lots(*args)
    if expected >= 2**63:
        with pytest.raises(OverflowError, match="does not fit in 64 bits"):
            _lots(*args, places, price_places)
    else:
        assert _lots(*args, places, price_places) == expected


def test_entry_lots_of_a_buy_are_capped_by_cash_after_slippage_and_fee() -> None:
    # 10 % of 10,000 at 50,000 is 0.02 BTC; 900 EUR at 50,000 x 1.0005 x 1.001 buys 0.01797303
    lots = _lots(
        True, Decimal("0.1"), Decimal(10_000), Decimal(900), Decimal(50_000),
        Decimal(5), Decimal("0.001"), 8, 0, 0,
    )  # fmt: skip

    assert lots == 1_797_303


def test_rate_steps_refuses_more_places_than_the_kernels_take() -> None:
    with pytest.raises(ValueError, match=r"slippage_bps has too many decimal places .* at most 14"):
        rate_steps("slippage_bps", Decimal("5.000000000000001"), 4)


@given(
    st.integers(-(10**12), 10**12), st.integers(1, 10**9), st.integers(0, 10**5), st.integers(0, 6)
)
def test_a_fee_is_the_same_compiled_and_on_python_ints(
    lots: int, tick: int, fee: int, places: int
) -> None:
    expected = abs(lots) * tick * fee * 10**places
    assert from_wide(fee_of(lots, tick, fee, places)) == expected
    assert on_python_ints(fee_of)(lots, tick, fee, places) == expected


@given(
    st.integers(-(10**12), 10**12).filter(bool),
    st.integers(-(10**24), 10**24),
    st.integers(0, 10**20),
    st.integers(-(10**24), 10**24),
    st.integers(-(10**12), 10**12),
    st.booleans(),
)
def test_the_venue_refuses_alike_compiled_and_on_python_ints(
    lots: int, cost: int, fee: int, cash: int, position: int, allow_short: bool
) -> None:
    if lots > 0 and cost + fee > cash:
        expected = NO_FUNDS
    elif lots < 0 and not allow_short and -lots > position:
        expected = NO_POSITION
    else:
        expected = FILLS
    wide = (to_wide(cost), to_wide(fee), to_wide(cash))
    assert refusal(lots, wide[0], wide[1], wide[2], position, allow_short) == expected
    assert on_python_ints(refusal)(lots, cost, fee, cash, position, allow_short) == expected
