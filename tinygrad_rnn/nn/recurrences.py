"""The registry of recurrences: what a layer needs to know of a cell, one small record each.

A cell is a function of one step written as its equations (nn/cells.py).
Its record says how many tensors its state holds (the LSTM's h and c), how
many gates its weights stack, and which weights it takes, in the order it
takes them, with their shapes and initial values. Registering one, with
``@registered(...)`` over the function, is all a new cell needs:
``nn.RNNBase(name, ...)`` then gives it layers, directions, packed input,
batch_first and dropout, on the compiled path or the tape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import rng
from .module import Parameter


@dataclass(frozen=True)
class Weight:
    """One weight of a cell: its name (a layer adds ``_l{layer}``), its shape, its initial values.

    ``shape(input_size, hidden_size)``; ``init``: 'uniform' U(-1/sqrt(H), 1/sqrt(H)) as
    PyTorch's recurrent layers, 'unit' U(0, 1), 'ones' or 'zeros'. ``bias``: left out
    when the layer is built with ``bias=False``.
    """

    name: str
    shape: Callable[[int, int], tuple]
    init: str = "uniform"
    bias: bool = False

    def make(self, input_size: int, hidden_size: int, dtype=np.float32) -> Parameter:
        shape = self.shape(input_size, hidden_size)
        if self.init == "ones":
            return Parameter(np.ones(shape, dtype))
        if self.init == "zeros":
            return Parameter(np.zeros(shape, dtype))
        low, high = (0.0, 1.0) if self.init == "unit" else (-1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))
        return Parameter(rng.generator().uniform(low, high, shape).astype(dtype))


@dataclass(frozen=True)
class Recurrence:
    """A cell as the layers see it.

    ``cell(x, state, *weights)``: x (N, input_size); state (N, H), or a tuple
    of ``states`` such tensors; weights in the order of ``weights``, biases
    last. It returns the new state; its first tensor (h) is the layer's output.
    """

    name: str
    cell: Callable
    states: int
    gates: int
    weights: tuple

    def step(self, x, state: tuple, weights: tuple) -> tuple:
        """One step on a state held as a tuple, whatever the cell's own convention."""
        new = self.cell(x, state[0] if self.states == 1 else state, *weights)
        return (new,) if self.states == 1 else tuple(new)

    def weights_for(self, bias: bool) -> tuple:
        return tuple(w for w in self.weights if bias or not w.bias)


RECURRENCES: dict[str, Recurrence] = {}


def register(recurrence: Recurrence) -> Recurrence:
    """Add ``recurrence`` to the registry under its name; returns it."""
    if recurrence.name in RECURRENCES:
        raise ValueError(f"register: a recurrence named {recurrence.name!r} is already registered")
    RECURRENCES[recurrence.name] = recurrence
    return recurrence


def recurrence(owner: str, name) -> Recurrence:
    """The registered recurrence ``name`` (or ``name`` itself if it is one), else a ValueError listing them."""
    if isinstance(name, Recurrence):
        return name
    if name not in RECURRENCES:
        raise ValueError(f"{owner}: no recurrence named {name!r}; registered: {', '.join(sorted(RECURRENCES))}")
    return RECURRENCES[name]


def registered(states: int, gates: int, weights: tuple):
    """Decorator: register the cell function below it as a recurrence, named as the function
    without its ``_cell`` suffix (``lstm_cell`` is ``'lstm'``); returns the function unchanged."""

    def register_cell(cell: Callable) -> Callable:
        register(Recurrence(cell.__name__.removesuffix("_cell"), cell, states, gates, weights))
        return cell

    return register_cell


def stacked(gates: int) -> tuple:
    """weight_ih (G*H, in), weight_hh (G*H, H), bias_ih and bias_hh (G*H,): PyTorch's four."""
    return (Weight("weight_ih", lambda i, h: (gates * h, i)), Weight("weight_hh", lambda i, h: (gates * h, h)),
            Weight("bias_ih", lambda i, h: (gates * h,), bias=True),
            Weight("bias_hh", lambda i, h: (gates * h,), bias=True))


def vector(name: str, rows: int = 1, init: str = "uniform", bias: bool = False) -> Weight:
    """A weight of shape (rows * H,): a peephole, an IndRNN's recurrent weight, a gain."""
    return Weight(name, lambda i, h: (rows * h,), init, bias)
