"""Reconcile a portfolio run with its backtest: every leg's journaled bars, traded again.

The legs are built again from the run's `run_started` (its config, legs and settings, the
kill switch left out) on a fresh account; their journaled warmups warm them up, and their
journaled bars are traded bar time by bar time, in time order, then leg order, as the run
traded them. Each leg's bar is compared with what that leg journaled, by the same rule as a
single run's (`compare_bar`); a difference names its leg.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from peak_trade.backtest.reconcile import (
    ReconcileReport,
    bars_with_events,
    compare_bar,
    replay_config,
    shadow_twin,
    without_kill_switch,
)
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.journal.bars import bar_from_payload
from peak_trade.journal.schema import leg_run_id
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.session.portfolio import (
    journaled_legs,
    leg_config,
    portfolio_engine,
    portfolio_settings,
)
from peak_trade.session.settings import settings_changes

__all__ = ["reconcile_portfolio"]

# a leg's journaled bar: its time, the leg, the bar, its payload and the events after it
_Row = tuple[datetime, int, Bar, dict[str, Any], list[JournalEvent]]


def reconcile_portfolio(
    journal: Journal, run_id: str, cfg: PeakConfig | None = None
) -> ReconcileReport:
    """Replay portfolio run `run_id` as a backtest and compare each leg bar by bar; `cfg`
    replaces the settings the run journaled (and the report names what differs)."""
    started = journal.run_started(run_id).payload
    config, legs = journaled_legs(started)
    then = started.get("settings")
    cfg = replay_config(config, then, cfg)
    engine = portfolio_engine(shadow_twin(config), without_kill_switch(cfg), legs)
    history: dict[int, list[Bar]] = {}
    for i in range(len(legs)):
        warm = next(journal.events(leg_run_id(run_id, i), "warmup"), None)
        if warm is None:
            raise ConfigError(f"run {run_id} has no warmup in the journal; nothing to reconcile")
        history[i] = [bar_from_payload(row) for row in warm.payload["bars"]]
    engine.warm_up(history)
    report = ReconcileReport(run_id)
    report.settings_changed = settings_changes(then, portfolio_settings(cfg, legs))
    sessions = [leg_config(config, leg) for leg in legs]
    for _, group in itertools.groupby(_rows(journal, run_id, len(legs)), key=lambda r: r[0]):
        rows = list(group)
        busy = {i.leg: i.outcome for i in engine.step({leg: bar for _, leg, bar, _, _ in rows})}
        found = []
        for _, leg, bar, payload, events in rows:
            trader = engine.legs[leg]
            outcome = busy.get(leg) or trader.quiet_outcome(bar)
            for difference in compare_bar(payload, events, outcome, trader, sessions[leg], 0):
                found.append(difference.of_leg(legs[leg].name))
        report.add(len(rows), found)  # the bars of every leg
    return report


def _rows(journal: Journal, run_id: str, legs: int) -> Iterator[_Row]:
    """Yield every leg's journaled bars with their events, in time order, then leg order."""
    return heapq.merge(*(_leg_rows(journal, run_id, leg) for leg in range(legs)))


def _leg_rows(journal: Journal, run_id: str, leg: int) -> Iterator[_Row]:
    for payload, events in bars_with_events(journal, leg_run_id(run_id, leg), None):
        if payload is not None:
            bar = bar_from_payload(payload)
            yield bar.time, leg, bar, payload, events
