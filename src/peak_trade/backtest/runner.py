"""BacktestRunner: a shadow session over finite data that does not wait.

The same engine, pipeline, risk limits, ledger and journal as a session, built by the same
wiring (`LiveSessionRunner.from_config`, `resume`); what differs is how the run is driven, set
here once instead of by flags on the session's runner:
- the feed hands over `bars_per_transaction` bars per poll (4,096 by default) and the journal
  writes one transaction per poll: a crashed backtest is simply run again;
- quiet bars of a file or the synthetic market are journaled by reference to that data;
- the run methods collect no order results (the journal and the summary hold them);
- the first failed step ends the run: its data and venue are its own, and a failed step
  would drop that poll's bars from the result.
"""

from __future__ import annotations

from typing import ClassVar

from peak_trade.core.errors import ConfigError
from peak_trade.data.ports import IteratorFeed
from peak_trade.session.runner import LiveSessionRunner

__all__ = ["BacktestRunner"]


class BacktestRunner(LiveSessionRunner):
    """Runs one strategy over finite bars as fast as they come, journaled in bulk."""

    is_backtest: ClassVar[bool] = True

    def replayed(self) -> None:
        """Go on as the backtest it was, referring to its data (whose SHA-256 the replay
        checked): `resume` calls this once the journal is replayed."""
        self.configure_backtest()

    def configure_backtest(
        self, bars_per_transaction: int = 4_096, *, refer_to_data: bool = True
    ) -> None:
        """Take `bars_per_transaction` bars per poll and journal transaction, and with
        `refer_to_data` journal quiet bars by reference to the data instead of copying them.

        Call it before `warmup()` (a resumed backtest calls it itself); run the
        backtest with `run_forever()` (until the data ends) or `run_for_duration()`.
        """
        if bars_per_transaction < 1:
            raise ConfigError(f"bars_per_transaction must be >= 1, was {bars_per_transaction}")
        feed, recorder = self._feed, self._recorder
        if not isinstance(feed, IteratorFeed):
            self.commit_every = bars_per_transaction
            return
        feed.bars_per_poll = bars_per_transaction
        self.commit_every = 1
        reference = feed.reference
        journaled = self._warm and bool(recorder.events("data_reference"))
        if refer_to_data and reference is not None and (journaled or not self._warm):
            decimals = self._engine.price_decimals
            recorder.refer_to(reference, decimals, self._clock.now(), again=journaled)
