"""The scalar activations every kernel uses: sigmoid, tanh and log_sigmoid of one number.

Each is defined once, below, as plain Python on one number; under
NUMBA_DISABLE_JIT=1 these bodies are what runs. Compiled, they are used three ways:

- the array kernels of pointwise.py (the Sigmoid and LogSigmoid primitives)
  compile the bodies as written, with libm's exp: exact down to sigmoid(-inf) = 0;
- the hand-written recurrences (recurrent.py) and the code ``tg.scan`` generates
  (through compiler/runtime.py) call ``sigmoid`` and ``tanh`` by name inside
  their loops, and numba gives those calls the overloads at the end of this
  file: the same math on an exp LLVM can vectorize;
- ``log_sigmoid`` has no faster form: every kernel compiles its body.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import VECTORIZED


def sigmoid(v):
    """1 / (1 + exp(-v)), from exp(-|v|), which cannot overflow."""
    e = np.exp(-abs(v))
    return 1 / (1 + e) if v >= 0 else e / (1 + e)


def tanh(v):
    """tanh(v); compiled: from exp(-2|v|) - 1, relative error a few ulps (see the overload)."""
    return np.tanh(v)


@njit(inline="always", **VECTORIZED)
def log_sigmoid(v):
    """log(sigmoid(v)) = min(v, 0) - log1p(exp(-|v|)), finite for any finite v.

    exp of a non-positive number never overflows, and log1p keeps the tiny terms.
    ``e - e`` is min's 0 in v's type (numba would compute a float32 v against a
    literal 0 in float64); e is finite unless v is NaN, and then so is the result.
    """
    e = np.exp(-abs(v))
    return (v if v < 0 else e - e) - np.log1p(e)


# -- the compiled forms of sigmoid and tanh, for the fused loops ---------------------------
# libm's exp and tanh are one call per element, which stops LLVM from using SIMD; the
# gate math spent more time in them than in the recurrent GEMM. Written as plain
# arithmetic the loops vectorize (VECTORIZED's options say why they may). float32 gets
# its own exp with float32 constants (numba would promote float32 * 1.0 to float64):
# 8 SIMD lanes instead of 4, and a shorter series, about 3x faster.


@njit(inline="always", **VECTORIZED)
def _exp_parts64(a):
    """(m, s) with exp(-a) = s (1 + m) for a >= 0, float64, each to about 1 ulp.

    a = k ln2 - r with |r| <= ln2 / 2, so exp(-a) = 2**-k exp(r): s = 2**-k, written
    straight into the exponent bits (adding 1.5 * 2**52 rounds to the integer k and
    leaves it in the low bits), and m = exp(r) - 1 by its Taylor series to degree 13.
    Keeping m apart from the 1 keeps its relative precision for tiny a (see _compiled_tanh).
    Beyond a = 708 the result stays at exp(-708) (~3e-308) instead of going subnormal;
    NaN stays NaN.
    """
    a = 708.0 if a > 708.0 else a
    t = a * 1.4426950408889634 + 6755399441055744.0
    k = t - 6755399441055744.0
    r = (k * 6.93147180369123816490e-01 - a) + k * 1.90821492927058770002e-10  # ln 2 in two parts
    p = 1 / 479001600.0 + r * (1 / 6227020800.0)  # Horner, from 1/13! down to 1/1!
    p = 1 / 39916800.0 + r * p
    p = 1 / 3628800.0 + r * p
    p = 1 / 362880.0 + r * p
    p = 1 / 40320.0 + r * p
    p = 1 / 5040.0 + r * p
    p = 1 / 720.0 + r * p
    p = 1 / 120.0 + r * p
    p = 1 / 24.0 + r * p
    p = 1 / 6.0 + r * p
    p = 0.5 + r * p
    p = 1.0 + r * p
    k_bits = np.float64(t).view(np.int64) - np.int64(4843621399236968448)  # bits of 1.5 * 2**52
    return r * p, np.int64((1023 - k_bits) << 52).view(np.float64)


_F = np.float32


@njit(inline="always", **VECTORIZED)
def _exp_parts32(a):
    """(m, s) with exp(-a) = s (1 + m) for a >= 0, float32: as above with 1.5 * 2**23,
    degree 7, and ln 2 split as in Cephes' expf; clamped at a = 87 (~1.6e-38)."""
    a = _F(87.0) if a > _F(87.0) else a
    t = a * _F(1.44269504088896341) + _F(12582912.0)
    k = t - _F(12582912.0)
    r = (k * _F(0.693359375) - a) + k * _F(-2.12194440e-4)
    p = _F(1 / 5040.0) + r * _F(1 / 40320.0)
    p = _F(1 / 720.0) + r * p
    p = _F(1 / 120.0) + r * p
    p = _F(1 / 24.0) + r * p
    p = _F(1 / 6.0) + r * p
    p = _F(0.5) + r * p
    p = _F(1.0) + r * p
    k_bits = np.float32(t).view(np.int32) - np.int32(1262485504)  # bits of 1.5 * 2**23
    return r * p, np.int32((127 - k_bits) << 23).view(np.float32)


def _exp_parts_and_one(v):
    """The exp parts and the constant 1 of the type of ``v`` (a numba type)."""
    return (_exp_parts32, _F(1.0)) if v == types.float32 else (_exp_parts64, 1.0)


@overload(sigmoid, inline="always")
def _compiled_sigmoid(v):
    """Below v = -708 this gives exp(-708), about 3e-308, where the body gives the true,
    smaller value (float32: below -87, 1.6e-38); no gate notices."""
    exp_parts, one = _exp_parts_and_one(v)

    def sigmoid(v):
        m, scale = exp_parts(abs(v))
        e = scale * (one + m)  # exp(-|v|)
        s = one / (one + e)
        return s if v >= 0 else e * s

    return sigmoid


@overload(tanh, inline="always")
def _compiled_tanh(v):
    exp_parts, one = _exp_parts_and_one(v)

    def tanh(v):
        # tanh(a) = -d / (2 + d) with d = exp(-2a) - 1. Computing d as scale * m + (scale - 1)
        # keeps its relative precision as a -> 0 (scale is then exactly 1), where 1 - exp(-2a)
        # would cancel: relative error a few ulps at every size, not only near 1.
        m, scale = exp_parts(abs(v) + abs(v))
        d = scale * m + (scale - one)
        t = abs(d) / (one + one + d)  # abs(d), not -d: tanh(0) is 0, not -0
        return t if v >= 0 else -t

    return tanh
