"""Where Peak Trade keeps a user's files: the home folder of config, journals and reports.

The home is $PEAK_TRADE_HOME when set, else the nearest folder from the working folder upwards
that holds a `config.toml` (a folder `peak-trade init` made) or a `config/config.toml` (a clone
of the repository), else the working folder. Default paths (the config, `journal/...`,
`reports/...`, the nonce file) are read in it, so every command runs the same from any folder
below it. A path given on the command line is read as given, from the working folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

__all__ = ["HOME_ENV_VAR", "config_in", "find_home", "in_home"]

HOME_ENV_VAR: Final = "PEAK_TRADE_HOME"
_CONFIGS: Final = (Path("config.toml"), Path("config") / "config.toml")


def config_in(folder: Path) -> Path | None:
    """Return the config file a home folder holds, or None."""
    for name in _CONFIGS:
        if (folder / name).is_file():
            return folder / name
    return None


def find_home(start: Path | None = None) -> Path:
    """Return the home folder (see the module's description)."""
    chosen = os.environ.get(HOME_ENV_VAR)
    if chosen:  # taken as it is: a home without a config is refused where one is read
        return Path(chosen).expanduser().absolute()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if config_in(folder) is not None:
            return folder
    return here


def in_home(relative: str | Path) -> Path:
    """Return a default path in the home folder; an absolute path stays as it is. Relative to
    the working folder when the home is the working folder, as a user reads it."""
    path = Path(relative)
    if path.is_absolute():
        return path
    home = find_home()
    return path if home == Path.cwd().resolve() else home / path
