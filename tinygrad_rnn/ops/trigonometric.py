"""Sine and cosine, each the other's derivative."""

import numpy as np

from ..autograd import Function
from . import xp

__all__ = ["Sin", "Cos"]


class Sin(Function):
    """sin(x); d/dx = cos(x)."""

    reads_output = False

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad):
        return grad * xp.cos(self.inputs[0])


class Cos(Function):
    """cos(x); d/dx = -sin(x)."""

    reads_output = False

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad):
        return -grad * xp.sin(self.inputs[0])
