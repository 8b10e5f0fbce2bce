"""Load a user's strategies from Python files and register them beside the built-in ones.

A strategy file holds one or more subclasses of `peak_trade.Strategy`, each with a `key`, a
`description`, a `required_bars` and an `update(open, high, low, close, volume)` that returns
the target position (-1, 0 or +1); optionally a `params_type`, a pydantic model read from
`[strategy.<key>]` like the built-ins'. A path is a file or a folder (its `*.py` files not
starting with "_", in name order). Whatever is wrong with a file is a ConfigError naming the
file, the line where one is known, and what was expected; nothing is registered from a file
that fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.strategy_params import StrategyParams
from peak_trade.strategies.base import Strategy
from peak_trade.strategies.registry import StrategySpec, find_strategy_spec, register_strategy

__all__ = ["EXPECTED", "load_strategy_paths", "strategy_paths", "use_strategies"]

EXPECTED: Final = (
    "a subclass of peak_trade.Strategy with key (a name such as my_strategy), description "
    "(text), required_bars (a positive int) and update(open, high, low, close, volume) "
    "returning -1, 0 or 1"
)
_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MODULES: Final = "peak_trade_user_strategies"
_LOADED: dict[Path, list[StrategySpec]] = {}  # by resolved file: each is loaded once


def strategy_paths(cli: Iterable[str | Path] | None, cfg: PeakConfig) -> list[Path]:
    """Return the strategy paths to load: `[strategies] paths` (relative to the config file's
    folder), then those given on the command line (relative to the working folder)."""
    base = cfg.path.parent if cfg.path is not None else Path()
    configured = [base / path for path in cfg.strategies.paths]
    return [*configured, *(Path(path) for path in cli or ())]


def use_strategies(cfg: PeakConfig, cli: Iterable[str | Path] | None) -> tuple[str, ...]:
    """Load the strategy files `[strategies] paths` and `--strategy-path` name; return the
    files loaded, as absolute paths (a sweep's workers load the same)."""
    files = [file.resolve() for file in _files(strategy_paths(cli, cfg))]
    _load(files)
    return tuple(map(str, files))


def load_strategy_paths(paths: Sequence[Path]) -> list[StrategySpec]:
    """Load every strategy file under `paths` and register its strategies; return their specs
    (a file loaded before in this process is not loaded again)."""
    return _load([file.resolve() for file in _files(paths)])


def _load(files: Sequence[Path]) -> list[StrategySpec]:
    specs: list[StrategySpec] = []
    for file in files:
        if file not in _LOADED:
            _LOADED[file] = _load_file(file)
        specs.extend(_LOADED[file])
    return specs


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            if not found:
                raise ConfigError(f"strategy folder {path} holds no .py file; expected {EXPECTED}")
            files.extend(found)
        elif path.is_file():
            if path.suffix != ".py":
                raise ConfigError(f"strategy file {path} is not a .py file; expected {EXPECTED}")
            files.append(path)
        else:
            raise ConfigError(
                f"strategy path {path} does not exist (from --strategy-path or [strategies] "
                "paths); expected a .py file or a folder of them"
            )
    return files


def _load_file(file: Path) -> list[StrategySpec]:
    module = _import(file)
    classes = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Strategy)
        and value.__module__ == module.__name__
        and not inspect.isabstract(value)
    ]
    if not classes:
        raise ConfigError(f"{file} defines no strategy; expected {EXPECTED}")
    for cls in classes:
        _check(cls, file)
    keys = [cls.key for cls in classes]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ConfigError(f"{file}: more than one strategy has the key {twice[0]!r}")
    return [register_strategy(cls, "user", source=str(file)) for cls in classes]


def _import(file: Path) -> ModuleType:
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    stem = re.sub(r"\W", "_", file.stem)
    name = f"{_MODULES}.{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot read strategy file {file}; expected {EXPECTED}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code: any error is a file to fix
        sys.modules.pop(name, None)
        raise ConfigError(
            f"cannot load strategy file {_where(file, error)}: {type(error).__name__}: {error}"
        ) from None
    return module


def _where(file: Path, error: BaseException) -> str:
    """Return `file:line` of the deepest frame of `error` in `file` (or its syntax error)."""
    if isinstance(error, SyntaxError) and error.lineno is not None:
        return f"{file}:{error.lineno}"
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == str(file)]
    return f"{file}:{lines[-1]}" if lines else str(file)


def _check(cls: type[Strategy[Any]], file: Path) -> None:
    """Refuse a strategy class that does not keep the contract, naming its file and line."""
    where = f"{file}:{_line(cls)} ({cls.__name__})"
    key = getattr(cls, "key", None)
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ConfigError(
            f"{where}: key must be a name of lowercase letters, digits and _ starting with a "
            f"letter, was {key!r}; expected {EXPECTED}"
        )
    if not isinstance(getattr(cls, "description", None), str):
        raise ConfigError(f"{where}: description must be text; expected {EXPECTED}")
    params_type = getattr(cls, "params_type", StrategyParams)
    if not (inspect.isclass(params_type) and issubclass(params_type, StrategyParams)):
        raise ConfigError(
            f"{where}: params_type must be a subclass of peak_trade.StrategyParams "
            "(a pydantic model)"
        )
    taken = find_strategy_spec(key)
    if taken is not None:
        raise ConfigError(
            f"{where}: the key {key!r} is taken by {taken.source or 'a built-in strategy'}; "
            "give the strategy another key"
        )
    try:
        required = cls(params_type()).required_bars
    except Exception as error:  # the user's constructor or defaults
        raise ConfigError(
            f"{_where(file, error)}: {cls.__name__} cannot be built with its default "
            f"parameters: {type(error).__name__}: {error}"
        ) from None
    if isinstance(required, bool) or not isinstance(required, int) or required <= 0:
        raise ConfigError(
            f"{where}: required_bars must be a positive int, was {required!r}; expected {EXPECTED}"
        )


def _line(cls: type) -> int:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 0
