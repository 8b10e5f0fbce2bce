"""ShadowOrderExecutor: simulated fills with the exchange's rules, fees and adverse slippage.

Market orders fill at the next bar's open (`fill_price = "next_open"`, the default) or at the
decision bar's close (`"close"`): a buy at price x (1 + slippage_bps / 10^4) rounded up to the
tick, a sell at price x (1 - slippage_bps / 10^4) rounded down. Limit orders fill only when a
later bar trades through the limit, at the limit, without slippage. With `"book"`, a market
order fills at once at the volume-weighted average price of the order-book levels it would
take (rounded against the trader), or is rejected if the book is too thin. The fee is
|notional| x fee_rate. Not enough cash or position rejects the order with the amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from peak_trade.core.modes import VenueAction
from peak_trade.core.money import (
    ZERO,
    at_exponent,
    decimal_places,
    exponent_of,
    plain,
    round_down,
    round_half_even,
    round_up,
    steps,
    to_decimal,
)
from peak_trade.core.types import Bar, Instrument
from peak_trade.core.wide import on_python_ints
from peak_trade.orders.base import (
    JournaledAnswer,
    OrderExecutionResult,
    OrderFill,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from peak_trade.orders.kernels import (
    NO_FUNDS,
    NO_POSITION,
    fee_of,
    rate_steps,
    refusal,
    slipped_ticks,
)
from peak_trade.portfolio.booking import value

__all__ = ["Balances", "FillPrice", "ShadowOrderExecutor"]

# the venue's rules on Python ints: exact, for amounts of any size
_fee_of, _refusal, _value = on_python_ints(fee_of), on_python_ints(refusal), on_python_ints(value)

FillPrice = Literal["next_open", "close", "book"]
Level = tuple[Decimal, Decimal]
OrderBook = Callable[[], tuple[list[Level], list[Level]]]


class Balances(Protocol):
    """Where the executor reads cash and positions (the ledger)."""

    @property
    def cash(self) -> Decimal:
        """Return the free cash."""
        ...

    def position(self, symbol: str) -> Decimal:
        """Return the signed position in `symbol`."""
        ...


@dataclass(slots=True)
class _Funds:
    """Cash and position as they stand while one batch of fills is worked through."""

    cash: Decimal
    position: Decimal


class ShadowOrderExecutor:
    """A simulated venue: nothing leaves the process."""

    venue_action = VenueAction.SIMULATE

    def __init__(
        self,
        instrument: Instrument,
        balances: Balances,
        fee_rate: Decimal,
        slippage_bps: Decimal,
        fill_price: FillPrice = "next_open",
        allow_short: bool = False,
        order_book: OrderBook | None = None,
    ) -> None:
        if not ZERO <= fee_rate < Decimal("0.1"):
            raise ValueError(f"fee_rate must be in [0, 0.1), was {fee_rate}")
        if not ZERO <= slippage_bps <= 1000:
            raise ValueError(f"slippage_bps must be in [0, 1000], was {slippage_bps}")
        self.instrument = instrument
        self.balances = balances
        self.fee_rate = fee_rate
        self.slippage_bps = slippage_bps
        self._slippage = rate_steps("slippage_bps", slippage_bps, 4)
        self._fee_rate = rate_steps("fee_rate", fee_rate)  # sizing takes it as one, too
        self.fill_price = fill_price
        self.allow_short = allow_short
        if fill_price == "book" and order_book is None:
            raise ValueError("fill_price 'book' needs an order book to price fills with")
        self.order_book = order_book
        self._pending: list[OrderRequest] = []

    def use_instrument(self, instrument: Instrument) -> None:
        """Apply the exchange's precision and minimums from now on."""
        self.instrument = instrument

    @property
    def pending(self) -> tuple[OrderRequest, ...]:
        """Return the orders waiting for a later bar."""
        return tuple(self._pending)

    def take_pending(self, orders: list[OrderRequest]) -> None:
        """Hold `orders` as the ones waiting for the next bar (the compiled backtest loop
        worked them out)."""
        self._pending = orders

    def submit(self, orders: list[OrderRequest], bar: Bar) -> list[OrderExecutionResult]:
        """Accept orders decided on `bar`: check the exchange's rules, then fill or queue them."""
        results: list[OrderExecutionResult] = []
        funds = self._funds()
        reference = self._market_price(bar.close)
        for order in orders:
            problem = self._rule_violation(order, reference)
            if problem is not None:
                results.append(OrderExecutionResult(order, OrderStatus.REJECTED, reason=problem))
            elif order.order_type is OrderType.MARKET and self.fill_price == "close":
                results.append(self._fill(order, reference, bar, funds, slipped=True))
            elif order.order_type is OrderType.MARKET and self.fill_price == "book":
                results.append(self._fill_from_book(order, bar, funds))
            else:
                self._pending.append(order)
                results.append(OrderExecutionResult(order, OrderStatus.SUBMITTED))
        return results

    def on_bar(self, bar: Bar) -> list[OrderExecutionResult]:
        """Work the queued orders against a new closed bar; return their fills and rejections."""
        if not self._pending:
            return []
        results: list[OrderExecutionResult] = []
        funds = self._funds()
        still_waiting: list[OrderRequest] = []
        for order in self._pending:
            if order.order_type is OrderType.MARKET:
                results.append(self._fill(order, self._market_price(bar.open), bar, funds, True))
            elif order.limit_price is not None and self._limit_reached(
                order, order.limit_price, bar
            ):
                results.append(self._fill(order, order.limit_price, bar, funds, slipped=False))
            else:
                still_waiting.append(order)
        self._pending = still_waiting
        return results

    def replaying(self, answers: Mapping[str, JournaledAnswer]) -> AbstractContextManager[None]:
        """Return a context that changes nothing: simulated fills ask no exchange."""
        del answers
        return nullcontext()

    def cancel_all(self) -> list[OrderExecutionResult]:
        """Cancel every queued order."""
        cancelled = [
            OrderExecutionResult(order, OrderStatus.CANCELLED, reason="cancelled")
            for order in self._pending
        ]
        self._pending = []
        return cancelled

    def _funds(self) -> _Funds:
        return _Funds(self.balances.cash, self.balances.position(self.instrument.symbol))

    def _market_price(self, price: float) -> Decimal:
        return round_half_even(to_decimal(price), self.instrument.price_step)

    def _rule_violation(self, order: OrderRequest, reference: Decimal) -> str | None:
        instrument = self.instrument
        if order.symbol != instrument.symbol:
            return f"unknown symbol {order.symbol}; this venue trades {instrument.symbol}"
        if order.quantity != round_down(order.quantity, instrument.lot_step):
            return (
                f"quantity {plain(order.quantity)} has more than {instrument.lot_decimals} "
                f"decimals (lot size {plain(instrument.lot_step)})"
            )
        if order.quantity < instrument.min_order_size:
            return (
                f"order minimum not met: {plain(order.quantity)} {instrument.base} < "
                f"{plain(instrument.min_order_size)} {instrument.base}"
            )
        price = order.limit_price or reference
        if order.limit_price is not None and price != round_down(price, instrument.price_step):
            return (
                f"limit price {plain(price)} is not a multiple of the tick "
                f"{plain(instrument.price_step)}"
            )
        if order.quantity * price < instrument.min_order_cost:
            return (
                f"order cost minimum not met: {plain(order.quantity * price)} "
                f"{instrument.quote} < {plain(instrument.min_order_cost)} {instrument.quote}"
            )
        return None

    @staticmethod
    def _limit_reached(order: OrderRequest, limit: Decimal, bar: Bar) -> bool:
        """Return True when the bar traded through the limit (touching is not enough)."""
        if order.side is OrderSide.BUY:
            return to_decimal(bar.low) < limit
        return to_decimal(bar.high) > limit

    def _fill(
        self,
        order: OrderRequest,
        market: Decimal,
        bar: Bar,
        funds: _Funds,
        slipped: bool,
        price: Decimal | None = None,
    ) -> OrderExecutionResult:
        if price is None:
            price = self._slipped(order.side, market) if slipped else market
        notional = order.quantity * price
        fee = self._fee(order.quantity, price)
        instrument = self.instrument
        verdict = self._refusal(order, price, fee, funds)
        if verdict == NO_FUNDS:
            return OrderExecutionResult(
                order,
                OrderStatus.REJECTED,
                reason=(
                    f"insufficient funds: needs {notional + fee:.2f} {instrument.quote} "
                    f"with fee, has {funds.cash:.2f} {instrument.quote}"
                ),
            )
        if verdict == NO_POSITION:
            return OrderExecutionResult(
                order,
                OrderStatus.REJECTED,
                reason=(
                    f"insufficient position: selling {plain(order.quantity)} {instrument.base}, "
                    f"holding {plain(max(funds.position, ZERO))} {instrument.base} (shorting is "
                    "off)"
                ),
            )
        funds.cash -= order.side.sign * notional + fee
        funds.position += order.signed_quantity
        fill = OrderFill(
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            quantity=order.quantity,
            price=price,
            fee=fee,
            fee_currency=instrument.quote,
            ts_event=bar.time,
            market_price=market,
        )
        return OrderExecutionResult(order, OrderStatus.FILLED, fill=fill)

    def _fill_from_book(self, order: OrderRequest, bar: Bar, funds: _Funds) -> OrderExecutionResult:
        """Price a market order at the volume-weighted average of the book levels it takes."""
        if self.order_book is None:  # pragma: no cover - refused in __init__
            raise ValueError("no order book")
        asks, bids = self.order_book()
        levels = asks if order.side is OrderSide.BUY else bids
        remaining, cost = order.quantity, ZERO
        for price, volume in levels:
            taken = min(volume, remaining)
            cost += taken * price
            remaining -= taken
            if remaining == 0:
                break
        if remaining > 0 or not levels:
            available = order.quantity - remaining
            return OrderExecutionResult(
                order,
                OrderStatus.REJECTED,
                reason=(
                    f"not enough liquidity in the order book: wanted {plain(order.quantity)} "
                    f"{self.instrument.base}, the book holds {plain(available)}"
                ),
            )
        step = self.instrument.price_step
        average = cost / order.quantity
        price = (
            round_up(average, step) if order.side is OrderSide.BUY else round_down(average, step)
        )
        return self._fill(order, levels[0][0], bar, funds, slipped=False, price=price)

    def _fee(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Return |quantity| x price x fee rate (the `fee_of` kernel), written as Decimal's
        product writes it."""
        rate, rate_places = self._fee_rate
        exponent = exponent_of(quantity) + exponent_of(price) + exponent_of(self.fee_rate)
        lot_places, price_places = decimal_places(quantity), decimal_places(price)
        fee = _fee_of(steps(quantity, lot_places), steps(price, price_places), rate, 0)
        return at_exponent(fee, lot_places + price_places + rate_places, exponent)

    def _refusal(self, order: OrderRequest, price: Decimal, fee: Decimal, funds: _Funds) -> int:
        """Return what the venue makes of filling `order` at `price` (the `refusal` kernel)."""
        lot_places = max(decimal_places(order.quantity), decimal_places(funds.position))
        price_places = decimal_places(price)
        places = max(lot_places + price_places, decimal_places(fee), decimal_places(funds.cash))
        lots = steps(order.signed_quantity, lot_places)
        return int(
            _refusal(
                lots,
                _value(lots, steps(price, price_places), places - lot_places - price_places),
                steps(fee, places),
                steps(funds.cash, places),
                steps(funds.position, lot_places),
                self.allow_short,
            )
        )

    def _slipped(self, side: OrderSide, market: Decimal) -> Decimal:
        """Return `market` (on the tick) moved against the trader by the slippage, rounded
        to the tick against the trader (the `slipped_ticks` kernel)."""
        places = self.instrument.price_decimals
        slippage, slippage_places = self._slippage
        ticks = slipped_ticks(
            side is OrderSide.BUY, steps(market, places), slippage, slippage_places
        )
        return Decimal(ticks).scaleb(-places)
