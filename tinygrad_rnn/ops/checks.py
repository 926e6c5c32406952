"""Argument checks shared by the primitives: errors name the op and the shapes."""

import numpy as np

from ..tensor import Tensor


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis of a tensor with ``ndim`` dims, or IndexError."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dims "
            f"(expected {-max(ndim, 1)} to {max(ndim, 1) - 1})"
        )
    return int(dim) % max(ndim, 1)


def normalize_dims(op: str, dim, ndim: int) -> tuple:
    """``dim`` (None, an int or a sequence of ints) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)  # a lone bad dim meets the int check
    axes = tuple(sorted(normalize_dim(op, d, ndim) for d in dims))
    if ndim == 0:
        return ()
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} repeats an axis")
    return axes


def plain_index(index):
    """An index for ndarray.__getitem__: tensors inside it become their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index
