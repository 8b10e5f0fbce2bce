"""PortfolioEngine: several legs, each a strategy on its own symbol, trading from one account.

Each leg is a `TradingEngine` (its strategy, sizing rules with its weight, venue and pipeline);
all share one ledger and one `LiveRiskLimits`, so the limits and the trading state are the
account's. At each bar time the legs with a bar closing then are worked in this fixed order,
which no dict order or timing can change:

1. open: the orders queued on earlier bars fill at the bar's open, first those of legs whose
   queue only closes positions, then the others, each group in leg order;
2. marks: every such leg's close marks the ledger at once (one mark of the account);
3. targets: each leg's strategy gives its target, in leg order;
4. exits: the legs whose target asks them flat plan and send their exits, in leg order;
5. entries: then the legs that enter or reverse, in leg order, each sized as its weight of
   `position_fraction x equity`, capped by the cash that the orders queued so far leave
   (valued a tick beyond their slippage, with their fee), and checked by the risk layer
   against the account as those orders will leave it.

A leg without a bar at that time waits: its strategy sees no made-up bar. Every trading rule
is the legs' own (sizing, the pipeline's stages, the risk rules, the ledger's booking); this
module only orders them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import InvariantError
from peak_trade.core.money import ZERO
from peak_trade.core.types import Bar
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome
from peak_trade.orders.sizing import position_state, wanted_state
from peak_trade.portfolio.account import AccountSnapshot
from peak_trade.portfolio.ledger import Ledger

__all__ = ["AccountRow", "LegOutcome", "PortfolioEngine", "QuietTimes"]

_BPS = Decimal(10_000)
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class AccountRow:
    """The account at one bar time's closes: equity, drawdown, each leg's position and last
    price."""

    seconds: int
    equity: Decimal
    drawdown: Decimal
    positions: tuple[Decimal, ...]
    prices: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class QuietTimes:
    """A run of bar times on which every leg had a bar and only the marks changed: their
    times, the account's equity and drawdown at each (floats), the legs' positions (fixed
    through the run), each leg's closes (floats) and last prices."""

    seconds: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    drawdown: npt.NDArray[np.float64]
    positions: tuple[Decimal, ...]
    closes: tuple[npt.NDArray[np.float64], ...]
    last_prices: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class LegOutcome:
    """What happened on one leg's bar (`leg`: its place in the portfolio)."""

    leg: int
    outcome: BarOutcome


class PortfolioEngine:
    """Works the legs of one account bar time by bar time, in the documented order."""

    def __init__(self, legs: Sequence[TradingEngine]) -> None:
        if not legs:
            raise InvariantError("a portfolio needs at least one leg")
        ledger, risk = legs[0].ledger, legs[0].pipeline.risk_limits
        for leg in legs:
            if leg.ledger is not ledger or leg.pipeline.risk_limits is not risk:
                raise InvariantError("the legs of a portfolio must share a ledger and limits")
        symbols = [leg.symbol for leg in legs]
        if len(set(symbols)) != len(symbols):
            raise InvariantError(f"each symbol may have one leg, was given {symbols}")
        self.legs = tuple(legs)
        self.ledger: Ledger = ledger

    def warm_up(self, bars: Mapping[int, list[Bar]]) -> None:
        """Show each leg its history without trading; mark the account at the last closes."""
        closes = {}
        for i, history in sorted(bars.items()):
            leg = self.legs[i]
            for bar in history:
                leg.turn(partial(leg.ask_strategy, bar))
            if history:
                closes[leg.symbol] = leg.price_of(history[-1].close)
        last = [history[-1].time for history in bars.values() if history]
        if closes:
            self.ledger.mark_all(closes, max(last))

    def step(
        self, bars: Mapping[int, Bar], targets: Mapping[int, int] | None = None
    ) -> list[LegOutcome]:
        """Work the bars of one time (by leg); return each leg's outcome that was not quiet,
        in the order their fills happened. `targets`: each leg's target for its bar, worked
        out already from a batch of bars (`column_targets`), instead of asking the strategy."""
        times = {bar.time for bar in bars.values()}
        if len(times) != 1:
            raise InvariantError(f"a portfolio step takes the bars of one time, was {times}")
        working = sorted(bars)
        legs = self.legs
        opening = sorted(working, key=self._open_order)
        opened = {i: legs[i].open_bar(bars[i]) for i in opening}
        closes = {i: legs[i].price_of(bars[i].close) for i in working}
        self.ledger.mark_all({legs[i].symbol: closes[i] for i in working}, times.pop())
        asks = {
            i: partial(int, targets[i])
            if targets is not None
            else partial(legs[i].ask_strategy, bars[i])
            for i in working
        }
        previous = {i: legs[i].turn(asks[i]) for i in working}
        busy = [i for i in working if not self._quiet(i, previous[i], bool(opened[i][0]))]
        outcomes: dict[int, BarOutcome] = {}
        for entering in (False, True):  # exits (and legs with nothing to send) first
            for i in busy:
                if self._enters(i) is entering:
                    account = self._account()
                    outcomes[i] = legs[i].trade(bars[i], closes[i], previous[i], opened[i], account)
        # in the order the fills happened: those at the open, then those sent on this bar
        order = [i for i in opening if opened[i][1]] + list(outcomes)
        return [LegOutcome(i, outcomes[i]) for i in dict.fromkeys(order) if i in outcomes]

    def _quiet(self, i: int, previous: int, queued: bool) -> bool:
        leg = self.legs[i]
        return leg.is_quiet(leg.target, previous, queued=queued)

    def _open_order(self, i: int) -> tuple[bool, int]:
        """Legs whose queue only closes positions open first, then the others; in leg order."""
        leg = self.legs[i]
        held = self.ledger.position(leg.symbol)
        closes_only = all(order.signed_quantity * held < 0 for order in leg.pipeline.venue.pending)
        return (not closes_only, i)

    def _enters(self, i: int) -> bool:
        """Return True when leg `i`'s target asks for a position it does not hold yet."""
        leg = self.legs[i]
        wanted = wanted_state(leg.target, leg.rules)
        return wanted != 0 and wanted != position_state(self.ledger.position(leg.symbol))

    def _account(self) -> AccountSnapshot:
        """Return the account as the orders queued on this bar will leave it: their positions,
        and the cash net of what they will cost (slippage and fee at their worst)."""
        snapshot = self.ledger.snapshot()
        positions = dict(snapshot.positions)
        cash = snapshot.cash
        queued = False
        for leg in self.legs:
            rules = leg.rules
            for order in leg.pipeline.venue.pending:
                queued = True
                price = snapshot.prices.get(order.symbol, ZERO)
                # the venue rounds a slipped price to the tick against the trader: a tick
                # more than the slippage is never less than it will take
                moved = price * rules.slippage_bps / _BPS + rules.instrument.price_step
                if order.signed_quantity > 0:
                    cash -= order.quantity * (price + moved) * (_ONE + rules.fee_rate)
                else:
                    cash += order.quantity * (price - moved) * (_ONE - rules.fee_rate)
                held = positions.get(order.symbol, ZERO) + order.signed_quantity
                positions[order.symbol] = held
        if not queued:
            return snapshot
        held_now = {symbol: quantity for symbol, quantity in positions.items() if quantity}
        return replace(snapshot, cash=cash, positions=held_now)
