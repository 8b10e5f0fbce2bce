"""File-system questions that answer rather than raise."""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_file", "is_folder"]


def is_file(path: Path) -> bool:
    """Return Path.is_file(), but False for a path the system cannot look up at all (a name
    too long for the file system, a loop of links), for which Path.is_file raises."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_folder(path: Path) -> bool:
    """Return Path.is_dir(), but False for a path the system cannot look up at all."""
    try:
        return path.is_dir()
    except OSError:
        return False
