"""The session summary and the hints that say what its numbers suggest."""

from __future__ import annotations

from typing import Any

from peak_trade.core.money import plain
from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.metrics import LiveSessionMetrics

__all__ = ["hints", "ledger_summary"]


def ledger_summary(ledger: Ledger, symbol: str) -> dict[str, Any]:
    """Return the ledger's figures as decimal text in plain notation ("0.00000000", not
    Decimal's "0E-8"; "10000000000000000", not "1E+16")."""
    price = ledger.last_price(symbol)
    return {
        "currency": ledger.currency,
        "start_balance": plain(ledger.start_balance),
        "cash": plain(ledger.cash),
        "position": plain(ledger.position(symbol)),
        "last_price": plain(price) if price is not None else None,
        "equity": plain(ledger.equity),
        "realized_pnl": plain(ledger.realized_pnl),
        "unrealized_pnl": plain(ledger.unrealized_pnl),
        "fees": plain(ledger.fees_paid),
        "net_pnl": plain(ledger.net_pnl),
        "max_drawdown": plain(ledger.max_drawdown),
        "max_drawdown_pct": f"{ledger.max_drawdown_pct:.4f}",
        "return_pct": f"{ledger.return_pct:.4f}",
        "time_in_market": f"{ledger.time_in_market:.4f}",
        "trades": ledger.trades,
    }


def hints(
    metrics: LiveSessionMetrics,
    required_bars: int,
    warmup_candles: int,
    trading_state: tuple[str, str | None],
) -> list[str]:
    """Return plain-language hints about what the numbers suggest; `trading_state` is the state
    at the end and when trading first left ACTIVE (None if it never did)."""
    found: list[str] = []
    generated = metrics.total_orders_generated
    if generated and metrics.orders_blocked_risk > generated / 2:
        found.append(
            f"{metrics.orders_blocked_risk} of {generated} orders were blocked by risk limits "
            f"(last: {metrics.last_denial}); check [live_risk] or lower position_fraction."
        )
    if not metrics.steps:
        found.append(
            f"no bar was traded after the warmup of {warmup_candles} bars: a backtest needs more "
            "bars than its warmup, and a session must run until a new candle closes."
        )
    if metrics.steps and metrics.target_changes == 0:
        found.append(
            f"the strategy never changed its target in {metrics.steps} bar(s); it needs "
            f"{required_bars} bars of history (warmup_candles is {warmup_candles}) and may need "
            "a longer or livelier stretch of data."
        )
    if metrics.orders_skipped:
        found.append(
            f"{metrics.orders_skipped} bar(s) wanted an order that sizing could not make "
            f"(last: {metrics.last_skip}); raise start_balance or position_fraction."
        )
    if metrics.orders_rejected:
        found.append(
            f"the venue rejected {metrics.orders_rejected} order(s) (last: {metrics.last_denial})."
        )
    if metrics.orders_error:
        found.append(
            f"{metrics.orders_error} order(s) failed at the venue (last: {metrics.last_denial}); "
            "each is an order_denied event in the journal, and the order is planned again on "
            "the next bar."
        )
    if metrics.step_errors:
        found.append(f"{metrics.step_errors} step(s) failed; the journal holds each error.")
    state, left_active = trading_state
    if left_active is not None:
        found.append(
            f"trading left ACTIVE at {left_active} and ended {state.upper()}: new exposure was "
            "refused from there, so the figures after it do not show the strategy's rules "
            "(run with --no-risk-limits to see them)."
        )
    if metrics.current_position:
        found.append(
            f"a position of {plain(metrics.current_position)} was still open at the end: its "
            f"unrealized PnL ({metrics.unrealized_pnl:.2f}) is in the equity, and the round "
            "trips do not count it."
        )
    return found
