"""Elementwise kernels over whole arrays: the stable sigmoid and log-sigmoid, and the error function.

Sigmoid and log-sigmoid are the scalar definitions of activations.py, compiled
as written, in a loop. Sigmoid branches on each element's sign, where numpy
would compute both branches for every element (and warn on the one that
overflows). numpy has no erf; the C library's is one call per element.
"""

import math

import numpy as np
from numba import njit

from . import CACHE
from . import activations

# The definition as written (libm's exp), not the fused loops' vectorizing form, which
# stops at exp(-708): sigmoid(-inf) is exactly 0 here, as PyTorch's
_exact_sigmoid = njit(inline="always", cache=CACHE)(activations.sigmoid)


@njit(cache=CACHE)
def _sigmoid(x, out):
    for i in range(x.size):
        out[i] = _exact_sigmoid(x[i])


@njit(cache=CACHE)
def _log_sigmoid(x, out):
    for i in range(x.size):
        out[i] = activations.log_sigmoid(x[i])


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
    """1 / (1 + exp(-x)) without overflow for any finite x.

    A kernel, not numpy: it computes only the branch of each element's sign, so
    nothing overflows and nothing warns."""
    return _map(_sigmoid, x)


def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x.

    A kernel, not numpy: the one scalar definition (activations.py), which generated code compiles too."""
    return _map(_log_sigmoid, x)


def erf(x):
    """The error function 2/sqrt(pi) * integral of exp(-t^2) from 0 to x (the C library's).

    A kernel, not numpy: numpy has no erf."""
    return _map(_erf, x)
