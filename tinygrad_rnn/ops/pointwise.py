"""Elementwise primitives. Inputs broadcast; the tape sums gradients back."""

import numpy as np

from ..autograd import Function
from ..kernels import pointwise as kernel
from . import xp

__all__ = ["Add", "Sub", "Mul", "Div", "Neg", "Pow", "PowTensor", "Exp", "Log", "Tanh", "Sigmoid", "LogSigmoid",
           "Relu", "Clamp", "Where", "Cast"]


class Add(Function):
    reads_inputs = reads_output = False

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    reads_inputs = reads_output = False

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


def _each_reads_the_other(node) -> tuple:
    """The inputs a product's backward reads: a's gradient reads b and b's reads a."""
    needs = node.needs_input_grad
    return tuple(i for i, other in ((0, 1), (1, 0)) if needs[other])


class Mul(Function):
    reads_output = False
    reads_inputs = property(_each_reads_the_other)

    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        a, b = self.inputs
        da = grad * b if self.needs_input_grad[0] else None
        db = grad * a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    reads_output = False

    @property
    def reads_inputs(self) -> tuple:
        """b always (da = grad / b); a only for b's gradient."""
        return (1, 0) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        return a / b

    def backward(self, grad):
        a, b = self.inputs
        da = grad / b
        db = -da * a / b if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    reads_inputs = reads_output = False

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Function):
    """x ** p for a constant number p."""

    reads_output = False

    def forward(self, x, exponent):
        self.exponent = exponent
        return x**exponent

    def backward(self, grad):
        (x,), p = self.inputs, self.exponent
        if p == 0:  # x**0 is constant; x**-1 would give 0 * inf = nan at x = 0
            return xp.zeros_like(grad)
        return grad * p * x ** (p - 1) if p != 1 else grad


class PowTensor(Function):
    """base ** exponent, both tensors (broadcast), with PyTorch's values and gradients:
    d/dbase = exponent * base ** (exponent - 1), 0 where the exponent is 0 and the base 0 or NaN
    (not 0 * inf, 0 * NaN); d/dexponent = base ** exponent * log(base), 0 where base is 0 and
    exponent >= 0 (not 0 * -inf). A negative base to a fractional power is NaN, 0 to a negative
    power is inf, as in PyTorch.

    (PyTorch sets d/dbase to 0 wherever the exponent is 0. Elsewhere the formula gives that 0
    itself, and a mask there would hide its derivative in the exponent, 1 / base, from a
    second derivative.)
    """

    def forward(self, base, exponent):
        # exponent * base ** (exponent - 1) would be 0 * inf or 0 * NaN
        self.constant_in_base = (exponent == 0) & ((base == 0) | np.isnan(base))
        self.base_is_zero = (base == 0) & (exponent >= 0)  # 0 ** e is 0 (or 1) for e >= 0: no slope in e
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 = inf and (-2) ** 0.5 = nan, as in PyTorch
            return np.power(base, exponent)

    def backward(self, grad):
        (base, exponent), result = self.inputs, self.output
        with np.errstate(divide="ignore", invalid="ignore"):  # the inf and nan of the forward, carried on
            dbase = dexponent = None
            if self.needs_input_grad[0]:
                dbase = xp.where(self.constant_in_base, 0, grad * exponent * base ** (exponent - 1))
            if self.needs_input_grad[1]:
                dexponent = grad * xp.where(self.base_is_zero, 0, result * xp.log(base))
        return dbase, dexponent


class Exp(Function):
    reads_inputs = False

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad):
        return grad * self.output


class Log(Function):
    reads_output = False

    def forward(self, x):
        return np.log(x)

    def backward(self, grad):
        return grad / self.inputs[0]


class Tanh(Function):
    reads_inputs = False

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad):
        y = self.output
        return grad * (1 - y * y)


class Sigmoid(Function):
    reads_inputs = False

    def forward(self, x):
        if x.dtype.kind != "f":  # as np.tanh does: integers give float64, not truncated zeros
            x = x.astype(np.float64)
        return kernel.sigmoid(x)

    def backward(self, grad):
        y = self.output
        return grad * y * (1 - y)


class LogSigmoid(Function):
    """log(sigmoid(x)), finite for any finite x (log(sigmoid(x)) composed would give log 0)."""

    reads_output = False

    def forward(self, x):
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        return kernel.log_sigmoid(x)

    def backward(self, grad):
        return grad * xp.sigmoid(-self.inputs[0])  # d/dx log(sigmoid(x)) = sigmoid(-x)


class Relu(Function):
    """max(x, 0), with NaN kept as NaN; the gradient is 0 where x <= 0 and passes elsewhere
    (at NaN too), as PyTorch's."""

    reads_inputs = reads_output = False  # backward reads only the mask forward made

    def forward(self, x):
        self.positive = ~(x <= 0)  # x > 0, or NaN: where x and its gradient pass
        return np.where(self.positive, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad):
        return xp.where(self.positive, grad, 0)


class Clamp(Function):
    """x limited to [low, high], NaN kept as NaN; the gradient passes where low <= x <= high
    (bounds included, NaN excluded), as PyTorch's."""

    reads_inputs = reads_output = False  # backward reads only the mask forward made

    def forward(self, x, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clamp: give at least one of min and max")
        self.inside = np.ones(x.shape, bool)
        if low is not None:
            self.inside &= x >= low
        if high is not None:
            self.inside &= x <= high
        return np.clip(x, low, high).astype(x.dtype, copy=False)

    def backward(self, grad):
        return xp.where(self.inside, grad, 0)


class Where(Function):
    """``condition ? a : b`` elementwise; ``condition`` is a constant bool array."""

    reads_inputs = reads_output = False  # backward reads only the condition

    def forward(self, a, b, condition):
        self.condition = np.asarray(condition, dtype=bool)
        return np.where(self.condition, a, b)

    def backward(self, grad):
        da = xp.where(self.condition, grad, 0) if self.needs_input_grad[0] else None
        db = xp.where(self.condition, 0, grad) if self.needs_input_grad[1] else None
        return da, db


class Cast(Function):
    reads_inputs = reads_output = False

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return xp.astype(grad, self.input_dtype)
