"""The error function, from which the exact GELU is built."""

import math

import numpy as np

from ..autograd import Function
from ..kernels import pointwise as kernel
from . import xp

__all__ = ["Erf"]


class Erf(Function):
    """erf(x) = 2/sqrt(pi) * integral of exp(-t^2) dt from 0 to x; its derivative is the integrand."""

    reads_output = False

    def forward(self, x):
        if x.dtype.kind != "f":  # as Sigmoid and np.tanh: integers give float64, not truncated values
            x = x.astype(np.float64)
        return kernel.erf(x)

    def backward(self, grad):
        x = self.inputs[0]
        return grad * (2 / math.sqrt(math.pi)) * xp.exp(-(x * x))
