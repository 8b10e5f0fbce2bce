"""The settings a run trades with, besides its session config: the `[live_risk]` and strategy
sections it journals at its start (and is replayed under)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.schema import to_json

__all__ = [
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
    loaded: dict[str, Any] = json.loads(to_json(settings))
    return loaded


def with_settings(cfg: PeakConfig, settings: Mapping[str, Any]) -> PeakConfig:
    """Return `cfg` with the sections in `settings` (as `trading_settings` gives them)."""
    data = cfg.root.model_dump(mode="json")
    for name, values in settings.items():
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
