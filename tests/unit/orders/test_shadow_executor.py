"""ShadowOrderExecutor: exact fill prices, fees, queueing and the exchange's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from peak_trade.core.types import Bar
from peak_trade.data.instruments import offline_instrument
from peak_trade.orders.base import OrderRequest, OrderSide, OrderStatus, OrderType
from peak_trade.orders.shadow import FillPrice, ShadowOrderExecutor
from peak_trade.testing.builders import START, make_bar

BTC = offline_instrument("BTC/EUR")


@dataclass
class Wallet:
    """Balances the executor reads."""

    cash: Decimal = Decimal(100_000)
    holdings: dict[str, Decimal] = field(default_factory=dict)

    def position(self, symbol: str) -> Decimal:
        return self.holdings.get(symbol, Decimal(0))


def _executor(
    fill_price: FillPrice = "next_open", wallet: Wallet | None = None, allow_short: bool = False
) -> ShadowOrderExecutor:
    return ShadowOrderExecutor(
        BTC,
        wallet or Wallet(),
        Decimal("0.001"),
        Decimal(5),
        fill_price=fill_price,
        allow_short=allow_short,
    )


def _order(
    side: OrderSide = OrderSide.BUY,
    quantity: str = "0.01",
    limit: str | None = None,
    client_id: str = "o1",
) -> OrderRequest:
    return OrderRequest(
        client_id,
        "BTC/EUR",
        side,
        Decimal(quantity),
        OrderType.LIMIT if limit else OrderType.MARKET,
        Decimal(limit) if limit else None,
    )


def _bar(close: float, minute: int = 0, **prices: float) -> Bar:
    return make_bar(close, time=START + timedelta(minutes=minute), **prices)


def test_pinned_example_buy_fills_at_50025_with_fee_0_50025() -> None:
    (result,) = _executor("close").submit([_order()], _bar(50_000.0))
    assert result.status is OrderStatus.FILLED
    assert result.fill is not None
    assert result.fill.price == Decimal("50025.0")
    assert result.fill.fee == Decimal("0.50025")
    assert result.fill.market_price == Decimal("50000.0")
    assert result.fill.fee_currency == "EUR"


def test_sell_slips_down_and_rounds_down_to_the_tick() -> None:
    wallet = Wallet(holdings={"BTC/EUR": Decimal(1)})
    (result,) = _executor("close", wallet).submit([_order(OrderSide.SELL)], _bar(50_000.3))
    assert result.fill is not None
    # 50,000.3 x 0.9995 = 49,975.29985 -> 49,975.2 (rounded against the seller)
    assert result.fill.price == Decimal("49975.2")
    assert result.fill.fee == Decimal("0.499752")


def test_buy_slippage_rounds_up_to_the_tick() -> None:
    (result,) = _executor("close").submit([_order()], _bar(50_000.3))
    assert result.fill is not None
    # 50,000.3 x 1.0005 = 50,025.30015 -> 50,025.4
    assert result.fill.price == Decimal("50025.4")


def test_next_open_queues_and_fills_at_the_next_bars_open() -> None:
    executor = _executor()
    (submitted,) = executor.submit([_order()], _bar(50_000.0))
    assert submitted.status is OrderStatus.SUBMITTED
    assert executor.pending == (submitted.request,)
    (filled,) = executor.on_bar(_bar(51_000.0, minute=1, open=50_100.0))
    assert filled.fill is not None
    assert filled.fill.price == Decimal("50125.1")  # 50,100 x 1.0005 = 50,125.05 -> up
    assert filled.fill.ts_event == START + timedelta(minutes=1)
    assert len(executor.pending) == 0


def test_limit_buy_waits_until_a_bar_trades_through_and_fills_at_the_limit() -> None:
    executor = _executor("close")
    (submitted,) = executor.submit([_order(limit="49000")], _bar(50_000.0))
    assert submitted.status is OrderStatus.SUBMITTED
    assert executor.on_bar(_bar(49_500.0, minute=1, low=49_000.0)) == []  # touch, not through
    (filled,) = executor.on_bar(_bar(49_200.0, minute=2, low=48_900.0, open=49_200.0))
    assert filled.fill is not None
    assert filled.fill.price == Decimal(49000)
    assert filled.fill.fee == Decimal("0.49000")


def test_limit_sell_fills_when_high_goes_through() -> None:
    wallet = Wallet(holdings={"BTC/EUR": Decimal(1)})
    executor = _executor(wallet=wallet)
    executor.submit([_order(OrderSide.SELL, limit="51000")], _bar(50_000.0))
    (filled,) = executor.on_bar(_bar(51_000.0, minute=1, high=51_000.5))
    assert filled.fill is not None
    assert filled.fill.price == Decimal(51000)


def test_insufficient_funds_rejects_with_the_amounts() -> None:
    (result,) = _executor("close", Wallet(cash=Decimal(400))).submit([_order()], _bar(50_000.0))
    assert result.status is OrderStatus.REJECTED
    assert result.reason == "insufficient funds: needs 500.75 EUR with fee, has 400.00 EUR"


def test_selling_more_than_held_is_rejected_without_shorting() -> None:
    wallet = Wallet(holdings={"BTC/EUR": Decimal("0.005")})
    (result,) = _executor("close", wallet).submit([_order(OrderSide.SELL)], _bar(50_000.0))
    assert result.reason == (
        "insufficient position: selling 0.01 BTC, holding 0.005 BTC (shorting is off)"
    )
    short = _executor("close", wallet, allow_short=True).submit(
        [_order(OrderSide.SELL)], _bar(50_000.0)
    )
    assert short[0].status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (
            _order(quantity="0.000000001"),
            "quantity 0.000000001 has more than 8 decimals (lot size 0.00000001)",
        ),
        (_order(quantity="0.00004"), "order minimum not met: 0.00004 BTC < 0.00005 BTC"),
        (
            _order(quantity="0.00005", limit="5000"),
            "order cost minimum not met: 0.25000 EUR < 0.45 EUR",
        ),
        (_order(limit="49000.05"), "limit price 49000.05 is not a multiple of the tick 0.1"),
    ],
)
def test_exchange_rules_are_enforced_on_submit(order: OrderRequest, reason: str) -> None:
    (result,) = _executor().submit([order], _bar(50_000.0))
    assert result.status is OrderStatus.REJECTED
    assert result.reason is not None
    assert result.reason.startswith(reason)


def test_one_batch_sees_its_own_earlier_fills() -> None:
    # Selling first frees the cash that the buy after it needs.
    wallet = Wallet(cash=Decimal(100), holdings={"BTC/EUR": Decimal("0.02")})
    results = _executor("close", wallet).submit(
        [_order(OrderSide.SELL, "0.02", client_id="s"), _order(quantity="0.01", client_id="b")],
        _bar(50_000.0),
    )
    assert [r.status for r in results] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_cancel_all_empties_the_queue() -> None:
    executor = _executor()
    executor.submit([_order()], _bar(50_000.0))
    (cancelled,) = executor.cancel_all()
    assert cancelled.status is OrderStatus.CANCELLED
    assert executor.pending == ()


def test_fee_and_slippage_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match=r"fee_rate must be in \[0, 0.1\), was 0.2"):
        ShadowOrderExecutor(BTC, Wallet(), Decimal("0.2"), Decimal(5))
    with pytest.raises(ValueError, match=r"slippage_bps must be in \[0, 1000\], was -1"):
        ShadowOrderExecutor(BTC, Wallet(), Decimal("0.001"), Decimal(-1))


BOOK_ASKS = [
    (Decimal(50010), Decimal("0.05")),
    (Decimal(50020), Decimal("0.10")),
    (Decimal(50030), Decimal(1)),
]
BOOK_BIDS = [(Decimal(49990), Decimal("0.05")), (Decimal(49980), Decimal("0.10"))]


def _book_executor(wallet: Wallet | None = None) -> ShadowOrderExecutor:
    return ShadowOrderExecutor(
        BTC,
        wallet or Wallet(),
        Decimal("0.001"),
        Decimal(5),
        fill_price="book",
        order_book=lambda: (BOOK_ASKS, BOOK_BIDS),
    )


def test_book_fill_walks_the_levels_at_their_volume_weighted_average() -> None:
    (result,) = _book_executor().submit([_order(quantity="0.12")], _bar(50_000.0))
    assert result.fill is not None
    # 0.05 x 50,010 + 0.07 x 50,020 = 6,001.9 over 0.12 = 50,015.833... -> 50,015.9 (rounded up)
    assert result.fill.price == Decimal("50015.9")
    assert result.fill.market_price == Decimal(50010)
    assert result.fill.fee == Decimal("0.12") * Decimal("50015.9") * Decimal("0.001")


def test_book_sell_takes_the_bids_and_rounds_down() -> None:
    wallet = Wallet(holdings={"BTC/EUR": Decimal(1)})
    (result,) = _book_executor(wallet).submit([_order(OrderSide.SELL, "0.08")], _bar(50_000.0))
    assert result.fill is not None
    # 0.05 x 49,990 + 0.03 x 49,980 = 3,998.9 over 0.08 = 49,986.25 -> 49,986.2
    assert result.fill.price == Decimal("49986.2")


def test_a_thin_book_rejects_the_order_with_what_it_holds() -> None:
    wallet = Wallet(holdings={"BTC/EUR": Decimal(1)})
    (result,) = _book_executor(wallet).submit([_order(OrderSide.SELL, "0.5")], _bar(50_000.0))
    assert result.status is OrderStatus.REJECTED
    assert result.reason == (
        "not enough liquidity in the order book: wanted 0.5 BTC, the book holds 0.15"
    )


def test_book_model_needs_a_book() -> None:
    with pytest.raises(ValueError, match="fill_price 'book' needs an order book"):
        ShadowOrderExecutor(BTC, Wallet(), Decimal("0.001"), Decimal(5), fill_price="book")


@given(
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.decimals(min_value=Decimal("0.0001"), max_value=10, places=4),
    st.integers(10**4, 10**7),
    st.decimals(min_value=0, max_value=Decimal("0.0099"), places=4),
    st.decimals(min_value=0, max_value=10**6, places=3),
    st.decimals(min_value=0, max_value=10, places=6),
    st.booleans(),
)
def test_fees_and_refusals_are_decimal_arithmetics_to_the_digit(
    side: OrderSide,
    quantity: Decimal,
    close_tenths: int,
    fee_rate: Decimal,
    cash: Decimal,
    held: Decimal,
    allow_short: bool,
) -> None:
    # the venue decides on integers (the `fee_of` and `refusal` kernels); the fee it writes
    # is the Decimal product, exponent and all, and it refuses what Decimal comparison would
    wallet = Wallet(cash, {"BTC/EUR": held})
    executor = ShadowOrderExecutor(
        BTC, wallet, fee_rate, Decimal(0), fill_price="close", allow_short=allow_short
    )
    close = Decimal(close_tenths).scaleb(-1)
    assume(quantity >= BTC.min_order_size and quantity * close >= BTC.min_order_cost)
    (result,) = executor.submit([_order(side, str(quantity))], _bar(float(close)))
    fee = quantity * close * fee_rate
    if side is OrderSide.BUY and quantity * close + fee > cash:
        assert result.status is OrderStatus.REJECTED
        assert result.reason is not None
        assert result.reason.startswith("insufficient funds")
    elif side is OrderSide.SELL and not allow_short and quantity > held:
        assert result.status is OrderStatus.REJECTED
        assert result.reason is not None
        assert result.reason.startswith("insufficient position")
    else:
        assert result.status is OrderStatus.FILLED
        assert result.fill is not None
        assert str(result.fill.fee) == str(fee)
