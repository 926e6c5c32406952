"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``."""

import numpy as np

from ..autograd import Function
from . import xp
from .checks import normalize_dims


class _Reduction(Function):
    """Shared bookkeeping: which axes were reduced, and how to undo keepdim=False."""

    def _axes(self, x, dim, keepdim):
        self.axes = normalize_dims(self.name, dim, x.ndim)
        self.keepdim = keepdim
        self.input_shape = x.shape
        return self.axes

    def _with_kept_dims(self, grad):
        """``grad`` reshaped as if the reduction had kept its dims, ready to broadcast."""
        return grad if self.keepdim else xp.expand_dims(grad, self.axes)


class Sum(_Reduction):
    reads_inputs = reads_output = False

    def forward(self, x, dim=None, keepdim=False):
        return np.asarray(x.sum(axis=self._axes(x, dim, keepdim), keepdims=keepdim))

    def backward(self, grad):
        return xp.broadcast_to(self._with_kept_dims(grad), self.input_shape)


class Mean(_Reduction):
    reads_inputs = reads_output = False

    def forward(self, x, dim=None, keepdim=False):
        axes = self._axes(x, dim, keepdim)
        self.count = int(np.prod([x.shape[a] for a in axes]))
        if self.count == 0:
            raise ValueError(f"mean: cannot average over an empty dim of shape {x.shape}")
        return np.asarray(x.mean(axis=axes, keepdims=keepdim))

    def backward(self, grad):
        return xp.broadcast_to(self._with_kept_dims(grad) / self.count, self.input_shape)


class Max(_Reduction):
    """Largest value; tied maxima share the gradient equally (as torch.amax).

    A NaN is the maximum of its slice (as in numpy and PyTorch), so the
    gradient goes to the NaN (shared if there are several), as in
    ``torch.max``; torch.amax would give NaN to every element of the slice.
    """

    reads_inputs = reads_output = False  # backward reads only the masks forward made

    def forward(self, x, dim=None, keepdim=False):
        axes = self._axes(x, dim, keepdim)
        if x.size == 0:
            raise ValueError(f"max: cannot take the max of an empty tensor of shape {x.shape}")
        top = x.max(axis=axes, keepdims=True)
        self.is_top = (x == top) | (np.isnan(x) & np.isnan(top))  # NaN == NaN is False
        self.ties = self.is_top.sum(axis=axes, keepdims=True, dtype=x.dtype)
        return np.asarray(top if keepdim else top.reshape([n for i, n in enumerate(x.shape) if i not in axes]))

    def backward(self, grad):
        return self.is_top * (self._with_kept_dims(grad) / self.ties)


class LogSumExp(_Reduction):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))), m the max: never overflows."""

    def forward(self, x, dim, keepdim=False):
        axes = self._axes(x, dim, keepdim)
        top = x.max(axis=axes, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)  # all -inf: exp(-inf - 0) = 0, log 0 = -inf
        with np.errstate(divide="ignore"):
            out = np.log(np.exp(x - top).sum(axis=axes, keepdims=True)) + top
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(self, grad):
        (x,), out = self.inputs, self._with_kept_dims(self.output)
        return self._with_kept_dims(grad) * xp.exp(x - out)  # softmax(x): d logsumexp / dx
