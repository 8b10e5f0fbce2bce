"""`peak-trade survey`: run every strategy over one feed and summarise its targets."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.table import Table

from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.strategies.registry import create_strategy_from_config, get_strategy_spec

__all__ = ["SurveyRow", "print_survey", "survey_strategies"]


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """What one strategy did over the surveyed bars."""

    strategy: str
    tier: str
    required_bars: int
    bars: int
    target_changes: int
    entries: int
    long_share: float
    short_share: float

    @property
    def time_in_market(self) -> float:
        """Return the share of bars with a non-flat target."""
        return self.long_share + self.short_share


def survey_strategies(keys: Sequence[str], bars: Iterable[Bar], cfg: PeakConfig) -> list[SurveyRow]:
    """Feed the same bars to each strategy once and count its target changes and exposure."""
    strategies = [create_strategy_from_config(key, cfg) for key in keys]
    previous = [0] * len(keys)
    changes = [0] * len(keys)
    entries = [0] * len(keys)
    longs = [0] * len(keys)
    shorts = [0] * len(keys)
    count = 0
    for bar in bars:
        count += 1
        for i, strategy in enumerate(strategies):
            target = strategy.on_bar(bar)
            if target != previous[i]:
                changes[i] += 1
                entries[i] += target != 0
                previous[i] = target
            longs[i] += target > 0
            shorts[i] += target < 0
    share = 1.0 / count if count else 0.0
    return [
        SurveyRow(
            strategy=key,
            tier=get_strategy_spec(key).tier,
            required_bars=strategies[i].required_bars,
            bars=count,
            target_changes=changes[i],
            entries=entries[i],
            long_share=longs[i] * share,
            short_share=shorts[i] * share,
        )
        for i, key in enumerate(keys)
    ]


def print_survey(rows: Sequence[SurveyRow], args: argparse.Namespace, as_json: bool) -> None:
    """Print the survey as a table (or one JSON object) on stdout."""
    if as_json:
        payload = [asdict(row) | {"time_in_market": row.time_in_market} for row in rows]
        print(json.dumps({"symbol": args.symbol, "timeframe": args.timeframe, "rows": payload}))
        return
    source = f"synthetic, seed {args.seed}" if args.data == "synthetic" else str(args.data_path)
    table = Table(title=f"Strategy survey: {args.symbol} {args.timeframe} ({source})")
    for name in ("strategy", "tier", "needs", "bars", "target changes", "entries"):
        table.add_column(name, justify="left" if name in ("strategy", "tier") else "right")
    for name in ("long", "short", "in market"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.strategy,
            row.tier,
            str(row.required_bars),
            f"{row.bars:,}",
            f"{row.target_changes:,}",
            f"{row.entries:,}",
            f"{row.long_share:.1%}",
            f"{row.short_share:.1%}",
            f"{row.time_in_market:.1%}",
        )
    Console(file=sys.stdout, width=120).print(table)
