"""Constant padding: a border of one value around a tensor."""

import numpy as np

from ..autograd import Function

__all__ = ["Pad"]


class Pad(Function):
    """``x`` inside a border of ``value``; ``widths`` holds (before, after) >= 0 for every dim.

    The border is constant, so the gradient is the interior of the output's gradient.
    """

    reads_inputs = reads_output = False

    def forward(self, x, widths, value=0.0):
        self.interior = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, np.reshape(np.asarray(widths, np.int64), (x.ndim, 2)), constant_values=value)

    def backward(self, grad):
        return grad[self.interior]
