"""The array functions that backward rules call: each takes ndarrays or Tensors.

A backward rule is written once, with Python's operators and these functions.
Given ndarrays (an ordinary ``backward()``) it is plain numpy. Given Tensors
(``backward(create_graph=True)``, ``tg.autograd.grad``) every step of it is a
recorded primitive, so the gradient has a graph of its own and can be
differentiated again. HIPS autograd writes its rules in ``autograd.numpy`` for
the same reason. The names and arguments are numpy's (``axis``, ``keepdims``).
"""

from __future__ import annotations

import numpy as np

from ..kernels import pointwise as kernel
from ..tensor import Tensor
from ..tensor import _where as tensor_where


def where(condition: np.ndarray, a, b):
    """``a`` where the constant bool array ``condition`` holds, else ``b``; one of them may be a number."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return tensor_where(condition, a, b)
    dtype = np.result_type(a, b)
    return np.where(condition, a, b).astype(dtype, copy=False)


def sum(x, axis, keepdims: bool = False):  # noqa: A001  (numpy's name)
    if isinstance(x, Tensor):
        return x.sum(axis, keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def exp(x):
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x):
    return x.log() if isinstance(x, Tensor) else np.log(x)


def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow for any finite x."""
    return x.sigmoid() if isinstance(x, Tensor) else kernel.sigmoid(x)


def swapaxes(x, axis1: int, axis2: int):
    return x.transpose(axis1, axis2) if isinstance(x, Tensor) else np.swapaxes(x, axis1, axis2)


def transpose(x, axes: tuple):
    return x.permute(axes) if isinstance(x, Tensor) else np.transpose(x, axes)


def broadcast_to(x, shape: tuple):
    return x.expand(shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


def expand_dims(x, axes: tuple):
    """``x`` with a new axis of size 1 at each of ``axes`` (axes of the result)."""
    if isinstance(x, Tensor):
        return x.reshape(np.expand_dims(np.empty(x.shape, bool), axes).shape)
    return np.expand_dims(x, axes)


def split(x, bounds, axis: int) -> tuple:
    """The pieces of ``x`` between ``bounds`` along ``axis`` (numpy.split's indices)."""
    if isinstance(x, Tensor):
        edges = [0, *bounds, x.shape[axis]]
        return x.split([int(b - a) for a, b in zip(edges, edges[1:])], axis)
    return tuple(np.split(x, bounds, axis=axis))


def unstack(x, axis: int) -> tuple:
    """The slices of ``x`` along ``axis``, each without that axis."""
    lead = (slice(None),) * axis
    return tuple(x[lead + (i,)] for i in range(x.shape[axis]))


def astype(x, dtype):
    return x.to(dtype) if isinstance(x, Tensor) else x.astype(dtype)


def zeros_like(x):
    return Tensor(np.zeros(x.shape, x.dtype)) if isinstance(x, Tensor) else np.zeros_like(x)


def sin(x):
    return x.sin() if isinstance(x, Tensor) else np.sin(x)


def cos(x):
    return x.cos() if isinstance(x, Tensor) else np.cos(x)


def clip(x, low, high):
    """``x`` limited to [low, high] (either may be None); NaN stays NaN."""
    return x.clamp(low, high) if isinstance(x, Tensor) else np.clip(x, low, high)


def flip(x, axis: int):
    return x.flip(axis) if isinstance(x, Tensor) else np.flip(x, axis)


def cumsum(x, axis: int):
    return x.cumsum(axis) if isinstance(x, Tensor) else np.cumsum(x, axis)
