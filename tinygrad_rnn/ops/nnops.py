"""Normalising primitives for classifiers and attention: softmax and log-softmax."""

import numpy as np

from ..autograd import Function
from .checks import normalize_dim


class Softmax(Function):
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max so it cannot overflow."""

    def forward(self, x, dim):
        self.dim = normalize_dim(self.name, dim, x.ndim)
        e = np.exp(x - x.max(axis=self.dim, keepdims=True))
        self.y = e / e.sum(axis=self.dim, keepdims=True)
        return self.y

    def backward(self, grad):
        y = self.y
        return y * (grad - (grad * y).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x) along ``dim``."""

    def forward(self, x, dim):
        self.dim = normalize_dim(self.name, dim, x.ndim)
        shifted = x - x.max(axis=self.dim, keepdims=True)
        self.y = shifted - np.log(np.exp(shifted).sum(axis=self.dim, keepdims=True))
        return self.y

    def backward(self, grad):
        return grad - np.exp(self.y) * grad.sum(axis=self.dim, keepdims=True)
