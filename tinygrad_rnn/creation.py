"""Functions that make tensors: factories, and joins of several tensors."""

from __future__ import annotations

import numpy as np

from . import arguments, ops, rng
from .tensor import DEFAULT_FLOAT, Tensor, _where, supported_dtype


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


def zeros_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    return full_like(t, 0, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    return full_like(t, 1, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in every entry of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    arguments.instance("full_like", "input", t, Tensor)
    if not isinstance(fill_value, (bool, np.bool_)):
        arguments.real("full_like", "fill_value", fill_value)
    dtype = t.dtype if dtype is None else supported_dtype("full_like", dtype)
    return Tensor(np.full(t.shape, fill_value, dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """The ``(n, m)`` identity matrix (m = n by default): ones on the diagonal."""
    n = arguments.integer("eye", "n", n, low=0)
    m = n if m is None else arguments.integer("eye", "m", m, low=0)
    return Tensor(np.eye(n, m, dtype=supported_dtype("eye", dtype)), requires_grad)


def linspace(start, end, steps: int, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    for name, value in (("start", start), ("end", end)):
        arguments.real("linspace", name, value)
    steps = arguments.integer("linspace", "steps", steps, low=0)
    return Tensor(np.linspace(start, end, steps).astype(supported_dtype("linspace", dtype)), requires_grad)


def randint(low: int = 0, high: int | None = None, size=None, dtype=np.int64) -> Tensor:
    """Integers drawn uniformly from [low, high), of shape ``size``, from the generator ``manual_seed``
    seeds. As torch's: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: give high and size: randint(high, size) or randint(low, high, size)")
    low, high = arguments.integer("randint", "low", low), arguments.integer("randint", "high", high)
    if high <= low:
        raise ValueError(f"randint: high must be larger than low, got low={low}, high={high}")
    shape = _shape("randint", (size,))
    return Tensor(rng.generator().integers(low, high, shape).astype(supported_dtype("randint", dtype)))


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
        arguments.instance(fn, f"tensors[{i}]", t, Tensor)
    return tensors


def where(condition, a, b) -> Tensor:
    """Elementwise ``a`` where ``condition`` holds, else ``b`` (all three broadcast).

    ``a`` and ``b`` (tensors or numbers) are promoted as PyTorch does: ``where(c, 4, 2)`` is int64.
    """
    return _where(condition, a, b)
