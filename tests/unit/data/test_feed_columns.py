"""IteratorFeed over column chunks: bars come out once each, in order, however they are taken."""

from __future__ import annotations

from datetime import timedelta

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.types import Bar, Timeframe
from peak_trade.data.ports import IteratorFeed
from peak_trade.data.synthetic import SyntheticMarket, synthetic_feed
from peak_trade.testing.builders import bars_from_closes

BARS = bars_from_closes([100.0 + i for i in range(10)])


def _feed() -> IteratorFeed:
    items: list[Bar | BarColumns] = [
        BarColumns.from_bars(BARS[:4]),
        BARS[4],
        BarColumns.from_bars(BARS[5:]),
    ]
    chunks = iter(items)
    return IteratorFeed("BTC/EUR", Timeframe("1m"), chunks, source="test chunks")


def test_feed_hands_out_every_bar_once_across_warmup_polls_and_columns() -> None:
    feed = _feed()
    feed.bars_per_poll = 3

    warm = feed.warmup(2)
    first = feed.poll_columns()  # the rest of the first chunk: 2 bars
    single = feed.poll_columns()  # the lone bar
    polled = feed.poll()  # bars as objects, across no chunk boundary
    last = feed.poll_columns()
    assert first is not None
    assert single is not None
    assert last is not None

    seen = [*warm, *first.bars(), *single.bars(), *polled, *last.bars()]
    assert seen == BARS
    assert (len(first), len(single), len(polled), len(last)) == (2, 1, 3, 2)
    assert feed.exhausted
    assert feed.delivered == 10
    assert feed.poll_columns() is None


def test_feed_is_exhausted_as_soon_as_its_last_bar_is_handed_out() -> None:
    feed = _feed()
    feed.bars_per_poll = 100
    while not feed.exhausted:
        assert feed.poll_columns() is not None
    assert feed.delivered == 10


def test_skip_through_drops_bars_up_to_a_moment_inside_a_chunk() -> None:
    feed = _feed()
    assert feed.skip_through(BARS[2].time + timedelta(seconds=1)) == 3
    assert feed.poll() == [BARS[3]]


def test_skip_through_drops_whole_chunks_and_a_lone_bar_and_stops_at_the_moment() -> None:
    feed = _feed()
    feed.warmup(1)
    assert feed.skip_through(BARS[6].time) == 6  # the rest of a chunk, a lone bar, two more
    assert feed.delivered == 7
    assert feed.skip_through(BARS[6].time) == 0  # nothing left at or before it
    assert feed.poll() == [BARS[7]]


def test_skip_through_past_the_last_bar_exhausts_the_feed() -> None:
    feed = _feed()
    assert feed.skip_through(BARS[-1].time + timedelta(days=1)) == 10
    assert feed.exhausted
    assert feed.poll_columns() is None


def test_synthetic_columns_equal_its_bars() -> None:
    feed = synthetic_feed("BTC/EUR", Timeframe("5m"), seed=11, bars=5000)
    feed.bars_per_poll = 5000
    columns: list[Bar] = []
    while (part := feed.poll_columns()) is not None:
        columns.extend(part.bars())

    assert columns == list(SyntheticMarket(seed=11, timeframe=Timeframe("5m"), bars=5000))


def test_a_finite_feed_knows_how_many_bars_are_still_to_come() -> None:
    feed = synthetic_feed("BTC/EUR", Timeframe("1m"), seed=3, bars=500)
    feed.bars_per_poll = 120
    assert feed.remaining == 500
    feed.warmup(200)
    assert feed.remaining == 300
    polled = feed.poll_columns()
    assert polled is not None
    assert feed.remaining == 300 - len(polled) == 180

    endless = synthetic_feed("BTC/EUR", Timeframe("1m"), seed=3)
    endless.warmup(10)
    assert endless.remaining is None
