"""Reconcile a finished session with its backtest: the same bars through the same engine.

The journaled warmup and bars of a shadow or testnet run are replayed through a fresh shadow
engine, and every bar's target, orders, denials, fills and ledger are compared with what the
session recorded. A shadow session reconciles with no difference; where a run diverges, the
first divergent bar is reported with its likely cause: a risk denial the backtest did not
make, a venue rejection, a fill priced differently (the order book), or a feed gap before it.
A run resumed under an edited `[live_risk]` checked its orders against the edited limits from
its resume on (a `risk_limits` event); the backtest takes them at the same bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.core.errors import ConfigError
from peak_trade.core.money import plain
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.core.types import Timeframe
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome
from peak_trade.journal.bars import (
    BAR_KINDS,
    bar_from_payload,
    bar_rows,
    referenced_bars,
)
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.settings import settings_changes, trading_settings, with_settings
from peak_trade.session.wiring import (
    build_engine,
    engine_settings,
    instrument_of,
    journaled_limits,
)
from peak_trade.strategies.registry import create_strategy_from_config

__all__ = [
    "Difference",
    "ReconcileReport",
    "bars_with_events",
    "compare_bar",
    "reconcile",
    "replay_config",
    "shadow_twin",
    "without_kill_switch",
]

_MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing that differs on one bar, and the likely reason."""

    bar_time: str
    item: str
    session: str
    backtest: str
    why: str

    def of_leg(self, leg: str) -> Difference:
        """Return the difference with the portfolio leg it is on named in its item."""
        return replace(self, item=f"{leg} {self.item}")


@dataclass
class ReconcileReport:
    """The outcome of a reconciliation."""

    run_id: str
    bars: int = 0
    bars_with_differences: int = 0
    differences: list[Difference] = field(default_factory=list)
    # the `[live_risk]` and strategy settings that differ from the run's ("" if none)
    settings_changed: str = ""
    # (time of the last bar before it, changes) for each `[live_risk]` a resume took on
    limits_changed: list[tuple[str, str]] = field(default_factory=list)

    def add(self, bars: int, found: list[Difference]) -> None:
        """Count `bars` bars replayed, listing the first differences found on them (one bar,
        or one bar time of a portfolio's legs)."""
        self.bars += bars
        if found:
            self.bars_with_differences += 1
            room = _MAX_LISTED - len(self.differences)
            self.differences.extend(found[: max(room, 0)])

    @property
    def first(self) -> Difference | None:
        """Return the first difference, if any."""
        return self.differences[0] if self.differences else None

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain values."""
        return {
            "run_id": self.run_id,
            "bars": self.bars,
            "bars_with_differences": self.bars_with_differences,
            "first": None if self.first is None else vars_of(self.first),
            "differences": [vars_of(d) for d in self.differences],
            "settings_changed": self.settings_changed,
            "limits_changed": [
                {"after_bar": after, "changes": changes} for after, changes in self.limits_changed
            ],
        }


def vars_of(difference: Difference) -> dict[str, str]:
    """Return a difference as a dict."""
    return {
        "bar_time": difference.bar_time,
        "item": difference.item,
        "session": difference.session,
        "backtest": difference.backtest,
        "why": difference.why,
    }


def reconcile(
    journal: Journal,
    run_id: str,
    cfg: PeakConfig | None = None,
    *,
    data_path: Path | None = None,
) -> ReconcileReport:
    """Replay run `run_id` from `journal` as a backtest and compare it bar by bar.

    Without `cfg`, the backtest uses the run's config file with the `[live_risk]` and strategy
    settings the run journaled, and takes on any `[live_risk]` a resume of the run took on, at
    the same bar; `cfg` replaces them all (and the report names what differs). `data_path`
    says where the data file of a backtest that journaled its bars by reference is now.
    """
    started = journal.run_started(run_id)
    if data_path is not None and not journal.count(run_id, "data_reference"):
        raise ConfigError(
            f"--data-path is for a backtest that journaled its bars by reference to a file; "
            f"run {run_id} journaled every bar"
        )
    fields = {
        k: v
        for k, v in started.payload["config"].items()
        if k in LiveSessionConfig.__dataclass_fields__
    }
    session = LiveSessionConfig(**fields)
    then = started.payload.get("settings")
    own = cfg is None
    cfg = replay_config(session, then, cfg)
    engine = _backtest_engine(session, cfg)
    warm = next(journal.events(run_id, "warmup"), None)
    if warm is None:
        raise ConfigError(f"run {run_id} has no warmup in the journal; nothing to reconcile")
    engine.warm_up([bar_from_payload(row) for row in warm.payload["bars"]])
    report = ReconcileReport(run_id)
    report.settings_changed = settings_changes(then, trading_settings(cfg, session.strategy_key))
    step = Timeframe(session.timeframe).delta
    previous: datetime | None = None
    for row, events in bars_with_events(journal, run_id, data_path):
        if row is None:  # what was journaled before the first bar
            _adopt_limits(engine, events, report, "", own)
            continue
        bar = bar_from_payload(row)
        gap = int((bar.time - previous) / step) - 1 if previous is not None else 0
        previous = bar.time
        outcome = engine.on_bar(bar)
        report.add(1, compare_bar(row, events, outcome, engine, session, gap))
        _adopt_limits(engine, events, report, row["t"], own)
    return report


def _adopt_limits(
    engine: TradingEngine,
    events: list[JournalEvent],
    report: ReconcileReport,
    after: str,
    own: bool,
) -> None:
    """Check orders against the limits of each `risk_limits` event, as the run did."""
    risk = engine.pipeline.risk_limits
    for event in events:
        if event.kind != "risk_limits":
            continue
        report.limits_changed.append((after, event.payload["changes"]))
        if own and risk is not None:  # the kill switch stays out, as at the start
            risk.adopt(*journaled_limits(event.payload["live_risk"], kill_switch=False))


def _backtest_engine(session: LiveSessionConfig, cfg: PeakConfig) -> TradingEngine:
    """A shadow engine with the session's settings and instrument rules (a candle file's own,
    when it carries them); book fills become next-open fills. The bars come from the journal,
    so the data source, its file and its time range play no part."""
    settings = engine_settings(
        replace(shadow_twin(session), data_source="synthetic", timerange=None), cfg
    )
    settings = replace(settings, instrument=instrument_of(session, cfg))
    strategy = create_strategy_from_config(session.strategy_key, cfg)
    return build_engine(strategy, settings, without_kill_switch(cfg))


def replay_config(
    session: LiveSessionConfig, then: dict[str, Any] | None, cfg: PeakConfig | None
) -> PeakConfig:
    """Return the config a run's backtest trades by: `cfg` if given, else the run's config
    file with the settings the run journaled (`then`)."""
    if cfg is None:
        cfg = load_config(session.config_path)
        cfg = with_settings(cfg, then) if then else cfg
    return cfg


def without_kill_switch(cfg: PeakConfig) -> PeakConfig:
    """Return `cfg` without its kill switch: its file is the run's present, not its past."""
    section = cfg.live_risk.model_copy(update={"kill_switch_file": None})
    return PeakConfig(root=cfg.root.model_copy(update={"live_risk": section}), path=cfg.path)


def shadow_twin(session: LiveSessionConfig) -> LiveSessionConfig:
    """Return a run's config in shadow mode, book fills as next-open fills: its backtest
    needs no exchange."""
    fill_price = "close" if session.fill_price == "close" else "next_open"
    return replace(session, mode="shadow", fill_price=fill_price)


def bars_with_events(
    journal: Journal, run_id: str, data_path: Path | None
) -> Iterator[tuple[dict[str, Any] | None, list[JournalEvent]]]:
    """Yield each traded bar's payload with the order and limit events journaled after it;
    first (None, events) for those journaled before the first bar."""
    current: tuple[dict[str, Any] | None, list[JournalEvent]] = (None, [])
    kinds = (*BAR_KINDS, "order", "order_denied", "fill", "order_rejected", "risk_limits")
    source = referenced_bars(journal.events(run_id, "data_reference"), data_path)
    for event in journal.events(run_id, *kinds):
        if event.kind not in BAR_KINDS:
            current[1].append(event)
            continue
        for row in bar_rows((event,), source):
            if current[0] is not None or current[1]:
                yield current
            current = (row, [])
    if current[0] is not None or current[1]:
        yield current


def compare_bar(
    row: dict[str, Any],
    events: list[JournalEvent],
    outcome: BarOutcome,
    engine: TradingEngine,
    session: LiveSessionConfig,
    gap: int,
) -> list[Difference]:
    when = row["t"]
    after_gap = f" (after a feed gap of {gap} bar(s))" if gap > 0 else ""
    found: list[Difference] = []

    def differ(item: str, ours: object, theirs: object, why: str) -> None:
        found.append(Difference(when, item, str(ours), str(theirs), why + after_gap))

    if row["target"] != outcome.target:
        differ(
            "target",
            row["target"],
            outcome.target,
            "the strategy saw different data or state",
        )
    denied = [e for e in events if e.kind == "order_denied"]
    replay_denied = (
        outcome.result is not None and outcome.result.rejected and not outcome.result.executed
    )
    if denied and not replay_denied:
        differ(
            "denial",
            "; ".join(denied[0].payload["reasons"]),
            "none",
            "the session's safety layers denied it and the backtest's did not (kill switch, "
            "staleness or a state only the session had)",
        )
    elif replay_denied and not denied and outcome.result is not None:
        differ(
            "denial",
            "none",
            "; ".join(outcome.result.reasons),
            "the backtest's risk limits denied it and the session's did not",
        )
    for event in events:
        if event.kind == "order_rejected":
            differ(
                "rejection",
                f"{event.payload['client_id']}: {event.payload['reason']}",
                "filled",
                "the venue rejected it in the session",
            )
    ours = [
        (e.payload["client_id"], e.payload["price"], e.payload["fee"])
        for e in events
        if e.kind == "fill"
    ]
    theirs = [(f.client_id, str(f.price), str(f.fee)) for f in outcome.fills]
    if ours != theirs:
        book = session.fill_price == "book"
        differ(
            "fills",
            [(client, _shown(price), _shown(fee)) for client, price, fee in ours],
            [(client, _shown(price), _shown(fee)) for client, price, fee in theirs],
            "a different fill price: the session priced from the order book"
            if book
            else "different fills",
        )
    ours_ledger = (row["cash"], row["position"])
    theirs_ledger = (str(outcome.account.cash), str(outcome.account.position))
    if ours_ledger != theirs_ledger and not found:
        shown = (tuple(map(_shown, ours_ledger)), tuple(map(_shown, theirs_ledger)))
        differ("cash, position", *shown, "the ledgers disagree")
    return found


def _shown(amount: str) -> str:
    """Return an amount's journal text (Decimal's, such as "0E-8") in plain notation."""
    return plain(Decimal(amount))
