"""Stages 1 and 2, trace and differentiate: run the step once on placeholders, and its backward.

The step runs on placeholder tensors (the carry and the step's input rows)
with the tape on, so every primitive it applies is recorded. Then the
tape's own backward rules run on that graph with ``create_graph=True``
(``autograd.grad``), which records the backward pass as more primitives:
the step's BPTT, derived from the rules the tape always uses, none written
twice. Both graphs become one list of Values.

Tracing runs twice, at two batch sizes: a dimension or a parameter that
follows the batch size becomes the symbolic N, and anything else that
differs between the two runs depends on the data, which a compiled step
cannot (a ``where`` on a mask computed from the input, say).

Like ``jax.jit``, the trace sees the ops the step ran, not its Python: an
``if`` on a tensor's value is decided once, at trace time.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from .. import autograd
from ..autograd import Function
from ..scan import call_step
from ..tensor import Tensor
from .graph import N, Value

TRACE_BATCHES = (2, 3)  # the two batch sizes traced; any two distinct sizes would do

# Arrays a primitive's forward saves from its input data (masks), which its backward reads
# as constants: the compiler recomputes them from the input (kernels.MASKS).
DERIVED_ARRAYS = {"relu": ("positive",), "clamp": ("inside",), "max": ("is_top", "ties")}


class UnsupportedStep(TypeError):
    """The step does something the compiler cannot compile; compiled=False runs it."""


@dataclass
class Trace:
    """A traced step, forward and backward, with its inputs and results picked out."""

    values: list
    carry: list
    x: Value
    params: list  # Values of kind "param", one per tensor in param_tensors
    param_tensors: list
    new_carry: list
    y: Value | None
    grad_carry: list  # the gradients arriving at the new carry, inputs of the backward
    grad_y: Value | None
    d_carry: list  # the gradients leaving through the carry (None where none flows)
    d_x: Value | None
    d_params: list

    @property
    def forward_values(self) -> list:
        """The values the forward pass computes (the rest belong to backward)."""
        needed, pending = set(), [v for v in [*self.new_carry, self.y] if v is not None]
        while pending:
            value = pending.pop()
            if id(value) not in needed:
                needed.add(id(value))
                pending.extend(value.inputs)
        return [v for v in self.values if id(v) in needed]


def trace(step, carry: tuple, single: bool, x_features: tuple, x_dtype) -> Trace:
    """Trace ``step`` (forward and backward) for a carry like ``carry`` and input rows (N, *x_features)."""
    runs = [_run(step, carry, single, x_features, x_dtype, n) for n in TRACE_BATCHES]
    return _merge(*runs)


# -- one run ------------------------------------------------------------------------------


class _Recorder:
    """Watches Function.apply while the step runs: each op's parameters and the step's line."""

    def __init__(self):
        self.calls = {}  # id(output tensor) -> (params, "file:line")
        self._apply = Function.apply.__func__.__code__

    def __enter__(self):
        self._previous = sys.getprofile()
        sys.setprofile(self._watch)
        return self

    def __exit__(self, *exc_info):
        sys.setprofile(self._previous)

    def _watch(self, frame, event, result):
        if event == "return" and frame.f_code is self._apply and isinstance(result, Tensor):
            self.calls[id(result)] = (frame.f_locals["params"], _user_line(frame))


def _user_line(frame) -> str:
    package = os.path.dirname(os.path.dirname(__file__))
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _placeholder(shape: tuple, dtype, rng) -> Tensor:
    return Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def _run(step, carry: tuple, single: bool, x_features: tuple, x_dtype, batch: int) -> Trace:
    rng = np.random.default_rng(batch)
    placeholders = tuple(_placeholder((batch, *c.shape[1:]), c.dtype, rng) for c in carry)
    x = _placeholder((batch, *x_features), x_dtype, rng)
    with _Recorder() as recorder, autograd.enable_grad():
        new_carry, y = call_step(step, placeholders, single, x)
        forward_outputs = [*new_carry, *([] if y is None else [y])]
        params = _closed_over(forward_outputs, {id(t) for t in (*placeholders, x)})
        grad_carry = [_placeholder(c.shape, c.dtype, rng) for c in new_carry]
        grad_y = None if y is None else _placeholder(y.shape, y.dtype, rng)
        seeds = [*grad_carry, *([] if y is None else [grad_y])]
        differentiable = [(out, seed) for out, seed in zip(forward_outputs, seeds) if out.requires_grad]
        wrt = [*placeholders, x, *params]
        grads = [None] * len(wrt)
        if differentiable:
            grads = list(autograd.grad([o for o, _ in differentiable], wrt, [s for _, s in differentiable],
                                       create_graph=True, allow_unused=True))
    kinds = {id(t): (kind, slot) for kind, tensors in
             (("carry", placeholders), ("x", [x]), ("param", params), ("grad_carry", grad_carry),
              ("grad_y", [] if grad_y is None else [grad_y])) for slot, t in enumerate(tensors)}
    roots = [*forward_outputs, *(g for g in grads if g is not None)]
    values, of = _to_values(roots, kinds, recorder.calls)
    lookup = lambda t: None if t is None else of[id(t)]  # noqa: E731
    count = len(placeholders)
    return Trace(values=values, carry=[lookup(t) for t in placeholders], x=lookup(x),
                 params=[lookup(t) for t in params], param_tensors=params,
                 new_carry=[lookup(t) for t in new_carry], y=lookup(y),
                 grad_carry=[lookup(t) for t in grad_carry], grad_y=lookup(grad_y),
                 d_carry=[lookup(g) for g in grads[:count]], d_x=lookup(grads[count]),
                 d_params=[lookup(g) for g in grads[count + 1:]])


def _closed_over(outputs: list, placeholders: set) -> list:
    """The leaves behind ``outputs`` that require grad and are not placeholders: the weights."""
    found, seen = [], set()
    for tensor in autograd._topological_order(outputs):
        for parent in getattr(tensor._node, "parents", ()):
            if parent._node is None and parent.requires_grad and id(parent) not in placeholders \
                    and id(parent) not in seen:
                seen.add(id(parent))
                found.append(parent)
    return found


def _to_values(roots: list, kinds: dict, calls: dict) -> tuple[list, dict]:
    """The graph behind ``roots`` as Values, each after its inputs; and a map from id(tensor)."""
    values, of, derived = [], {}, {}

    def add(**fields) -> Value:
        value = Value(index=len(values), **fields)
        values.append(value)
        return value

    def leaf(tensor: Tensor) -> Value:
        if id(tensor) in kinds:
            kind, slot = kinds[id(tensor)]
            return add(op=kind, slot=slot, shape=tensor.shape, dtype=tensor.dtype)
        if id(tensor.data) in derived:
            return derived[id(tensor.data)]
        return add(op="const", shape=tensor.shape, dtype=tensor.dtype, data=tensor.data)

    for tensor in autograd._topological_order(roots):
        node = tensor._node
        if node is None:
            of.setdefault(id(tensor), leaf(tensor))
            continue
        for parent in node.parents:
            if id(parent) not in of:
                of[id(parent)] = leaf(parent)
        params, source = calls.get(id(tensor), ({}, ""))
        params = {key: _derived_or(value, derived) for key, value in params.items()}
        inputs = tuple(of[id(p)] for p in node.parents)
        if isinstance(params.get("condition"), Value):  # a mask computed from the data: an input
            inputs, params = inputs + (params.pop("condition"),), params
        of[id(tensor)] = add(op=node.name, inputs=inputs, params=params, shape=tensor.shape, dtype=tensor.dtype,
                             source=source)
        for attribute in DERIVED_ARRAYS.get(node.name, ()):  # masks its backward will read
            mask = getattr(node, attribute)
            derived[id(mask)] = add(op=f"{node.name}.{attribute}", inputs=of[id(tensor)].inputs,
                                    params=params, shape=mask.shape, dtype=mask.dtype, source=source)
    return values, of


def _derived_or(value, derived: dict):
    return derived[id(value)] if isinstance(value, np.ndarray) and id(value) in derived else value


# -- two runs, one symbolic trace -----------------------------------------------------------


def _merge(first: Trace, second: Trace) -> Trace:
    """``first`` with N wherever it differs from ``second`` by the batch size; anything else raises."""
    small, large = TRACE_BATCHES
    if [v.op for v in first.values] != [v.op for v in second.values]:
        raise UnsupportedStep("scan: the step applies different ops at different batch sizes; use compiled=False")
    for a, b in zip(first.values, second.values):
        where = f"'{a.op}'" + (f" (at {a.source})" if a.source else "")
        a.shape = _symbolic(a.shape, b.shape, small, large, where)
        a.params = {key: _symbolic(value, b.params[key], small, large, where) for key, value in a.params.items()}
        if a.op == "const" and (a.data.shape != b.data.shape or not np.array_equal(a.data, b.data, equal_nan=True)):
            raise UnsupportedStep(f"scan: a constant of shape {a.data.shape} in the step depends on its inputs "
                                  "or on the batch size; use compiled=False")
    return first


def _symbolic(a, b, small: int, large: int, where: str):
    """``a``, with N for every int that is ``small`` here and ``large`` in ``b``."""
    if isinstance(a, Value):
        return a
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        return type(a)(_symbolic(x, y, small, large, where) for x, y in zip(a, b))
    if isinstance(a, slice) and isinstance(b, slice):
        parts = [_symbolic(x, y, small, large, where) for x, y in
                 zip((a.start, a.stop, a.step), (b.start, b.stop, b.step))]
        return slice(*parts)
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool) and isinstance(b, (int, np.integer)):
        if a == b:
            return a
        if (a, b) == (small, large):
            return N
    elif isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape == b.shape and np.array_equal(a, b, equal_nan=True):
            return a
    elif type(a) is type(b) and a == b:
        return a
    raise UnsupportedStep(f"scan: {where} has a parameter that depends on the step's data ({a!r}); "
                          "use compiled=False")
