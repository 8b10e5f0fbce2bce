"""The layout shows the architecture: imports point one way, no circle, no giant, and the
pure packages do no I/O and read no clock or environment.

Every import of the package counts, at module level, inside functions and under
TYPE_CHECKING alike: a circle hidden in a function is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[2] / "src"
PACKAGE = SOURCE / "peak_trade"
# Packages from the bottom up: a package may import its own modules and those of packages
# in lower layers only, never one beside it or above it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    frozenset({"portfolio", "strategies", "kraken"}),
    frozenset({"live", "orders", "data", "user"}),
    frozenset({"engine"}),
    frozenset({"compiled"}),
    frozenset({"journal"}),
    frozenset({"report", "session"}),
    frozenset({"backtest", "testing", "dashboard"}),
    frozenset({"execution"}),  # the Phase 80 names, re-exported
    frozenset({"cli"}),
)
MAX_MODULE_LINES = 400
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
# folder), by design; `home` finds the folder the config is in, for the loader.
IO_EXEMPT = {
    "core/peak_config.py",
    "core/files.py",
    "core/clock.py",
    "core/compiled.py",
    "core/home.py",
}
MAX_PACKAGE_SHARE = 0.25


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """Yield the package's modules that `path` imports, wherever the import stands."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in MODULES:
                    yield full
                elif node.module in MODULES:
                    yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in MODULES)


GRAPH = {name: sorted(set(_imports(path))) for name, path in MODULES.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(package: str) -> int:
    """Return the layer of `package`; the top module (`peak_trade` itself, the public names a
    user's strategy file imports) is above all: nothing in the package imports it."""
    if package == "":
        return len(LAYERS)
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def test_every_package_has_a_layer() -> None:
    packages = {_package(module) for module in MODULES} - {""}
    assert packages == set().union(*LAYERS)


def test_imports_point_down_the_layers_only() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _package(module) != _package(target)
        and _layer(_package(target)) >= _layer(_package(module))
    ]
    assert wrong == []


def _circles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_back_through_others() -> None:
    assert _circles(GRAPH) == []


def test_a_circle_is_found_wherever_its_import_stands() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert _circles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_stays_under_400_lines(module: str) -> None:
    assert len(MODULES[module].read_text().splitlines()) <= MAX_MODULE_LINES


def test_no_package_holds_more_than_a_quarter_of_the_source() -> None:
    lines: dict[str, int] = {}
    for module, path in MODULES.items():
        package = _package(module)
        lines[package] = lines.get(package, 0) + len(path.read_text().splitlines())
    total = sum(lines.values())
    shares = {package: count / total for package, count in lines.items()}
    assert max(shares.values()) <= MAX_PACKAGE_SHARE, shares


def test_an_import_inside_a_function_is_read_too(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from peak_trade.engine.outcomes import QuietRun\n"
        "def later() -> None:\n    from peak_trade.session.runner import LiveSessionRunner\n"
    )
    assert sorted(_imports(module)) == ["peak_trade.engine.outcomes", "peak_trade.session.runner"]


def _all_imports(path: Path) -> set[str]:
    """Return every module `path` imports, of the package or not."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_do_no_io(package: str) -> None:
    for path in sorted((PACKAGE / package).rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in IO_EXEMPT:
            continue
        for name in _all_imports(path):
            root = name.split(".")[0]
            assert root not in IO_MODULES or name in PURE_SUBMODULES, f"{relative} imports {name}"


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_read_no_wall_clock(package: str) -> None:
    for path in sorted((PACKAGE / package).rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in IO_EXEMPT:
            continue
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            assert call not in text, f"{relative} calls {call}"
