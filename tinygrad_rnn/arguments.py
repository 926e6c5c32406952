"""Checks of the arguments users pass to layers, losses, optimizers and helpers.

Each returns the value in its plain Python form, or raises with a message
naming the owner (the function or class), the argument, what was expected
and what was given: TypeError for the wrong kind of thing, ValueError for a
value out of range (NaN is out of every range) or not among the names allowed.

This module imports nothing from the package, so every part of it may use it:
the check that a value is a Tensor is ``instance(owner, name, value, Tensor)``.
"""

from __future__ import annotations

import math

import numpy as np


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


def probability(owner: str, name: str, value) -> float:
    """A number in [0, 1]: a dropout rate, a smoothing weight."""
    value = real(owner, name, value)
    if not 0.0 <= value <= 1.0:  # NaN too
        raise ValueError(f"{owner}: {name} must be a probability in [0, 1], got {value!r}")
    return value


def boolean(owner: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def floating_dtype(owner: str, name: str, dtype) -> np.dtype:
    """A floating-point numpy dtype, or anything ``np.dtype`` makes one of (``"float64"``, ``np.float32``)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be a numpy dtype, got {type(dtype).__name__} {dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"{owner}: {name} must be floating point, got {dtype}")
    return dtype


def floating_point(owner: str, name: str, array):
    """``array`` itself (a Tensor or an ndarray) if its dtype is floating point."""
    if array.dtype.kind != "f":
        raise TypeError(f"{owner}: {name} must be floating point, got dtype {array.dtype} (shape {array.shape})")
    return array


def array(owner: str, name: str, value, dtype=None) -> np.ndarray:
    """Numbers (an ndarray, a list, a scalar) as an ndarray, in ``dtype`` if given."""
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {name} must be an array of numbers, got {type(value).__name__} ({err})") from None


def choice(owner: str, name: str, value, options: tuple[str, ...]) -> str:
    """One of the names in ``options`` (a mode, a nonlinearity, a reduction)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{owner}: {name} must be {_alternatives(options)}, got {value!r}")
    return value


def instance(owner: str, name: str, value, kind: type | tuple[type, ...]):
    """``value`` itself if it is an instance of ``kind`` (a class, or a tuple of classes)."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        article = "an" if names[0] in "AEIOU" else "a"
        raise TypeError(f"{owner}: {name} must be {article} {names}, got {type(value).__name__}")
    return value


def _alternatives(options: tuple[str, ...]) -> str:
    """('a', 'b', 'c') -> "'a', 'b' or 'c'"."""
    quoted = [repr(option) for option in options]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _interval(low, high, low_open, high_open) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
