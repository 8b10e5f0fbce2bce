"""`peak-trade survey`: run every strategy over one feed and summarise its targets."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.peak_config import PeakConfig
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


def survey_strategies(
    keys: Sequence[str], chunks: Iterable[BarColumns], cfg: PeakConfig
) -> list[SurveyRow]:
    """Feed the same bars (as column chunks) to each strategy once and count its target changes
    and exposure. A strategy runs its compiled rule over each chunk, as in a backtest."""
    strategies = [create_strategy_from_config(key, cfg) for key in keys]
    previous = np.zeros(len(keys), dtype=np.int64)
    changes, entries, longs, shorts = (np.zeros(len(keys), dtype=np.int64) for _ in range(4))
    count = 0
    for columns in chunks:
        count += len(columns)
        for i, strategy in enumerate(strategies):
            found, error = strategy.update_columns(columns)
            if error is not None:
                raise error
            targets = np.asarray(found, dtype=np.int64)
            if not targets.size:
                continue
            moved = targets != np.concatenate(([previous[i]], targets[:-1]))
            changes[i] += np.count_nonzero(moved)
            entries[i] += np.count_nonzero(moved & (targets != 0))
            longs[i] += np.count_nonzero(targets > 0)
            shorts[i] += np.count_nonzero(targets < 0)
            previous[i] = targets[-1]
    share = 1.0 / count if count else 0.0
    return [
        SurveyRow(
            strategy=key,
            tier=get_strategy_spec(key).tier,
            required_bars=strategies[i].required_bars,
            bars=count,
            target_changes=int(changes[i]),
            entries=int(entries[i]),
            long_share=int(longs[i]) * share,
            short_share=int(shorts[i]) * share,
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
