"""The magnitude and the sign of each element: abs and sign."""

import numpy as np

from ..autograd import Function
from . import xp

__all__ = ["Abs", "Sign"]


def _sign(x: np.ndarray) -> np.ndarray:
    """-1, 0 or 1 per element, in x's dtype; 0 for NaN, as torch.sign."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype, copy=False)


class Abs(Function):
    """|x|; the gradient is sign(x): 0 at 0 and at NaN, as PyTorch's."""

    reads_inputs = reads_output = False  # backward reads only the signs forward saved

    def forward(self, x):
        self.sign = _sign(x)
        return np.abs(x)

    def backward(self, grad):
        return grad * self.sign


class Sign(Function):
    """-1, 0 or 1 per element (0 for NaN); its gradient is zero everywhere, as PyTorch's."""

    reads_inputs = reads_output = False

    def forward(self, x):
        return _sign(x)

    def backward(self, grad):
        return xp.zeros_like(grad)
