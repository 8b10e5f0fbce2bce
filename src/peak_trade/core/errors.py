"""The one error tree of Peak Trade, grouped by what the caller must do.

```
PeakTradeError
├── ConfigError                 fix the config or the command line; exit code 2
│   ├── LiveModeNotAllowedError live trading was asked for; it is blocked everywhere
│   └── DataError               fix the input data (malformed candle, duplicate times); exit 2
├── SessionError                a session could not start or run
│   ├── SessionSetupError       building the session failed; exit code 1
│   └── SessionRuntimeError     the session failed while running; exit code 1
├── StrategyError               strategy code failed; stop using that strategy
│   └── StrategyContractError   it returned a target other than -1/0/1 (also a ConfigError: 2)
├── FeedError                   the market-data feed failed; exit code 1
├── VenueError                  raised only by venue adapters, mapped once at the edge
│   ├── VenueUnavailableError   transient: retry with backoff
│   │   └── RateLimitError
│   ├── OrderRejectedError      permanent for this order: record and drop it
│   └── AuthError               fatal: stop the session
└── InvariantError              a bug or corrupt state: halt trading, then stop
```
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

__all__ = [
    "AuthError",
    "ConfigError",
    "DataError",
    "FeedError",
    "InvariantError",
    "JournalWriteError",
    "LiveModeNotAllowedError",
    "OrderRejectedError",
    "PeakTradeError",
    "RateLimitError",
    "SessionError",
    "SessionRuntimeError",
    "SessionSetupError",
    "StrategyContractError",
    "StrategyError",
    "VenueError",
    "VenueUnavailableError",
    "did_you_mean",
]


class PeakTradeError(Exception):
    """Base of every error Peak Trade raises on purpose."""


class ConfigError(PeakTradeError, ValueError):
    """The config or the command line is wrong; the user must fix it (exit code 2).

    It is also a ValueError, so code written against the original's validation keeps working.
    """


class LiveModeNotAllowedError(ConfigError):
    """Live trading was requested; Peak Trade never sends real orders."""


class DataError(ConfigError):
    """Input market data is malformed; the user must fix the file (exit code 2)."""


class SessionError(PeakTradeError):
    """A session could not start or run."""


class SessionSetupError(SessionError):
    """Building the session failed."""


class SessionRuntimeError(SessionError):
    """The session failed while running, or a method was called out of order."""


class JournalWriteError(SessionRuntimeError):
    """The journal could not be written (a full disk, an I/O error): the run ends at once,
    and what it holds is whole steps only."""


class StrategyError(PeakTradeError):
    """A strategy raised or returned something outside its contract."""


class StrategyContractError(ConfigError, StrategyError):
    """A strategy returned what its contract does not allow (a target other than -1, 0 or
    1): its code is to be fixed, as a config is (exit 2)."""


class FeedError(PeakTradeError):
    """The market-data feed could not deliver bars."""


class VenueError(PeakTradeError):
    """An execution venue failed; raised only by adapters."""


class VenueUnavailableError(VenueError):
    """The venue is temporarily unavailable; retry with backoff."""


class RateLimitError(VenueUnavailableError):
    """The venue asked us to slow down; retry later."""


class OrderRejectedError(VenueError):
    """The venue refused this order; record it and drop the order."""


class AuthError(VenueError):
    """Credentials or signature were refused; stop the session."""


class InvariantError(PeakTradeError):
    """Internal state broke an invariant; halt trading."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return a "; did you mean 'x'?" suffix for the closest candidate, or an empty string."""
    matches = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""
