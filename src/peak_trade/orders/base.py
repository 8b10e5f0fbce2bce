"""Order values and the order state table, the one source of truth for an order's status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from peak_trade.core.errors import InvariantError

__all__ = [
    "JournaledAnswer",
    "Order",
    "OrderExecutionResult",
    "OrderFill",
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "order_id",
]


class OrderSide(StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for a buy and -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    """Market or limit."""

    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """Where an order stands; moves only along `_TRANSITIONS`."""

    NEW = "new"
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


_TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    # NEW -> REJECTED: denied before leaving the pipeline (environment, safety or risk).
    OrderStatus.NEW: frozenset(
        {OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SUBMITTED: frozenset(
        {OrderStatus.VALIDATED, OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    # VALIDATED: the exchange accepted a validate-only order; the fill is simulated afterwards.
    OrderStatus.VALIDATED: frozenset(
        {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order to send: side, quantity in base units, and a limit price for limit orders."""

    client_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reason: str = ""
    ts_event: datetime | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id must not be empty")
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"quantity must be a finite amount > 0, was {self.quantity}")
        if self.order_type is OrderType.LIMIT:
            if (
                self.limit_price is None
                or not self.limit_price.is_finite()
                or self.limit_price <= 0
            ):
                raise ValueError(f"a limit order needs a limit_price > 0, was {self.limit_price}")
        elif self.limit_price is not None:
            raise ValueError(f"a market order takes no limit_price, was {self.limit_price}")

    @property
    def signed_quantity(self) -> Decimal:
        """Return the quantity, negative for a sell."""
        return self.quantity if self.side is OrderSide.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class OrderFill:
    """A (simulated) execution: price after slippage, fee in the quote currency."""

    client_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts_event: datetime
    market_price: Decimal

    @property
    def notional(self) -> Decimal:
        """Return quantity x price."""
        return self.quantity * self.price

    @property
    def signed_quantity(self) -> Decimal:
        """Return the quantity, negative for a sell."""
        return self.quantity if self.side is OrderSide.BUY else -self.quantity


@dataclass(frozen=True, slots=True)
class JournaledAnswer:
    """What the exchange answered an order in a journaled run: validated or rejected, and why."""

    status: OrderStatus
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class OrderExecutionResult:
    """What a venue did with one order: its new status, the fill if any, and why."""

    request: OrderRequest
    status: OrderStatus
    fill: OrderFill | None = None
    reason: str | None = None
    detail: str | None = None

    @property
    def is_filled(self) -> bool:
        """Return True when the order filled."""
        return self.status is OrderStatus.FILLED

    @property
    def is_rejected(self) -> bool:
        """Return True when the order was rejected."""
        return self.status is OrderStatus.REJECTED


@dataclass(slots=True)
class Order:
    """An order's request and its status, changed only through legal transitions."""

    request: OrderRequest
    status: OrderStatus = OrderStatus.NEW
    history: list[tuple[OrderStatus, str | None]] = field(default_factory=list)

    def transition(self, new_status: OrderStatus, reason: str | None = None) -> None:
        """Move to `new_status`, or raise InvariantError if the table forbids it."""
        if new_status not in _TRANSITIONS[self.status]:
            raise InvariantError(
                f"order {self.request.client_id}: illegal transition "
                f"{self.status.value} -> {new_status.value}"
            )
        self.history.append((self.status, reason))
        self.status = new_status

    @property
    def is_open(self) -> bool:
        """Return True while the order can still change."""
        return bool(_TRANSITIONS[self.status])


def allowed_transitions(status: OrderStatus) -> frozenset[OrderStatus]:
    """Return the statuses an order in `status` may move to."""
    return _TRANSITIONS[status]


def order_id(prefix: str, minute: str, number: int) -> str:
    """Return the client id of order `number` of an engine whose ids start with `prefix`,
    decided in `minute` (YYYYMMDDTHHMM, UTC)."""
    return f"{prefix}-{minute}-{number:06d}"
