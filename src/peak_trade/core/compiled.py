"""`compiled`: numba kernels that cost nothing until they are first called.

Hot loops over float and integer arrays (marking a run of bars, generating synthetic bars) are
compiled with numba. Importing numba and loading a kernel takes about half a second, so the
compiler is loaded on a kernel's first call, not when its module is imported: commands that
never run a kernel (`--help`, `--list-strategies`) start as fast as before. Compiled code is
cached on disk next to the module. A kernel may not call another kernel (they are resolved
at their first call); write small helpers inline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["compiled"]

_F = TypeVar("_F", bound=Callable[..., Any])


def compiled(function: _F) -> _F:
    """Return `function` compiled with numba (no Python objects inside) on its first call."""
    kernel: Callable[..., Any] | None = None

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        nonlocal kernel
        if kernel is None:
            import numba

            kernel = numba.njit(cache=True, nogil=True)(function)
        return kernel(*args)

    return cast(_F, call)
