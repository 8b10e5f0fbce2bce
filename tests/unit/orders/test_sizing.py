"""Sizing compares target and actual position and produces exchange-valid quantities."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest

from peak_trade.core.types import Instrument
from peak_trade.data.instruments import offline_instrument
from peak_trade.orders.base import OrderSide
from peak_trade.orders.sizing import SizingDecision, SizingRules, plan_orders
from peak_trade.testing.builders import START

BTC = offline_instrument("BTC/EUR")


def _plan(
    target: int,
    position: str = "0",
    equity: str = "10000",
    cash: str | None = None,
    price: str = "50000",
    **rules: object,
) -> SizingDecision:
    ids = count(1)
    settings: dict[str, object] = {"instrument": BTC, "position_fraction": Decimal("0.1")} | rules
    return plan_orders(
        target=target,
        position=Decimal(position),
        equity=Decimal(equity),
        cash=Decimal(cash if cash is not None else equity),
        price=Decimal(price),
        rules=SizingRules(**settings),  # type: ignore[arg-type]
        next_client_id=lambda: f"id{next(ids)}",
        ts=START,
    )


def test_entry_is_fraction_of_equity_over_price_rounded_down_to_the_lot() -> None:
    decision = _plan(1, equity="10000", price="30000")
    (order,) = decision.orders
    # 0.1 x 10,000 / 30,000 = 0.0333333333... -> 0.03333333 (8 decimals, rounded down)
    assert order.quantity == Decimal("0.03333333")
    assert (order.side, order.reason, order.client_id) == (OrderSide.BUY, "entry_long", "id1")


def test_position_fraction_is_a_share_of_capital_not_a_quantity() -> None:
    (order,) = _plan(1, equity="10000", price="50000", position_fraction=Decimal("0.1")).orders
    assert order.quantity * Decimal(50000) == Decimal("1000.00000000")


def test_no_order_while_target_and_position_agree() -> None:
    assert _plan(1, position="0.02").orders == ()
    assert _plan(0, position="0").orders == ()
    assert _plan(1, position="0.02").reason is None


def test_exit_closes_the_whole_position() -> None:
    (order,) = _plan(0, position="0.02345678").orders
    assert (order.side, order.quantity, order.reason) == (
        OrderSide.SELL,
        Decimal("0.02345678"),
        "exit_long",
    )


def test_short_target_on_spot_means_flat() -> None:
    assert _plan(-1).orders == ()
    assert _plan(-1).target == 0
    (order,) = _plan(-1, position="0.01").orders
    assert (order.side, order.reason) == (OrderSide.SELL, "exit_long")


def test_short_target_with_shorting_allowed_flips_the_position() -> None:
    close, entry = _plan(-1, position="0.01", allow_short=True).orders
    assert (close.side, close.quantity, close.reason) == (
        OrderSide.SELL,
        Decimal("0.01"),
        "close_long",
    )
    assert (entry.side, entry.quantity, entry.reason) == (
        OrderSide.SELL,
        Decimal("0.02"),
        "entry_short",
    )


def test_entry_below_minimum_size_gives_no_order_and_a_reason() -> None:
    decision = _plan(1, equity="10", price="50000")
    assert decision.orders == ()
    assert decision.reason == (
        "order size 0.00002000 BTC is below the minimum order size 0.00005 BTC"
    )


def test_a_tiny_entry_is_named_in_plain_notation() -> None:
    # Decimal's own text for two lots is "2E-8", as the reason used to show it
    decision = _plan(1, equity="0.01", price="50000")
    assert (
        decision.reason == "order size 0.00000002 BTC is below the minimum order size 0.00005 BTC"
    )


def test_entry_below_minimum_cost_gives_no_order_and_a_reason() -> None:
    eth = Instrument("ETH/EUR", "ETH", "EUR", 2, 8, Decimal("0.001"), Decimal("5"))
    decision = _plan(1, equity="40", price="3000", instrument=eth)
    assert decision.orders == ()
    assert decision.reason == "order value 3.99999000 EUR is below the minimum order cost 5 EUR"


def test_buy_is_capped_by_cash_after_fee_and_slippage() -> None:
    decision = _plan(
        1,
        equity="10000",
        cash="10000",
        price="50000",
        position_fraction=Decimal(1),
        fee_rate=Decimal("0.001"),
        slippage_bps=Decimal(5),
    )
    (order,) = decision.orders
    worst_cost = order.quantity * Decimal(50000) * Decimal("1.0005") * Decimal("1.001")
    assert worst_cost <= Decimal(10000)
    one_lot_more = (order.quantity + BTC.lot_step) * Decimal(50000) * Decimal("1.0005")
    assert one_lot_more * Decimal("1.001") > Decimal(10000)
    # 10,000 / (50,000 x 1.0005 x 1.001) = 0.199700349... -> 0.19970034
    assert order.quantity == Decimal("0.19970034")


def test_dust_position_below_minimum_cannot_be_closed_and_says_so() -> None:
    decision = _plan(0, position="0.00001")
    assert decision.orders == ()
    assert decision.reason is not None
    assert "below the minimum order size 0.00005 and cannot be closed" in decision.reason


def test_position_worth_less_than_the_minimum_cost_cannot_be_closed_and_says_so() -> None:
    # 0.00005 BTC is the minimum size; at 8,000 EUR it is worth 0.40 EUR, under the 0.45 minimum
    decision = _plan(0, position="0.00005", price="8000")

    assert decision.orders == ()
    assert decision.code == "dust_position"
    assert decision.reason == (
        "position 0.00005 BTC is worth 0.40000 EUR, below the minimum order cost 0.45 EUR, "
        "and cannot be closed"
    )


def test_no_equity_means_no_entry() -> None:
    assert _plan(1, equity="0").reason == "equity is 0 EUR; nothing to size an entry with"


@pytest.mark.parametrize("fraction", ["0", "1.5", "-0.1"])
def test_position_fraction_outside_0_1_is_refused(fraction: str) -> None:
    with pytest.raises(
        ValueError, match=f"position_fraction must be in \\(0, 1\\], was {fraction}"
    ):
        SizingRules(BTC, Decimal(fraction))
