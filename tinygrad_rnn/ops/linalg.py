"""Matrix product of (batched) matrices; batch dims broadcast."""

from ..autograd import Function
from . import xp
from .pointwise import _each_reads_the_other

__all__ = ["Matmul"]


class Matmul(Function):
    reads_output = False
    reads_inputs = property(_each_reads_the_other)

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: "
                "need a (..., n, k) @ (..., k, m)"
            )
        return a @ b

    def backward(self, grad):
        a, b = self.inputs
        da = grad @ xp.swapaxes(b, -1, -2) if self.needs_input_grad[0] else None
        db = xp.swapaxes(a, -1, -2) @ grad if self.needs_input_grad[1] else None
        return da, db
