"""Matrix product of (batched) matrices; batch dims broadcast."""

import numpy as np

from ..autograd import Function


class Matmul(Function):
    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: "
                "need a (..., n, k) @ (..., k, m)"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        da = grad @ np.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        db = np.swapaxes(self.a, -1, -2) @ grad if self.needs_input_grad[1] else None
        return da, db
