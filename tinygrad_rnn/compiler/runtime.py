"""Helpers the generated code calls: the GEMM and row reductions numba has no array form for,
and the scalar activations of kernels/activations.py.

Plain arrays in and out, as in kernels/: under NUMBA_DISABLE_JIT=1 they run
as numpy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..kernels.blas import matmul_into, matmul_tn_into
from ..kernels.threads import blas_threads, set_blas_threads
from ..kernels.activations import log_sigmoid, sigmoid, tanh  # noqa: F401  (for the generated code)


# Up to this many rows (a batch of one or two, the tail of a packed batch), a product is a
# loop of ours: a GEMM call costs more than the arithmetic (BLAS wakes its threads for it)
FEW_ROWS = 2


@njit(cache=True)
def mm(a, b):
    """a @ b for 2-D arrays, through BLAS; operands whose rows are not contiguous are copied."""
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if a.shape[0] <= FEW_ROWS:
        _few_rows_times(a, b, out)
    elif b.shape[1]:
        matmul_into(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    return out


@njit(cache=True, fastmath={"contract"})
def _few_rows_times(a, b, out):
    """out = a @ b, row by row: each row of out sums the rows of b, scaled (vectorizes along them)."""
    for i in range(a.shape[0]):
        row = out[i]
        row[:] = 0
        for p in range(a.shape[1]):
            scale, source = a[i, p], b[p]
            for j in range(row.shape[0]):
                row[j] += scale * source[j]


@njit(cache=True)
def mm_tn(a, b):
    """a.T @ b for 2-D arrays, through BLAS, a never transposed in memory: the weight gradients."""
    out = np.empty((a.shape[1], b.shape[1]), a.dtype)
    if a.shape[1] and b.shape[1]:
        matmul_tn_into(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    return out


@njit(cache=True)
def row_max(a):
    """The largest value of each row of a 2-D array, as a column (n, 1)."""
    out = np.empty((a.shape[0], 1), a.dtype)
    for i in range(a.shape[0]):
        out[i, 0] = a[i].max()
    return out


@njit(cache=True)
def row_min(a):
    """The smallest value of each row of a 2-D array, as a column (n, 1): the largest of -a, negated."""
    return -row_max(-a)


@njit(cache=True)
def row_sum(a):
    """The sum of each row of a 2-D array, as a column (n, 1)."""
    return np.sum(a, axis=1).reshape((a.shape[0], 1))


@njit(cache=True)
def limit_threads(count):
    """BLAS on at most ``count`` threads from here on (0: as many as it has); the count before.

    A compiled scan limits its time loop, where each step's GEMM is small, and the GEMMs
    hoisted over all steps only when those are small too (kernels/threads.py says why).
    """
    before = blas_threads()
    if 0 < count < before:
        set_blas_threads(count)
    return before


@njit(cache=True)
def restore_threads(before):
    if blas_threads() != before:
        set_blas_threads(before)
