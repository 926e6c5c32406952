"""What the tape sums for each tensor until it reaches it: the gradient buffer.

A tensor read by several ops gets a gradient from each; the buffer adds them
up (undoing broadcasting on the way, in ``unbroadcast``), so that when the
tape reaches the tensor its gradient is complete and ``pop`` hands it over.
"""

from __future__ import annotations

import numpy as np


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` down to ``shape``: the one place broadcasting is undone.

    A broadcast copies an input along new leading axes and along axes of
    size 1, so its vector-Jacobian product sums over exactly those axes.
    ``sum`` and ``reshape`` are spelled alike on ndarrays and Tensors, so a
    recorded backward undoes broadcasting with recorded ops.
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = [leading + i for i, n in enumerate(shape) if n == 1 and grad.shape[leading + i] != 1]
    return grad.sum((*range(leading), *stretched)).reshape(shape)


class SliceGrad:
    """A gradient that is zero outside ``index``, as a selection's backward returns.

    The tape adds ``values`` into one buffer per input instead of building a
    zero array of the input's shape for every slice, so reading a sequence
    step by step costs O(step), not O(sequence), per step in backward.
    ``unique`` says no element is selected twice (plain slices and ints).
    Only an ordinary backward makes one: a recorded backward returns the
    primitive IndexPut instead (``ops.movement.selection_grad``).
    """

    __slots__ = ("index", "values", "unique")

    def __init__(self, index, values, unique: bool):
        self.index, self.values, self.unique = index, values, unique


def scatter_add(target: np.ndarray, index, values: np.ndarray, unique: bool) -> None:
    """``target[index] += values``, where a repeated index adds every time."""
    if unique:
        target[index] += values
    elif isinstance(index, np.ndarray) and index.ndim == 1 and index.dtype.kind in "iu":
        # Rows picked by a list of ints (an embedding's lookups): sort so equal rows are
        # adjacent and sum each run at once, several times faster than np.add.at.
        order = np.argsort(index, kind="stable")
        rows = index[order] % len(target)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else rows
        if len(rows):
            target[rows[starts]] += np.add.reduceat(values[order], starts, axis=0)
    else:
        np.add.at(target, index, values)


class GradientBuffer:
    """The gradient summed so far for each tensor, until the tape reaches it.

    Given ndarrays (an ordinary backward) it adds in place, but only into
    buffers it allocated (an array a backward returned may alias a saved
    input), and adds a SliceGrad's values into a buffer instead of building a
    full array. Given Tensors (a recorded backward) it adds them with recorded
    ops, so the sum is differentiable too.
    """

    def __init__(self):
        self.totals: dict[int, object] = {}
        self.owned: set[int] = set()  # ids whose buffer was allocated here

    def add(self, tensor, grad) -> None:
        key = id(tensor)
        total = self.totals.get(key)
        if isinstance(grad, SliceGrad):
            if total is None:
                total = np.zeros(tensor.shape, grad.values.dtype)
            elif key not in self.owned:
                total = total.copy()
            scatter_add(total, grad.index, grad.values, grad.unique)
            self.totals[key] = total
            self.owned.add(key)
        else:
            grad = unbroadcast(grad, tensor.shape)
            if total is None:
                self.totals[key] = grad
            elif key in self.owned:
                total += grad
                self.totals[key] = total  # the same buffer; a new object only for 0-d sums, numpy scalars
            else:
                total = self.totals[key] = total + grad  # a new array, or a new recorded Tensor
                if isinstance(total, np.ndarray):
                    self.owned.add(key)  # ours: later gradients add into it in place

    def pop(self, tensor):
        """The whole gradient of ``tensor``, or None if none reached it; the buffer forgets it."""
        self.owned.discard(id(tensor))
        return self.totals.pop(id(tensor), None)
