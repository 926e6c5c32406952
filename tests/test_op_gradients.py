"""Every primitive in Function.registry, against finite differences and against numpy.

SPECS, the table at the top, maps each primitive's registry name to a Spec: how
to draw its inputs with tinygrad_rnn.testing's strategies, how to call it
through the public API, and what plain numpy computes for it.
test_every_primitive_has_a_spec fails when a primitive has no row: adding a
Function to tinygrad_rnn/ops means adding a row here. Each row gets three
tests: values against numpy, first derivatives (gradcheck, on a graph that
must record the primitive itself), and second derivatives, the recorded
backward (gradgradcheck; the hand-written recurrences and the compiled scan,
whose backward cannot record itself, must instead refuse by name).
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Function, Tensor, ops
from tinygrad_rnn.testing import (arrays, broadcast_pairs, broadcastable_shapes, non_contiguous,
                                  shapes)

# gradcheck costs two forwards per input element: keep tensors small (<= 256 elements).
SMALL = dict(max_dims=4, max_side=4)


@dataclass(frozen=True)
class Spec:
    """How to test one op.

    cases: a strategy of ``(arrays, params)``: float64 arrays that become
        tensors requiring grad, and the constant keyword arguments of the call.
    call: ``call(*tensors, **params)`` -> a tensor or a tuple of tensors.
    reference: the same computed by numpy on the arrays.
    gradcheck: extra keyword arguments for ``tg.gradcheck``.
    """

    cases: st.SearchStrategy
    call: Callable
    reference: Callable
    gradcheck: dict = field(default_factory=dict)


# -- the table ------------------------------------------------------------------------


def _op_specs() -> dict:
    """SPECS: one row per primitive, by its registry name.

    A function, so that the table comes first and names the strategies and the
    numpy references defined below it; SPECS is built after them.
    """
    return {
        "add": Spec(binary(), lambda a, b: a + b, np.add),
        "sub": Spec(binary(), lambda a, b: a - b, np.subtract),
        "mul": Spec(binary(), lambda a, b: a * b, np.multiply),
        "div": Spec(
            broadcastable_shapes(2, **SMALL).flatmap(
                lambda s: st.tuples(arrays(s[0]), arrays(s[1], away_from=(0.0,), margin=0.2))
            ).map(lambda pair: (pair, {})),
            lambda a, b: a / b, np.divide,
        ),
        "neg": Spec(unary(), lambda x: -x, np.negative),
        "pow": Spec(pow_cases(), lambda x, exponent: x**exponent,
                    lambda x, exponent: np.power(x, float(exponent))),
        "powtensor": Spec(pow_tensor_cases(), lambda base, exponent: base**exponent, np.power),
        "exp": Spec(unary(), Tensor.exp, np.exp),
        "log": Spec(unary(elements=st.floats(0.1, 5)), Tensor.log, np.log),
        "tanh": Spec(unary(), Tensor.tanh, np.tanh),
        "sigmoid": Spec(unary(), Tensor.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        "logsigmoid": Spec(unary(elements=st.floats(-30, 30)), F.logsigmoid, np_log_sigmoid),
        "relu": Spec(unary(away_from=(0.0,)), Tensor.relu, lambda x: np.maximum(x, 0)),
        "clamp": Spec(clamp_cases(), lambda x, min, max: x.clamp(min=min, max=max),
                      lambda x, min, max: np.clip(x, min, max)),
        "where": Spec(where_cases(), lambda a, b, condition: tg.where(condition, a, b),
                      lambda a, b, condition: np.where(condition, a, b)),
        # float32 output: finite differences need a step far above float32's resolution
        "cast": Spec(unary().map(lambda case: (case[0], {"dtype": np.float32})),
                     lambda x, dtype: x.to(dtype), lambda x, dtype: x.astype(dtype), {"eps": 1e-3}),
        "matmul": Spec(matmul_cases(), lambda a, b: a @ b, np.matmul),
        "reshape": Spec(reshape_cases(), lambda x, shape: x.reshape(shape), np_reshape),
        "permute": Spec(permute_cases(), lambda x, dims: x.permute(dims),
                        lambda x, dims: np.transpose(x, dims)),
        "expand": Spec(expand_cases(), lambda x, shape: x.expand(shape), np_expand),
        "getitem": Spec(getitem_cases(), lambda x, index: x[index], lambda x, index: x[index]),
        "indexput": Spec(index_put_cases(), lambda v, **p: ops.IndexPut.apply(v, **p), np_index_put),
        "cat": Spec(cat_cases(), lambda *xs, dim: tg.cat(xs, dim=dim),
                    lambda *xs, dim: np.concatenate(xs, axis=dim)),
        "stack": Spec(stack_cases(), lambda *xs, dim: tg.stack(xs, dim=dim),
                      lambda *xs, dim: np.stack(xs, axis=dim)),
        "sum": Spec(over_dims(), lambda x, dim, keepdim: x.sum(dim, keepdim),
                    lambda x, dim, keepdim: np.sum(x, axis=_axis(x, dim), keepdims=keepdim)),
        "mean": Spec(over_dims(), lambda x, dim, keepdim: x.mean(dim, keepdim),
                     lambda x, dim, keepdim: np.mean(x, axis=_axis(x, dim), keepdims=keepdim)),
        # distinct values: at a tie the max has no derivative
        "max": Spec(over_dims(distinct=True), lambda x, dim, keepdim: x.amax(dim, keepdim),
                    lambda x, dim, keepdim: np.max(x, axis=_axis(x, dim), keepdims=keepdim)),
        "min": Spec(over_dims(distinct=True), lambda x, dim, keepdim: x.amin(dim, keepdim),
                    lambda x, dim, keepdim: np.min(x, axis=_axis(x, dim), keepdims=keepdim)),
        "logsumexp": Spec(over_dims(), lambda x, dim, keepdim: x.logsumexp(dim, keepdim), np_logsumexp),
        "softmax": Spec(over_dims(with_keepdim=False), lambda x, dim: x.softmax(dim), np_softmax),
        "logsoftmax": Spec(over_dims(with_keepdim=False), lambda x, dim: x.log_softmax(dim),
                           np_log_softmax),
        "embedding": Spec(embedding_cases(),
                          lambda w, indices, padding_idx: ops.Embedding.apply(
                              w, indices=indices, padding_idx=padding_idx),
                          lambda w, indices, padding_idx: w[indices]),
        "rnnsequence": Spec(sequence_cases(1, 1), lambda *xs, **p: ops.RNNSequence.apply(*xs, **p),
                            np_sequence(lambda gx, gh, h: (np.tanh(gx + gh),), 1)),
        "lstmsequence": Spec(sequence_cases(4, 2), lambda *xs, **p: ops.LSTMSequence.apply(*xs, **p),
                             np_sequence(np_lstm_cell, 2)),
        "grusequence": Spec(sequence_cases(3, 1), lambda *xs, **p: ops.GRUSequence.apply(*xs, **p),
                            np_sequence(np_gru_cell, 1)),
        "scan": Spec(scan_cases(), _scan_call, np_scan),
        "abs": Spec(unary(away_from=(0.0,)), Tensor.abs, np.abs),
        "sqrt": Spec(unary(elements=st.floats(0.1, 4)), Tensor.sqrt, np.sqrt),
        "rsqrt": Spec(unary(elements=st.floats(0.1, 4)), Tensor.rsqrt, lambda x: 1 / np.sqrt(x)),
        "sign": Spec(unary(away_from=(0.0,)), Tensor.sign, np.sign),
        "sin": Spec(unary(), Tensor.sin, np.sin),
        "cos": Spec(unary(), Tensor.cos, np.cos),
        "erf": Spec(unary(), Tensor.erf, lambda x: np.vectorize(__import__("math").erf, otypes=[float])(x)),
        "maximum": Spec(broadcast_pairs(**SMALL).filter(lambda p: np.all(np.abs(np.subtract(*p)) > 0.1))
                        .map(lambda pair: (pair, {})), Tensor.maximum, np.maximum),
        "pad": Spec(pad_cases(), lambda x, **p: ops.Pad.apply(x, **p),
                    lambda x, widths, value: np.pad(x, widths, constant_values=value)),
        "clone": Spec(unary(), Tensor.clone, np.copy),
        "cumsum": Spec(cumsum_cases(), lambda x, dim: x.cumsum(dim),
                       lambda x, dim: np.cumsum(x, axis=_axis(x, dim)).reshape(x.shape)),
        "binarycrossentropy": Spec(bce_cases(), lambda x, y: F.binary_cross_entropy(x, y, reduction="none"), np_bce),
    }


# -- drawing cases ----------------------------------------------------------------


def unary(**array_options):
    return arrays(shapes(**SMALL), **array_options).map(lambda x: ((x,), {}))


def binary(**array_options):
    return broadcast_pairs(**SMALL, **array_options).map(lambda pair: (pair, {}))


def dim_of(ndim: int):
    """A valid dim of a tensor with ``ndim`` dims, negative ones included (0-d has 0 and -1)."""
    n = max(ndim, 1)
    return st.integers(-n, n - 1)


@st.composite
def reduce_dims(draw, ndim: int):
    """None, an int, or a tuple of distinct dims, some negative."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "int"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(dim_of(ndim))
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in dims)


@st.composite
def over_dims(draw, keyword="dim", with_keepdim=True, **array_options):
    x = draw(arrays(shapes(**SMALL), **array_options))
    params = {keyword: draw(reduce_dims(x.ndim) if with_keepdim else dim_of(x.ndim))}
    if with_keepdim:
        params["keepdim"] = draw(st.booleans())
    return (x,), params


@st.composite
def pow_cases(draw):
    exponent = draw(st.sampled_from([0, 1, 2, 3, -1, -2, 0.5, 1.5, -0.5, 2.5]))
    if float(exponent).is_integer():  # negative bases are fine; negative powers need x away from 0
        # a negative power varies fast near 0: finite differences of its derivatives need x away from it
        x = draw(arrays(shapes(**SMALL), away_from=(0.0,) if exponent < 0 else (), margin=0.5))
    else:  # fractional powers of negative numbers are nan: positive bases only
        x = draw(arrays(shapes(**SMALL), elements=st.floats(0.2, 3)))
    return (x,), {"exponent": exponent}


@st.composite
def pow_tensor_cases(draw):
    """A positive base (else fractional powers are NaN) to any exponent, shapes broadcast."""
    base_shape, exponent_shape = draw(broadcastable_shapes(2, **SMALL))
    return (draw(arrays(base_shape, elements=st.floats(0.3, 3))),
            draw(arrays(exponent_shape, elements=st.floats(-2, 2)))), {}


@st.composite
def clamp_cases(draw):
    low, high = draw(st.sampled_from([(-0.5, 0.5), (None, 0.3), (-0.2, None), (0.0, 1.0)]))
    x = draw(arrays(shapes(**SMALL), away_from=[b for b in (low, high) if b is not None]))
    return (x,), {"min": low, "max": high}


@st.composite
def where_cases(draw):
    condition_shape, a_shape, b_shape = draw(broadcastable_shapes(3, **SMALL))
    condition = draw(hnp.arrays(np.bool_, condition_shape))
    return (draw(arrays(a_shape)), draw(arrays(b_shape))), {"condition": condition}


@st.composite
def matmul_cases(draw):
    """(..., n, k) @ (..., k, m) with broadcast batch dims; either side may be a 1-D vector."""
    n, k, m = draw(st.tuples(*[st.integers(1, 4)] * 3))
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    a_shape = (k,) if draw(st.booleans()) else batch_a + (n, k)
    b_shape = (k,) if draw(st.booleans()) else batch_b + (k, m)
    return (draw(arrays(a_shape)), draw(arrays(b_shape))), {}


def _shapes_with_size(size: int, max_dims: int = 3) -> list[tuple]:
    """Every shape of up to ``max_dims`` dims holding ``size`` elements."""
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    found = [()] if size == 1 else []
    for ndim in range(1, max_dims + 1):
        found += [s for s in itertools.product(divisors, repeat=ndim) if np.prod(s) == size]
    return found


@st.composite
def reshape_cases(draw):
    x = draw(arrays(shapes(**SMALL)))
    shape = list(draw(st.sampled_from(_shapes_with_size(x.size))))
    if shape and draw(st.booleans()):
        shape[draw(st.integers(0, len(shape) - 1))] = -1  # let reshape infer one side
    return (x,), {"shape": tuple(shape)}


@st.composite
def permute_cases(draw):
    x = draw(arrays(shapes(**SMALL)))
    dims = draw(st.permutations(range(x.ndim)))
    return (x,), {"dims": tuple(d - x.ndim if draw(st.booleans()) else d for d in dims)}


@st.composite
def expand_cases(draw):
    x = draw(arrays(shapes(**SMALL)))
    sides = [draw(st.integers(1, 3)) if n == 1 else n for n in x.shape]
    sides = [-1 if draw(st.booleans()) else n for n in sides]  # -1 keeps a side
    leading = draw(st.lists(st.integers(1, 3), max_size=2))
    return (x,), {"shape": tuple(leading + sides)}


@st.composite
def getitem_cases(draw):
    """Basic indices, integer arrays with repeated entries, and boolean masks."""
    kind = draw(st.sampled_from(["basic", "repeated", "integer arrays", "mask"]))
    x = draw(arrays(shapes(min_dims=0 if kind == "basic" else 1, **SMALL)))
    if kind == "basic":  # ints, slices with steps, None, Ellipsis
        index = draw(hnp.basic_indices(x.shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "repeated":  # along one dim, the first entry picked twice: gradients must add
        dim = draw(st.integers(0, x.ndim - 1))
        side = x.shape[dim]
        picks = draw(st.lists(st.integers(-side, side - 1), min_size=1, max_size=5))
        index = (slice(None),) * dim + (np.array(picks + picks[:1]),)
    elif kind == "integer arrays":  # one array per dim, broadcast together
        index = draw(hnp.integer_array_indices(x.shape, result_shape=shapes(max_dims=2, max_side=3)))
    else:
        leading = draw(st.integers(1, x.ndim))
        index = draw(hnp.arrays(np.bool_, x.shape[:leading]))
    return (x,), {"index": index}


@st.composite
def index_put_cases(draw):
    """The values of a selection x[index] and the shape of x: IndexPut scatters them back."""
    (x,), params = draw(getitem_cases())
    values = draw(arrays(np.shape(x[params["index"]])))
    unique = not ops.movement._is_advanced(params["index"])
    return (values,), {"shape": x.shape, "index": params["index"], "unique": unique}


def np_index_put(values, shape, index, unique):
    out = np.zeros(shape)
    np.add.at(out, index, values)
    return out


@st.composite
def cat_cases(draw):
    base = draw(shapes(min_dims=1, **SMALL))
    dim = draw(dim_of(len(base)))
    count = draw(st.integers(1, 3))
    pieces = []
    for _ in range(count):
        shape = list(base)
        shape[dim] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(tuple(shape))))
    return tuple(pieces), {"dim": dim}


@st.composite
def stack_cases(draw):
    shape = draw(shapes(**SMALL))
    count = draw(st.integers(1, 3))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    return tuple(draw(arrays(shape)) for _ in range(count)), {"dim": dim}


@st.composite
def split_cases(draw, by_chunks=False):
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dim = draw(dim_of(x.ndim))
    length = x.shape[dim]
    if by_chunks:
        return (x,), {"chunks": draw(st.integers(1, length + 1)), "dim": dim}
    if draw(st.booleans()):
        sections = draw(st.integers(1, length + 1))
    else:  # a random composition of length, zero-size pieces allowed
        cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
        sections = [b - a for a, b in zip([0] + cuts, cuts + [length])]
    return (x,), {"split_size_or_sections": sections, "dim": dim}


@st.composite
def embedding_cases(draw):
    num, width = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    weight = draw(arrays((num, width)))
    # the padding row gets no gradient by design, so it is never looked up here (its gradient,
    # 0 even for padding_idx=0, is held to PyTorch's in test_layers.py)
    padding_idx = draw(st.sampled_from([None, 0, num - 1])) if num > 1 else None
    rows = [row for row in range(num) if row != padding_idx]
    indices = draw(hnp.arrays(np.int64, shapes(max_dims=2, max_side=4), elements=st.sampled_from(rows)))
    return (weight,), {"indices": indices, "padding_idx": padding_idx}


@st.composite
def sequence_cases(draw, gates, states):
    """A packed sequence for a fused recurrence: x, initial states, weights, maybe biases."""
    steps, hidden, features = (draw(st.integers(1, 3)) for _ in range(3))
    sizes = draw(st.lists(st.integers(1, 3), min_size=steps, max_size=steps))
    batch_sizes = np.array(sorted(sizes, reverse=True))
    shapes_ = [(sum(sizes), features)] + [(max(sizes), hidden)] * states
    shapes_ += [(gates * hidden, features), (gates * hidden, hidden)]
    shapes_ += [(gates * hidden,)] * (2 if draw(st.booleans()) else 0)
    return tuple(draw(arrays(s)) for s in shapes_), {"batch_sizes": batch_sizes, "reverse": draw(st.booleans())}


SCAN_SIZES = np.array([3, 3, 2, 1])  # one packed batch, so the compiled step is compiled once


@st.composite
def scan_cases(draw):
    """A compiled scan of h_t = tanh(x_t W^T + h_{t-1} U^T) * a over packed rows; fixed shapes."""
    shapes_ = [(int(SCAN_SIZES.sum()), 2), (3, 3), (3, 2), (3, 3), (3,)]
    return tuple(draw(arrays(s)) for s in shapes_), {"reverse": draw(st.booleans())}


def _scan_call(xs, h0, w, u, a, reverse):
    def step(h, x_t):
        h_t = (x_t @ w.T + h @ u.T).tanh() * a
        return h_t, h_t

    final, ys = tg.scan(step, h0, xs, batch_sizes=SCAN_SIZES, reverse=reverse)
    return ys, final


def np_scan(xs, h0, w, u, a, reverse):
    h, offsets, ys = h0.copy(), np.concatenate([[0], np.cumsum(SCAN_SIZES)]), np.empty((len(xs), len(a)))
    for t in reversed(range(len(SCAN_SIZES))) if reverse else range(len(SCAN_SIZES)):
        n, rows = SCAN_SIZES[t], slice(offsets[t], offsets[t + 1])
        h[:n] = np.tanh(xs[rows] @ w.T + h[:n] @ u.T) * a
        ys[rows] = h[:n]
    return ys, h


# -- cases for the ops of sequence models (issue 15) ----------------------------------------


@st.composite
def pad_cases(draw):
    """(before, after) widths >= 0 for every dim, and the border's value."""
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    return (x,), {"widths": widths, "value": draw(st.sampled_from([0.0, -1.5]))}


@st.composite
def torch_pad_cases(draw):
    """F.pad's flat widths, from the last dim backwards, negative ones cropping."""
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dims = draw(st.integers(1, x.ndim))
    pad = []
    for side in reversed(x.shape[-dims:]):
        before = draw(st.integers(-side + 1, 2))  # at least one entry of each dim left
        pad += [before, draw(st.integers(-(side + min(before, 0)) + 1, 2))]
    return (x,), {"pad": tuple(pad), "value": draw(st.sampled_from([None, 2.5]))}


def np_torch_pad(x, pad, value):
    widths = [(0, 0)] * (x.ndim - len(pad) // 2) + [tuple(pad[i:i + 2]) for i in reversed(range(0, len(pad), 2))]
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(x.shape, widths))
    grow = [(max(b, 0), max(a, 0)) for b, a in widths]
    return np.pad(x[crop], grow, constant_values=0.0 if value is None else value)


@st.composite
def index_cases(draw, kind):
    """x, a dim, and an integer index along it as gather / scatter / index_select take it."""
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dim = draw(dim_of(x.ndim))
    side = x.shape[dim]
    if kind == "index_select":
        index = np.array(draw(st.lists(st.integers(0, side - 1), max_size=5)), np.int64)
        return (x,), {"dim": dim, "index": index}
    shape = [draw(st.integers(1, n)) for n in x.shape]
    shape[dim % x.ndim] = draw(st.integers(1, 4))
    index = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, side - 1)))
    if kind == "gather":
        return (x,), {"dim": dim, "index": index}
    if kind == "scatter":  # one write per target: where two writes meet, the result would not be smooth
        positions = draw(st.permutations(range(side)))
        index = np.take(np.array(positions), np.indices(index.shape)[dim % x.ndim] % side)
        index = index[tuple(slice(0, min(n, side)) if d == dim % x.ndim else slice(None)
                            for d, n in enumerate(index.shape))]
    src_shape = tuple(n + draw(st.integers(0, 1)) for n in index.shape)
    return (x, draw(arrays(src_shape))), {"dim": dim, "index": index}


def np_scatter(x, src, dim, index, add):
    out = x.copy()
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim % x.ndim] = index
    values = src[tuple(slice(0, n) for n in index.shape)]
    if add:
        np.add.at(out, tuple(grid), values)
    else:
        out[tuple(grid)] = values
    return out


@st.composite
def repeat_cases(draw, tile=False):
    x = draw(arrays(shapes(max_dims=3, max_side=3)))
    low = 0 if tile else x.ndim
    sizes = tuple(draw(st.lists(st.integers(1, 3), min_size=low, max_size=x.ndim + 1)))
    return (x,), {"sizes": sizes}


@st.composite
def repeat_interleave_cases(draw):
    x = draw(arrays(shapes(max_dims=3, max_side=3)))
    dim = draw(st.one_of(st.none(), dim_of(x.ndim)))
    side = x.size if dim is None else (x.shape[dim] if x.ndim else 1)
    if draw(st.booleans()):
        repeats = draw(st.integers(0, 3))
    else:
        repeats = np.array(draw(st.lists(st.integers(0, 3), min_size=side, max_size=side)), np.int64)
    return (x,), {"repeats": repeats, "dim": dim}


@st.composite
def roll_cases(draw):
    x = draw(arrays(shapes(**SMALL)))
    if x.ndim == 0 or draw(st.booleans()):
        return (x,), {"shifts": draw(st.integers(-5, 5)), "dims": None}
    dims = tuple(draw(st.lists(dim_of(x.ndim), min_size=1, max_size=3)))
    return (x,), {"shifts": tuple(draw(st.integers(-5, 5)) for _ in dims), "dims": dims}


@st.composite
def spread_cases(draw):
    """var / std: dims, keepdim, and a correction that leaves a positive count. Distinct values,
    so every slice of two or more has a spread, where std is smooth."""
    (x,), params = draw(over_dims(distinct=True, margin=0.3))
    axes = range(x.ndim) if params["dim"] is None else np.atleast_1d(params["dim"])
    count = int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1
    params["correction"] = draw(st.sampled_from([c for c in (0, 1, 0.5) if c < count]))
    return (x,), params


@st.composite
def norm_cases(draw):
    """Magnitudes distinct and away from 0 (|x| has a kink there, and max |x| a tie), any signs."""
    (magnitude,), params = draw(over_dims(elements=st.floats(0, 2), distinct=True))
    signs = draw(hnp.arrays(np.bool_, magnitude.shape))
    params["p"] = draw(st.sampled_from(["fro", 1, 2, 3, 1.5, np.inf, -np.inf]))
    return (np.where(signs, 1, -1) * (magnitude + 0.2),), params


@st.composite
def sort_cases(draw, topk=False):
    x = draw(arrays(shapes(min_dims=1, **SMALL), distinct=True))
    dim = draw(dim_of(x.ndim))
    if topk:
        return (x,), {"k": draw(st.integers(0, x.shape[dim])), "dim": dim, "largest": draw(st.booleans())}
    return (x,), {"dim": dim, "descending": draw(st.booleans())}


def np_sort(x, dim, descending):
    out = np.sort(x, axis=dim)
    return np.flip(out, dim) if descending else out


def np_topk(x, k, dim, largest):
    ordered = np_sort(x, dim, largest)
    return np.take(ordered, range(k), axis=dim)


@st.composite
def masked_fill_cases(draw):
    """A mask that broadcasts to x's shape (some dims 1, some leading ones missing)."""
    x = draw(arrays(shapes(**SMALL)))
    mask_shape = tuple(1 if draw(st.booleans()) else n for n in x.shape)[draw(st.integers(0, x.ndim)):]
    return (x,), {"mask": draw(hnp.arrays(np.bool_, mask_shape)), "value": draw(st.sampled_from([0.0, 3.0]))}


@st.composite
def triangle_cases(draw):
    x = draw(arrays(shapes(min_dims=2, **SMALL)))
    return (x,), {"diagonal": draw(st.integers(-3, 3))}


@st.composite
def movedim_cases(draw):
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    count = draw(st.integers(1, x.ndim))
    source = draw(st.permutations(range(x.ndim)))[:count]
    destination = draw(st.permutations(range(x.ndim)))[:count]
    return (x,), {"source": tuple(source), "destination": tuple(destination)}


@st.composite
def unflatten_cases(draw):
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dim = draw(dim_of(x.ndim))
    sizes = list(draw(st.sampled_from([s for s in _shapes_with_size(x.shape[dim]) if s])))
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return (x,), {"dim": dim, "sizes": tuple(sizes)}


@st.composite
def cumsum_cases(draw):
    x = draw(arrays(shapes(**SMALL)))
    return (x,), {"dim": draw(dim_of(x.ndim))}


@st.composite
def bce_cases(draw):
    shape = draw(shapes(**SMALL))
    probabilities = st.floats(0.05, 0.95)
    return (draw(arrays(shape, elements=probabilities)), draw(arrays(shape, elements=st.floats(0, 1)))), {}


def np_repeat_interleave(x, repeats, dim):
    return np.repeat(x.reshape(-1) if dim is None or x.ndim == 0 else x, repeats, axis=0 if dim is None else dim)


def np_std(x, dim, keepdim, correction):
    return np.sqrt(np_var(x, dim, keepdim, correction))


def np_var(x, dim, keepdim, correction):
    axis = _axis(x, dim)
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    centred = x - np.mean(x, axis=axis, keepdims=True)
    return np.sum(centred * centred, axis=axis, keepdims=keepdim) / (count - correction)


def np_norm(x, p, dim, keepdim):
    axis, p = _axis(x, dim), 2 if p == "fro" else p
    if np.isinf(p):
        reduce = np.max if p > 0 else np.min
        return reduce(np.abs(x), axis=axis, keepdims=keepdim)
    return np.sum(np.abs(x) ** p, axis=axis, keepdims=keepdim) ** (1 / p)


def np_bce(x, y):
    return -(y * np.log(x) + (1 - y) * np.log1p(-x))


def np_gelu(x):
    from math import erf
    return x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2)))


# -- numpy references ---------------------------------------------------------------


def _axis(x, dim):
    """numpy has no axis 0 on a 0-d array; PyTorch's dim 0 / -1 there means the whole tensor."""
    return None if x.ndim == 0 else dim


def np_logsumexp(x, dim, keepdim=True):
    top = np.max(x, axis=_axis(x, dim), keepdims=True)
    out = np.log(np.sum(np.exp(x - top), axis=_axis(x, dim), keepdims=True)) + top
    return out if keepdim else np.squeeze(out, axis=_axis(x, dim))


def np_log_softmax(x, dim):
    return x - np_logsumexp(x, dim)


def np_softmax(x, dim):
    return np.exp(np_log_softmax(x, dim))


def np_log_sigmoid(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def np_split(x, split_size_or_sections, dim):
    length = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        bounds = range(split_size_or_sections, length, split_size_or_sections)
    else:
        bounds = np.cumsum(split_size_or_sections)[:-1]
    return np.split(x, bounds, axis=dim)


def np_chunk(x, chunks, dim):
    return np_split(x, -(-x.shape[dim] // chunks), dim)


def np_reshape(x, shape):
    return x.reshape(shape)


def np_expand(x, shape):
    lead = len(shape) - x.ndim
    return np.broadcast_to(x, [x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape)])


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_lstm_cell(gx, gh, h, c):
    i, f, g, o = np.split(gx + gh, 4, axis=1)
    c = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c), c


def np_gru_cell(gx, gh, h):
    (x_r, x_z, x_n), (h_r, h_z, h_n) = np.split(gx, 3, axis=1), np.split(gh, 3, axis=1)
    r, z = np_sigmoid(x_r + h_r), np_sigmoid(x_z + h_z)
    return ((1 - z) * np.tanh(x_n + r * h_n) + z * h,)


def np_sequence(cell, states):
    """A fused recurrence step by step: [outputs of every packed row; final states]."""
    def run(x, *rest, batch_sizes, reverse):
        state = [s.copy() for s in rest[:states]]
        w_ih, w_hh, b_ih, b_hh = (*rest[states:], 0, 0)[:4]
        starts = np.concatenate([[0], np.cumsum(batch_sizes)])
        out = np.empty((len(x), w_hh.shape[1]))
        for t in reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes)):
            n, rows = batch_sizes[t], slice(starts[t], starts[t + 1])
            new = cell(x[rows] @ w_ih.T + b_ih, state[0][:n] @ w_hh.T + b_hh, *(s[:n] for s in state))
            for s, value in zip(state, new):
                s[:n] = value
            out[rows] = new[0]
        return np.concatenate([out, *state])
    return run


SPECS = _op_specs()  # the table at the top of this file, now that the strategies it names exist

# Tensor methods built from the primitives above, checked the same way.
COMPOSITES = {
    "split": Spec(split_cases(), lambda x, **p: x.split(**p), np_split),
    "chunk": Spec(split_cases(by_chunks=True), lambda x, **p: x.chunk(**p), np_chunk),
    "transpose": Spec(
        arrays(shapes(min_dims=1, **SMALL)).flatmap(
            lambda x: st.tuples(dim_of(x.ndim), dim_of(x.ndim)).map(
                lambda dims: ((x,), {"dim0": dims[0], "dim1": dims[1]}))),
        lambda x, dim0, dim1: x.transpose(dim0, dim1), lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
    ),
    "T": Spec(unary(), lambda x: x.T, lambda x: x.T),
    "max(dim).values": Spec(
        arrays(shapes(min_dims=1, **SMALL), distinct=True).flatmap(
            lambda x: dim_of(x.ndim).map(lambda d: ((x,), {"dim": d}))),
        lambda x, dim: x.max(dim).values, lambda x, dim: np.max(x, axis=dim),
    ),
    "square": Spec(unary(), Tensor.square, np.square),
    "minimum": Spec(broadcast_pairs(**SMALL).filter(lambda p: np.all(np.abs(np.subtract(*p)) > 0.1))
                    .map(lambda pair: (pair, {})), Tensor.minimum, np.minimum),
    "masked_fill": Spec(masked_fill_cases(), lambda x, mask, value: x.masked_fill(mask, value),
                        lambda x, mask, value: np.where(mask, value, x)),
    "tril": Spec(triangle_cases(), lambda x, diagonal: x.tril(diagonal),
                 lambda x, diagonal: np.tril(x, diagonal)),
    "triu": Spec(triangle_cases(), lambda x, diagonal: x.triu(diagonal),
                 lambda x, diagonal: np.triu(x, diagonal)),
    "gather": Spec(index_cases("gather"), lambda x, dim, index: x.gather(dim, index),
                   lambda x, dim, index: np.take_along_axis(x[tuple(slice(0, n) if d != dim % x.ndim else slice(None)
                                                                    for d, n in enumerate(index.shape))],
                                                          index, axis=dim)),
    "scatter_add": Spec(index_cases("scatter_add"), lambda x, src, dim, index: x.scatter_add(dim, index, src),
                        lambda x, src, dim, index: np_scatter(x, src, dim, index, add=True)),
    "scatter": Spec(index_cases("scatter"), lambda x, src, dim, index: x.scatter(dim, index, src),
                    lambda x, src, dim, index: np_scatter(x, src, dim, index, add=False)),
    "index_select": Spec(index_cases("index_select"), lambda x, dim, index: x.index_select(dim, index),
                         lambda x, dim, index: np.take(x, index, axis=dim)),
    "flip": Spec(over_dims(with_keepdim=False), lambda x, dim: x.flip(dim),
                 lambda x, dim: np.flip(x, _axis(x, dim))),
    "roll": Spec(roll_cases(), lambda x, shifts, dims: x.roll(shifts, dims),
                 lambda x, shifts, dims: np.roll(x, shifts, dims)),
    "repeat": Spec(repeat_cases(), lambda x, sizes: x.repeat(sizes), lambda x, sizes: np.tile(x, sizes)),
    "tile": Spec(repeat_cases(tile=True), lambda x, sizes: x.tile(sizes), lambda x, sizes: np.tile(x, sizes)),
    "repeat_interleave": Spec(repeat_interleave_cases(), lambda x, repeats, dim: x.repeat_interleave(repeats, dim),
                              np_repeat_interleave),
    "var": Spec(spread_cases(), lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
                np_var),
    "std": Spec(spread_cases(), lambda x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
                np_std),
    "norm": Spec(norm_cases(), lambda x, p, dim, keepdim: x.norm(p, dim, keepdim), np_norm),
    "sort(dim).values": Spec(sort_cases(), lambda x, **p: x.sort(**p).values, np_sort),
    "topk(k).values": Spec(sort_cases(topk=True), lambda x, **p: x.topk(**p).values, np_topk),
    "movedim": Spec(movedim_cases(), lambda x, source, destination: x.movedim(source, destination),
                    lambda x, source, destination: np.moveaxis(x, source, destination)),
    "unflatten": Spec(unflatten_cases(), lambda x, dim, sizes: x.unflatten(dim, sizes),
                      lambda x, dim, sizes: x.reshape(x.shape[:dim % x.ndim] + tuple(
                          sizes if -1 not in sizes else [x.shape[dim] // -int(np.prod(sizes)) if n == -1 else n
                                                         for n in sizes]) + x.shape[dim % x.ndim + 1:])),
    "F.pad": Spec(torch_pad_cases(), lambda x, pad, value: F.pad(x, pad, value=value), np_torch_pad),
    "F.gelu": Spec(unary(), F.gelu, np_gelu),
    "F.gelu(tanh)": Spec(unary(), lambda x: F.gelu(x, approximate="tanh"),
                         lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    "F.silu": Spec(unary(), F.silu, lambda x: x / (1 + np.exp(-x))),
    "F.leaky_relu": Spec(unary(away_from=(0.0,)), lambda x: F.leaky_relu(x, 0.2),
                         lambda x: np.where(x > 0, x, 0.2 * x)),
    "F.elu": Spec(unary(away_from=(0.0,)), lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    "F.softplus": Spec(unary(elements=st.floats(-4, 4), away_from=(2.0,)), lambda x: F.softplus(x, 2.0, 4.0),
                       lambda x: np.where(2 * x > 4, x, np.log1p(np.exp(2 * x)) / 2)),
}


def _package_primitives() -> dict:
    """Function.registry, after importing every module of the package (a primitive in a
    module nothing imports would otherwise escape)."""
    for module in pkgutil.walk_packages(tg.__path__, prefix="tinygrad_rnn."):
        importlib.import_module(module.name)
    return Function.registry


def test_every_primitive_has_a_spec():
    primitives = set(_package_primitives())
    missing = sorted(primitives - set(SPECS))
    assert not missing, (
        f"primitives without a gradient test: {missing}; add an entry for each to SPECS in "
        "tests/test_op_gradients.py"
    )
    stale = sorted(set(SPECS) - primitives)
    assert not stale, f"SPECS has entries for no registered primitive: {stale}"


def test_every_primitive_is_defined_in_the_ops_package_and_exported_by_it():
    for name, cls in _package_primitives().items():
        assert cls.__module__.startswith("tinygrad_rnn.ops."), f"{name}: registered from {cls.__module__}"
        assert getattr(ops, cls.__name__, None) is cls, (
            f"{name}: tinygrad_rnn.ops does not export {cls.__name__}; add it to __all__ in {cls.__module__}")


def test_a_function_defined_elsewhere_works_unregistered():
    class Twice(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            return 2 * grad

    x = Tensor(np.array([1.0, -3.0]), requires_grad=True)
    Twice.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert Twice.name == "twice" and "twice" not in Function.registry


def _as_tuple(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _recorded(outputs) -> set:
    """The registry names of the nodes in the graph behind ``outputs``."""
    names, seen, stack = set(), set(), list(outputs)
    while stack:
        node = stack.pop()._node
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            names.add(node.name)
            stack.extend(node.parents)
    return names


@pytest.mark.parametrize("name", sorted(SPECS) + sorted(COMPOSITES))
@given(data=st.data())
def test_values_match_numpy_and_gradients_match_finite_differences(name, data):
    spec = SPECS.get(name) or COMPOSITES[name]
    arrays_, params = data.draw(spec.cases, label="arrays, params")
    # each input contiguous, strided or transposed: ops must respect strides
    arrays_ = [data.draw(st.one_of(st.just(a), non_contiguous(st.just(a))), label="layout")
               for a in arrays_]

    expected = _as_tuple(spec.reference(*arrays_, **params))
    actual = _as_tuple(spec.call(*[Tensor(a) for a in arrays_], **params))
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert got.shape == np.shape(want) and got.dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)

    inputs = [Tensor(a, requires_grad=True) for a in arrays_]
    if name in SPECS:  # the row tests its primitive, not a composition that avoids it
        outputs = _as_tuple(spec.call(*inputs, **params))
        unchanged = all(any(out is x for x in inputs) for out in outputs)  # x.reshape(x.shape) is x
        assert unchanged or name in _recorded(outputs), f"{name} is not in the graph"
    assert tg.gradcheck(lambda *xs: spec.call(*xs, **params), inputs, **spec.gradcheck)


# The hand-written BPTT of the fused recurrences, and the generated one of a compiled scan,
# run on ndarrays only.
NOT_TWICE_DIFFERENTIABLE = {"rnnsequence": "the fused RNN", "lstmsequence": "the fused LSTM",
                            "grusequence": "the fused GRU", "scan": "a compiled scan"}


@pytest.mark.parametrize("name", sorted(set(SPECS) - set(NOT_TWICE_DIFFERENTIABLE)) + sorted(COMPOSITES))
@given(data=st.data())
def test_second_derivatives_match_finite_differences(name, data):
    spec = SPECS.get(name) or COMPOSITES[name]
    arrays_, params = data.draw(spec.cases, label="arrays, params")
    inputs = [Tensor(a, requires_grad=True) for a in arrays_]
    assert tg.gradgradcheck(lambda *xs: spec.call(*xs, **params), inputs, **spec.gradcheck)


@pytest.mark.parametrize("name", sorted(NOT_TWICE_DIFFERENTIABLE))
@given(data=st.data())
def test_fused_recurrences_refuse_a_recorded_backward_by_name(name, data):
    arrays_, params = data.draw(SPECS[name].cases, label="arrays, params")
    inputs = [Tensor(a, requires_grad=True) for a in arrays_]
    out = _as_tuple(SPECS[name].call(*inputs, **params))[0]
    message = f"{name}: .* not supported through {NOT_TWICE_DIFFERENTIABLE[name]}; .*(fused|compiled)=False"
    with pytest.raises(RuntimeError, match=message):
        tg.autograd.grad(out.sum(), inputs, create_graph=True)


def test_max_splits_the_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    x.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


def test_getitem_with_repeated_indices_accumulates():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 0, 3, 0])


# -- numerical stability ---------------------------------------------------------------

STABLE = {
    "sigmoid": (Tensor.sigmoid, lambda x: np.exp(np_log_sigmoid(x))),
    "tanh": (Tensor.tanh, np.tanh),
    "softmax": (lambda x: x.softmax(-1), lambda x: np_softmax(x, -1)),
    "log_softmax": (lambda x: x.log_softmax(-1), lambda x: np_log_softmax(x, -1)),
    "logsumexp": (lambda x: x.logsumexp(-1), lambda x: np_logsumexp(x, -1, keepdim=False)),
}
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-9)}


def _check_finite_and_accurate(name, x, dtype):
    op, reference = STABLE[name]
    # numpy warns on overflow, division by zero and invalid values (underflow to 0 is
    # silent and correct): make each of those an error
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        t = Tensor(x.astype(dtype), requires_grad=True)
        y = op(t)
        y.backward(np.random.default_rng(0).standard_normal(y.shape))
    assert y.dtype == dtype and t.grad.dtype == dtype
    assert np.all(np.isfinite(y.data)), f"{name}({x}) = {y.data}"
    assert np.all(np.isfinite(t.grad)), f"{name}'({x}) = {t.grad}"
    exact = reference(x.astype(dtype).astype(np.float64))  # of the inputs as rounded to dtype
    np.testing.assert_allclose(y.data, exact, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STABLE))
def test_large_inputs_give_finite_values_and_gradients(name, dtype):
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4], [1e4, 1e4, 1e4, -1e4, 1e4], [-1e4] * 5])
    _check_finite_and_accurate(name, x, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STABLE))
@given(x=arrays(shapes(min_dims=1, max_dims=2), elements=st.floats(-1e4, 1e4)))
def test_random_large_inputs_give_finite_values_and_gradients(name, dtype, x):
    _check_finite_and_accurate(name, x, dtype)
