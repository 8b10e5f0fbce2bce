"""Suite-wide options: tests marked `network` reach the internet and run only when asked.

Hypothesis runs without its per-example deadline: tests assert behaviour, never time, and the
first example to touch a compiled kernel also pays for loading numba (about half a second).
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("peak_trade", deadline=None)
settings.load_profile("peak_trade")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-network",
        action="store_true",
        default=False,
        help="also run tests marked `network`, which reach real exchanges",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-network"):
        return
    skip = pytest.mark.skip(reason="reaches a real exchange; run with --run-network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)
