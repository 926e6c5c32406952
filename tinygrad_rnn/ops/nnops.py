"""Normalising primitives for classifiers and attention: softmax and log-softmax."""

import numpy as np

from ..autograd import Function
from . import xp
from .checks import normalize_dim

__all__ = ["Softmax", "LogSoftmax"]


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max so it cannot overflow."""

    reads_inputs = False

    def forward(self, x, dim):
        self.dim = normalize_dim(self.name, dim, x.ndim)
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        return e / e.sum(axis=self.dim, keepdims=True)

    def backward(self, grad):
        y = self.output
        return y * (grad - xp.sum(grad * y, self.dim, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x) along ``dim``."""

    reads_inputs = False

    def forward(self, x, dim):
        self.dim = normalize_dim(self.name, dim, x.ndim)
        shifted = x - x.max(axis=self.dim, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.dim, keepdims=True))

    def backward(self, grad):
        return grad - xp.exp(self.output) * xp.sum(grad, self.dim, keepdims=True)
