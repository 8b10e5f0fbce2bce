"""`--timerange START:END`: the part of a candle file a run reads.

Either end may be left out ("2024-01-01:", ":2024-07-01"); each is a date or an ISO time, read
as UTC when it has no offset. A candle belongs to the range when it opens at or after START and
before END.
"""

from __future__ import annotations

from datetime import UTC, datetime

from peak_trade.core.errors import ConfigError

__all__ = ["parse_timerange"]

Span = tuple[int | None, int | None]  # Unix seconds: first open time included, end excluded


def parse_timerange(text: str) -> Span:
    """Return the range's ends in Unix seconds (None: open), or a ConfigError."""
    if ":" not in text:
        raise ConfigError(f"--timerange expects START:END (either may be empty), was {text!r}")
    start, end = _split_iso(text)
    ends = (_moment(start, text), _moment(end, text))
    if ends[0] is not None and ends[1] is not None and ends[0] >= ends[1]:
        raise ConfigError(f"--timerange {text!r}: START must be before END")
    if ends == (None, None):
        raise ConfigError(f"--timerange {text!r} names neither a start nor an end")
    return ends


def _split_iso(text: str) -> tuple[str, str]:
    """Split START:END at the colon between two ends (an ISO time holds colons of its own):
    the first colon with a date or time, or nothing, on either side."""
    for k, char in enumerate(text):
        if char != ":":
            continue
        left, right = text[:k], text[k + 1 :]
        if _parses(left) and _parses(right):
            return left, right
    raise ConfigError(
        f"--timerange expects START:END with dates or ISO times (2024-01-01:2024-07-01), "
        f"was {text!r}"
    )


def _parses(part: str) -> bool:
    if not part:
        return True
    try:
        datetime.fromisoformat(part)
    except ValueError:
        return False
    return True


def _moment(part: str, text: str) -> int | None:
    if not part:
        return None
    try:
        moment = datetime.fromisoformat(part)
    except ValueError:
        raise ConfigError(
            f"--timerange {text!r}: {part!r} is not a date or an ISO time (e.g. 2024-01-01 or "
            "2024-01-01T12:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
