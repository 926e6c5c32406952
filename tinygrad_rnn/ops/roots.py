"""Square roots and their reciprocals, each differentiated through its own output."""

import numpy as np

from ..autograd import Function

__all__ = ["Sqrt", "Rsqrt"]


class Sqrt(Function):
    """sqrt(x); d/dx = 1 / (2 sqrt(x)), from the output, as PyTorch's (-inf at -0.0, NaN below 0)."""

    reads_inputs = False

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad):
        return grad / (2 * self.output)


class Rsqrt(Function):
    """1 / sqrt(x); d/dx = -x^(-3/2) / 2 = -out^3 / 2, as PyTorch's."""

    reads_inputs = False

    def forward(self, x):
        with np.errstate(divide="ignore"):  # 1 / sqrt(0) = inf, as torch.rsqrt
            return 1 / np.sqrt(x)

    def backward(self, grad):
        out = self.output
        return grad * -0.5 * out * out * out
