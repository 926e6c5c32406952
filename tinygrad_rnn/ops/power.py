"""a ** b where the exponent is a tensor too (Pow in pointwise.py takes a constant number)."""

import numpy as np

from ..autograd import Function
from . import xp


class PowTensor(Function):
    """a ** b elementwise, broadcast. d/da = b a^(b-1), and d/db = a^b log(a), as PyTorch's;
    0 where the formula gives 0 * inf or 0 * NaN, as PyTorch's: d/da where b = 0 and a is
    0 or NaN, d/db where a = 0 and b >= 0 (the limit, where log(a) = -inf).

    (PyTorch sets d/da to 0 wherever b = 0. Elsewhere the formula gives that 0 itself,
    and a mask there would hide d/db of it, a^(-1), from a second derivative.)
    """

    def forward(self, a, b):
        self.constant_in_a = (b == 0) & ((a == 0) | np.isnan(a))  # b a^(b-1) would be 0 * inf or 0 * NaN
        self.constant_in_b = (a == 0) & (b >= 0)  # a^b log(a) would be 0 * -inf (or 1 * -inf at b = 0)
        return np.power(a, b)

    def backward(self, grad):
        (a, b), out = self.inputs, self.output
        da = db = None
        if self.needs_input_grad[0]:
            da = xp.where(self.constant_in_a, 0, grad * b * a ** (b - 1))
        if self.needs_input_grad[1]:
            db = xp.where(self.constant_in_b, 0, grad * out * xp.log(a))
        return da, db
