"""Functions that make tensors: factories, and joins of several tensors."""

from __future__ import annotations

import numpy as np

from . import arguments, ops, rng
from .tensor import DEFAULT_FLOAT, Tensor, _where


def _shape(fn: str, shape) -> tuple:
    """``shape`` given as ints or as one tuple or list, checked: every size an int >= 0."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for size in shape:
        arguments.integer(fn, "size", size, low=0)
    return shape


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A tensor of ``data`` with the dtype ``torch.tensor`` infers when ``dtype`` is None: Python
    floats give float32, ints int64, bools bool (``tg.tensor([0, 1, 2])`` is int64, ready to be
    class targets); an ndarray or a Tensor keeps its dtype.

    (``Tensor(data)`` makes Python numbers float32, as ``torch.Tensor`` does.)
    """
    if dtype is None and not isinstance(data, (Tensor, np.ndarray, np.generic)):
        kind = np.asarray(data).dtype.kind if _is_numbers(data) else "f"  # anything else: Tensor's own errors
        dtype = {"b": bool, "i": np.int64, "u": np.int64}.get(kind, DEFAULT_FLOAT)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _is_numbers(data) -> bool:
    """Whether ``data`` is a Python number or a (nested) list or tuple of them, not ragged."""
    try:
        return np.asarray(data).dtype.kind in "biuf"
    except (TypeError, ValueError):  # ragged
        return False


def zeros(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape("zeros", shape), dtype), requires_grad)


def ones(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape("ones", shape), dtype), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``shape`` filled with ``fill_value``; the dtype, if not given, is the value's as in
    PyTorch: ``full((2,), 4)`` is int64, ``full((2,), 4.0)`` float32, ``full((2,), True)`` bool."""
    if dtype is None:
        dtype = tensor(fill_value).dtype
    return Tensor(np.full(_shape("full", (shape,)), fill_value, dtype), requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(t.data), requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(t.data), requires_grad)


def randn(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the generator that ``manual_seed`` seeds."""
    return Tensor(rng.generator().standard_normal(_shape("randn", shape)).astype(dtype), requires_grad)


def rand(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the generator that ``manual_seed`` seeds."""
    return Tensor(rng.generator().random(_shape("rand", shape)).astype(dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """``start, start + step, ...`` below ``stop``: int64 if all three are ints, else float32 (as PyTorch)."""
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
    if dtype is None:
        bounds = [b for b in (start, stop, step) if b is not None]
        dtype = np.int64 if all(isinstance(b, (int, np.integer)) for b in bounds) else DEFAULT_FLOAT
    return Tensor(np.arange(start, stop, step, dtype=dtype))


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing ``dim``; all other dims must agree."""
    return ops.Cat.apply(*_tensor_list("cat", tensors), dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new ``dim``."""
    return ops.Stack.apply(*_tensor_list("stack", tensors), dim=dim)


def _tensor_list(fn: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}: tensors must be a list or tuple of Tensors, got {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        arguments.tensor(fn, f"tensors[{i}]", t)
    return tensors


def where(condition, a, b) -> Tensor:
    """Elementwise ``a`` where ``condition`` holds, else ``b`` (all three broadcast).

    ``a`` and ``b`` (tensors or numbers) are promoted as PyTorch does: ``where(c, 4, 2)`` is int64.
    """
    return _where(condition, a, b)
