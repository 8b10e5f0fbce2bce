"""--timerange START:END: dates or ISO times, either end open, colons inside times allowed."""

from __future__ import annotations

import re

import pytest

from peak_trade.core.errors import ConfigError
from peak_trade.core.timerange import parse_timerange

JAN_1, FEB_1 = 1_704_067_200, 1_706_745_600


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("2024-01-01:2024-02-01", (JAN_1, FEB_1)),
        ("2024-01-01:", (JAN_1, None)),
        (":2024-02-01", (None, FEB_1)),
        ("2024-01-01T12:00:2024-02-01T00:30", (JAN_1 + 12 * 3600, FEB_1 + 1800)),
        ("2024-01-01T02:00+02:00:", (JAN_1, None)),  # an offset counts; no offset is UTC
    ],
)
def test_a_timerange_is_read_as_utc_seconds(text: str, span: tuple[int | None, int | None]) -> None:
    assert parse_timerange(text) == span


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-01-01", "expects START:END (either may be empty)"),
        ("2024-13-01:", "expects START:END with dates or ISO times"),
        (":", "names neither a start nor an end"),
        ("2024-02-01:2024-01-01", "START must be before END"),
    ],
)
def test_a_timerange_that_means_nothing_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_timerange(text)
