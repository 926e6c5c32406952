"""Gradient clipping, the classic remedy for gradients that explode through time."""

from __future__ import annotations

import math

import numpy as np

from ... import arguments
from ...tensor import Tensor


def _grads(fn: str, parameters) -> list[np.ndarray]:
    """The gradients of ``parameters`` (one tensor or an iterable), skipping those with none."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if not hasattr(parameters, "__iter__"):
        raise TypeError(
            f"{fn}: parameters must be a Tensor or an iterable of them, got {type(parameters).__name__}"
        )
    parameters = list(parameters)
    for p in parameters:
        arguments.instance(fn, "parameters", p, Tensor)
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale gradients in place so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm (``inf`` for the largest
    magnitude) of all gradients joined into one vector. When it exceeds
    ``max_norm`` every gradient is multiplied by max_norm / (total + 1e-6), as
    in PyTorch. A nan total norm leaves the gradients as they are; pass
    ``error_if_nonfinite=True`` to raise RuntimeError on nan or inf instead.
    ``foreach`` is accepted for PyTorch compatibility and ignored. Returns the
    total norm before clipping as a 0-d tensor (0.0 when no parameter has a gradient).
    """
    # a NaN max_norm would silently switch clipping off: number() refuses it
    max_norm = arguments.number("clip_grad_norm_", "max_norm", max_norm, low=0)
    norm_type = arguments.number("clip_grad_norm_", "norm_type", math.inf if norm_type == "inf" else norm_type,
                                 low=0, low_open=True)
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    # float64 so that float32 gradients cannot overflow when squared
    norms = [np.linalg.norm(g.astype(np.float64, copy=False).ravel(), norm_type) for g in grads if g.size]
    total = float(np.linalg.norm(np.array(norms), norm_type)) if norms else 0.0
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        with np.errstate(invalid="ignore"):  # an inf gradient times 0 is nan, as in PyTorch
            for g in grads:
                g *= coefficient
    return Tensor(np.asarray(total, np.result_type(*grads)))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    # a NaN clip_value would turn every gradient into NaN: number() refuses it
    clip_value = arguments.number("clip_grad_value_", "clip_value", clip_value, low=0)
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g, -clip_value, clip_value, out=g)
