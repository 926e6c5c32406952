"""Elementwise kernels for the stable forms that branch on each element's sign,
and for the error function, which numpy lacks.

numpy would compute both branches for every element (and warn on the one that
overflows); a compiled loop computes only the one that cannot.
"""

import math

import numpy as np
from numba import njit

from . import CACHE


@njit(cache=CACHE)
def _sigmoid(x, out):
    for i in range(x.size):
        v = x[i]
        if v >= 0:  # exp of a non-positive number never overflows
            out[i] = 1 / (1 + np.exp(-v))
        else:
            e = np.exp(v)
            out[i] = e / (1 + e)


@njit(cache=CACHE)
def _log_sigmoid(x, out):
    for i in range(x.size):
        v = x[i]
        # exp of a non-positive number never overflows, and log1p keeps tiny terms
        out[i] = min(v, 0) - np.log1p(np.exp(-abs(v)))


@njit(cache=CACHE)
def _erf(x, out):
    for i in range(x.size):
        out[i] = math.erf(x[i])


def _map(kernel, x: np.ndarray) -> np.ndarray:
    """Run ``kernel`` over every element of ``x``, into a new array of its shape and dtype.

    numba compiles no float16: it is computed in float32 and rounded back.
    """
    if x.dtype == np.float16:
        return _map(kernel, x.astype(np.float32)).astype(np.float16)
    out = np.empty(x.shape, x.dtype)
    kernel(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for any finite x."""
    return _map(_sigmoid, x)


def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x."""
    return _map(_log_sigmoid, x)


def erf(x):
    """The error function 2/sqrt(pi) * integral of exp(-t^2) from 0 to x (the C library's)."""
    return _map(_erf, x)
