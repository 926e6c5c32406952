"""A copy of a tensor in memory of its own."""

import numpy as np

from ..autograd import Function

__all__ = ["Clone"]


class Clone(Function):
    """The same values in a new C-contiguous array; the gradient passes unchanged."""

    reads_inputs = reads_output = False

    def forward(self, x):
        return np.array(x, order="C")

    def backward(self, grad):
        return grad
