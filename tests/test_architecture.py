"""Dependencies point inward, and the pure packages do no I/O, read no clock or environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "peak_trade"
LAYERS = {  # package -> packages of peak_trade it may import
    "core": {"core"},
    "strategies": {"core", "strategies"},
    "portfolio": {"core", "portfolio"},
    "live": {"core", "live", "portfolio"},
    "kraken": {"core", "kraken"},
    "orders": {"core", "orders", "kraken"},
    "data": {"core", "data", "kraken"},
    "execution": {
        "core",
        "strategies",
        "portfolio",
        "live",
        "orders",
        "data",
        "kraken",
        "execution",
    },
}
PURE = ("core", "strategies", "portfolio", "live")
IO_MODULES = (
    "os",
    "time",
    "socket",
    "subprocess",
    "requests",
    "httpx",
    "ccxt",
    "sqlite3",
    "urllib",
    "http",
    "asyncio",
    "tomllib",
    "pathlib",
    "random",
)
# Modules under an I/O root that only compute: splitting a URL reads and sends nothing.
PURE_SUBMODULES = {"urllib.parse"}
# The config loader is the one place in core that reads a file and an environment variable
# (with `files`, which asks whether a path is a file), the clock module is where time is read,
# and the kernel compiler keeps its cache on disk (numba writes it; `compiled` picks the
# folder), by design.
IO_EXEMPT = {"core/peak_config.py", "core/files.py", "core/clock.py", "core/compiled.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_package_imports_only_inner_layers(package: str) -> None:
    for path in _modules(package):
        for name in _imports(path):
            if name.startswith("peak_trade."):
                target = name.split(".")[1]
                assert target in LAYERS[package], f"{path.relative_to(PACKAGE)} imports {name}"


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_do_no_io(package: str) -> None:
    for path in _modules(package):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in IO_EXEMPT:
            continue
        for name in _imports(path):
            root = name.split(".")[0]
            assert root not in IO_MODULES or name in PURE_SUBMODULES, f"{relative} imports {name}"


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_read_no_wall_clock(package: str) -> None:
    for path in _modules(package):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in IO_EXEMPT:
            continue
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            assert call not in text, f"{relative} calls {call}"
