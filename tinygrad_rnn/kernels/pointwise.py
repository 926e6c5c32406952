"""Elementwise kernels where numpy would need several passes or temporaries."""

import numpy as np
from numba import njit


@njit(cache=True)
def _sigmoid(x, out):
    for i in range(x.size):
        v = x[i]
        if v >= 0:  # exp of a non-positive number never overflows
            out[i] = 1 / (1 + np.exp(-v))
        else:
            e = np.exp(v)
            out[i] = e / (1 + e)


@njit(cache=True)
def _sigmoid_backward(grad, y, out):
    for i in range(y.size):
        out[i] = grad[i] * y[i] * (1 - y[i])


@njit(cache=True)
def _log_sigmoid(x, out):
    for i in range(x.size):
        v = x[i]
        # exp of a non-positive number never overflows, and log1p keeps tiny terms
        out[i] = min(v, 0) - np.log1p(np.exp(-abs(v)))


@njit(cache=True)
def _log_sigmoid_backward(grad, x, out):
    for i in range(x.size):
        v = x[i]
        # d/dv log(sigmoid(v)) = sigmoid(-v), in the branch whose exp cannot overflow
        if v >= 0:
            e = np.exp(-v)
            out[i] = grad[i] * e / (1 + e)
        else:
            out[i] = grad[i] / (1 + np.exp(v))


@njit(cache=True)
def _tanh_backward(grad, y, out):
    for i in range(y.size):
        out[i] = grad[i] * (1 - y[i] * y[i])


def _flat(x: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=dtype).reshape(-1)


def _map(kernel, first: np.ndarray, *others: np.ndarray) -> np.ndarray:
    """Run ``kernel`` over arrays of one shape, in the dtype of ``first``."""
    out = np.empty(first.shape, first.dtype)
    kernel(*(_flat(a, first.dtype) for a in (first, *others)), out.reshape(-1))
    return out


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for any finite x."""
    return _map(_sigmoid, x)


def sigmoid_backward(grad, y):
    """grad * y * (1 - y), given y = sigmoid(x)."""
    return _map(_sigmoid_backward, grad, y)


def tanh_backward(grad, y):
    """grad * (1 - y**2), given y = tanh(x)."""
    return _map(_tanh_backward, grad, y)


def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x."""
    return _map(_log_sigmoid, x)


def log_sigmoid_backward(grad, x):
    """grad * sigmoid(-x), the gradient of log(sigmoid(x))."""
    return _map(_log_sigmoid_backward, grad, x)
