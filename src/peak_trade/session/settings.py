"""The settings a run trades with, besides its session config: the `[live_risk]` and strategy
sections it journals at its start (and is replayed under), and for a strategy of the user's
own, its file and the file's SHA-256 (`strategy_file`): code that changed since the run
started is said on a resume and by reconcile."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.schema import to_json
from peak_trade.strategies.registry import find_strategy_spec

STRATEGY_FILE = "strategy_file"

__all__ = [
    "STRATEGY_FILE",
    "settings_changes",
    "trading_settings",
    "with_settings",
]


def trading_settings(cfg: PeakConfig, strategy_key: str) -> dict[str, Any]:
    """Return the config sections that decide a run's trades besides its session config:
    `[live_risk]` and the strategy's parameters, as the journal holds them (JSON values)."""
    settings = {
        "live_risk": cfg.get("live_risk", {}),
        f"strategy.{strategy_key}": cfg.get(f"strategy.{strategy_key}", {}),
    }
    spec = find_strategy_spec(strategy_key)
    if spec is not None and spec.source is not None:
        settings[STRATEGY_FILE] = {"path": spec.source, "sha256": _digest(Path(spec.source))}
    loaded: dict[str, Any] = json.loads(to_json(settings))
    return loaded


def with_settings(cfg: PeakConfig, settings: Mapping[str, Any]) -> PeakConfig:
    """Return `cfg` with the sections in `settings` (as `trading_settings` gives them)."""
    data = cfg.root.model_dump(mode="json")
    for name, values in settings.items():
        if name == STRATEGY_FILE:  # said, not set: the code is what the file holds now
            continue
        section, _, key = name.partition(".")
        if key:
            data[section][key] = values
        else:
            data[section] = values
    return PeakConfig.from_mapping(data, path=cfg.path)


def settings_changes(then: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str:
    """Return the settings that differ, as "[section] key was → is" ("" if none, or if the
    run's settings were not journaled)."""
    if not then:
        return ""
    changes = []
    for section in sorted(set(then) | set(now)):
        old, new = then.get(section) or {}, now.get(section) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                changes.append(f"[{section}] {key} {old.get(key)!r} → {new.get(key)!r}")
    return ", ".join(changes)


def _digest(path: Path) -> str | None:
    """Return a strategy file's SHA-256 in hex, None if it cannot be read now."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
