"""Stages 4 and 5, fuse and emit: the schedule as the source of two numba functions.

``forward`` runs the forward phases and returns the final carry, the
outputs of every step and what backward needs; ``backward`` runs the
backward phases. Every array is indexed by rows: ``r0:r1`` are the packed
rows of the current step, ``n`` its batch size (the symbolic N).

*Fuse* groups each run of elementwise ops of one shape (column slices of
their inputs included) into one loop nest over the elements: every
intermediate is a scalar in a register, and only what is read outside the
run is stored. A GEMM, a reduction or a scatter ends a run. *Emit* writes
the runs as loops, the rest as numpy calls numba compiles.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .graph import INPUT_KINDS, N, Value
from .schedule import ELEMENTWISE, Schedule
from .trace import UnsupportedStep

ROWS = "xs.shape[0]"  # the rows of all steps, in the generated code


class _SizeNames(threading.local):
    """The feature sizes the source names instead of writing them: ``d0``, ``d1``... by first use.

    Two steps of the same structure at other sizes (an LSTM of 32 or 512
    units) then have the same source, compiled once; each run passes its
    own sizes (``Program.dims``). 0 and 1 stay literals: code is written
    differently for them (a broadcast column, an offset of nothing).
    """

    names: dict | None = None  # size -> name, while a source is being written

    def of(self, size) -> str:
        size = int(size)
        if self.names is None or size in (0, 1):
            return str(size)
        return self.names.setdefault(size, f"d{len(self.names)}")


_size_names = _SizeNames()


def _dims(shape, batch: str = "n") -> str:
    parts = [batch if d is N else _size_names.of(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _literal(value, dtype) -> str:
    return f"np.{np.dtype(dtype).name}({float(value)!r})"


# -- how generated code reads a value -----------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A value as an array of the generated code: ``base`` from ``offsets`` on, or a scalar literal."""

    base: str
    shape: tuple = ()
    offsets: tuple = ()  # per dim, where the value starts in base ("0" for the start)
    literal: bool = False
    view: bool = False  # a part of base along a dimension of fixed size (a column slice)

    def array(self) -> str:
        """The value as an array expression: a view of ``base`` where it starts inside it or has n rows."""
        if self.literal:
            return self.base
        parts = []
        for offset, size in zip(self.offsets, self.shape):
            if size is N:
                parts.append(":n" if offset == "0" else f"{offset}:{offset} + n")
            elif offset == "0":
                parts.append(f":{_size_names.of(size)}" if self.view else ":")
            else:
                parts.append(f"{offset}:{offset} + {_size_names.of(size)}")
        while parts and parts[-1] == ":":
            parts.pop()
        return f"{self.base}[{', '.join(parts)}]" if parts else self.base

    def element(self, index: list) -> str:
        """The scalar at ``index`` (loop variables of the output), broadcasting size-1 dims."""
        if self.literal:
            return self.base
        lead = len(index) - len(self.shape)
        parts = []
        for k, size in enumerate(self.shape):
            position = "0" if size == 1 else index[lead + k]
            offset = self.offsets[k] if self.offsets else "0"
            parts.append(position if offset == "0" else f"{offset} + {position}")
        return f"{self.base}[{', '.join(parts)}]" if parts else f"{self.base}[()]"


def _view(ref: Ref, value: Value) -> Ref | None:
    """``ref[index]`` as a Ref when the index is unit-step slices (a view); None otherwise."""
    index = value.params["index"]
    index = index if isinstance(index, tuple) else (index,)
    if ref.literal or len(index) > len(ref.shape) or not all(isinstance(p, slice) and p.step in (None, 1) for p in index):
        return None
    offsets = list(ref.offsets or ("0",) * len(ref.shape))
    for k, part in enumerate(index):
        start = part.start or 0
        if start is N or (part.stop is N and ref.shape[k] is not N):
            return None
        if start < 0:  # from the end of a dimension of fixed size
            if ref.shape[k] is N:
                return None
            start += int(ref.shape[k])
        offsets[k] = _size_names.of(start) if offsets[k] == "0" else f"{offsets[k]} + {_size_names.of(start)}"
    return Ref(ref.base, value.shape, tuple(offsets), view=True)


# -- scalar forms of the elementwise ops, for the fused loops ----------------------------------


def _clamp(v, a):
    low, high = v.params.get("low"), v.params.get("high")
    if low is not None:  # written so that NaN stays NaN: both tests are false for it
        a = f"({_literal(low, v.dtype)} if {a} < {_literal(low, v.dtype)} else {a})"
    if high is not None:
        a = f"({_literal(high, v.dtype)} if {a} > {_literal(high, v.dtype)} else {a})"
    return a


def _inside(v, a):
    low, high = v.params.get("low"), v.params.get("high")
    tests = ([f"{a} >= {_literal(low, v.inputs[0].dtype)}"] if low is not None else []) + \
            ([f"{a} <= {_literal(high, v.inputs[0].dtype)}"] if high is not None else [])
    return f"({' and '.join(tests)})"


SCALAR = {
    "add": lambda v, a, b: f"({a} + {b})",
    "sub": lambda v, a, b: f"({a} - {b})",
    "mul": lambda v, a, b: f"({a} * {b})",
    "div": lambda v, a, b: f"({a} / {b})",
    "neg": lambda v, a: f"(-{a})",
    "pow": lambda v, a: f"({a} ** {_literal(v.params['exponent'], v.dtype)})",
    "exp": lambda v, a: f"np.exp({a})",
    "log": lambda v, a: f"np.log({a})",
    "tanh": lambda v, a: f"tanh({a})",
    "sigmoid": lambda v, a: f"sigmoid({a})",
    "logsigmoid": lambda v, a: f"log_sigmoid({a})",
    "relu": lambda v, a: f"({a} if not {a} <= 0 else {_literal(0, v.dtype)})",  # NaN stays NaN
    "relu.positive": lambda v, a: f"(not {a} <= 0)",  # as the primitive: NaN passes its gradient
    "clamp": _clamp,
    "clamp.inside": _inside,
    "where": lambda v, a, b, c: f"({a} if {c} else {b})",
    "cast": lambda v, a: f"np.{v.dtype.name}({a})",
}


# -- the other ops, as array statements ---------------------------------------------------------


def _index(index) -> str:
    parts = index if isinstance(index, tuple) else (index,)

    def one(part) -> str:
        if isinstance(part, slice):
            bounds = ["" if p is None else "n" if p is N else _size_names.of(p) for p in (part.start, part.stop, part.step)]
            return ":".join(bounds[:2] + ([bounds[2]] if bounds[2] else []))
        if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            return _size_names.of(part)
        raise UnsupportedStep(f"scan: indexing with {part!r} is not supported by the compiler; use compiled=False")

    return ", ".join(one(p) for p in parts)


def _axis(value: Value) -> int:
    """The one axis a reduction or softmax runs over: the features of (N, F) rows, or the rows."""
    source = value.inputs[0]
    dim = value.params.get("dim")
    dims = dim if isinstance(dim, tuple) else (dim,)
    if len(dims) == 1 and dims[0] is not None and len(source.shape) == 2:
        return dims[0] % 2
    raise UnsupportedStep(f"scan: '{value.op}' over dim {dim} of shape {source.shape}: the compiler supports "
                          "one axis of a 2-D value; use compiled=False")


def _reduce(value: Value, a: str) -> str:
    axis, keep, kind = _axis(value), value.params.get("keepdim", False), value.op
    if axis == 1:  # over the features of each row: a column (n, 1)
        column = f"row_sum({a})" if kind in ("sum", "mean") else f"row_{kind}({a})"
        if kind == "mean":
            column = f"({column} / np.{value.dtype.name}({_size_names.of(value.inputs[0].shape[1])}))"
        return column if keep else f"{column}.reshape({_dims(value.shape)})"
    if kind not in ("sum", "mean"):  # over the rows: only sums, the gradients of broadcast weights
        raise UnsupportedStep(f"scan: '{kind}' over the batch is not supported by the compiler; use compiled=False")
    total = f"np.sum({a}, axis=0)" if kind == "sum" else f"(np.sum({a}, axis=0) / n)"
    return f"{total}.reshape({_dims(value.shape)})" if keep else total


def _softmax(value: Value, a: str) -> str:
    if _axis(value) != 1:
        raise UnsupportedStep(f"scan: '{value.op}' is compiled over the features of (N, F) rows only; "
                              "use compiled=False")
    shifted = f"({a} - row_max({a}))"
    if value.op == "logsoftmax":
        return f"({shifted} - np.log(row_sum(np.exp({shifted}))))"
    return f"(np.exp({shifted}) / row_sum(np.exp({shifted})))"


def _logsumexp(value: Value, a: str) -> str:
    if _axis(value) != 1:
        raise UnsupportedStep("scan: 'logsumexp' over the batch is not supported by the compiler; use compiled=False")
    out = f"(row_max({a}) + np.log(row_sum(np.exp({a} - row_max({a})))))"
    return out if value.params.get("keepdim") else f"{out}.reshape({_dims(value.shape)})"


def _permute(value: Value, a: str) -> str:
    dims = tuple(int(d) % len(value.shape) for d in value.params["dims"])
    if dims == tuple(range(len(dims))):
        return a
    # contiguous, so a GEMM reads it in place: transposed weights are made once, before the loops
    return f"np.ascontiguousarray({a}.T)" if len(dims) == 2 else f"np.ascontiguousarray(np.transpose({a}, {dims}))"


def _is_top(a: str, extremum: str) -> str:
    """As the primitive: a NaN is the extremum of its row (row_max returns it), and NaN == NaN is False."""
    return f"(({a} == {extremum}({a})) | (np.isnan({a}) & np.isnan({extremum}({a}))))"


ARRAY = {
    "matmul": lambda v, a, b: f"mm({a}, {b})",
    "permute": _permute,
    "reshape": lambda v, a: f"np.ascontiguousarray({a}).reshape({_dims(v.shape)})",
    "expand": lambda v, a: f"np.broadcast_to({a}, {_dims(v.shape)})",
    "getitem": lambda v, a: f"{a}[{_index(v.params['index'])}]",
    "cat": lambda v, *xs: f"np.concatenate(({', '.join(xs)},), axis={v.params.get('dim', 0) % len(v.shape)})",
    "sum": _reduce, "mean": _reduce, "max": _reduce, "min": _reduce,
    "max.is_top": lambda v, a: _is_top(a, "row_max"), "min.is_top": lambda v, a: _is_top(a, "row_min"),
    "max.ties": lambda v, a: f"row_sum({_is_top(a, 'row_max')}.astype(np.{v.dtype.name}))",
    "min.ties": lambda v, a: f"row_sum({_is_top(a, 'row_min')}.astype(np.{v.dtype.name}))",
    "logsumexp": _logsumexp, "softmax": _softmax, "logsoftmax": _softmax,
}
SUPPORTED = set(SCALAR) | set(ARRAY) | {"indexput"}


def check_supported(values: list) -> None:
    """Raise for the first op the compiler has no form for, naming it and the step's line."""
    for value in values:
        if value.op not in SUPPORTED and value.op not in INPUT_KINDS and value.op != "const":
            where = f" at {value.source}" if value.source else ""
            raise UnsupportedStep(f"scan: the step uses '{value.op}'{where}, which the compiler does not "
                                  "support; use compiled=False")
        if value.op.split(".")[0] in ("max", "min") and _axis(value) != 1:
            raise UnsupportedStep(f"scan: {value.op.split('.')[0]} over the batch is not supported by the compiler; "
                                  "use compiled=False")


# -- fuse --------------------------------------------------------------------------------------


def fuse(phase: list, assembled: dict | None = None) -> list:
    """``phase`` cut into runs: lists of elementwise ops of one shape, and single other ops.

    A run grows while the next op is elementwise (or a unit-step column
    slice) of the run's shape; anything else closes it. ``assembled`` maps
    a block assembled from pieces to the pieces, which readers of the block wait for.
    """
    runs, current, shape = [], [], None
    for value in _gemms_first(phase, assembled or {}):
        if value.op in INPUT_KINDS or value.op == "const":
            continue
        joins = value.op in ELEMENTWISE or (value.op == "getitem" and value.batched)
        if joins and value.shape == shape:
            current.append(value)
            continue
        if current:
            runs.append(current)
        current, shape = ([value], value.shape) if joins else ([], None)
        if not joins:
            runs.append([value])
    if current:
        runs.append(current)
    return runs


def _gemms_first(phase: list, assembled: dict) -> list:
    """``phase`` reordered so each op that ends a run comes as early as its inputs allow.

    The elementwise ops between them then sit next to each other and form
    longer runs (the bias added to the input projection joins the gates).
    """
    here = {id(v): v for v in phase}

    def needs(value) -> list:
        found = []
        for i in value.inputs:
            found.extend(assembled.get(id(i), [i]))
        return [i for i in {id(i): i for i in found}.values() if id(i) in here]

    waiting = {id(v): len(needs(v)) for v in phase}
    users = {}
    for value in phase:
        for i in needs(value):
            users.setdefault(id(i), []).append(value)
    position = {id(v): k for k, v in enumerate(phase)}
    ready = [v for v in phase if waiting[id(v)] == 0]
    order = []
    while ready:
        ends_run = [v for v in ready if v.op not in ELEMENTWISE and v.op != "getitem"]
        value = min(ends_run or ready, key=lambda v: position[id(v)])
        ready.remove(value)
        order.append(value)
        for user in users.get(id(value), []):
            waiting[id(user)] -= 1
            if waiting[id(user)] == 0:
                ready.append(user)
    return order


# -- emit --------------------------------------------------------------------------------------


class _Writer:
    """Source lines of one function, and how each value is read (a Ref) in the current phase."""

    def __init__(self, readers: dict, keep: set):
        self.lines, self.refs, self.readers, self.keep = [], {}, readers, keep
        self.homes = {}  # id -> Ref: where a value is stored when computed (a buffer kept for every step)
        self.lazy = set()  # ids of transposes no code computes: the GEMMs that read them transpose instead

    def line(self, text: str, depth: int) -> None:
        self.lines.append("    " * depth + text)

    def phase(self, values: list, depth: int, skip: set = frozenset()) -> None:
        assembled, absorbed = _assemblies([v for v in values if id(v) not in skip], self.readers, self.keep)
        absorbed = absorbed | skip
        for root, pieces in assembled:
            home = self.homes.get(id(root))
            if home is None:
                fill = "np.empty" if _covers(root, pieces) else "np.zeros"
                self.line(f"{root.name} = {fill}({_dims(root.shape)}, np.{root.dtype.name})", depth)
                home = Ref(root.name, root.shape, ("0",) * len(root.shape))
            elif not _covers(root, pieces):
                self.line(f"{home.array()}[...] = 0", depth)
            self.refs[id(root)] = home
            for piece, index in pieces:
                self.homes[id(piece)] = _view(home, Value(-1, "getitem", params={"index": index}, shape=piece.shape))
        pieces_of = {id(root): [piece for piece, _ in pieces] for root, pieces in assembled}
        self.lazy |= {id(v) for v in values if _read_transposed(v, self.readers, self.keep)}
        # a weight gradient A^T B read only transposed: computed as B^T A, with no transpose
        self.lazy |= {id(v) for v in values if v.op == "matmul" and id(v.inputs[0]) in self.lazy and id(v) not in self.keep
                      and [u.op for u in self.readers.get(id(v), [])] == ["permute"] and len(v.shape) == 2}
        waits = dict(pieces_of)  # a reader of a value no code computes waits for what it is made of
        for value in values:
            if id(value) in self.lazy:
                waits[id(value)] = [w for i in value.inputs for w in waits.get(id(i), [i])]
        for run in fuse([v for v in values if id(v) not in absorbed | self.lazy], waits):
            view = _view(self.refs[id(run[0].inputs[0])], run[0]) if run[0].op == "getitem" else None
            if len(run) == 1 and view is not None:
                self.refs[id(run[0])] = view
            elif len(run) == 1 and run[0].op not in SCALAR:
                self.statement(run[0], depth)
            else:
                self.loop(run, depth)
            for value in run:  # computed outside its home: copy it there
                home = self.homes.get(id(value))
                if home is not None and self.refs.get(id(value)) != home:
                    self.line(f"{home.array()}[...] = {self.refs[id(value)].array()}", depth)
                    self.refs[id(value)] = home

    def statement(self, value: Value, depth: int) -> None:
        if value.op == "matmul" and id(value.inputs[0]) in self.lazy:
            source, other = value.inputs[0].inputs[0], value.inputs[1]
            self.line(f"{value.name} = mm_tn({self.refs[id(source)].array()}, {self.refs[id(other)].array()})", depth)
            self.refs[id(value)] = Ref(value.name, value.shape, ("0",) * len(value.shape))
            return
        if value.op == "permute" and id(value.inputs[0]) in self.lazy:  # (A^T B)^T = B^T A
            product = value.inputs[0]
            a, b = self.refs[id(product.inputs[0].inputs[0])].array(), self.refs[id(product.inputs[1])].array()
            self.line(f"{value.name} = mm_tn({b}, {a})", depth)
            self.refs[id(value)] = Ref(value.name, value.shape, ("0",) * len(value.shape))
            return
        args = [self.refs[id(i)].array() for i in value.inputs]
        if value.op == "indexput":
            if not value.params.get("unique", True):
                raise UnsupportedStep("scan: scattering into repeated indices is not supported; use compiled=False")
            self.line(f"{value.name} = np.zeros({_dims(value.shape)}, np.{value.dtype.name})", depth)
            self.line(f"{value.name}[{_index(value.params['index'])}] += {args[0]}", depth)
        else:
            self.line(f"{value.name} = {ARRAY[value.op](value, *args[:1 if '.' in value.op else None])}", depth)
        self.refs[id(value)] = Ref(value.name, value.shape, ("0",) * len(value.shape))

    def loop(self, run: list, depth: int) -> None:
        """One loop nest computing every op of ``run`` per element; stores what is read elsewhere.

        For a run over rows (n, F), each input's row is bound to a 1-D view
        before the inner loop, so that loop indexes from 0 with no offset:
        LLVM then vectorizes it (an index like 8 + j might wrap, as far as
        it can tell).
        """
        shape, members = run[0].shape, {id(v) for v in run}
        stored = [v for v in run if v.op != "getitem" and (  # a slice stays a view of what it slices
            id(v) in self.keep or any(id(u) not in members for u in self.readers.get(id(v), [])))]
        for value in stored:
            if id(value) not in self.homes:
                self.line(f"{value.name} = np.empty({_dims(shape)}, np.{value.dtype.name})", depth)
        for value in run:
            if value.op == "getitem":
                view = _view(self.refs[id(value.inputs[0])], value)
                if view is None:
                    raise UnsupportedStep(f"scan: indexing {value.params['index']} inside a run of elementwise "
                                          "ops is not supported; use compiled=False")
                self.refs[id(value)] = view
        computed = [v for v in run if v.op != "getitem"]
        if not computed:
            return
        outside = _unique([i for v in computed for i in _operands(v) if id(i) not in members or i.op == "getitem"])
        for value in stored:
            self.refs[id(value)] = self.homes.get(id(value)) or Ref(value.name, shape, ("0",) * len(shape))
        by_row = len(shape) == 2
        sizes = ["n" if d is N else _size_names.of(d) for d in shape]
        reads = {}
        if by_row:
            self.line(f"for i0 in range({sizes[0]}):", depth)
            for value in outside:
                reads[id(value)] = self._row(self.refs[id(value)], shape, depth + 1)
            for value in stored:
                reads[id(value)] = self._row(self.refs[id(value)], shape, depth + 1, store=True)
            self.line(f"for i1 in range({sizes[1]}):", depth + 1)
            inner = depth + 2
        else:
            index = [f"i{k}" for k in range(len(shape))]
            for k, size in enumerate(sizes):
                self.line(f"for i{k} in range({size}):", depth + k)
            for value in [*outside, *stored]:
                reads[id(value)] = self.refs[id(value)].element(index)
            inner = depth + len(shape)
        for value in computed:
            args = [reads[id(i)] if id(i) not in members or i.op == "getitem" else f"s{i.index}"
                    for i in _operands(value)]
            if value.op == "where" and len(value.inputs) == 2:  # a constant mask, an argument
                args.append(self._const_mask(value, shape))
            self.line(f"s{value.index} = {SCALAR[value.op](value, *args)}", inner)
        for value in stored:
            self.line(f"{reads[id(value)]} = s{value.index}", inner)

    def _row(self, ref: Ref, shape: tuple, depth: int, store: bool = False) -> str:
        """An expression for ref's element (i0, i1), through a 1-D view of row i0 bound here
        (a scalar bound here for a column read across the row; ``store``: never a scalar)."""
        if ref.literal:
            return ref.base
        lead = len(shape) - len(ref.shape)
        rows = ref.shape[0] if lead == 0 else 1
        columns = ref.shape[-1] if len(ref.shape) >= 1 and lead < 2 else 1
        row = "0" if rows == 1 else "i0"
        offsets = ref.offsets or ("0",) * len(ref.shape)
        if len(ref.shape) == 0:
            return f"{ref.base}[()]"
        if len(ref.shape) == 1:  # a vector along the columns: no row to bind
            return f"{ref.base}[i1]" if columns != 1 else f"{ref.base}[0]"
        row_index = row if offsets[0] == "0" else f"{offsets[0]} + {row}"
        name = f"{ref.base.split('[')[0]}_{len(self.lines)}"
        if columns == 1:
            if store:
                return f"{ref.base}[{row_index}, {offsets[1]}]"
            self.line(f"{name} = {ref.base}[{row_index}, {offsets[1]}]", depth)
            return name
        end = f"{offsets[1]} + {_size_names.of(columns)}" if offsets[1] != "0" else _size_names.of(columns)
        self.line(f"{name} = {ref.base}[{row_index}, {'' if offsets[1] == '0' else offsets[1]}:{end}]", depth)
        return f"{name}[i1]"

    def _const_mask(self, value: Value, shape: tuple) -> str:
        condition = value.params["condition"]
        ref = Ref(f"const_{value.index}", np.shape(condition), ("0",) * np.ndim(condition))
        return ref.element([f"i{k}" for k in range(len(shape))])


def _read_transposed(value: Value, readers: dict, keep: set) -> bool:
    """A 2-D transpose read only as the left operand of GEMMs: BLAS reads it transposed in place."""
    users = readers.get(id(value), [])
    return (value.op == "permute" and len(value.shape) == 2 and id(value) not in keep and bool(users)
            and all(u.op == "matmul" and u.inputs[0] is value and u.inputs[1] is not value for u in users))


def _column_slice(index, width: int):
    """(start, stop) of an index that takes whole rows and unit-step columns of ``width``, else None."""
    if not (isinstance(index, tuple) and len(index) == 2 and index[0] == slice(None)):
        return None
    part = index[1]
    if not isinstance(part, slice) or part.step not in (None, 1) or part.start is N or part.stop is N:
        return None
    start, stop, _ = part.indices(width)
    return start, stop


def _assemblies(values: list, readers: dict, keep: set, pieces_from: set | None = None) -> tuple[list, set]:
    """Sums of scatters into disjoint column ranges (a chunk's gradient): one buffer each.

    Each piece is then computed straight into its columns of the buffer.
    The pieces are values of this phase, or of ``pieces_from`` when given.
    Returns [(root, [(piece, index)])] and the ids of the scatters and sums
    the buffers replace.
    """
    here, found, absorbed = {id(v) for v in values}, [], set()
    sources = here if pieces_from is None else pieces_from
    for value in reversed(values):
        if value.op != "add" or id(value) in absorbed or len(value.shape) != 2:
            continue
        pieces, tree, pending, ok = [], [], list(value.inputs), True
        while pending and ok:
            part = pending.pop()
            single = len(readers.get(id(part), [])) == 1 and id(part) not in keep and id(part) in here
            if part.op == "add" and single and part.shape == value.shape:
                tree.append(part)
                pending.extend(part.inputs)
            elif part.op == "indexput" and single and part.params.get("unique") and \
                    _column_slice(part.params["index"], value.shape[1]) and id(part.inputs[0]) in sources:
                tree.append(part)
                pieces.append((part.inputs[0], part.params["index"]))
            else:
                ok = False
        spans = sorted(_column_slice(index, value.shape[1]) for _, index in pieces)
        if ok and len(pieces) > 1 and all(a[1] <= b[0] for a, b in zip(spans, spans[1:])):
            found.append((value, pieces))
            absorbed |= {id(v) for v in tree} | {id(value)}
    return found, absorbed


def _covers(root: Value, pieces: list) -> bool:
    spans = sorted(_column_slice(index, root.shape[1]) for _, index in pieces)
    return spans[0][0] == 0 and spans[-1][1] == root.shape[1] and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def _operands(value: Value) -> list:
    """The inputs an elementwise op reads (a derived mask reads only the op's first input)."""
    return list(value.inputs) if value.op not in ("relu.positive", "clamp.inside") else list(value.inputs[:1])


def _unique(values: list) -> list:
    return list({id(v): v for v in values}.values())


def _constants(trace) -> list:
    """The array constants the functions take after the weights: larger constants, where-masks."""
    return [v for v in trace.values if v.op == "const" and v.data.size != 1] + \
           [v for v in trace.values if v.op == "where" and len(v.inputs) == 2]


def emit(plan: Schedule, record: bool = False) -> tuple[str, list, np.ndarray]:
    """The Python source of ``forward`` and ``backward`` for ``plan``, the constant arrays they
    take, and the feature sizes they take as ``dims`` (d0, d1, ... in the source).

    ``record``: forward also returns the carry after every step, and backward the gradient
    that reached it, each as packed rows (a ScanRecord's ``carries`` and ``carry_grads``).
    """
    _size_names.names = {}
    try:
        source, arrays = _emit(plan, record)
        names = _size_names.names
    finally:
        _size_names.names = None
    binding = f"    {', '.join(names.values())}, = {', '.join(f'dims[{k}]' for k in range(len(names)))},\n"
    source = source.replace(f"    {_BIND_SIZES}\n", binding if names else "")
    return source, arrays, np.array(list(names), np.int64)


_BIND_SIZES = "# the feature sizes: bound here"


def _emit(plan: Schedule, record: bool) -> tuple[str, list]:
    trace = plan.trace
    check_supported(trace.values)
    readers = {}
    for value in trace.values:
        for i in value.inputs:
            readers.setdefault(id(i), []).append(value)
    loop = {id(v) for v in plan.forward_loop}
    later = {id(i) for v in plan.backward_loop + plan.backward_rows for i in v.inputs}
    step_outputs = {id(v) for v in [*trace.new_carry, trace.y] if v is not None}
    rows_needed = [v for v in plan.forward_rows if v.op != "x" and (
        id(v) in later or id(v) in step_outputs or any(id(u) in loop for u in readers.get(id(v), [])))]
    keep = {id(v) for v in [*trace.new_carry, trace.y, *trace.d_carry, trace.d_x, *trace.d_params,
                            *plan.saved, *plan.kept, *rows_needed] if v is not None}
    constants = _constants(trace)
    arguments = [*(f"param_{i}" for i in range(len(trace.params))), *(f"const_{v.index}" for v in constants)]
    count = len(trace.carry)
    y = trace.y

    def array_ref(name: str, shape: tuple, rows: str | None = None) -> Ref:
        return Ref(name, shape, ((rows,) if rows else ("0",)) + ("0",) * (len(shape) - 1))

    # forward
    out = _Writer(readers, keep)
    _inputs(out, trace)
    signature = ["xs", "sizes", "offsets", "reverse", "dims", "loop_threads", "rows_threads",
                 *(f"carry_{k}" for k in range(count)),
                 *arguments]
    out.line(f"def forward({', '.join(signature)}):", 0)
    out.line(_BIND_SIZES, 1)
    out.line("steps, n = len(sizes), xs.shape[0]", 1)
    out.line("outer_threads = limit_threads(rows_threads)", 1)
    out.phase(plan.forward_globals, 1)
    out.refs[id(trace.x)] = array_ref("xs", trace.x.shape)
    out.phase([v for v in plan.forward_rows if v.op != "x"], 1)
    rows_refs = {id(v): out.refs[id(v)] for v in rows_needed}  # on all rows; some are views
    rows_arrays = list(dict.fromkeys(rows_refs[id(v)].base for v in rows_needed if id(v) in later))
    for k in range(count):
        out.line(f"state_{k} = carry_{k}.copy()", 1)
    if y is not None:
        out.line(f"ys = np.empty({_dims(y.shape, ROWS)}, np.{y.dtype.name})", 1)
    for value in plan.saved:
        out.line(f"saved_{value.name} = np.empty({_dims(value.shape, ROWS)}, np.{value.dtype.name})", 1)
    for k, carry in enumerate(trace.carry if record else ()):
        out.line(f"carries_{k} = np.empty({_dims(carry.shape, ROWS)}, np.{carry.dtype.name})", 1)
    _loop_header(out, backward=False)
    out.refs[id(trace.x)] = array_ref("xs", trace.x.shape, "r0")
    for value in rows_needed:
        out.refs[id(value)] = _at_step(rows_refs[id(value)])
    for k, carry in enumerate(trace.carry):
        out.refs[id(carry)] = array_ref(f"state_{k}", carry.shape)
    for value in plan.saved:  # computed straight into the buffers that keep every step
        out.homes[id(value)] = array_ref(f"saved_{value.name}", value.shape, "r0")
    if y is not None and id(y) not in out.homes and y in plan.forward_loop:
        out.homes[id(y)] = array_ref("ys", y.shape, "r0")
    out.phase(plan.forward_loop, 2)
    for value in plan.saved:  # those stored elsewhere (a carry, a piece of an assembled block): copied
        if out.refs[id(value)] != array_ref(f"saved_{value.name}", value.shape, "r0"):
            out.line(f"saved_{value.name}[r0:r1] = {out.refs[id(value)].array()}", 2)
    if y is not None and out.refs[id(y)] != array_ref("ys", y.shape, "r0"):
        out.line(f"ys[r0:r1] = {out.refs[id(y)].array()}", 2)
    new = [out.refs[id(v)].array() for v in trace.new_carry]
    out.line(f"{', '.join(f'new_{k}' for k in range(count))}, = {', '.join(new)},", 2)
    for k in range(count):
        out.line(f"state_{k}[:n] = new_{k}", 2)
        if record:
            out.line(f"carries_{k}[r0:r1] = new_{k}", 2)
    results = [f"state_{k}" for k in range(count)] + ["ys" if y is not None else "xs[:0]"]
    results += rows_arrays + [f"saved_{v.name}" for v in plan.saved] + [f"carries_{k}" for k in range(count * record)]
    out.line("restore_threads(outer_threads)", 1)
    out.line(f"return ({', '.join(results)},)", 1)
    forward_lines = out.lines

    # backward
    out = _Writer(readers, keep)
    _inputs(out, trace)
    signature = ["xs", "sizes", "offsets", "reverse", "dims", "loop_threads", "rows_threads", "d_ys",
                 *(f"d_final_{k}" for k in range(count)),
                 *arguments, *rows_arrays, *(f"saved_{v.name}" for v in plan.saved)]
    out.line(f"def backward({', '.join(signature)}):", 0)
    out.line(_BIND_SIZES, 1)
    out.line("steps, n = len(sizes), xs.shape[0]", 1)
    out.line("outer_threads = limit_threads(rows_threads)", 1)
    read_by_backward = {id(i) for v in plan.backward_globals + plan.backward_loop + plan.backward_rows
                        for i in v.inputs}
    for value in reversed(plan.forward_globals):  # and what those globals are made of
        if id(value) in read_by_backward:
            read_by_backward |= {id(i) for i in value.inputs}
    out.phase([v for v in plan.forward_globals if id(v) in read_by_backward], 1)
    out.phase(plan.backward_globals, 1)
    for k in range(count):
        out.line(f"dstate_{k} = d_final_{k}.copy()", 1)
    # sums of the loop's gradients scattered into column blocks (a GRU's input-side gates): the
    # loop writes each piece straight into its block of a buffer over all rows
    kept_ids = {id(v) for v in plan.kept}
    across, across_absorbed = _assemblies(plan.backward_rows, readers, keep, pieces_from=kept_ids)
    in_block = {id(piece) for _, pieces in across for piece, _ in pieces}
    read_after = {id(i) for v in plan.backward_rows if id(v) not in across_absorbed for i in v.inputs}
    kept = [v for v in plan.kept if id(v) not in in_block or id(v) in read_after or v is trace.d_x]
    for root, pieces in across:
        fill = "np.empty" if _covers(root, pieces) else "np.zeros"
        out.line(f"block_{root.name} = {fill}({_dims(root.shape, ROWS)}, np.{root.dtype.name})", 1)
    for value in kept:
        out.line(f"kept_{value.name} = np.empty({_dims(value.shape, ROWS)}, np.{value.dtype.name})", 1)
    for k, carry in enumerate(trace.carry if record else ()):
        out.line(f"d_carries_{k} = np.empty({_dims(carry.shape, ROWS)}, np.{carry.dtype.name})", 1)
    _loop_header(out, backward=True)
    for k in range(count * record):  # what reaches the carry after step t, before the step passes it back
        out.line(f"d_carries_{k}[r0:r1] = dstate_{k}[:n]", 2)
    out.refs[id(trace.x)] = array_ref("xs", trace.x.shape, "r0")
    for value in rows_needed:
        if id(value) in later:
            out.refs[id(value)] = _at_step(rows_refs[id(value)])
    for value in plan.saved:
        out.refs[id(value)] = array_ref(f"saved_{value.name}", value.shape, "r0")
    for k, grad in enumerate(trace.grad_carry):
        out.refs[id(grad)] = array_ref(f"dstate_{k}", grad.shape)
    if trace.grad_y is not None:
        out.refs[id(trace.grad_y)] = array_ref("d_ys", trace.grad_y.shape, "r0")
    for value in kept:
        out.homes[id(value)] = array_ref(f"kept_{value.name}", value.shape, "r0")
    blocks = [(piece, _view(array_ref(f"block_{root.name}", root.shape, "r0"),
                            Value(-1, "getitem", params={"index": index}, shape=piece.shape)))
              for root, pieces in across for piece, index in pieces]
    for piece, view in blocks:  # computed straight into its block, unless the loop has a block for it too
        out.homes[id(piece)] = view
    out.phase(plan.backward_loop, 2)
    for piece, view in blocks:  # also part of another block: copied
        if out.refs[id(piece)] != view:
            out.line(f"{view.array()}[...] = {out.refs[id(piece)].array()}", 2)
    for value in kept:
        if out.refs[id(value)] != array_ref(f"kept_{value.name}", value.shape, "r0"):
            out.line(f"kept_{value.name}[r0:r1] = {out.refs[id(value)].array()}", 2)
    d_carry = [out.refs[id(v)].array() if v is not None else "0" for v in trace.d_carry]
    out.line(f"{', '.join(f'd_{k}' for k in range(count))}, = {', '.join(d_carry)},", 2)
    for k in range(count):
        out.line(f"dstate_{k}[:n] = d_{k}", 2)
    out.line("restore_threads(outer_threads)", 1)
    out.line("limit_threads(rows_threads)", 1)
    out.line("n = xs.shape[0]", 1)
    out.refs[id(trace.x)] = array_ref("xs", trace.x.shape)
    for value in rows_needed:
        if id(value) in later:
            out.refs[id(value)] = rows_refs[id(value)]
    for value in plan.saved:
        out.refs[id(value)] = array_ref(f"saved_{value.name}", value.shape)
    for value in kept:
        out.refs[id(value)] = array_ref(f"kept_{value.name}", value.shape)
    for root, _ in across:
        out.refs[id(root)] = array_ref(f"block_{root.name}", root.shape)
    if trace.grad_y is not None:
        out.refs[id(trace.grad_y)] = array_ref("d_ys", trace.grad_y.shape)
    out.phase(plan.backward_rows, 1, skip=across_absorbed)
    results = [f"dstate_{k}" for k in range(count)]
    results.append(out.refs[id(trace.d_x)].array() if trace.d_x is not None else "np.zeros_like(xs)")
    for param, grad in zip(trace.params, trace.d_params):
        results.append(f"np.ascontiguousarray({out.refs[id(grad)].array()})" if grad is not None
                       else f"np.zeros_like(param_{param.slot})")
    results += [f"d_carries_{k}" for k in range(count * record)]
    out.line("restore_threads(outer_threads)", 1)
    out.line(f"return ({', '.join(results)},)", 1)

    header = ["import numpy as np",
              "from tinygrad_rnn.compiler.runtime import (mm, mm_tn, row_max, row_min, row_sum, sigmoid, tanh,\n"
              "                                          log_sigmoid, limit_threads, restore_threads)", ""]
    source = "\n".join(header + forward_lines + ["", ""] + out.lines) + "\n"
    arrays = [v.data if v.op == "const" else np.asarray(v.params["condition"]) for v in constants]
    return source, arrays


def _at_step(ref: Ref) -> Ref:
    """A value computed on the rows of all steps, as read inside the loop: this step's rows."""
    first = "r0" if ref.offsets[0] == "0" else f"r0 + {ref.offsets[0]}"
    return Ref(ref.base, ref.shape, (first, *ref.offsets[1:]), view=ref.view)


def _inputs(writer: _Writer, trace) -> None:
    """How the phases read what is not computed: weights and constants."""
    for value in trace.values:
        if value.op == "param":
            writer.refs[id(value)] = Ref(f"param_{value.slot}", value.shape, ("0",) * len(value.shape))
        elif value.op == "const":
            writer.refs[id(value)] = Ref(_literal(value.data.item(), value.dtype), literal=True) \
                if value.data.size == 1 else Ref(f"const_{value.index}", value.shape, ("0",) * len(value.shape))


def _loop_header(writer: _Writer, backward: bool) -> None:
    writer.line("limit_threads(loop_threads)", 1)
    writer.line("for i in range(steps):", 1)
    writer.line(f"t = {'i if reverse else steps - 1 - i' if backward else 'steps - 1 - i if reverse else i'}", 2)
    writer.line("n, r0, r1 = sizes[t], offsets[t], offsets[t + 1]", 2)
