"""`compiled`: numba kernels that cost nothing until they are first called.

Hot loops over float and integer arrays (marking a run of bars, generating synthetic bars, the
strategies' indicators) are compiled with numba. Importing numba and loading a kernel takes
about half a second and 100 MiB, so the compiler is loaded on a kernel's first call, not when
its module is imported: commands that never run a kernel (`--help`, `--list-strategies`) do
without it. Compiled code is cached on disk next to the module.

A kernel may call other kernels of its own module: on its first call, every kernel its module
names is handed to numba as well. Keep kernels that call each other in one file; numba's disk
cache notices a change to the file a kernel is in, not to the files of the kernels it calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["compiled"]

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

            self.dispatcher = numba.njit(cache=True, nogil=True)(self.function)
            namespace = self.function.__globals__
            for name, value in list(namespace.items()):
                if isinstance(value, _Kernel):  # numba resolves a called kernel by this name
                    namespace[name] = value.load()
        return self.dispatcher


def compiled(function: _F) -> _F:
    """Return `function` compiled with numba (no Python objects inside) on its first call."""
    return cast(_F, _Kernel(function))
