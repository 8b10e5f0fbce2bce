"""Load and validate `config/config.toml` into a typed, frozen `PeakConfig`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from peak_trade.core.config_schema import (
    AlertsSection,
    ConfigRoot,
    EnvironmentSection,
    ExchangeSection,
    InstrumentRules,
    LiveRiskSection,
    ShadowSection,
    StrategiesSection,
)
from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError, did_you_mean
from peak_trade.core.files import is_file, is_folder
from peak_trade.core.home import HOME_ENV_VAR, config_in, find_home
from peak_trade.core.strategy_params import StrategySections

__all__ = [
    "CONFIG_PATH_ENV_VAR",
    "PeakConfig",
    "config_if_any",
    "describe_validation_error",
    "load_config",
]

CONFIG_PATH_ENV_VAR: Final = "PEAK_TRADE_CONFIG_PATH"
_MISSING: Final = object()


@dataclass(frozen=True)
class PeakConfig:
    """A validated config: typed sections plus dotted `get` access as in the original."""

    root: ConfigRoot
    path: Path | None = None
    _data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_data", self.root.model_dump())

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], path: Path | None = None) -> PeakConfig:
        """Validate a parsed config mapping; raise ConfigError naming the first bad key."""
        _refuse_live(data)
        try:
            root = ConfigRoot.model_validate(dict(data))
        except ValidationError as error:
            where = f" in {path}" if path is not None else ""
            raise ConfigError(describe_validation_error(error) + where) from None
        return cls(root=root, path=path)

    @classmethod
    def default(cls) -> PeakConfig:
        """Return the built-in defaults, as if the config file were empty."""
        return cls(root=ConfigRoot())

    @property
    def environment(self) -> EnvironmentSection:
        """Return `[environment]`."""
        return self.root.environment

    @property
    def live_risk(self) -> LiveRiskSection:
        """Return `[live_risk]`."""
        return self.root.live_risk

    @property
    def shadow(self) -> ShadowSection:
        """Return `[shadow]`."""
        return self.root.shadow

    @property
    def exchange(self) -> ExchangeSection:
        """Return `[exchange]`."""
        return self.root.exchange

    @property
    def strategies(self) -> StrategiesSection:
        """Return `[strategies]`."""
        return self.root.strategies

    @property
    def alerts(self) -> AlertsSection:
        """Return `[alerts]`."""
        return self.root.alerts

    @property
    def instruments(self) -> dict[str, InstrumentRules]:
        """Return the `[instruments."BASE/QUOTE"]` tables."""
        return self.root.instruments

    @property
    def strategy(self) -> StrategySections:
        """Return the `[strategy.<key>]` tables."""
        return self.root.strategy

    def get(self, dotted_key: str, default: Any = None) -> Any:
        """Return the value at "section.sub.key" (defaults filled in), or `default` if absent."""
        node: Any = self._data
        for part in dotted_key.split("."):
            if not isinstance(node, dict):
                return default
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return default
        return node if node is not None else default


def load_config(path: str | os.PathLike[str] | None = None) -> PeakConfig:
    """Load the config from `path`, else $PEAK_TRADE_CONFIG_PATH, else the home folder's
    (`core.home`: config.toml or config/config.toml)."""
    if path is not None:
        source, where = Path(path), "given path"
    elif os.environ.get(CONFIG_PATH_ENV_VAR):
        source, where = Path(os.environ[CONFIG_PATH_ENV_VAR]), f"${CONFIG_PATH_ENV_VAR}"
    else:
        home = find_home()
        found = config_in(home)
        if found is None:
            where = f"${HOME_ENV_VAR}" if os.environ.get(HOME_ENV_VAR) else "or a folder above it"
            raise ConfigError(
                f"no config.toml in {home} ({where}); make one with `peak-trade init`, or "
                f"name one with --config FILE, ${CONFIG_PATH_ENV_VAR} or ${HOME_ENV_VAR}"
            )
        source, where = found, "home folder"
    if not is_file(source):
        problem = "is a folder" if is_folder(source) else "not found"
        raise ConfigError(
            f"config file {problem}: {source.resolve()} (from the {where}); expected a TOML file "
            "such as config/config.toml"
        )
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{source}: not UTF-8 text: {error}") from None
    return PeakConfig.from_mapping(data, path=source)


def config_if_any(path: str | os.PathLike[str] | None = None) -> PeakConfig:
    """Return `load_config(path)` when there is a config to load (given, in
    $PEAK_TRADE_CONFIG_PATH or in the home folder), else the defaults: for commands that work
    without one, such as listing strategies."""
    if path is not None or os.environ.get(CONFIG_PATH_ENV_VAR) or config_in(find_home()):
        return load_config(path)
    return PeakConfig.default()


def _refuse_live(data: Mapping[str, Any]) -> None:
    environment = data.get("environment")
    if not isinstance(environment, Mapping):
        return
    if environment.get("mode") == "live":
        raise LiveModeNotAllowedError(
            "environment.mode: 'live' is not allowed; Peak Trade never sends real orders "
            "(expected 'paper' or 'testnet')"
        )
    if environment.get("enable_live_trading") is True:
        raise LiveModeNotAllowedError(
            "environment.enable_live_trading: true is not allowed; Peak Trade never sends "
            "real orders (expected false)"
        )


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Describe the first problem of a pydantic error as "key.path: expected X, found Y"."""
    details = error.errors()[0]
    if prefix:
        details["loc"] = (*prefix.split("."), *details["loc"])
    return _describe(details)


def _describe(error: ErrorDetails) -> str:
    location = [str(part) for part in error["loc"]]
    kind = error["type"]
    found = error.get("input")
    if kind == "extra_forbidden":
        known = _field_names(ConfigRoot, location[:-1])
        hint = did_you_mean(location[-1], known)
        if not hint and known:  # nothing close: say what the table holds
            hint = f"; expected one of {', '.join(known)}"
        return f"{'.'.join(location)}: unknown key{hint}"
    key = ".".join(part for part in location if not part.startswith(("function-", "json-")))
    if kind == "value_error":
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    expected = _expected(kind, error.get("ctx") or {}, error["msg"])
    return f"{key}: expected {expected}, found {found!r}"


def _expected(kind: str, ctx: Mapping[str, Any], message: str) -> str:
    bounds = {
        "greater_than": "a number > {gt}",
        "greater_than_equal": "a number >= {ge}",
        "less_than": "a number < {lt}",
        "less_than_equal": "a number <= {le}",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", "?")).replace("True", "true").replace(
            "False", "false"
        )
    names = {
        "int_type": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string",
        "model_type": "a table",
        "dict_type": "a table",
    }
    if kind in names:
        return names[kind]
    return message.removeprefix("Input should be ").rstrip(".")


def _field_names(model: type[BaseModel], location: list[str]) -> list[str]:
    """Return the field names of the model found by walking `location` from `model`."""
    current: type[BaseModel] = model
    for part in location:
        annotation = current.model_fields[part].annotation if part in current.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return list(current.model_fields)
