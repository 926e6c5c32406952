"""Hypothesis strategies for property-testing code built on tinygrad_rnn.

The test suite checks every primitive with these; use them to check your own
functions and layers the same way::

    from hypothesis import given
    import tinygrad_rnn as tg
    from tinygrad_rnn.testing import arrays, gradcheck

    @given(arrays(away_from=(0.0,)))
    def test_my_abs_has_the_right_gradient(x):
        x = tg.Tensor(x, requires_grad=True)
        assert gradcheck(lambda t: (t * t).sqrt(), [x])

This module needs hypothesis (``pip install tinygrad_rnn[test]``); nothing
in the package imports it, so ``import tinygrad_rnn`` never does.
"""

from __future__ import annotations

import hashlib
import linecache

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import GradcheckError, gradcheck

__all__ = [
    "GradcheckError", "RecurrentStep", "arrays", "broadcast_pairs", "broadcastable_shapes", "gradcheck",
    "non_contiguous", "recurrent_steps", "shapes",
]


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5):
    """Array shapes, from 0-d ``()`` up to ``max_dims`` dims of sides ``min_side..max_side``.

    Size-1 dims come up often (hypothesis shrinks towards them), so code that
    confuses a size-1 dim with a broadcast one gets caught.

    >>> shapes(max_dims=2, max_side=3).example()  # doctest: +SKIP
    (3, 1)
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _push_away(x: np.ndarray, points, margin: float) -> np.ndarray:
    """Move every element closer than ``margin`` to one of ``points`` out to that distance."""
    for point in points:
        offset = x - point
        near = np.abs(offset) < margin
        x = np.where(near, point + np.where(offset < 0, -margin, margin), x)
    return x


def _spread(x: np.ndarray, margin: float) -> np.ndarray:
    """Add ``margin`` times each element's rank: the order stays, every gap becomes >= margin."""
    ranks = np.argsort(np.argsort(x, axis=None, kind="stable"), kind="stable")
    return x + margin * ranks.reshape(x.shape)


def arrays(shape=None, dtype=np.float64, elements=None, away_from=(), margin: float = 0.1,
           distinct: bool = False):
    """Finite float arrays of ``shape`` (a tuple, a strategy of tuples, or None for ``shapes()``).

    ``elements``: a strategy of floats, default uniform-ish in [-2, 2].
    ``away_from``: points (kinks, poles, clamp bounds) no element comes within
    ``margin`` of, so finite differences never straddle them.
    ``distinct``: every two elements differ by at least ``margin`` (no ties
    for max, sort, ...); applied after ``away_from``.

    >>> arrays((2, 3), away_from=(0.0,)).example()  # doctest: +SKIP
    array([[ 1.5, -0.1,  0.1], [ 2. ,  0.1, -1.9]])
    """
    dtype = np.dtype(dtype)
    if elements is None:
        elements = st.floats(-2, 2, width=8 * dtype.itemsize)
    shape = shapes() if shape is None else shape
    base = hnp.arrays(np.float64, shape, elements=elements)

    def finish(x: np.ndarray) -> np.ndarray:
        x = _push_away(x, away_from, margin)
        if distinct:
            x = _spread(x, margin)
        return np.asarray(x, dtype=dtype)  # np.asarray keeps 0-d arrays as arrays

    return base.map(finish)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4,
                         max_side: int = 5):
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy rules, size-1 and missing dims).

    >>> broadcastable_shapes().example()  # doctest: +SKIP
    ((4, 1, 3), (2, 1))
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda drawn: drawn.input_shapes)


def broadcast_pairs(dtype=np.float64, elements=None, away_from=(), margin: float = 0.1,
                    max_dims: int = 4, max_side: int = 5):
    """Pairs of float arrays ``(a, b)`` whose shapes broadcast together; options as in ``arrays``.

    >>> a, b = broadcast_pairs().example()  # doctest: +SKIP
    >>> np.broadcast_shapes(a.shape, b.shape)  # doctest: +SKIP
    (4, 2, 3)
    """
    def pair(shape_pair):
        return st.tuples(*(arrays(s, dtype, elements, away_from, margin) for s in shape_pair))

    return broadcastable_shapes(2, max_dims=max_dims, max_side=max_side).flatmap(pair)


def _strided(x: np.ndarray) -> np.ndarray:
    """The values of ``x`` at every other position of a buffer twice as big.

    The gaps hold NaN (for floats): an op that reads memory as if it were
    contiguous meets them.
    """
    gap = np.nan if x.dtype.kind == "f" else 0
    buffer = np.full(tuple(2 * n for n in x.shape), gap, dtype=x.dtype)
    view = buffer[(slice(None, None, 2),) * x.ndim + (Ellipsis,)]  # a view even when 0-d
    view[...] = x
    return view


def _transposed(x: np.ndarray) -> np.ndarray:
    """The values of ``x`` stored in Fortran (column-major) order: the transpose of a C array."""
    return np.ascontiguousarray(x.T).T


def non_contiguous(array_strategy):
    """The arrays of ``array_strategy`` as non-contiguous views with the same values.

    Each is either a strided view (every other element of a larger NaN-filled
    buffer) or, with two dims longer than 1, a transposed one (column-major memory).
    A 0-d or one-element array has no other layout: it stays contiguous.

    >>> x = non_contiguous(arrays((3, 2))).example()  # doctest: +SKIP
    >>> x.flags.c_contiguous  # doctest: +SKIP
    False
    """
    def relayout(drawn):
        x, layout = drawn
        long_dims = sum(n > 1 for n in x.shape)  # with fewer, column-major memory is row-major too
        return layout(x) if long_dims >= 2 else _strided(x)

    return st.tuples(array_strategy, st.sampled_from([_strided, _transposed])).map(relayout)


# -- random recurrent cells, for tg.scan --------------------------------------------------------


class RecurrentStep:
    """A recurrent cell drawn by ``recurrent_steps``: a step for ``tg.scan``, its carry and weights.

    ``step(carry, x_t) -> (new_carry, y_t)``; ``init``: the initial carry (a
    Tensor, or a tuple of Tensors), ``batch`` rows each; ``weights``: name ->
    the Tensor the step closes over; ``input_size``: the features of
    ``x_t``; ``source``: the step's Python source. For a drawn cell that
    source is what runs, and it is the repr: a failing example shows the cell
    as code a person can read and paste. ``tensors()``: every leaf a
    gradient reaches, the carry's first.
    """

    def __init__(self, step, init, weights: dict, input_size: int, source: str):
        self.step, self.init, self.weights = step, init, weights
        self.input_size, self.source = input_size, source

    @property
    def carry(self) -> tuple:
        """The initial carry as a tuple, whether ``init`` is one Tensor or a tuple."""
        return (self.init,) if not isinstance(self.init, tuple) else self.init

    @property
    def batch(self) -> int:
        return self.carry[0].shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.carry[0].dtype

    def tensors(self) -> list:
        """The initial carry's tensors, then the weights: the leaves the step's gradients reach."""
        return [*self.carry, *self.weights.values()]

    def __repr__(self) -> str:
        init = self.init.shape if not isinstance(self.init, tuple) else tuple(t.shape for t in self.init)
        weights = ", ".join(f"{name} {t.shape}" for name, t in self.weights.items())
        return (f"RecurrentStep(input_size={self.input_size}, batch={self.batch}, init={init}, "
                f"dtype={self.dtype}, weights: {weights}):\n{self.source}")


# Gate activations: values in [0, 1]. Candidate activations: values of order 1.
# Templates take the pre-activation {g}; {V} is a square weight drawn for the gate.
_GATE_ACTIVATIONS = (
    "{g}.sigmoid()",
    "F.logsigmoid({g}).exp()",  # sigmoid through logsigmoid and exp
    "({g} * 0.25 + 0.5).clamp(0, 1)",  # a hard sigmoid
    "{g}.softmax(dim=1)",
)
_CANDIDATE_ACTIVATIONS = (
    "{g}.tanh()",
    "{g}.relu()",
    "{g}.tanh() @ {V}.T",  # a GEMM after an elementwise op
    "{g} * {g}.sigmoid()",
    "{g}.tanh().exp() - 1",
    "{g} / (1 + {g} ** 2)",
    "{g}.clamp(-1, 1)",
    "{g}.log_softmax(dim=1)",
    "tg.cat([{g}[:, 1:], {g}[:, :1]], dim=1).tanh()",  # the features rotated: a cat of slices
)
# Normalisations of the gate block a (over its features).
_NORMALISATIONS = (
    (),
    ("a = a - a.mean(dim=1, keepdim=True)",  # LayerNorm, with 1 for the epsilon: well conditioned
     "a = a * ((a ** 2).mean(dim=1, keepdim=True) + 1) ** -0.5"),
    ("a = a / ((a ** 2).mean(dim=1, keepdim=True) + 1) ** 0.5",),  # RMSNorm
    ("a = a - a.amax(dim=1, keepdim=True)",),
    ("a = a * (a.sum(dim=1, keepdim=True) * 0.5).sigmoid()",),
)
# What happens to a new carry after its update ({c}: the new carry, {old}: the previous one).
_CARRY_POSTS = (
    "",
    "{c} = {c}.clamp(-2, 2)",
    "{c} = {c}.where({mask}, {old})",  # a constant mask: some features keep their old value
    "{c} = {c} - {c}.mean(dim=1, keepdim=True)",
    "{c} = {c} - {c}.amax(dim=1, keepdim=True)",
    "{c} = {c} / (({c} ** 2).mean(dim=1, keepdim=True) + 1) ** 0.5",
)
# y_t: {s} is a new carry, {gate} the first activated gate, {all} every new carry.
_OUTPUTS = (
    "y = None",
    "y = {s}",
    "y = {s}.tanh() @ O.T + b_o",
    "y = ({s} @ O.T).log_softmax(dim=1)",
    "y = ({s} @ O.T).softmax(dim=1)",
    "y = {s}.logsumexp(dim=1, keepdim=True)",
    "y = {s}.logsumexp(dim=1)",
    "y = {s}.sum(dim=1)",
    "y = {s}.mean(dim=1, keepdim=True)",
    "y = {s}.amax(dim=1)",
    "y = {gate}",
    "y = tg.cat([{all}, x, {gate}], dim=1)",
    "y = tg.cat([x, {gate}], dim=1)",  # maybe independent of the carry
)
# Each update: the gates it needs (gates first, the candidate last) and the new carry.
_UPDATES = {
    "rnn": (("n",), "{c}_new = n_{c}"),
    "gru": (("z", "n"), "{c}_new = (1 - z_{c}) * n_{c} + z_{c} * {c}"),
    "lstm": (("f", "i", "g"), "{c}_new = f_{c} * {c} + i_{c} * g_{c}"),
}
_CANDIDATES = {"n", "g"}


@st.composite
def recurrent_steps(draw, max_size: int = 5, max_carries: int = 2, batch=None, dtype=np.float64):
    """Random recurrent cells for ``tg.scan``: a ``RecurrentStep`` (step, init, weights, source).

    Each cell has an input of 1..``max_size`` features and a carry of
    1..``max_carries`` tensors of 1..``max_size`` features (``batch`` rows:
    an int or a strategy, default 1..4). Its step computes one gate block
    with several GEMMs (``x @ W_x.T``, the carry's ``h @ U_h`` or
    ``h.tanh() @ U_h.T``, ``(h + x) @ U_h``...), maybe normalises it over
    its features (LayerNorm, RMSNorm, a max shift), cuts it into gates
    (chunk, split or slices, open-ended or from the end), applies
    activations (some followed by another GEMM, or a rotation of the
    features by a cat of slices), updates
    each carry tensor as an RNN, a GRU or an LSTM does (or, with two, the
    first from the second's new value, LSTM's ``h = o * tanh(c)``), may
    clamp, mask (``where`` with a constant mask) or re-centre it, and
    returns some ``y_t``: None, a carry, a projection, a softmax, a
    reduction over features, a concatenation with ``x`` and a gate.
    The step reads ``x`` and every carry tensor. Weights are ``dtype``
    Tensors requiring grad, scaled by 1/sqrt(fan-in) and drawn from a numpy
    generator seeded by the strategy; values stay where finite differences
    are well conditioned (no log of anything but a sigmoid, exp only of
    bounded values, divisions by 1 + a square). Constants come from a fixed
    set, so cells of one structure compile to the same source.

    >>> cell = recurrent_steps().example()  # doctest: +SKIP
    >>> cell  # doctest: +SKIP
    RecurrentStep(input_size=2, batch=3, init=((3, 4), (3, 1)), dtype=float64, weights: W_x (9, 2), ...):
    def make_step(W_x, U_h, b, P):
        def step(carry, x):
            h, c = carry
            a = x @ W_x.T + h.tanh() @ U_h.T + b
            ...
    >>> xs = tg.Tensor(np.random.randn(5, cell.batch, cell.input_size))  # doctest: +SKIP
    >>> final, ys = tg.scan(cell.step, cell.init, xs)  # doctest: +SKIP
    """
    import tinygrad_rnn  # here, not at import: this module is imported by tinygrad_rnn's users only

    batch = st.integers(1, 4) if batch is None else batch
    batch = draw(batch) if isinstance(batch, st.SearchStrategy) else batch
    size = st.integers(1, max_size)
    input_size = draw(size)
    count = draw(st.integers(1, max_carries))
    names = ["h", "c", "m", "s"][:count] if count <= 4 else [f"c{k}" for k in range(count)]
    sizes = {name: draw(size) for name in names}
    single = count == 1 and draw(st.booleans())
    coupled = count >= 2 and draw(st.booleans())  # h_new = o_h * tanh(c_new), or through a GEMM
    shapes = {}  # weight name -> (shape, fan_in)
    body = []

    def weight(name, shape, fan_in):
        shapes[name] = (tuple(shape), fan_in)
        return name

    # which gates each carry tensor needs, in the order of the gate block
    updates = {}
    for name in names:
        updates[name] = "output" if coupled and name == names[0] else draw(st.sampled_from(sorted(_UPDATES)))
    gates = []  # (gate name, role, width)
    for name in names:
        roles = ("o",) if updates[name] == "output" else _UPDATES[updates[name]][0]
        gates.extend((f"{role}_{name}", role, sizes[name]) for role in roles)
    width = sum(w for _, _, w in gates)

    # the gate block: GEMMs of the input and of the carry
    terms = []
    sources = [("x", input_size, ("x", "x.tanh()"))] + [
        (n, sizes[n], (n, f"{n}.tanh()", f"{n}.sigmoid()") + ((f"({n} + x)",) if sizes[n] == input_size else ()))
        for n in names]
    for k, (name, features, forms) in enumerate(sources):
        if k > 0 and updates[name] in ("gru", "lstm") and not draw(st.booleans()):
            continue  # this carry tensor does not feed the gate block (its update reads it)
        form = draw(st.sampled_from(forms))
        matrix = "W_x" if name == "x" else f"U_{name}"
        if draw(st.booleans()):
            terms.append(f"{form} @ {weight(matrix, (features, width), features)}")
        else:
            terms.append(f"{form} @ {weight(matrix, (width, features), features)}.T")
    if draw(st.booleans()):
        terms.append(weight("b", (width,), 1))
    body.append("a = " + " + ".join(terms))
    body.extend(draw(st.sampled_from(_NORMALISATIONS)))

    # the gates: chunk, split or slices of the block
    if len(gates) > 1:
        widths = [w for _, _, w in gates]
        ways = ["slices", "split"] + (["chunk"] if len(set(widths)) == 1 else [])
        way = draw(st.sampled_from(ways))
        targets = ", ".join(g for g, _, _ in gates)
        if way == "chunk":
            body.append(f"{targets} = a.chunk({len(gates)}, dim=1)")
        elif way == "split":
            body.append(f"{targets} = a.split({widths}, dim=1)")
        else:
            start = 0
            for gate, _, w in gates:
                body.append(f"{gate} = a[:, {start}:{start + w}]")
                start += w
            # the last gate maybe as an open-ended slice, or counted from the end
            last, _, w = gates[-1]
            bounds = draw(st.sampled_from([f"{start - w}:{start}", f"{start - w}:", f"-{w}:"]))
            body[-1] = f"{last} = a[:, {bounds}]"
    else:
        body.append(f"{gates[0][0]} = a")
    for gate, role, w in gates:
        template = draw(st.sampled_from(_CANDIDATE_ACTIVATIONS if role in _CANDIDATES else _GATE_ACTIVATIONS))
        if w == 1 and "[:, 1:]" in template:  # nothing to rotate
            template = _CANDIDATE_ACTIVATIONS[0]
        v = weight(f"V_{gate}", (w, w), w) if "{V}" in template else None
        body.append(f"{gate} = " + template.format(g=gate, V=v))

    # the updates, then what happens to each new carry
    order = names[1:] + names[:1] if coupled else names
    for name in order:
        if updates[name] == "output":
            source = names[1]
            if sizes[name] == sizes[source] and draw(st.booleans()):
                body.append(f"{name}_new = o_{name} * {source}_new.tanh()")
            else:
                p = weight("P", (sizes[name], sizes[source]), sizes[source])
                body.append(f"{name}_new = o_{name} * ({source}_new @ {p}.T).tanh()")
        else:
            body.append(_UPDATES[updates[name]][1].format(c=name))
        post = draw(st.sampled_from(_CARRY_POSTS))
        if post:
            mask = draw(st.lists(st.booleans(), min_size=sizes[name], max_size=sizes[name]))
            body.append(post.format(c=f"{name}_new", old=name, mask=f"np.array({mask})"))

    # y_t
    output = draw(st.sampled_from(_OUTPUTS))
    new = [f"{n}_new" for n in names]
    s = draw(st.sampled_from(new))
    if "O.T" in output:
        out = draw(size)
        weight("O", (out, sizes[s[:-4]]), sizes[s[:-4]])
        if "b_o" in output:
            weight("b_o", (out,), 1)
    body.append(output.format(s=s, gate=gates[0][0], all=", ".join(new)))

    # the source, and the tensors
    arguments = ", ".join(shapes)
    carry = names[0] if single else "carry"
    unpack = [] if single else [f"{', '.join(names)}{',' if count == 1 else ''} = carry"]
    result = new[0] if single else "(" + ", ".join(new) + ("," if count == 1 else "") + ")"
    lines = [f"def make_step({arguments}):", f"    def step({carry}, x):",
             *(f"        {line}" for line in [*unpack, *body, f"return {result}, y"]),
             "    return step"]
    source = "\n".join(lines)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weights = {}
    for name, (shape, fan_in) in shapes.items():
        scale = 0.1 if len(shape) == 1 else 1 / np.sqrt(fan_in)
        weights[name] = tinygrad_rnn.Tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)
    init = tuple(tinygrad_rnn.Tensor((0.5 * rng.standard_normal((batch, sizes[n]))).astype(dtype),
                                     requires_grad=True) for n in names)
    filename = f"<recurrent_steps {hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, [line + "\n" for line in lines], filename)
    namespace = {"np": np, "tg": tinygrad_rnn, "F": tinygrad_rnn.functional}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (source written just above)
    step = namespace["make_step"](**weights)
    return RecurrentStep(step, init[0] if single else init, weights, input_size, source)
