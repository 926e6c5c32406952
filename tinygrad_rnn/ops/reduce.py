"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``."""

import numpy as np

from ..autograd import Function
from . import xp
from .checks import normalize_dims

__all__ = ["Sum", "Mean", "Max", "Min", "LogSumExp"]


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
    """Sum over the axes; bool and integer tensors sum to int64, as in PyTorch (numpy: uint64 for uint8)."""

    reads_inputs = reads_output = False

    def forward(self, x, dim=None, keepdim=False):
        dtype = None if x.dtype.kind == "f" else np.int64
        return np.asarray(x.sum(axis=self._axes(x, dim, keepdim), keepdims=keepdim, dtype=dtype))

    def backward(self, grad):
        return xp.broadcast_to(self._with_kept_dims(grad), self.input_shape)


class Mean(_Reduction):
    """Sum over the axes divided by their count; NaN over an empty dim (0 / 0), as in PyTorch."""

    reads_inputs = reads_output = False

    def forward(self, x, dim=None, keepdim=False):
        axes = self._axes(x, dim, keepdim)
        self.count = int(np.prod([x.shape[a] for a in axes]))
        if self.count == 0:  # 0 / 0 (numpy would warn "Mean of empty slice")
            return np.full(x.sum(axis=axes, keepdims=keepdim).shape, np.nan, x.dtype)
        return np.asarray(x.mean(axis=axes, keepdims=keepdim))

    def backward(self, grad):
        # over an empty dim the input has no elements, so there is no gradient to divide by 0
        return xp.broadcast_to(self._with_kept_dims(grad) / max(self.count, 1), self.input_shape)


class _Extremum(_Reduction):
    """The largest (Max) or smallest (Min) value; tied extrema share the gradient equally (as
    torch.amax and torch.amin). Exact in every dtype: integers are compared, never negated
    (-x overflows int8's -128 and has no meaning for bool).

    A NaN is the extremum of its slice (as in numpy and PyTorch), so the
    gradient goes to the NaN (shared if there are several), as in
    ``torch.max``; torch.amax would give NaN to every element of the slice.
    """

    reads_inputs = reads_output = False  # backward reads only the masks forward made
    extremum = None  # np.max or np.min

    def forward(self, x, dim=None, keepdim=False):
        axes = self._axes(x, dim, keepdim)
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot take the {self.name} of an empty tensor of shape {x.shape}")
        top = type(self).extremum(x, axis=axes, keepdims=True)
        self.is_top = (x == top) | (np.isnan(x) & np.isnan(top))  # NaN == NaN is False
        self.ties = self.is_top.sum(axis=axes, keepdims=True, dtype=x.dtype)
        return np.asarray(top if keepdim else top.reshape([n for i, n in enumerate(x.shape) if i not in axes]))

    def backward(self, grad):
        return self.is_top * (self._with_kept_dims(grad) / self.ties)


class Max(_Extremum):
    extremum = np.max


class Min(_Extremum):
    extremum = np.min


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
