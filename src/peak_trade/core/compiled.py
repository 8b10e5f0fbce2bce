"""`compiled`: numba kernels that cost nothing until they are first called.

Hot loops over float and integer arrays (marking a run of bars, generating synthetic bars, the
strategies' indicators) are compiled with numba. Importing numba and loading a kernel takes
about half a second and 100 MiB, so the compiler is loaded on a kernel's first call, not when
its module is imported: commands that never run a kernel (`--help`, `--list-strategies`) do
without it. Compiled code is cached on disk next to the module.

A kernel may call the kernels its module names (its own, or imported from another module): on
its first call, each of them is handed to numba as well. numba's disk cache would notice a
change to the file a kernel is in, but not to the files of the kernels it calls; so the cache
lives in a folder named by a digest of every module that defines kernels
(`__pycache__/numba-<digest>` in the package), and a change to any of them compiles them all
again, once. Folders of older digests are removed. Where the package cannot be written, numba
keeps its own cache location; a `$NUMBA_CACHE_DIR` of the user's is left as it is.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

__all__ = ["cache_folder", "compiled", "python_of"]

_F = TypeVar("_F", bound=Callable[..., Any])


class _Kernel:
    """A function that numba compiles on first use."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.dispatcher: Callable[..., Any] | None = None
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any) -> Any:
        return (self.dispatcher or self.load())(*args)

    def load(self) -> Callable[..., Any]:
        """Return the numba dispatcher; the module's other kernels become dispatchers too."""
        if self.dispatcher is None:
            import numba

            _use_cache_folder(numba)
            self.dispatcher = numba.njit(cache=True, nogil=True)(self.function)
            namespace = self.function.__globals__
            for name, value in list(namespace.items()):
                if isinstance(value, _Kernel):  # numba resolves a called kernel by this name
                    namespace[name] = value.load()
        return self.dispatcher


def compiled(function: _F) -> _F:
    """Return `function` compiled with numba (no Python objects inside) on its first call."""
    return cast(_F, _Kernel(function))


def python_of(kernel: _F) -> _F:
    """Return the Python function a kernel is compiled from, to apply the same rule where no
    compiled code runs (to Decimal amounts, one order at a time): a rule written once serves
    the compiled loop, in integers, and the engine's path, in Decimal."""
    if isinstance(kernel, _Kernel):
        return cast(_F, kernel.function)
    # once loaded, a module's kernels are numba's dispatchers, which keep the function too
    return cast(_F, getattr(kernel, "py_func", kernel))


_LOG = logging.getLogger(__name__)
_COMPILING = "compiling the trading kernels once (10 to 20 s); later runs load them from %s"
_PACKAGE = Path(__file__).resolve().parents[1]
_MARK = b"@compiled"


def cache_folder(package: Path = _PACKAGE) -> Path:
    """Return the folder for the compiled kernels of `package`: named by a digest of the path
    and text of every module in it that defines a kernel."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        text = path.read_bytes()
        if _MARK in text:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + text + b"\0")
    return package / "__pycache__" / f"numba-{digest.hexdigest()[:16]}"


@functools.cache  # once per process
def _use_cache_folder(numba: Any) -> None:
    """Point numba's cache at `cache_folder()`, removing older folders; say so when the
    kernels are compiled afresh (the first run after an install or a change takes seconds)."""
    if numba.config.CACHE_DIR:  # the user chose one ($NUMBA_CACHE_DIR): theirs to manage
        chosen = Path(numba.config.CACHE_DIR)
        if not chosen.is_dir() or not any(chosen.iterdir()):
            _LOG.warning(_COMPILING, chosen)
        return
    folder = cache_folder()
    fresh = not folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:  # a read-only install: numba's own cache location serves
        return
    numba.config.CACHE_DIR = str(folder)
    for old in folder.parent.glob("numba-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    if fresh:
        _LOG.warning(_COMPILING, folder)
