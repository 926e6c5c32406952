"""Jacobians, Hessians and their products for functions of tensors: torch.autograd.functional.

Every function here takes ``func`` (tensors in, a tensor or a tuple of
tensors out) and ``inputs`` (a tensor or a tuple of tensors), with PyTorch's
signatures and return structure: a tuple of inputs gives a tuple of
results, a single tensor a single result. The inputs are detached first, so
the results carry no graph unless ``create_graph=True``; with ``strict=True``
an output that does not depend on an input raises instead of giving zeros.

All of them are reverse mode, built on ``grad``. Forward-mode products (``jvp``)
use the double-vjp trick: the vector-Jacobian product ``u -> u^T J`` is
linear in ``u``, so differentiating it with respect to ``u`` in the
direction ``v`` gives ``J v``. It costs a second backward pass.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import enable_grad, grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, what: str, fn: str) -> tuple[bool, tuple]:
    """(whether ``value`` was a tuple, its tensors as a tuple), checking each is a Tensor."""
    is_tuple = isinstance(value, (tuple, list))
    values = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(values):
        if not isinstance(item, Tensor):
            where = f"{what}[{i}]" if is_tuple else what
            raise TypeError(f"{fn}: {where} must be a Tensor, got {type(item).__name__}")
    return is_tuple, values


def _leaves(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh leaves with the inputs' data, or the inputs themselves to keep their graph."""
    return tuple(t if create_graph and t.requires_grad
                 else Tensor(t.data, requires_grad=need_graph and t.dtype.kind == "f") for t in inputs)


def _check_vector(fn: str, v: tuple, like: tuple, what: str) -> None:
    if len(v) != len(like):
        raise RuntimeError(f"{fn}: v has {len(v)} tensors but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(v, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn}: v[{i}] has shape {a.shape} but {what} {i} has shape {b.shape}")


def _check_requires_grad(fn: str, tensors: tuple, what: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None or not t.requires_grad:
            raise RuntimeError(f"{fn}: {what} {i} does not depend on the inputs, which strict=True "
                               "does not allow (it would give zeros)")


def _grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph=False, retain_graph=None) -> tuple:
    """``grad`` over the outputs that have a graph; None for inputs they do not reach."""
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs or (None,) * len(outputs))
             if out is not None and out.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, seeds = zip(*pairs)
    return grad(outs, inputs, seeds, retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


def _zeros_for_none(fn: str, grads: tuple, like: tuple, strict: bool) -> tuple:
    if strict and any(g is None for g in grads):
        i = next(i for i, g in enumerate(grads) if g is None)
        raise RuntimeError(f"{fn}: the result for input {i} does not depend on it, which strict=True does not allow")
    return tuple(Tensor(np.zeros(t.shape, t.dtype)) if g is None else g for g, t in zip(grads, like))


def _finish(tensors: tuple, create_graph: bool, is_tuple: bool):
    """Detach unless ``create_graph``; unpack a 1-tuple that stands for a single tensor."""
    if not create_graph:
        tensors = tuple(t.detach() for t in tensors)
    return tensors if is_tuple else tensors[0]


def _single_element(fn: str, outputs: tuple, is_tuple: bool) -> None:
    if is_tuple:
        raise RuntimeError(f"{fn}: func should return a single Tensor, got a tuple of {len(outputs)}")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"{fn}: func should return a single-element Tensor, got shape {outputs[0].shape}")


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``v^T J``, J the Jacobian of ``func`` at ``inputs``: returns ``(func_output, vjp)``.

    ``v``: like ``func``'s output (may be left out for a single-element
    output). ``vjp`` is shaped like ``inputs``.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _leaves(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "func's output", "vjp")
        _check_requires_grad("vjp", outputs, "output", strict)
        if v is None:
            _single_element("vjp", outputs, outputs_tuple)
        else:
            v = _leaves(_as_tuple(v, "v", "vjp")[1], create_graph, need_graph=False)
            _check_vector("vjp", v, outputs, "output")
        result = _zeros_for_none("vjp", _grad(outputs, inputs, v, create_graph), inputs, strict)
    return _finish(outputs, create_graph, outputs_tuple), _finish(result, create_graph, inputs_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``J v``, J the Jacobian of ``func`` at ``inputs``: returns ``(func_output, jvp)``.

    ``v``: like ``inputs`` (may be left out for a single-element input).
    ``jvp`` is shaped like the output. Computed by the double-vjp trick (see
    the module's docstring), as PyTorch does.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _leaves(inputs, create_graph, need_graph=True)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("jvp: v can be left out only for a single input with a single element")
        else:
            v = _leaves(_as_tuple(v, "v", "jvp")[1], create_graph, need_graph=False)
            _check_vector("jvp", v, inputs, "input")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "func's output", "jvp")
        _check_requires_grad("jvp", outputs, "output", strict)
        # u^T J is linear in u, so u's value never matters: zeros, which cannot make NaN
        u = tuple(Tensor(np.zeros(out.shape, out.dtype), requires_grad=True) for out in outputs)
        u_jacobian = _grad(outputs, inputs, u, create_graph=True)
        _check_requires_grad("jvp", u_jacobian, "gradient", strict)
        result = _zeros_for_none("jvp", _grad(u_jacobian, u, v, create_graph), outputs, strict)
    return _finish(outputs, create_graph, outputs_tuple), _finish(result, create_graph, outputs_tuple)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``v^T H``, H the Hessian of the scalar ``func`` at ``inputs``: returns ``(func_output, vhp)``.

    ``func`` returns a single-element tensor; ``v`` and ``vhp`` are shaped
    like ``inputs``. One backward with a graph, then one through it.
    """
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``H v``, H the Hessian of the scalar ``func`` at ``inputs``: returns ``(func_output, hvp)``.

    The Hessian of a twice-differentiable function is symmetric, so ``H v``
    equals ``v^T H``: this computes ``vhp``, which needs one backward pass
    fewer than PyTorch's double-backward trick and gives the same values.
    """
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


def _hessian_product(fn: str, func, inputs, v, create_graph: bool, strict: bool):
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
        inputs = _leaves(inputs, create_graph, need_graph=True)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError(f"{fn}: v can be left out only for a single input with a single element")
        else:
            v = _leaves(_as_tuple(v, "v", fn)[1], create_graph, need_graph=False)
            _check_vector(fn, v, inputs, "input")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "func's output", fn)
        _single_element(fn, outputs, outputs_tuple)
        _check_requires_grad(fn, outputs, "output", strict)
        gradient = _grad(outputs, inputs, create_graph=True)
        _check_requires_grad(fn, gradient, "gradient", strict)
        result = _zeros_for_none(fn, _grad(gradient, inputs, v, create_graph), inputs, strict)
    return _finish(outputs, create_graph, outputs_tuple), _finish(result, create_graph, inputs_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    For one input and one output, a tensor of shape ``output.shape +
    input.shape``; with tuples, a tuple over the outputs of tuples over the
    inputs (one level less when either is a single tensor). ``strategy``:
    'reverse-mode' (one backward per output element) or 'forward-mode' (one
    ``jvp`` per input element). ``vectorize`` is accepted for PyTorch's
    signature; rows are always computed one at a time.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _leaves(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "func's output", "jacobian")
        _check_requires_grad("jacobian", outputs, "output", strict)
        if strategy == "reverse-mode":
            blocks = _reverse_blocks(outputs, inputs, create_graph, strict)
        else:
            blocks = _forward_blocks(func, outputs, inputs, create_graph, strict)
    blocks = tuple(_finish(row, create_graph, True) for row in blocks)
    return _nest(blocks, outputs_tuple, inputs_tuple)


def _reverse_blocks(outputs, inputs, create_graph, strict) -> tuple:
    """d(output i)/d(input j) for every i, j, one row of the Jacobian per backward."""
    blocks = []
    for i, out in enumerate(outputs):
        rows = [[] for _ in inputs]
        for k in range(out.numel()):
            seed = np.zeros(out.numel(), out.dtype)
            seed[k] = 1
            row = _grad((out,), inputs, (seed.reshape(out.shape),), create_graph, retain_graph=True)
            for j, g in enumerate(row):
                if g is None and strict:
                    raise RuntimeError(f"jacobian: output {i} does not depend on input {j}, "
                                       "which strict=True does not allow")
                rows[j].append(Tensor(np.zeros(inputs[j].shape, inputs[j].dtype)) if g is None else g)
        blocks.append(tuple(_stacked(r, out.shape, x, axis=0) for r, x in zip(rows, inputs)))
    return tuple(blocks)


def _forward_blocks(func, outputs, inputs, create_graph, strict) -> tuple:
    """d(output i)/d(input j) for every i, j, one column of the Jacobian per ``jvp``."""
    columns = [[[] for _ in inputs] for _ in outputs]
    for j, x in enumerate(inputs):
        for k in range(x.numel()):
            v = tuple(Tensor(np.zeros(t.shape, t.dtype)) for t in inputs)
            v[j].data.reshape(-1)[k] = 1
            _, column = jvp(func, inputs, v, create_graph, strict)
            for i, c in enumerate(column if isinstance(column, tuple) else (column,)):
                columns[i][j].append(c)
    return tuple(tuple(_stacked(columns[i][j], out.shape, x, axis=-1) for j, x in enumerate(inputs))
                 for i, out in enumerate(outputs))


def _stacked(pieces: list, output_shape: tuple, x: Tensor, axis: int) -> Tensor:
    """Rows (``axis=0``) or columns (``axis=-1``) of a Jacobian block, as ``output_shape + x.shape``."""
    shape = output_shape + x.shape
    if not pieces:
        return Tensor(np.zeros(shape, x.dtype))
    return ops.Stack.apply(*pieces, dim=axis).reshape(shape)


def _nest(blocks: tuple, outputs_tuple: bool, inputs_tuple: bool):
    """PyTorch's nesting: outputs outside, inputs inside; a single tensor stands for a 1-tuple."""
    rows = [row if inputs_tuple else row[0] for row in blocks]
    return tuple(rows) if outputs_tuple else rows[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of the scalar ``func`` at ``inputs``: the Jacobian of its gradient.

    For one input, a tensor of shape ``input.shape + input.shape``; for a
    tuple of inputs, a tuple of tuples, ``[i][j]`` = d2 func / d input_i d input_j.
    """
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*xs):
        out_tuple, out = _as_tuple(func(*xs), "func's output", "hessian")
        _single_element("hessian", out, out_tuple)
        _check_requires_grad("hessian", out, "output", strict)
        return out[0].reshape(())

    def gradient(*xs):
        return jacobian(scalar, xs, create_graph=True, strict=strict)

    blocks = jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy)
    rows = [row if inputs_tuple else row[0] for row in blocks]
    return tuple(rows) if inputs_tuple else rows[0]
