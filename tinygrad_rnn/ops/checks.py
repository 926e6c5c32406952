"""Argument checks shared by the primitives: errors name the op and the shapes."""

import numpy as np


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
    """``dim`` (None, an int or a sequence of ints) as a sorted tuple of axes; None and an empty
    sequence mean every axis, as in PyTorch (``x.sum(dim=())`` is the sum of all)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)  # a lone bad dim meets the int check
    axes = tuple(sorted(normalize_dim(op, d, ndim) for d in dims))
    if ndim == 0:
        return ()
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} repeats an axis")
    return axes


def _is_integer(part) -> bool:
    """An int index (a 0-d integer array too: PyTorch treats a 0-d integer tensor as an int)."""
    if isinstance(part, np.ndarray):
        return part.ndim == 0 and part.dtype.kind in "iu"
    return isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_))


def _is_array(part) -> bool:
    return isinstance(part, list) or (isinstance(part, np.ndarray) and not _is_integer(part))


def split_index(index) -> tuple:
    """``(selection, picking)``: ``index`` in two steps that give PyTorch's result, or ``(index, None)``.

    PyTorch applies the integers of an index first (each removes its dim) and then the integer
    arrays and masks; numpy treats an integer next to arrays as one more array, and puts the
    picked dims first when a slice separates them (``x[0, :, idx]``). ``selection`` keeps the
    integers, slices, None and Ellipsis; ``picking`` applies the arrays to what is left.
    """
    parts = index if isinstance(index, tuple) else (index,)
    if not (any(_is_integer(p) for p in parts) and any(_is_array(p) for p in parts)):
        return index, None  # numpy and PyTorch agree
    selection, picking = [], []
    for part in parts:
        if _is_integer(part):
            selection.append(part)
        elif _is_array(part):
            dims = np.asarray(part).ndim if np.asarray(part).dtype == bool else 1  # a mask spans its dims
            selection.extend([slice(None)] * dims)
            picking.append(part)
        elif part is Ellipsis:
            selection.append(part)
            picking.append(part)
        else:  # a slice, None or a bool: one dim of the selection's result
            selection.append(part)
            picking.append(slice(None))
    return tuple(selection), tuple(picking)
