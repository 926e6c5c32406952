"""Checks of the arguments users pass to layers, losses, optimizers and helpers.

Each returns the value in its plain Python form, or raises with a message
naming the owner (the function or class), the argument, what was expected
and what was given: TypeError for the wrong kind of thing, ValueError for a
value out of range (NaN is out of every range).
"""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor


def real(owner: str, name: str, value) -> float:
    """A Python or numpy int or float (not a bool), as a float; any value, NaN included."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def number(owner: str, name: str, value, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False, high_open: bool = False) -> float:
    """A real number in [low, high] (open at an end when asked); never NaN."""
    value = real(owner, name, value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if math.isnan(value) or too_low or too_high:
        interval = _interval(low, high, low_open, high_open)
        raise ValueError(f"{owner}: {name} must be a number in {interval}, got {value!r}")
    return value


def integer(owner: str, name: str, value, low: int | None = None) -> int:
    """An int (a numpy integer too, never a bool or a float), at least ``low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def boolean(owner: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def tensor(owner: str, name: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{owner}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def _interval(low, high, low_open, high_open) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
