"""Running sums along a dim."""

import numpy as np

from ..autograd import Function
from . import xp
from .checks import normalize_dim

__all__ = ["Cumsum"]


class Cumsum(Function):
    """out[i] = x[0] + ... + x[i] along ``dim``. Each x[j] reaches every out[i] with i >= j,
    so the gradient is the running sum of the output's gradient taken from the end."""

    reads_inputs = reads_output = False

    def forward(self, x, dim):
        self.dim = normalize_dim(self.name, dim, x.ndim)
        if x.ndim == 0:
            return x.copy()
        return np.cumsum(x, axis=self.dim, dtype=np.int64 if x.dtype.kind in "bui" else x.dtype)

    def backward(self, grad):
        if grad.ndim == 0:
            return grad
        return xp.flip(xp.cumsum(xp.flip(grad, self.dim), self.dim), self.dim)
