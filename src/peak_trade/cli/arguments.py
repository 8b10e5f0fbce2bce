"""Argument types shared by the `peak-trade` commands."""

from __future__ import annotations

import argparse

__all__ = ["fraction", "non_negative_int", "positive_float", "positive_int"]


def positive_int(text: str) -> int:
    """Parse a whole number > 0."""
    value = _whole(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, was {value}")
    return value


def non_negative_int(text: str) -> int:
    """Parse a whole number >= 0."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, was {value}")
    return value


def positive_float(text: str) -> float:
    """Parse a number > 0."""
    value = _real(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, was {text}")
    return value


def fraction(text: str) -> float:
    """Parse a number in (0, 1]."""
    value = _real(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], was {text}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, was {text!r}") from None


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, was {text!r}") from None
