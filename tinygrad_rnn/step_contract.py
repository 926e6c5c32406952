"""What ``tg.scan`` asks of its arguments and of its step, checked in one place.

The loop on the tape (scan.py) and the compiler's trace (compiler/trace.py)
both pack the sequence and call the step through these, so a step that
breaks the contract gets the same error on either path.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


def as_packed(xs, batch_sizes, carry: tuple):
    """(rows (sum(batch_sizes), ...), batch_sizes, whether xs came padded as (T, N, ...)), checked."""
    if not isinstance(xs, Tensor):
        raise TypeError(f"scan: xs must be a Tensor, got {type(xs).__name__}")
    for i, c in enumerate(carry):
        if not isinstance(c, Tensor) or c.ndim == 0:
            raise TypeError(f"scan: init[{i}] must be a Tensor with the batch first, got "
                            f"{type(c).__name__} {getattr(c, 'shape', '')}")
    batch = carry[0].shape[0]
    if any(c.shape[0] != batch for c in carry):
        raise ValueError(f"scan: every part of init must have the same batch first, got {[c.shape for c in carry]}")
    if batch_sizes is None:
        if xs.ndim < 2 or xs.shape[1] != batch:
            raise ValueError(f"scan: xs must be (T, N, ...) with N = {batch} (the carry's batch), got {xs.shape}")
        return xs.reshape(xs.shape[0] * batch, *xs.shape[2:]), np.full(xs.shape[0], batch, np.int64), True
    batch_sizes = np.asarray(batch_sizes)
    if batch_sizes.ndim != 1 or batch_sizes.dtype.kind not in "iu" or batch_sizes.size == 0:
        raise TypeError(f"scan: batch_sizes must be a non-empty 1-D int array, got {batch_sizes!r}")
    if (batch_sizes < 1).any() or (np.diff(batch_sizes) > 0).any() or batch_sizes[0] != batch:
        raise ValueError(f"scan: batch_sizes {batch_sizes.tolist()} must be positive, non-increasing and "
                         f"start with N = {batch}, the carry's batch")
    if xs.ndim < 1 or xs.shape[0] != batch_sizes.sum():
        raise ValueError(f"scan: packed xs must have sum(batch_sizes) = {batch_sizes.sum()} rows, got {xs.shape}")
    return xs, batch_sizes.astype(np.int64), False


def call_step(step, carry: tuple, single: bool, x_t: Tensor) -> tuple[tuple, object]:
    """``step`` on one step's rows, its result checked: (new carry as a tuple, y_t)."""
    result = step(carry[0] if single else carry, x_t)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"scan: step must return (new_carry, y_t), got {type(result).__name__}")
    new, y = result
    new = (new,) if single else tuple(new) if isinstance(new, (tuple, list)) else None
    if new is None or len(new) != len(carry) or any(
            not isinstance(n, Tensor) or n.shape != c.shape or n.dtype != c.dtype for n, c in zip(new, carry)):
        raise ValueError(
            "scan: step's new carry must match the carry it was given in structure, shapes and dtypes: "
            f"given {[(c.shape, str(c.dtype)) for c in carry]}, returned "
            f"{new if new is None else [(getattr(n, 'shape', n), str(getattr(n, 'dtype', ''))) for n in new]}"
        )
    if y is not None and (not isinstance(y, Tensor) or y.ndim == 0 or y.shape[0] != x_t.shape[0]):
        raise ValueError(f"scan: y_t must be None or a Tensor with the step's {x_t.shape[0]} rows first, "
                         f"got {getattr(y, 'shape', type(y).__name__)}")
    return new, y
