"""Weight initialisation, with torch.nn.init's names and formulas.

Each function overwrites ``t.data`` in place (the tensor keeps its identity,
shape and dtype), draws from ``tinygrad_rnn.rng.generator()`` so that
``manual_seed`` reproduces it, and returns ``t``. Writing to ``.data`` is not
recorded on the tape.
"""

from __future__ import annotations

import math

import numpy as np

from .. import arguments, rng
from ..tensor import Tensor


def _check(fn: str, t, floating: bool = True) -> None:
    arguments.instance(fn, "tensor", t, Tensor)
    if floating:
        arguments.floating_point(fn, "tensor", t)


def _fan_in_and_fan_out(fn: str, t: Tensor) -> tuple[int, int]:
    """Inputs and outputs per unit of a ``(out, in, *kernel)`` weight, as PyTorch counts them."""
    if t.ndim < 2:
        raise ValueError(
            f"{fn}: fan in and fan out need a tensor with at least 2 dims, got shape {t.shape}"
        )
    receptive_field = math.prod(t.shape[2:])
    return t.shape[1] * receptive_field, t.shape[0] * receptive_field


_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    linear and sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2))
    (``param`` is the slope, 0.01 by default), selu 3/4.
    """
    arguments.choice("calculate_gain", "nonlinearity", nonlinearity, (*_GAINS, "leaky_relu"))
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else arguments.real("calculate_gain", "negative_slope", param)
        return math.sqrt(2.0 / (1 + slope**2))
    return _GAINS[nonlinearity]


def _fill(t: Tensor, values) -> Tensor:
    """Write ``values`` into ``t`` in place; a graph that saved ``t`` can no longer backward."""
    t.data[...] = values
    t._bump_version()
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of U(a, b)."""
    _check("uniform_", t)
    a, b = arguments.real("uniform_", "a", a), arguments.real("uniform_", "b", b)
    if not (-math.inf < a <= b < math.inf):
        raise ValueError(f"uniform_: the range needs finite a <= b, got a={a}, b={b}")
    return _fill(t, rng.generator().uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of N(mean, std^2)."""
    _check("normal_", t)
    mean, std = arguments.real("normal_", "mean", mean), arguments.real("normal_", "std", std)
    if not (math.isfinite(mean) and 0 <= std < math.inf):
        raise ValueError(f"normal_: needs a finite mean and a finite std >= 0, got mean={mean}, std={std}")
    return _fill(t, rng.generator().normal(mean, std, t.shape))


def constant_(t: Tensor, val: float) -> Tensor:
    """Fill ``t`` with ``val``."""
    _check("constant_", t, floating=False)
    val = arguments.real("constant_", "val", val)
    try:
        return _fill(t, val)
    except (OverflowError, ValueError):  # inf, NaN or a huge value into an integer tensor
        raise ValueError(f"constant_: val {val} cannot be stored in a tensor of dtype {t.dtype}") from None


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1)


def eye_(t: Tensor) -> Tensor:
    """Fill the 2-D ``t`` with the identity (ones on the diagonal of a rectangle too).

    An identity recurrent weight with a relu is the IRNN of Le, Jaitly and Hinton (2015).
    """
    _check("eye_", t, floating=False)
    if t.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors can be an identity, got shape {t.shape}")
    return _fill(t, np.eye(*t.shape))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    _check("xavier_uniform_", t)
    gain = arguments.number("xavier_uniform_", "gain", gain, -math.inf, math.inf, True, True)
    fan_in, fan_out = _fan_in_and_fan_out("xavier_uniform_", t)
    if fan_in + fan_out == 0:
        return t  # nothing to fill
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015).

    ``fan`` is fan_in or fan_out (``mode``); ``gain = calculate_gain(nonlinearity, a)``.
    With ``a=sqrt(5)`` this is PyTorch's Linear default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    _check("kaiming_uniform_", t)
    arguments.number("kaiming_uniform_", "a", a, -math.inf, math.inf, True, True)
    arguments.choice("kaiming_uniform_", "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = _fan_in_and_fan_out("kaiming_uniform_", t)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return t  # a tensor with no elements
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(t, -bound, bound)


def orthogonal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013).

    ``t`` of shape ``(rows, *rest)`` is treated as a ``rows x prod(rest)``
    matrix: its rows are orthonormal if rows <= cols, else its columns. The
    Q of a Gaussian matrix's QR, with signs fixed by R's diagonal, is
    uniformly distributed over orthogonal matrices.
    """
    _check("orthogonal_", t)
    gain = arguments.number("orthogonal_", "gain", gain, -math.inf, math.inf, True, True)
    if t.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dims are supported, got shape {t.shape}"
        )
    if t.data.size == 0:
        return t
    rows = t.shape[0]
    cols = t.data.size // rows
    flat = rng.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))
