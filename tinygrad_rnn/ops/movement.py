"""Primitives that move data without arithmetic: shape, order, selection, joining."""

import numpy as np

from ..autograd import Function
from ..autograd.gradients import SliceGrad, scatter_add
from ..tensor import Tensor
from . import xp
from .checks import normalize_dim

__all__ = ["Reshape", "Permute", "Expand", "GetItem", "IndexPut", "Cat", "Stack"]


class _View(Function):
    """A primitive whose output shares its input's memory (a reshape, a transpose, a slice):
    the output shares the input's version count, so a write to either is seen through both.
    It reads nothing back in backward."""

    reads_inputs = reads_output = False

    @classmethod
    def apply(cls, *inputs, **params):
        out = super().apply(*inputs, **params)
        out._version_counter = inputs[0]._shared_version_counter()
        return out


class Reshape(_View):
    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


class Permute(_View):
    def forward(self, x, dims):
        dims = tuple(normalize_dim(self.name, d, x.ndim) for d in dims)
        if sorted(dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of shape {x.shape}")
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad):
        return xp.transpose(grad, self.inverse)


class Expand(_View):
    """Broadcast to a larger shape; the tape's unbroadcast sums the gradient back."""

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return grad


def _is_advanced(index) -> bool:
    """Integer-array or mask indexing, where one element may be picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def selection_grad(grad, shape: tuple, index, unique: bool):
    """The gradient of ``x[index]`` for an ``x`` of ``shape``: ``grad`` at ``index``, zero elsewhere.

    An ordinary backward returns it as a SliceGrad, which the tape adds into
    its buffer in place; a recorded one (``grad`` a Tensor) as the primitive
    IndexPut, so that it can be differentiated again.
    """
    if isinstance(grad, Tensor):
        return IndexPut.apply(grad, shape=shape, index=index, unique=unique)
    return SliceGrad(index, grad, unique)


class GetItem(_View):
    """x[index] for ints, slices, None, Ellipsis, integer arrays and boolean masks."""

    def forward(self, x, index):
        self.index, self.input_shape = index, x.shape
        return np.asarray(x[index])

    def backward(self, grad):
        return selection_grad(grad, self.input_shape, self.index, unique=not _is_advanced(self.index))


class IndexPut(Function):
    """Zeros of ``shape`` with ``values`` added at ``index``: the gradient of ``x[index]``.

    A selection's backward is this scatter, and the scatter's backward is the
    selection again: the tape records it when it differentiates a gradient.
    ``unique`` says no element is picked twice (else repeated picks add up).
    """

    reads_inputs = reads_output = False

    def forward(self, values, shape, index, unique=False):
        self.index = index
        out = np.zeros(shape, values.dtype)
        scatter_add(out, index, values, unique)
        return out

    def backward(self, grad):
        return grad[self.index]


class Cat(Function):
    """Join tensors along an existing dim."""

    reads_inputs = reads_output = False

    def forward(self, *xs, dim=0):
        if not xs:
            raise ValueError("cat: expected a non-empty sequence of tensors")
        self.dim = normalize_dim(self.name, dim, xs[0].ndim)
        _check_same_shape_except(self.name, xs, self.dim)
        self.bounds = np.cumsum([x.shape[self.dim] for x in xs])[:-1]
        return np.concatenate(xs, axis=self.dim)

    def backward(self, grad):
        return xp.split(grad, self.bounds, self.dim)


class Stack(Function):
    """Join tensors of one shape along a new dim."""

    reads_inputs = reads_output = False

    def forward(self, *xs, dim=0):
        if not xs:
            raise ValueError("stack: expected a non-empty sequence of tensors")
        self.dim = normalize_dim(self.name, dim, xs[0].ndim + 1)
        _check_same_shape_except(self.name, xs, None)
        return np.stack(xs, axis=self.dim)

    def backward(self, grad):
        return xp.unstack(grad, self.dim)


def _check_same_shape_except(op, xs, dim):
    first = xs[0].shape
    for i, x in enumerate(xs):
        same_rank = x.ndim == len(first)
        if not same_rank or any(a != b for d, (a, b) in enumerate(zip(x.shape, first)) if d != dim):
            where = "" if dim is None else f" except along dim {dim}"
            raise ValueError(
                f"{op}: all tensors must have the same shape{where}; "
                f"tensor 0 has shape {first} but tensor {i} has shape {x.shape}"
            )
