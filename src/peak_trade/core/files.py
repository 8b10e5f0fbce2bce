"""File-system questions that answer rather than raise."""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_file"]


def is_file(path: Path) -> bool:
    """Return Path.is_file(), but False for a path the system cannot look up at all (a name
    too long for the file system, a loop of links), for which Path.is_file raises."""
    try:
        return path.is_file()
    except OSError:
        return False
