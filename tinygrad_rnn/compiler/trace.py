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
from ..step_contract import call_step
from ..tensor import Tensor
from .graph import INPUT_KINDS, N, Value, ancestors

TRACE_BATCHES = (2, 3)  # the two batch sizes traced; any two distinct sizes would do

# Arrays a primitive's forward saves from its input data (masks), which its backward reads
# as constants: the compiler recomputes them from the input (kernels.MASKS).
DERIVED_ARRAYS = {"relu": ("positive",), "clamp": ("inside",), "max": ("is_top", "ties"), "min": ("is_top", "ties")}


class UnsupportedStep(TypeError):
    """The step does something the compiler cannot compile; compiled=False runs it."""


@dataclass
class Trace:
    """A traced step, forward and backward, with its inputs and results picked out."""

    values: list
    carry: list
    x: Value
    params: list  # Values of kind "param", one per tensor in param_tensors
    param_tensors: list  # the tensors the step read but did not make: weights, frozen or not
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
        needed = ancestors([v for v in [*self.new_carry, self.y] if v is not None])
        return [v for v in self.values if id(v) in needed]


def trace(step, carry: tuple, single: bool, x_features: tuple, x_dtype, wants_dx: bool = True) -> Trace:
    """Trace ``step`` (forward and backward) for a carry like ``carry`` and input rows (N, *x_features).

    ``wants_dx``: whether the backward computes the gradient of the input rows.
    Tensors the step reads but did not make (its weights, frozen or not) are
    inputs of the compiled step, read afresh at every call; tensors it makes
    are constants.
    """
    runs = [_run(step, carry, single, x_features, x_dtype, wants_dx, n) for n in TRACE_BATCHES]
    return _deduplicate(_merge(*runs))


def _deduplicate(trace: Trace) -> Trace:
    """One value for each computation done twice: the same op on the same values with the same
    parameters (the gradients of bias_ih and bias_hh, equal sums of one gate block), and one
    constant per number."""
    canonical, seen, kept = {}, {}, []
    for value in trace.values:
        value.inputs = tuple(canonical.get(id(i), i) for i in value.inputs)
        if value.op in INPUT_KINDS:
            kept.append(value)
            continue
        key = (value.op, tuple(id(i) for i in value.inputs), _key(value.params), value.shape, str(value.dtype),
               _key(value.data))
        if key in seen:
            canonical[id(value)] = seen[key]
        else:
            seen[key] = value
            kept.append(value)
    trace.values = kept

    def one(value):
        return None if value is None else canonical.get(id(value), value)

    for name in ("new_carry", "grad_carry", "d_carry", "d_params"):
        setattr(trace, name, [one(v) for v in getattr(trace, name)])
    trace.y, trace.d_x = one(trace.y), one(trace.d_x)
    return trace


def _key(value):
    """A hashable stand-in for a parameter (arrays by their bytes, Values by identity)."""
    if isinstance(value, np.ndarray):
        return (value.shape, str(value.dtype), value.tobytes())
    if isinstance(value, Value):
        return ("value", id(value))
    if isinstance(value, dict):
        return tuple((k, _key(v)) for k, v in value.items())
    if isinstance(value, (tuple, list)):
        return tuple(_key(v) for v in value)
    if isinstance(value, slice):
        return ("slice", _key(value.start), _key(value.stop), _key(value.step))
    return repr(value)


# -- one run ------------------------------------------------------------------------------


class _Recorder:
    """Watches the step run: every primitive applied, recorded on the tape or not.

    While it watches, Function.apply is wrapped (tracing is the one place that
    needs to see ops that the tape itself would not keep).
    """

    def __init__(self):
        self.ops = {}  # id(output) -> (output, node or None, inputs, params, "file:line"), in the order applied

    def __enter__(self):
        self._original = Function.__dict__["apply"]
        apply, ops = self._original.__func__, self.ops

        def watched(cls, *inputs, **params):
            out = apply(cls, *inputs, **params)
            ops[id(out)] = (out, cls, out._node, inputs, params, _user_line(sys._getframe(1)))
            return out

        Function.apply = classmethod(watched)
        return self

    def __exit__(self, *exc_info):
        Function.apply = self._original


def _user_line(frame) -> str:
    package = os.path.dirname(os.path.dirname(__file__))
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _placeholder(shape: tuple, dtype, rng) -> Tensor:
    return Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def _run(step, carry: tuple, single: bool, x_features: tuple, x_dtype, wants_dx: bool, batch: int) -> Trace:
    rng = np.random.default_rng(batch)
    placeholders = tuple(_placeholder((batch, *c.shape[1:]), c.dtype, rng) for c in carry)
    x = _placeholder((batch, *x_features), x_dtype, rng)
    with _Recorder() as recorder, autograd.enable_grad():
        new_carry, y = call_step(step, placeholders, single, x)
        forward_outputs = [*new_carry, *([] if y is None else [y])]
        inputs = {id(t) for t in (*placeholders, x)}
        params = [t for t in _leaves(forward_outputs, recorder.ops) if id(t) not in inputs]
        grad_carry = [_placeholder(c.shape, c.dtype, rng) for c in new_carry]
        grad_y = None if y is None else _placeholder(y.shape, y.dtype, rng)
        seeds = [*grad_carry, *([] if y is None else [grad_y])]
        differentiable = [(out, seed) for out, seed in zip(forward_outputs, seeds) if out.requires_grad]
        wrt = [*placeholders, *([x] if wants_dx else []), *(p for p in params if p.requires_grad)]
        grads = dict.fromkeys(map(id, wrt))
        if differentiable:
            found = autograd.grad([o for o, _ in differentiable], wrt, [s for _, s in differentiable],
                                  create_graph=True, allow_unused=True)
            grads = dict(zip(map(id, wrt), found))
    kinds = {id(t): (kind, slot) for kind, tensors in
             (("carry", placeholders), ("x", [x]), ("param", params), ("grad_carry", grad_carry),
              ("grad_y", [] if grad_y is None else [grad_y])) for slot, t in enumerate(tensors)}
    roots = [*forward_outputs, *(g for g in grads.values() if g is not None)]
    every_input = {id(t): t for t in (*placeholders, x, *grad_carry, *([] if grad_y is None else [grad_y]))}
    values, of = _to_values(roots, kinds, recorder.ops, every_input)

    def lookup(tensor):
        return None if tensor is None else of[id(tensor)]

    return Trace(values=values, carry=[lookup(t) for t in placeholders], x=lookup(x),
                 params=[lookup(t) for t in params], param_tensors=params,
                 new_carry=[lookup(t) for t in new_carry], y=lookup(y),
                 grad_carry=[lookup(t) for t in grad_carry], grad_y=lookup(grad_y),
                 d_carry=[lookup(grads[id(t)]) for t in placeholders], d_x=lookup(grads.get(id(x))),
                 d_params=[lookup(grads.get(id(t))) for t in params])


def _leaves(outputs: list, ops: dict) -> list:
    """The tensors behind ``outputs`` that no watched op made, in the order first read."""
    return [t for t in autograd.topological_order(outputs, _watched_inputs(ops)) if id(t) not in ops]


def _watched_inputs(ops: dict):
    """``inputs_of`` for ``autograd.topological_order`` over the watched ops, recorded or not."""
    return lambda tensor: ops[id(tensor)][3] if id(tensor) in ops else ()


def _to_values(roots: list, kinds: dict, ops: dict, placeholders: dict) -> tuple[list, dict]:
    """The ops behind ``roots`` as Values, in the order they ran; and a map from id(tensor).

    The order the step applied its ops is a topological order: inputs first.
    A forward op's masks (relu's x > 0) become Values of their own right after it,
    so the backward that reads them reads a value computed from the data.
    """
    needed = {id(t) for t in autograd.topological_order(roots, _watched_inputs(ops))}
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

    for key, (tensor, op, node, inputs, params, source) in ops.items():
        if key not in needed:
            continue
        for parent in inputs:
            if id(parent) not in of:
                of[id(parent)] = leaf(parent)
        params = {name: _derived_or(value, derived) for name, value in params.items()}
        arguments = tuple(of[id(p)] for p in inputs)
        if isinstance(params.get("condition"), Value):  # a mask computed from the data: an input
            arguments += (params.pop("condition"),)
        of[key] = add(op=op.name, inputs=arguments, params=params, shape=tensor.shape, dtype=tensor.dtype,
                      source=source)
        for attribute in DERIVED_ARRAYS.get(op.name, ()):  # masks its backward will read
            mask = getattr(node, attribute, None)
            if mask is not None:
                derived[id(mask)] = add(op=f"{op.name}.{attribute}", inputs=arguments, params=params,
                                        shape=mask.shape, dtype=mask.dtype, source=source)
    for root in roots:  # a root no op made: an input passed straight through
        if id(root) not in of:
            of[id(root)] = leaf(root)
    for key, tensor in placeholders.items():  # the inputs the step ignores are inputs all the same
        if key not in of:
            of[key] = leaf(tensor)
    return values, of


def _derived_or(value, derived: dict):
    return derived[id(value)] if isinstance(value, np.ndarray) and id(value) in derived else value


# -- two runs, one symbolic trace -----------------------------------------------------------


def _merge(first: Trace, second: Trace) -> Trace:
    """``first`` with N wherever it differs from ``second`` by the batch size; anything else raises."""
    small, large = TRACE_BATCHES
    _constants_made_by_the_step(first, second)
    if [v.op for v in first.values] != [v.op for v in second.values]:
        raise UnsupportedStep("scan: the step applies different ops at different batch sizes; use compiled=False")
    for a, b in zip(first.values, second.values):
        where = f"'{a.op}'" + (f" (at {a.source})" if a.source else "")
        a.shape = _symbolic(a.shape, b.shape, small, large, where)
        a.params = {key: _symbolic(value, b.params[key], small, large, where) for key, value in a.params.items()}
    forward = {id(v) for v in first.forward_values}
    for value in first.values:
        if id(value) in forward and _mixes_the_batch(value):
            where = f" (at {value.source})" if value.source else ""
            raise UnsupportedStep(f"scan: '{value.op}'{where} reduces over the batch, which a compiled step cannot "
                                  "do (a sequence's rows drop out as it ends); use compiled=False")
    for a, b in zip(first.values, second.values):
        if a.op == "const" and (a.data.shape != b.data.shape or not np.array_equal(a.data, b.data, equal_nan=True)):
            raise UnsupportedStep(f"scan: a constant of shape {a.data.shape} differs between two runs of the step: "
                                  "it depends on the batch size, on the step's inputs or on random numbers "
                                  "(dropout); use compiled=False")
    return first


def _mixes_the_batch(value: Value) -> bool:
    """Whether a forward op combines the rows of different sequences (a sum over dim 0, say)."""
    if not value.inputs or not value.inputs[0].batched or value.op not in (
            "sum", "mean", "max", "min", "logsumexp", "softmax", "logsoftmax"):
        return False
    rank, dim = len(value.inputs[0].shape), value.params.get("dim")
    dims = range(rank) if dim is None else dim if isinstance(dim, (tuple, list)) else (dim,)
    return 0 in {d % max(rank, 1) for d in dims}


def _constants_made_by_the_step(first: Trace, second: Trace) -> None:
    """A leaf both runs read is a weight the step closes over; one each run made afresh (a number
    lifted to a tensor, an array wrapped inside the step) is a constant of the step."""
    kept = []
    for k, (a, b) in enumerate(zip(first.param_tensors, second.param_tensors)):
        if a is b:
            kept.append(k)
            continue
        for trace, tensor in ((first, a), (second, b)):
            value = trace.params[k]
            value.op, value.slot, value.data = "const", None, tensor.data
    for trace in (first, second):
        trace.params = [trace.params[k] for k in kept]
        trace.param_tensors = [trace.param_tensors[k] for k in kept]
        trace.d_params = [trace.d_params[k] for k in kept]
        for slot, value in enumerate(trace.params):
            value.slot = slot


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
