"""Stages 4 and 5, fuse and emit: the schedule as the source of two numba functions.

``forward`` runs the forward phases and returns the final carry, the
outputs of every step and what backward needs; ``backward`` runs the
backward phases. Each value becomes one numpy-style statement; numba
compiles the time loops, and its array-expression pass turns each
expression of elementwise operators into one loop over the elements.

*Fuse* chooses those expressions: an elementwise value read once, by an
elementwise op of the same phase, is written into its reader's expression
instead of getting a name (and an array) of its own. A run of elementwise
ops between two GEMMs is then a single statement: one pass over memory,
no temporaries.

Every array is indexed by rows: ``r0:r1`` are the packed rows of the
current step, ``n`` its batch size (the symbolic N of the trace).
"""

from __future__ import annotations

import numpy as np

from .graph import INPUT_KINDS, N, Value
from .schedule import ELEMENTWISE, Schedule
from .trace import UnsupportedStep

ROWS = "xs.shape[0]"  # the rows of all steps, in the generated code

# -- one expression per op ---------------------------------------------------------------------


def _scalar(value, dtype) -> str:
    return f"np.{np.dtype(dtype).name}({float(value)!r})"


def _dims(shape, batch: str = "n") -> str:
    parts = [batch if d is N else str(int(d)) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _index(index) -> str:
    parts = index if isinstance(index, tuple) else (index,)

    def one(part) -> str:
        if isinstance(part, slice):
            bounds = ["" if p is None else "n" if p is N else str(int(p)) for p in (part.start, part.stop, part.step)]
            return ":".join(bounds[:2] + ([bounds[2]] if bounds[2] else []))
        if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            return str(int(part))
        raise UnsupportedStep(f"scan: indexing with {part!r} is not supported by the compiler; use compiled=False")

    return ", ".join(one(p) for p in parts)


def _last_axis(value: Value, op: str) -> int:
    """The reduced axis of a reduction the compiler supports: the features of (N, F) rows, or all rows."""
    source = value.inputs[0]
    dim = value.params.get("dim")
    dims = dim if isinstance(dim, tuple) else (dim,)
    if len(dims) == 1 and dims[0] is not None and len(source.shape) == 2:
        return dims[0] % 2
    raise UnsupportedStep(f"scan: '{op}' over dim {dim} of shape {source.shape}: the compiler supports "
                          "one axis of a 2-D value; use compiled=False")


def _reduce(value: Value, a: str, kind: str) -> str:
    axis = _last_axis(value, kind)
    keep = value.params.get("keepdim", False)
    width = value.inputs[0].shape[axis]
    if axis == 1:  # over the features of each row: a column (n, 1)
        column = f"row_sum({a})" if kind in ("sum", "mean") else f"row_max({a})"
        if kind == "mean":
            column = f"({column} / {_scalar(width, value.dtype)})"
        return column if keep else f"{column}.reshape({_dims(value.shape)})"
    if kind not in ("sum", "mean"):  # over the rows: only sums, the gradients of broadcast weights
        raise UnsupportedStep(f"scan: '{kind}' over the batch is not supported by the compiler; use compiled=False")
    total = f"np.sum({a}, axis=0)" if kind == "sum" else f"(np.sum({a}, axis=0) / n)"
    return f"{total}.reshape({_dims(value.shape)})" if keep else total


def _logsumexp(value: Value, a: str) -> str:
    axis = _last_axis(value, "logsumexp")
    if axis != 1:
        raise UnsupportedStep("scan: 'logsumexp' over the batch is not supported by the compiler")
    out = f"(row_max({a}) + np.log(row_sum(np.exp({a} - row_max({a})))))"
    return out if value.params.get("keepdim") else f"{out}.reshape({_dims(value.shape)})"


def _clamp(value: Value, a: str) -> str:
    low, high = value.params.get("low"), value.params.get("high")
    if low is not None:
        a = f"np.maximum({a}, {_scalar(low, value.dtype)})"
    if high is not None:
        a = f"np.minimum({a}, {_scalar(high, value.dtype)})"
    return a


def _inside(value: Value, a: str) -> str:
    low, high = value.params.get("low"), value.params.get("high")
    tests = ([f"({a} >= {_scalar(low, value.inputs[0].dtype)})"] if low is not None else []) + \
            ([f"({a} <= {_scalar(high, value.inputs[0].dtype)})"] if high is not None else [])
    return " & ".join(tests)


def _permute(value: Value, a: str) -> str:
    dims = tuple(int(d) % len(value.shape) for d in value.params["dims"])
    if dims == tuple(range(len(dims))):
        return a
    return f"{a}.T" if len(dims) == 2 else f"np.transpose({a}, {dims})"


def _softmax(value: Value, a: str, log: bool) -> str:
    if value.params["dim"] % 2 != 1 or len(value.shape) != 2:
        raise UnsupportedStep("scan: softmax is compiled over the features of (N, F) rows only")
    shifted = f"({a} - row_max({a}))"
    if log:
        return f"({shifted} - np.log(row_sum(np.exp({shifted}))))"
    return f"(np.exp({shifted}) / row_sum(np.exp({shifted})))"


TEMPLATES = {
    "add": lambda v, a, b: f"({a} + {b})",
    "sub": lambda v, a, b: f"({a} - {b})",
    "mul": lambda v, a, b: f"({a} * {b})",
    "div": lambda v, a, b: f"({a} / {b})",
    "neg": lambda v, a: f"(-{a})",
    "pow": lambda v, a: f"({a} ** {_scalar(v.params['exponent'], v.dtype)})",
    "exp": lambda v, a: f"np.exp({a})",
    "log": lambda v, a: f"np.log({a})",
    "tanh": lambda v, a: f"np.tanh({a})",
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: no exp to overflow, no branch per element
    "sigmoid": lambda v, a: f"({_scalar(0.5, v.dtype)} + {_scalar(0.5, v.dtype)} * np.tanh({_scalar(0.5, v.dtype)} * {a}))",
    "logsigmoid": lambda v, a: f"(np.minimum({a}, {_scalar(0, v.dtype)}) - np.log1p(np.exp(-np.abs({a}))))",
    "relu": lambda v, a: f"np.maximum({a}, {_scalar(0, v.dtype)})",
    "relu.positive": lambda v, a: f"({a} > 0)",
    "clamp": _clamp,
    "clamp.inside": _inside,
    "where": lambda v, a, b: f"np.where({v.params['condition_code']}, {a}, {b})",
    "cast": lambda v, a: f"{a}.astype(np.{v.dtype.name})",
    "matmul": lambda v, a, b: f"mm({a}, {b})",
    "permute": _permute,
    "reshape": lambda v, a: f"np.ascontiguousarray({a}).reshape({_dims(v.shape)})",
    "expand": lambda v, a: f"np.broadcast_to({a}, {_dims(v.shape)})",
    "getitem": lambda v, a: f"{a}[{_index(v.params['index'])}]",
    "cat": lambda v, *xs: f"np.concatenate(({', '.join(xs)},), axis={v.params.get('dim', 0) % len(v.shape)})",
    "sum": lambda v, a: _reduce(v, a, "sum"),
    "mean": lambda v, a: _reduce(v, a, "mean"),
    "max": lambda v, a: _reduce(v, a, "max"),
    "max.is_top": lambda v, a: f"({a} == row_max({a}))",
    "max.ties": lambda v, a: f"row_sum(({a} == row_max({a})).astype(np.{v.dtype.name}))",
    "logsumexp": _logsumexp,
    "softmax": lambda v, a: _softmax(v, a, log=False),
    "logsoftmax": lambda v, a: _softmax(v, a, log=True),
}
SUPPORTED = set(TEMPLATES) | {"indexput"}


def check_supported(values: list) -> None:
    """Raise for the first op the compiler has no template for, naming it and its line."""
    for value in values:
        if value.op not in SUPPORTED and value.op not in INPUT_KINDS and value.op != "const":
            where = f" at {value.source}" if value.source else ""
            raise UnsupportedStep(f"scan: the step uses '{value.op}'{where}, which the compiler does not "
                                  "support; use compiled=False")
        if value.op in ("max.is_top", "max.ties") and _last_axis(value, "max") != 1:
            raise UnsupportedStep("scan: max over the batch is not supported by the compiler; use compiled=False")


# -- fuse ----------------------------------------------------------------------------------------


def fuse(phase: list, readers: dict, outputs: set) -> set:
    """The ids of ``phase``'s values that become part of their one reader's expression."""
    here = {id(v) for v in phase}
    inlined = set()
    for value in phase:
        users = readers.get(id(value), [])
        if (value.op in ELEMENTWISE and value.op != "where" and id(value) not in outputs and len(users) == 1
                and id(users[0]) in here and users[0].op in ELEMENTWISE):
            inlined.add(id(value))
    return inlined


# -- emit ----------------------------------------------------------------------------------------


class _Writer:
    """Source lines of one function, and how each value is read in the current phase."""

    def __init__(self, readers: dict, outputs: set):
        self.lines, self.reads, self.readers, self.outputs = [], {}, readers, outputs

    def line(self, text: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + text)

    def phase(self, values: list, depth: int) -> None:
        inlined = fuse(values, self.readers, self.outputs)
        for value in values:
            if value.op in INPUT_KINDS or value.op == "const":
                continue  # read as set up by the caller
            code = self.code(value, depth)
            if id(value) in inlined:
                self.reads[id(value)] = code
            else:
                if code is not None:  # None: code() wrote its statements itself
                    self.line(f"{value.name} = {code}", depth)
                self.reads[id(value)] = value.name

    def code(self, value: Value, depth: int) -> str | None:
        missing = [i for i in value.inputs if id(i) not in self.reads]
        if missing:
            raise KeyError(f"{value.describe()} reads {[m.describe() for m in missing]}")
        args = [self.reads[id(i)] for i in value.inputs]
        if value.op == "indexput":
            if not value.params.get("unique", True):
                raise UnsupportedStep("scan: scattering into repeated indices is not supported; use compiled=False")
            self.line(f"{value.name} = np.zeros({_dims(value.shape)}, np.{value.dtype.name})", depth)
            self.line(f"{value.name}[{_index(value.params['index'])}] += {args[0]}", depth)
            return None
        if value.op == "where":
            condition = value.params["condition"]
            value.params["condition_code"] = self.reads[id(condition)] if isinstance(condition, Value) \
                else f"const_{value.index}"
        if value.op in ("relu.positive", "clamp.inside", "max.is_top", "max.ties"):
            args = args[:1]
        return TEMPLATES[value.op](value, *args)


def emit(plan: Schedule) -> tuple[str, list]:
    """The Python source of ``forward`` and ``backward`` for ``plan``, and the constant arrays they take."""
    trace = plan.trace
    everything = trace.values
    readers = {}
    for value in everything:
        for i in value.inputs:
            readers.setdefault(id(i), []).append(value)
        condition = value.params.get("condition") if value.op == "where" else None
        if isinstance(condition, Value):
            readers.setdefault(id(condition), []).append(value)
    read_by_backward = {id(i) for v in plan.backward_loop + plan.backward_rows for i in v.inputs}
    rows_needed = [v for v in plan.forward_rows if v.op != "x" and (
        id(v) in read_by_backward or any(id(u) in {id(w) for w in plan.forward_loop} for u in readers.get(id(v), [])))]
    outputs = {id(v) for v in [*trace.new_carry, trace.y, *trace.d_carry, trace.d_x, *trace.d_params,
                               *plan.saved, *plan.kept, *rows_needed] if v is not None}
    check_supported(everything)
    consts = [v for v in everything if v.op == "const" and v.data.size != 1] + \
             [v for v in everything if v.op == "where" and not isinstance(v.params["condition"], Value)]
    arguments = ", ".join([*(f"param_{i}" for i in range(len(trace.params))),
                           *(f"const_{v.index}" for v in consts)])

    forward = _Writer(readers, outputs)
    _inputs(forward, trace)
    carries = ", ".join(f"carry_{k}" for k in range(len(trace.carry)))
    forward.line(f"def forward(xs, sizes, offsets, reverse, {carries}, {arguments}):", 0)
    forward.line("steps, n = len(sizes), xs.shape[0]")
    forward.phase(plan.forward_globals, 1)
    forward.reads[id(trace.x)] = "xs"
    forward.phase([v for v in plan.forward_rows if v.op != "x"], 1)
    for k in range(len(trace.carry)):
        forward.line(f"state_{k} = carry_{k}.copy()")
    y = trace.y
    if y is not None:
        forward.line(f"ys = np.empty({_dims(y.shape, ROWS)}, np.{y.dtype.name})")
    for value in plan.saved:
        forward.line(f"saved_{value.name} = np.empty({_dims(value.shape, ROWS)}, np.{value.dtype.name})")
    _loop_header(forward, backward=False)
    forward.reads[id(trace.x)] = "xs[r0:r1]"
    for value in rows_needed:
        forward.reads[id(value)] = f"{value.name}[r0:r1]"
    for k, carry in enumerate(trace.carry):
        forward.reads[id(carry)] = f"state_{k}[:n]"
    forward.phase(plan.forward_loop, 2)
    for value in plan.saved:
        forward.line(f"saved_{value.name}[r0:r1] = {forward.reads[id(value)]}", 2)
    if y is not None:
        forward.line(f"ys[r0:r1] = {forward.reads[id(y)]}", 2)
    new = [forward.reads[id(v)] for v in trace.new_carry]
    forward.line(f"{', '.join(f'new_{k}' for k in range(len(new)))}, = {', '.join(new)},", 2)
    for k in range(len(new)):
        forward.line(f"state_{k}[:n] = new_{k}", 2)
    results = [f"state_{k}" for k in range(len(trace.carry))] + ["ys" if y is not None else "xs[:0]"]
    results += [v.name for v in rows_needed] + [f"saved_{v.name}" for v in plan.saved]
    forward.line(f"return ({', '.join(results)},)")

    backward = _Writer(readers, outputs)
    _inputs(backward, trace)
    rows_arguments = ", ".join([*(v.name for v in rows_needed), *(f"saved_{v.name}" for v in plan.saved)])
    d_finals = ", ".join(f"d_final_{k}" for k in range(len(trace.carry)))
    backward.line(f"def backward(xs, sizes, offsets, reverse, d_ys, {d_finals}, {arguments}, {rows_arguments}):", 0)
    backward.line("steps, n = len(sizes), xs.shape[0]")
    backward.phase(plan.forward_globals, 1)
    backward.phase(plan.backward_globals, 1)
    for k in range(len(trace.carry)):
        backward.line(f"dstate_{k} = d_final_{k}.copy()")
    for value in plan.kept:
        backward.line(f"kept_{value.name} = np.empty({_dims(value.shape, ROWS)}, np.{value.dtype.name})")
    _loop_header(backward, backward=True)
    backward.reads[id(trace.x)] = "xs[r0:r1]"
    for value in rows_needed:
        backward.reads[id(value)] = f"{value.name}[r0:r1]"
    for value in plan.saved:
        backward.reads[id(value)] = f"saved_{value.name}[r0:r1]"
    for k, grad in enumerate(trace.grad_carry):
        backward.reads[id(grad)] = f"dstate_{k}[:n]"
    if trace.grad_y is not None:
        backward.reads[id(trace.grad_y)] = "d_ys[r0:r1]"
    backward.phase(plan.backward_loop, 2)
    for value in plan.kept:
        backward.line(f"kept_{value.name}[r0:r1] = {backward.reads[id(value)]}", 2)
    d_carry = [backward.reads[id(v)] if v is not None else None for v in trace.d_carry]
    for k, code in enumerate(d_carry):
        backward.line(f"dstate_{k}[:n] = {code if code is not None else '0'}", 2)
    backward.line("n = xs.shape[0]")
    backward.reads[id(trace.x)] = "xs"
    for value in rows_needed:
        backward.reads[id(value)] = value.name
    for value in plan.saved:
        backward.reads[id(value)] = f"saved_{value.name}"
    for value in plan.kept:
        backward.reads[id(value)] = f"kept_{value.name}"
    if trace.grad_y is not None:
        backward.reads[id(trace.grad_y)] = "d_ys"
    backward.phase(plan.backward_rows, 1)
    results = [f"dstate_{k}" for k in range(len(trace.carry))]
    results.append(backward.reads[id(trace.d_x)] if trace.d_x is not None else "np.zeros_like(xs)")
    for param, grad in zip(trace.params, trace.d_params):
        results.append(f"np.ascontiguousarray({backward.reads[id(grad)]})" if grad is not None
                       else f"np.zeros_like(param_{param.slot})")
    backward.line(f"return ({', '.join(results)},)")

    header = ["import numpy as np", "from tinygrad_rnn.compiler.runtime import mm, row_max, row_sum", ""]
    arrays = [v.data if v.op == "const" else np.asarray(v.params["condition"]) for v in consts]
    return "\n".join(header + forward.lines + ["", ""] + backward.lines) + "\n", arrays


def _inputs(writer: _Writer, trace) -> None:
    """How the phases read the inputs that are not computed: weights and constants."""
    for value in trace.values:
        if value.op == "param":
            writer.reads[id(value)] = f"param_{value.slot}"
        elif value.op == "const":
            writer.reads[id(value)] = _scalar(value.data.item(), value.dtype) if value.data.size == 1 \
                else f"const_{value.index}"


def _loop_header(writer: _Writer, backward: bool) -> None:
    forward_order = "steps - 1 - i if reverse else i"
    writer.line("for i in range(steps):")
    writer.line(f"t = {'i if reverse else steps - 1 - i' if backward else forward_order}", 2)
    writer.line("n, r0, r1 = sizes[t], offsets[t], offsets[t + 1]", 2)
