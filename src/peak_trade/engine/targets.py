"""The strategy's targets, checked: -1, 0 or +1 for every bar, or an error naming the bar;
and the rule that tells a quiet bar, which the engine and the compiled loop share."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.compiled import compiled
from peak_trade.core.errors import PeakTradeError, StrategyContractError, StrategyError
from peak_trade.core.types import Bar
from peak_trade.strategies.base import Strategy
from peak_trade.strategies.registry import find_strategy_spec

__all__ = ["TARGETS", "checked_target", "column_targets", "is_quiet"]

TARGETS: Final = (-1, 0, 1)


def column_targets(
    strategy: Strategy[Any], columns: BarColumns
) -> tuple[npt.NDArray[np.int64], Callable[[], object] | None]:
    """Return the targets for each row up to any row the strategy failed on, and the failure.

    The failure, called, raises the strategy's error again or returns its wrong target.
    """
    targets, error = strategy.update_columns(columns)
    failure = None if error is None else _raiser(error)
    if isinstance(targets, np.ndarray) and targets.dtype.kind == "i":  # a compiled rule's
        outside = np.flatnonzero((targets < -1) | (targets > 1))
        wrong = int(outside[0]) if outside.size else None
    else:
        wrong = next((i for i, t in enumerate(targets) if t not in TARGETS), None)
    if wrong is not None:
        value = targets[wrong]
        value = int(value) if isinstance(value, np.integer) else value
        targets, failure = targets[:wrong], lambda: value
    return np.asarray(targets, dtype=np.int64), failure


def checked_target(strategy: Strategy[Any], bar: Bar, ask: Callable[[], object]) -> int:
    """Return the target `ask` gives on `bar`; a StrategyError if it fails, a
    StrategyContractError (a file to fix) if it is not -1, 0 or 1. A user strategy's error
    names its file and line."""
    key = strategy.key
    try:
        target = ask()
    except PeakTradeError:
        raise
    except Exception as error:
        raise StrategyError(
            f"strategy {key}{_source(strategy, error)} failed on the bar of "
            f"{bar.time.isoformat()}: {type(error).__name__}: {error}"
        ) from error
    if target not in TARGETS:
        raise StrategyContractError(
            f"strategy {key}{_source(strategy)} returned target {target!r} on the bar of "
            f"{bar.time.isoformat()}; expected -1, 0 or 1 (LONG, FLAT or SHORT)"
        )
    return int(target)


def _source(strategy: Strategy[Any], error: BaseException | None = None) -> str:
    """Return " (file:line)" of a user strategy: the line of `error` in its file, else its
    `update`; "" for a built-in one."""
    spec = find_strategy_spec(strategy.key)
    source = None if spec is None else spec.source
    if source is None:
        return ""
    frames = [] if error is None else traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == source]
    if lines:
        return f" ({source}:{lines[-1]})"
    try:
        line = inspect.getsourcelines(type(strategy).update)[1]
    except (OSError, TypeError):
        return f" ({source})"
    return f" ({source}:{line})"


def _raiser(error: Exception) -> Callable[[], object]:
    def again() -> object:
        raise error

    return again


@compiled
def is_quiet(
    pending: bool, target: int, previous: int, holding: int, wanted: int, held_back: bool
) -> bool:
    """Return True when a bar leaves nothing to do: nothing queued for it, the same target as
    before, and the position in the state the target asks for (`holding == wanted`) or its
    order held back by the trading state (the one rule: the compiled loop calls it, and the
    engine calls the function it is compiled from)."""
    if pending or target != previous:
        return False
    return holding == wanted or held_back
