"""The elementwise larger of two tensors (for floats, minimum is maximum of the negations)."""

import numpy as np

from ..autograd import Function

__all__ = ["Maximum"]


class Maximum(Function):
    """max(a, b) elementwise, broadcast; NaN wins, as in numpy and PyTorch.

    The gradient goes to the larger input; at a tie each gets half, and where
    either is NaN both get all of it, as torch.maximum's.
    """

    reads_inputs = reads_output = False  # backward reads only the shares forward made

    def forward(self, a, b):
        out = np.maximum(a, b)
        if self.needs_input_grad:  # recorded: the gradient's shares are needed
            tie = a == b
            # a's share: none where a < b, half at a tie, all elsewhere (a > b, or a NaN on either side)
            self.share_a = np.where(a < b, 0.0, np.where(tie, 0.5, 1.0)).astype(out.dtype)
            self.share_b = np.where(b < a, 0.0, np.where(tie, 0.5, 1.0)).astype(out.dtype)
        return out

    def backward(self, grad):
        da = grad * self.share_a if self.needs_input_grad[0] else None
        db = grad * self.share_b if self.needs_input_grad[1] else None
        return da, db
