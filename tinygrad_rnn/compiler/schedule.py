"""Stage 3, schedule: decide where each value is computed, so the time loops do only what they must.

Appleyard, Kocisky and Blunsom (2016), "Optimizing performance of recurrent
neural networks on GPUs": most of a recurrent layer's work does not depend
on the carry. Forward, a value that depends on the step's input but not on
the carry (the input projection x_t W_ih^T + b_ih) is computed for every
step at once, before the loop, as one GEMM over all rows. Backward, only
what the gradient of the previous carry needs runs in the reverse loop; the
rest (the input gradient, every weight gradient) runs after it, on the
gradients of all steps stacked: sum_t h_{t-1}^T G_t is one GEMM H^T G.

Phases, in order:

    forward_globals   once: values of the weights alone (W_hh^T)
    forward_rows      before the loop, on all rows: values of x_t and the weights
    forward_loop      each step: values of the carry
    backward_globals  once
    backward_loop     each step, last to first: what the previous carry's gradient needs
    backward_rows     after the loop, on all rows: the input and weight gradients

``saved``: forward-loop values the backward reads, stored for every step.
``kept``: backward-loop values the last phase reads, stored for every step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .graph import N, Value, ancestors, listing
from .trace import Trace, UnsupportedStep

# Ops whose output row i depends only on input row i (when the batch is the first axis of
# every batched input and of the output): safe to run on all steps' rows at once.
ELEMENTWISE = {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "logsigmoid",
               "relu", "clamp", "where", "cast", "relu.positive", "clamp.inside"}
# Linear ops: applied to a sum over steps they give the sum of their per-step results,
# so they may follow a reduction over the rows of all steps.
LINEAR = {"add", "sub", "neg", "permute", "reshape", "sum", "expand", "cast", "getitem", "indexput", "cat"}


@dataclass
class Schedule:
    trace: Trace
    forward_globals: list
    forward_rows: list
    forward_loop: list
    backward_globals: list
    backward_loop: list
    backward_rows: list
    saved: list
    kept: list

    def __str__(self) -> str:
        parts = []
        for phase in ("forward_globals", "forward_rows", "forward_loop", "backward_globals", "backward_loop",
                      "backward_rows"):
            parts.append(f"-- {phase.replace('_', ' ')}")
            parts.append(listing(getattr(self, phase)) or "(nothing)")
        parts.append("-- saved by forward for every step: " + (", ".join(v.name for v in self.saved) or "none"))
        parts.append("-- kept by the backward loop for every step: " + (", ".join(v.name for v in self.kept) or "none"))
        return "\n".join(parts)


def schedule(trace: Trace) -> Schedule:
    _undo_double_transposes(trace)
    per_step = _per_step(trace.values)
    forward = {id(v) for v in trace.forward_values}
    loop_carried = ancestors([v for v in trace.d_carry if v is not None])

    forward_globals, forward_rows, forward_loop = [], [], []
    backward_globals, backward_loop, backward_rows = [], [], []
    for value in trace.values:
        steps = per_step[id(value)]
        if id(value) in forward:
            if not steps:
                forward_globals.append(value)
            elif "carry" not in steps and _row_wise(value):
                forward_rows.append(value)
            else:
                forward_loop.append(value)
        elif not steps:
            backward_globals.append(value)
        elif id(value) in loop_carried:
            backward_loop.append(value)
        else:
            backward_rows.append(value)
    forward_rows, forward_loop = _sink(forward_rows, forward_loop, trace)
    backward_rows = _scatter_again(backward_loop, backward_rows, trace)
    _check_forward(forward_loop)
    _check_stackable(backward_rows, _per_step(trace.values))

    in_loop = {id(v) for v in forward_loop}
    read_later = [i for v in backward_loop + backward_rows for i in v.inputs]
    saved = _unique([v for v in read_later if id(v) in in_loop])
    in_backward_loop = {id(v) for v in backward_loop}
    kept = _unique([i for v in backward_rows for i in v.inputs if id(i) in in_backward_loop] +
                   [trace.d_x] * (id(trace.d_x) in in_backward_loop))  # an input gradient the loop computes
    return Schedule(trace, forward_globals, forward_rows, forward_loop, backward_globals, backward_loop,
                    backward_rows, saved, kept)


def _sink(rows: list, loop: list, trace: Trace) -> tuple[list, list]:
    """Move elementwise row values that only the forward loop reads into the loop.

    Hoisting them would cost a pass over the rows of every step, and they
    fuse with the loop's own elementwise run for free (the bias added to the
    input projection joins the gates' loop).
    """
    readers = {}
    for value in trace.values:
        for i in value.inputs:
            readers.setdefault(id(i), []).append(value)
    outputs = {id(v) for v in [*trace.new_carry, trace.y] if v is not None}
    in_loop, sunk = {id(v) for v in loop}, []
    for value in reversed(rows):
        users = readers.get(id(value), [])
        if value.op in ELEMENTWISE and users and id(value) not in outputs and all(id(u) in in_loop for u in users):
            in_loop.add(id(value))
            sunk.append(value)
    moved = {id(v) for v in sunk}
    return [v for v in rows if id(v) not in moved], list(reversed(sunk)) + loop


def _undo_double_transposes(trace: Trace) -> None:
    """Read x where the backward reads x^T^T (a weight's gradient path: W, used as W^T, transposed
    back), and drop the transposes nothing reads any more: each would copy a weight."""
    def transposed(v: Value) -> bool:
        return v.op == "permute" and len(v.shape) == 2 and tuple(d % 2 for d in v.params["dims"]) == (1, 0)

    for value in trace.values:
        value.inputs = tuple(i.inputs[0].inputs[0] if transposed(i) and transposed(i.inputs[0]) else i
                             for i in value.inputs)
    results = [*trace.new_carry, trace.y, *trace.d_carry, trace.d_x, *trace.d_params]
    needed = ancestors([v for v in results if v is not None])
    inputs = {id(v) for v in [*trace.carry, trace.x, *trace.params, *trace.grad_carry, trace.grad_y] if v is not None}
    trace.values = [v for v in trace.values if id(v) in needed or id(v) in inputs]


def _scatter_again(loop: list, rows: list, trace: Trace) -> list:
    """Give the last phase its own copy of each block scatter (indexput) it reads from the loop.

    A gate's gradient scattered into its columns of a (N, G*H) block is read
    by the loop (the recurrent gradient) and after it (the input gradient).
    Kept for every step, it would cost G*H columns and a zeroed block per
    step; scattering again after the loop keeps only the gate's H columns,
    and lets the loop build its block in place (emit's assemblies).
    """
    in_loop = {id(v) for v in loop}
    copies = {}
    for value in rows:
        for i in value.inputs:
            if id(i) in in_loop and i.op == "indexput" and id(i) not in copies:
                copies[id(i)] = replace(i, index=len(trace.values) + len(copies))
        value.inputs = tuple(copies.get(id(i), i) for i in value.inputs)
    if copies:
        trace.values = [w for v in trace.values for w in (v, copies.get(id(v))) if w is not None]
    return list(copies.values()) + rows


def _per_step(values: list) -> dict:
    """For each value, which per-step inputs it depends on: 'carry', 'x', 'grad' (empty: a global)."""
    kinds = {"carry": "carry", "x": "x", "grad_carry": "grad", "grad_y": "grad"}
    found = {}
    for value in values:
        depends = {kinds[value.op]} if value.op in kinds else set()
        for i in value.inputs:
            depends |= found[id(i)]
        found[id(value)] = frozenset(depends)
    return found


def _unique(values: list) -> list:
    return list({id(v): v for v in values}.values())


def _row_wise(value: Value) -> bool:
    """Whether ``value``'s row i depends only on row i of its batched inputs."""
    if value.op in ("x", "carry"):
        return True
    if not value.batched or any(N in i.shape[1:] for i in value.inputs):
        return False
    if value.op in ELEMENTWISE:
        return True
    if value.op == "matmul":
        return not value.inputs[1].batched and value.inputs[0].batched
    if value.op == "getitem":
        index = value.params["index"]
        first = index[0] if isinstance(index, tuple) and index else index
        return first == slice(None) or first is Ellipsis
    if value.op in ("cat", "stack", "softmax", "logsoftmax"):
        return value.params.get("dim", 0) not in (0, -len(value.shape))
    if value.op in ("sum", "mean", "max", "min", "logsumexp"):
        dims = value.params.get("dim")
        rank = len(value.inputs[0].shape)
        dims = () if dims is None else dims if isinstance(dims, tuple) else (dims,)
        return dims != () and 0 not in {d % rank for d in dims}
    if value.op in ("reshape", "expand"):
        return value.params["shape"][:1] == (N,) and value.inputs[0].batched
    return False


def _check_forward(loop: list) -> None:
    """The forward may not mix rows of the batch: each sequence is computed on its own."""
    for value in loop:
        if value.shape and N not in value.shape[:1] and any(i.batched for i in value.inputs):
            where = f" (at {value.source})" if value.source else ""
            raise UnsupportedStep(f"scan: '{value.op}'{where} reduces over the batch, which a compiled step "
                                  "cannot do (a sequence's rows drop out as it ends); use compiled=False")


def _check_stackable(rows: list, per_step: dict) -> None:
    """After the loop, a reduction over all rows must reach the gradients through linear ops only."""
    reduced = set()
    for value in rows:
        from_reduction = any(id(i) in reduced for i in value.inputs)
        if from_reduction and value.op not in LINEAR and not (
                value.op in ("mul", "div", "matmul") and all(id(i) not in reduced or i is value.inputs[0]
                                                              for i in value.inputs)
                and not any(per_step[id(i)] for i in value.inputs[1:])):
            raise UnsupportedStep(f"scan: the backward applies '{value.op}' to a sum over the batch; "
                                  "use compiled=False")
        if from_reduction or (per_step[id(value)] and not value.batched and N not in value.shape):
            reduced.add(id(value))
