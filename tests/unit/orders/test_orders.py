"""Order requests validate themselves; the state table is the only way statuses change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.errors import InvariantError
from peak_trade.orders.base import (
    Order,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    allowed_transitions,
)


def _request(**changes: object) -> OrderRequest:
    fields: dict[str, object] = {
        "client_id": "c1",
        "symbol": "BTC/EUR",
        "side": OrderSide.BUY,
        "quantity": Decimal("0.01"),
    }
    return OrderRequest(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": Decimal(0)}, "quantity must be a finite amount > 0, was 0"),
        ({"quantity": Decimal("-1")}, "quantity must be a finite amount > 0, was -1"),
        ({"quantity": Decimal("NaN")}, "quantity must be a finite amount > 0, was NaN"),
        ({"order_type": OrderType.LIMIT}, "a limit order needs a limit_price > 0, was None"),
        ({"order_type": OrderType.LIMIT, "limit_price": Decimal(0)}, "needs a limit_price > 0"),
        ({"limit_price": Decimal(5)}, "a market order takes no limit_price, was 5"),
        ({"client_id": ""}, "client_id must not be empty"),
    ],
)
def test_order_request_rejects_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _request(**changes)


def test_signed_quantity_is_negative_for_sells() -> None:
    assert _request(side=OrderSide.SELL).signed_quantity == Decimal("-0.01")
    assert _request().signed_quantity == Decimal("0.01")


def test_order_walks_the_happy_paths() -> None:
    shadow = Order(_request())
    shadow.transition(OrderStatus.SUBMITTED)
    shadow.transition(OrderStatus.FILLED)
    testnet = Order(_request(client_id="c2"))
    for status in (OrderStatus.SUBMITTED, OrderStatus.VALIDATED, OrderStatus.FILLED):
        testnet.transition(status)
    assert shadow.status is OrderStatus.FILLED
    assert testnet.status is OrderStatus.FILLED
    assert [status for status, _ in testnet.history] == ["new", "submitted", "validated"]


def test_illegal_transition_raises_invariant_error() -> None:
    order = Order(_request())
    order.transition(OrderStatus.SUBMITTED)
    order.transition(OrderStatus.FILLED)
    with pytest.raises(InvariantError, match="order c1: illegal transition filled -> rejected"):
        order.transition(OrderStatus.REJECTED)
    with pytest.raises(InvariantError, match="illegal transition new -> filled"):
        Order(_request()).transition(OrderStatus.FILLED)


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=8))
def test_any_walk_either_follows_the_table_or_raises(steps: list[OrderStatus]) -> None:
    order = Order(_request())
    for status in steps:
        before = order.status
        if status in allowed_transitions(before):
            order.transition(status)
            assert order.status is status
        else:
            with pytest.raises(InvariantError):
                order.transition(status)
            assert order.status is before
    terminal = {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    assert order.is_open == (order.status not in terminal)
