"""The report of a portfolio run: the account's equity, and each leg's fills, trips and PnL.

`PortfolioLog` follows the run bar time by bar time (`PortfolioBacktest.on_time`) and keeps
what the files need; `write_portfolio_report` writes them:

- `summary.json`: the account's ledger and statistics, and a `legs` list: each leg's bars,
  fills, fees, round trips, denials by rule, time in market and its contribution to the PnL
  (the contributions add up to the account's net PnL exactly);
- `trades.csv`: every fill, with its leg's symbol;
- `round_trips.csv`: every round trip, with its symbol;
- `equity.csv`: the account's equity and drawdown at each bar time, and each leg's position;
- `denials.csv`: every order batch a stage refused: its time, leg and the reason (its rule);
- `equity.png`: the account's equity, each leg's contribution and the drawdown over time.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import SessionRuntimeError
from peak_trade.core.legs import Leg
from peak_trade.core.money import ZERO, plain
from peak_trade.engine.portfolio import AccountRow, LegOutcome, QuietTimes
from peak_trade.live.risk_limits import LiveRiskLimits, TradingStateChanged
from peak_trade.portfolio.ledger import Ledger
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.portfolio.trips import RoundTrip, RoundTrips
from peak_trade.report.plots import RunPicture, draw_portfolio
from peak_trade.report.trades import TRIP_COLUMNS, trip_row
from peak_trade.report.writer import staged_files

__all__ = [
    "PORTFOLIO_FILES",
    "LegTally",
    "PortfolioLog",
    "leg_rows",
    "portfolio_summary",
    "write_portfolio_report",
]

PORTFOLIO_FILES = (
    "summary.json",
    "trades.csv",
    "round_trips.csv",
    "equity.csv",
    "denials.csv",
    "equity.png",
)
_FILL_COLUMNS = ("time", "symbol", "client_id", "side", "quantity", "price", "fee", "market_price")


@dataclass
class LegTally:
    """What one leg did: its bars, fills (as cash moved), fees, trips and denials."""

    leg: Leg
    bars: int = 0
    bars_in_market: int = 0
    fills: int = 0
    fees: Decimal = ZERO
    flow: Decimal = ZERO  # cash its fills moved, fees included
    orders: int = 0
    denied: Counter[str] = field(default_factory=Counter)
    trips: RoundTrips = field(default_factory=RoundTrips)
    reasons: dict[str, str] = field(default_factory=dict)  # order reason by client id
    pnl: list[npt.NDArray[np.float64]] = field(default_factory=list)  # at each bar time


@dataclass
class AccountColumns:
    """The account at each bar time, as blocks of columns: equity.csv's and the plot's."""

    seconds: list[npt.NDArray[np.int64]] = field(default_factory=list)
    equity: list[npt.NDArray[np.float64]] = field(default_factory=list)
    drawdown: list[npt.NDArray[np.float64]] = field(default_factory=list)
    positions: list[npt.NDArray[np.float64]] = field(default_factory=list)  # bars x legs
    count: int = 0

    def add(self, seconds: Any, equity: Any, drawdown: Any, positions: Any) -> None:
        """Add a block of bar times (arrays, one row per bar time)."""
        self.seconds.append(np.asarray(seconds, dtype=np.int64))
        self.equity.append(np.asarray(equity, dtype=np.float64))
        self.drawdown.append(np.asarray(drawdown, dtype=np.float64))
        self.positions.append(np.asarray(positions, dtype=np.float64))
        self.count += len(self.seconds[-1])

    def joined(self, legs: int) -> tuple[npt.NDArray[Any], ...]:
        """Return the columns whole: seconds, equity, drawdown and positions (bars x legs)."""
        if not self.seconds:
            return np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty((0, legs))
        return tuple(
            np.concatenate(part)
            for part in (self.seconds, self.equity, self.drawdown, self.positions)
        )


class PortfolioLog:
    """Collects a portfolio run's fills, denials and account rows as they happen."""

    def __init__(self, legs: list[Leg], stats: PerformanceStats) -> None:
        self.tallies = [LegTally(leg) for leg in legs]
        self.stats = stats
        self.fill_rows: list[tuple[str, ...]] = []
        self.account = AccountColumns()
        self.denials: list[tuple[str, str, str]] = []  # time, leg, reason
        self.states: list[tuple[int, str, str]] = []  # time, the new state, why
        self.last: tuple[int, tuple[Decimal, ...]] | None = None  # time and prices at the end

    def on_time(
        self, outcomes: list[LegOutcome], row: AccountRow, working: tuple[int, ...]
    ) -> None:
        """Take the outcomes of one bar time, the account at its closes, and the legs that
        had a bar then (`working`)."""
        for item in outcomes:
            self._take(item)
        equity = float(row.equity)
        held = [float(quantity) for quantity in row.positions]
        self.account.add([row.seconds], [equity], [float(row.drawdown)], [held])
        self.stats.add_bar(equity, any(row.positions))
        for tally, quantity, price in zip(self.tallies, row.positions, row.prices, strict=True):
            tally.pnl.append(np.array([float(tally.flow + quantity * price)]))
        for i in working:
            tally = self.tallies[i]
            tally.bars += 1
            tally.bars_in_market += row.positions[i] != 0
        self.last = (row.seconds, row.prices)

    def on_quiet(self, quiet: QuietTimes) -> None:
        """Take a run of bar times on which every leg had a bar and only the marks changed."""
        n = len(quiet.seconds)
        held = [float(quantity) for quantity in quiet.positions]
        self.account.add(quiet.seconds, quiet.equity, quiet.drawdown, np.tile(held, (n, 1)))
        self.stats.add_bars(quiet.equity, any(quiet.positions))
        for tally, quantity, closes in zip(
            self.tallies, quiet.positions, quiet.closes, strict=True
        ):
            tally.pnl.append(float(tally.flow) + float(quantity) * closes)
            tally.bars += n
            tally.bars_in_market += n if quantity else 0
        self.last = (int(quiet.seconds[-1]), quiet.last_prices)

    def take_states(self, changes: Sequence[TradingStateChanged]) -> None:
        """Take the account's trading-state changes, to mark them on the plot."""
        self.states = [(int(c.ts.timestamp()), c.state.value, c.reason) for c in changes]

    def _take(self, item: LegOutcome) -> None:
        tally, outcome = self.tallies[item.leg], item.outcome
        time = outcome.bar.time.isoformat()
        for order in outcome.decision.orders:
            tally.orders += 1
            tally.reasons[order.client_id] = order.reason
        result = outcome.result
        if result is not None and result.rejected and not result.executed:
            for reason in result.reasons:
                tally.denied[reason.split(":")[1].strip() if ":" in reason else reason] += 1
                self.denials.append((time, tally.leg.name, reason))
        for fill in outcome.fills:
            tally.fills += 1
            tally.fees += fill.fee
            tally.flow -= fill.signed_quantity * fill.price + fill.fee
            at = fill.ts_event.isoformat()
            self.fill_rows.append(
                (
                    at,
                    tally.leg.symbol,
                    fill.client_id,
                    fill.side.value,
                    plain(fill.quantity),
                    plain(fill.price),
                    plain(fill.fee),
                    plain(fill.market_price),
                )
            )
            reason = tally.reasons.get(fill.client_id, "")
            done = tally.trips.add_fill(fill.signed_quantity, fill.price, fill.fee, at, reason)
            if done is not None:
                self.stats.add_round_trip(float(done.pnl))


def leg_rows(log: PortfolioLog, ledger: Ledger) -> list[dict[str, Any]]:
    """Return each leg's row of the summary: what it traded and what it contributed (its
    fills' cash and its position at the last price: together the account's net PnL)."""
    rows = []
    for tally in log.tallies:
        symbol = tally.leg.symbol
        held, price = ledger.position(symbol), ledger.last_price(symbol) or ZERO
        contribution = tally.flow + held * price
        rows.append(
            {
                **tally.leg.to_dict(),
                "name": tally.leg.name,
                "bars": tally.bars,
                "orders": tally.orders,
                "fills": tally.fills,
                "fees": plain(tally.fees),
                "round_trips": len(tally.trips.closed),
                "position": plain(held),
                "last_price": plain(price),
                "time_in_market": tally.bars_in_market / tally.bars if tally.bars else 0.0,
                "denied": dict(sorted(tally.denied.items())),
                "pnl": plain(contribution),
            }
        )
    return rows


def write_portfolio_report(target: Path, summary: dict[str, Any], log: PortfolioLog) -> Path:
    """Write the report files of a portfolio run into `target`; return it."""
    try:
        with staged_files(target, PORTFOLIO_FILES) as staging:
            _write_fills(staging / "trades.csv", log)
            _write_trips(staging / "round_trips.csv", log, summary)
            _write_equity(staging / "equity.csv", log)
            _write_denials(staging / "denials.csv", log)
            _draw(staging / "equity.png", log, summary)
            text = json.dumps(summary, indent=2, default=str) + "\n"
            (staging / "summary.json").write_text(text)
    except OSError as error:
        raise SessionRuntimeError(
            f"cannot write the report into {target}: {error.strerror or error}"
        ) from None
    return target


def _write_fills(path: Path, log: PortfolioLog) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_FILL_COLUMNS)
        writer.writerows(log.fill_rows)


def _write_trips(path: Path, log: PortfolioLog, summary: dict[str, Any]) -> None:
    at = "" if log.last is None else datetime.fromtimestamp(log.last[0], UTC).isoformat()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("symbol", *TRIP_COLUMNS))
        for tally, row in zip(log.tallies, summary["legs"], strict=True):
            trips: list[RoundTrip] = list(tally.trips.closed)
            still = tally.trips.still_open(Decimal(row["last_price"]), at)
            if still is not None:
                trips.append(still)
            writer.writerows((tally.leg.symbol, *trip_row(trip)) for trip in trips)


def _write_equity(path: Path, log: PortfolioLog) -> None:
    seconds, equity, drawdown, positions = log.account.joined(len(log.tallies))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        symbols = [f"position {tally.leg.symbol}" for tally in log.tallies]
        writer.writerow(("time", "equity", "drawdown", *symbols))
        times = seconds.astype("datetime64[s]").astype(str).tolist()
        rows = zip(times, equity.tolist(), drawdown.tolist(), positions.tolist(), strict=True)
        for time, worth, below, held in rows:
            writer.writerow((f"{time}+00:00", repr(worth), repr(below), *map(repr, held)))


def portfolio_summary(
    config: dict[str, Any], ledger: Ledger, risk: LiveRiskLimits | None, log: PortfolioLog
) -> dict[str, Any]:
    """Return the summary of a portfolio run: its config, the account's ledger, each leg's
    row, and the trading state (`stats` is added when the report is written)."""
    return {
        "kind": "backtest",
        "portfolio": True,
        "run_id": config["run_id"],
        "config": config,
        "ledger": {
            "currency": ledger.currency,
            "start_balance": plain(ledger.start_balance),
            "cash": plain(ledger.cash),
            "equity": plain(ledger.equity),
            "realized_pnl": plain(ledger.realized_pnl),
            "unrealized_pnl": plain(ledger.unrealized_pnl),
            "fees_paid": plain(ledger.fees_paid),
            "net_pnl": plain(ledger.net_pnl),
            "return_pct": float(ledger.return_pct),
            "max_drawdown": plain(ledger.max_drawdown),
            "max_drawdown_pct": float(ledger.max_drawdown_pct),
            "positions": {symbol: plain(q) for symbol, q in ledger.positions.items()},
        },
        "legs": leg_rows(log, ledger),
        "bar_times": log.account.count,
        "trading_state": None if risk is None else risk.state.value,
        "left_active_at": None if risk is None else risk.left_active(),
        "stats": log.stats.result(),
    }


def _write_denials(path: Path, log: PortfolioLog) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("time", "leg", "reason"))
        writer.writerows(log.denials)


def _draw(path: Path, log: PortfolioLog, summary: dict[str, Any]) -> None:
    seconds, equity, drawdown, _ = log.account.joined(len(log.tallies))
    picture = RunPicture(
        seconds,
        np.zeros(len(seconds)),
        equity,
        drawdown,
        float(summary["ledger"]["start_balance"]),
        states=log.states,
    )
    legs = {
        tally.leg.name: np.concatenate(tally.pnl) if tally.pnl else np.empty(0)
        for tally in log.tallies
    }
    config = summary["config"]
    title = (
        f"portfolio backtest {summary['run_id']}: {len(legs)} legs, {config['timeframe']}, "
        f"{config['data_source']}"
    )
    draw_portfolio(path, picture, legs, title)
