"""Round trips from fills: exact, flat to flat, a fill through zero split by quantity."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.portfolio.trips import RoundTrip, RoundTrips


def _d(value: str | int) -> Decimal:
    return Decimal(value)


def test_a_trip_nets_its_fees_and_averages_its_prices() -> None:
    trips = RoundTrips()
    assert trips.add_fill(_d(1), _d(100), _d("0.1"), "t0", "entry_long") is None
    assert trips.add_fill(_d(1), _d(110), _d("0.11"), "t1", "entry_long") is None
    done = trips.add_fill(_d(-2), _d(120), _d("0.24"), "t2", "exit_long")
    assert done == RoundTrip(
        "long",
        "t0",
        "t2",
        _d(2),
        _d(105),
        _d(120),
        _d("29.55"),
        _d("0.45"),
        "target flat",
    )
    assert trips.closed == [done]
    assert trips.position == 0


def test_a_fill_through_zero_closes_one_trip_and_opens_the_next() -> None:
    trips = RoundTrips()
    trips.add_fill(_d(1), _d(100), _d(0), "t0", "entry_long")
    closed = trips.add_fill(_d(-3), _d(110), _d(3), "t1", "close_long")  # fee 1 closes, 2 opens
    assert closed is not None
    assert (closed.pnl, closed.fees, closed.exit_reason) == (
        _d(9),
        _d(1),
        "target reversed",
    )
    assert trips.position == _d(-2)
    short = trips.add_fill(_d(2), _d(100), _d(0), "t2", "exit_short")
    assert short is not None
    assert (short.side, short.entry_time, short.quantity) == ("short", "t1", _d(2))
    assert (short.entry_price, short.exit_price, short.pnl) == (
        _d(110),
        _d(100),
        _d(18),
    )
    assert [t.pnl for t in trips.closed] == [_d(9), _d(18)]


def test_an_open_position_is_marked_at_the_end_and_not_counted_as_closed() -> None:
    trips = RoundTrips()
    trips.add_fill(_d("0.5"), _d(200), _d("0.2"), "t0", "entry_long")
    marked = trips.still_open(_d(210), "t9")
    assert marked == RoundTrip(
        "long",
        "t0",
        "t9",
        _d("0.5"),
        _d(200),
        _d(210),
        _d("4.8"),
        _d("0.2"),
        "end of data (still open)",
    )
    assert trips.closed == []
    assert RoundTrips().still_open(_d(1), "t") is None


def test_an_unknown_order_reason_is_kept_as_it_is() -> None:
    trips = RoundTrips()
    trips.add_fill(_d(1), _d(10), _d(0), "t0", "entry_long")
    done = trips.add_fill(_d(-1), _d(11), _d(0), "t1", "operator flatten")
    assert done is not None
    assert done.exit_reason == "operator flatten"
