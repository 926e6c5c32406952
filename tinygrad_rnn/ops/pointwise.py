"""Elementwise primitives. Inputs broadcast; the tape sums gradients back."""

import numpy as np

from ..autograd import Function
from ..kernels import pointwise as kernel


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        da = grad * self.b if self.needs_input_grad[0] else None
        db = grad * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        da = grad / self.b
        db = -da * self.a / self.b if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Function):
    """x ** p for a constant number p."""

    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, grad):
        p = self.exponent
        if p == 0:  # x**0 is constant; x**-1 would give 0 * inf = nan at x = 0
            return np.zeros_like(grad)
        return grad * p * self.x ** (p - 1) if p != 1 else grad


class Exp(Function):
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, grad):
        return grad * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return grad / self.x


class Tanh(Function):
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad):
        return kernel.tanh_backward(grad, self.y)


class Sigmoid(Function):
    def forward(self, x):
        if x.dtype.kind != "f":  # as np.tanh does: integers give float64, not truncated zeros
            x = x.astype(np.float64)
        self.y = kernel.sigmoid(x)
        return self.y

    def backward(self, grad):
        return kernel.sigmoid_backward(grad, self.y)


class LogSigmoid(Function):
    """log(sigmoid(x)), finite for any finite x (log(sigmoid(x)) composed would give log 0)."""

    def forward(self, x):
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self.x = x
        return kernel.log_sigmoid(x)

    def backward(self, grad):
        return kernel.log_sigmoid_backward(grad, self.x)


class Relu(Function):
    def forward(self, x):
        self.positive = x > 0
        return np.where(self.positive, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad):
        return np.where(self.positive, grad, 0).astype(grad.dtype, copy=False)


class Clamp(Function):
    """x limited to [low, high]; the gradient passes where low <= x <= high."""

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
        return np.where(self.inside, grad, 0).astype(grad.dtype, copy=False)


class Where(Function):
    """``condition ? a : b`` elementwise; ``condition`` is a constant bool array."""

    def forward(self, a, b, condition):
        self.condition = np.asarray(condition, dtype=bool)
        return np.where(self.condition, a, b)

    def backward(self, grad):
        zero = np.zeros((), grad.dtype)
        da = np.where(self.condition, grad, zero) if self.needs_input_grad[0] else None
        db = np.where(self.condition, zero, grad) if self.needs_input_grad[1] else None
        return da, db


class Cast(Function):
    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.input_dtype)
