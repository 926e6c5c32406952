"""Binary cross entropy on probabilities, with PyTorch's clamped logs."""

import numpy as np

from ..autograd import Function
from . import xp

__all__ = ["BinaryCrossEntropy"]

LOG_FLOOR = -100.0  # PyTorch's: a probability of exactly 0 or 1 costs 100, not inf
EPSILON = float(np.float32(1e-12))  # PyTorch's floor under x (1 - x) in the input's gradient: a C float


class BinaryCrossEntropy(Function):
    """-(y log(x) + (1 - y) log(1 - x)) elementwise for probabilities x and targets y,
    each log clamped to >= -100, as torch's.

    Gradients are torch's: d/dx = (x - y) / max(x (1 - x), 1e-12), finite at x = 0
    and 1; d/dy = log(1 - x) - log(x), not clamped.
    """

    reads_output = False

    def forward(self, x, y):
        with np.errstate(divide="ignore"):  # log 0 = -inf, then clamped
            log_x = np.maximum(np.log(x), LOG_FLOOR)
            log_not_x = np.maximum(np.log1p(-x), LOG_FLOOR)
        return (y - 1) * log_not_x - y * log_x

    def backward(self, grad):
        x, y = self.inputs
        dx = dy = None
        if self.needs_input_grad[0]:
            dx = grad * (x - y) / xp.clip((1 - x) * x, EPSILON, None)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore"):  # at x = 0 or 1 the target's gradient is infinite, as torch's
                dy = grad * (xp.log(1 - x) - xp.log(x))
        return dx, dy
