"""File-system questions that answer rather than raise."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["is_file", "is_folder", "is_name_char", "is_plain_name", "unwritable"]


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


def unwritable(folder: Path) -> Path | None:
    """Return None if files can be written into `folder`, creating it if need be; else the
    folder that stops it: the nearest one that exists, if it is not a folder this process may
    write into. An OSError of the look-up (a name too long, a loop of links) propagates."""
    while not folder.exists():
        folder = folder.parent
    return None if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) else folder


def is_name_char(c: str) -> bool:
    """Return True for a character a plain name may hold: a letter, a digit, '-', '_', '.'."""
    return c.isalnum() or c in "-_."


def is_plain_name(name: str) -> bool:
    """Return True when `name` can name a file or folder as it is (a run id names its report
    folder and its lock file): plain characters only, and not hidden (no leading '.')."""
    return bool(name) and all(map(is_name_char, name)) and not name.startswith(".")
