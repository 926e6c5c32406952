"""Functions that make tensors: factories, and joins of several tensors."""

from __future__ import annotations

import numpy as np

from . import arguments, ops, rng
from .tensor import DEFAULT_FLOAT, Tensor, supported_dtype


def _shape(fn: str, shape) -> tuple:
    """``shape`` given as ints or as one tuple or list, checked: every size an int >= 0."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for size in shape:
        arguments.integer(fn, "size", size, low=0)
    return shape


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape("zeros", shape), dtype), requires_grad)


def ones(*shape, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape("ones", shape), dtype), requires_grad)


def full(shape, fill_value, dtype=DEFAULT_FLOAT, requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(_shape("full", (shape,)), fill_value, dtype), requires_grad)


def zeros_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    return full_like(t, 0, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    return full_like(t, 1, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in every entry of ``t``'s shape, and of its dtype unless ``dtype`` is given."""
    arguments.tensor("full_like", "input", t)
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
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
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
    """Elementwise ``a`` where ``condition`` holds, else ``b`` (all three broadcast)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be bool, got dtype {condition.dtype} (shape {condition.shape})")
    if not isinstance(a, Tensor):
        a = b._lift(a) if isinstance(b, Tensor) else Tensor(a)
    if not isinstance(b, Tensor):
        b = a._lift(b)
    return ops.Where.apply(a, b, condition=condition)
