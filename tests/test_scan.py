"""tg.scan: the compiled path against the tape, the tape against numpy, finite differences, errors.

``compiled=False`` (the step run on the tape, step by step) is the
specification; ``compiled=True`` (tinygrad_rnn/compiler) must give the same
final carry, outputs and gradients (of the initial carry, of the inputs and
of every weight) to 1e-10 in float64, for random cells drawn by
``tinygrad_rnn.testing.recurrent_steps``, the built-in cells, padded and
packed sequences, forwards and reversed.

Every distinct cell costs a numba compile (seconds); the source is cached on
disk by its hash, so a second run reuses it. The random-cell tests draw the
same cells on every run (``derandomize``) unless HYPOTHESIS_PROFILE=thorough.
``@pytest.mark.nojit`` marks a quick subset CI also runs as plain Python:
``NUMBA_DISABLE_JIT=1 pytest -m nojit tests/test_scan.py``.
"""

from __future__ import annotations

import functools
import inspect
import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.compiler import UnsupportedStep, explain
from tinygrad_rnn.testing import RecurrentStep, recurrent_steps

from layer_kinds import KINDS

# numba's pedantic SSA check warns about the activations of kernels/activations.py, which it compiles fine


THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def budget(examples: int):
    """Settings for a test whose examples each may compile a new cell: few, and the same every run."""
    return settings(max_examples=examples * 10 if THOROUGH else examples, derandomize=not THOROUGH)


# -- running a scan and collecting every result ---------------------------------------------------


def lengths_to_batch_sizes(lengths) -> list:
    """Sorted sequence lengths -> the rows per step (PackedSequence's batch_sizes)."""
    return [int(sum(length > t for length in lengths)) for t in range(max(lengths))]


def run(cell: RecurrentStep, xs: np.ndarray, batch_sizes=None, reverse=False, compiled=True,
        xs_grad=True) -> dict:
    """Scan ``cell`` over ``xs``, backward from random cotangents: name -> array (None: no gradient)."""
    for t in cell.tensors():
        t.grad = None
    x = tg.Tensor(xs, requires_grad=xs_grad)
    final, ys = tg.scan(cell.step, cell.init, x, reverse=reverse, batch_sizes=batch_sizes, compiled=compiled)
    final = (final,) if isinstance(final, tg.Tensor) else final
    assert len(final) == len(cell.carry)
    outputs = [*final, *([] if ys is None else [ys])]
    random = np.random.default_rng(1)
    loss = None
    for out in outputs:
        term = (out * tg.Tensor(random.standard_normal(out.shape).astype(out.dtype))).sum()
        loss = term if loss is None else loss + term
    if loss.requires_grad:
        loss.backward()
    found = {f"final[{k}]": f.numpy().copy() for k, f in enumerate(final)}
    found["ys"] = None if ys is None else ys.numpy().copy()
    found["grad xs"] = None if x.grad is None else np.array(x.grad)
    names = [f"grad init[{k}]" for k in range(len(cell.carry))] + [f"grad {n}" for n in cell.weights]
    for name, t in zip(names, cell.tensors()):
        found[name] = None if t.grad is None else np.array(t.grad)
    return found


def assert_close(compiled: dict, tape: dict, rtol: float, atol: float, context: str = "") -> None:
    """Every entry equal to the tolerance; a missing gradient only where the other has zeros."""
    assert compiled.keys() == tape.keys()
    for name in tape:
        a, b = compiled[name], tape[name]
        if a is None or b is None:
            other = b if a is None else a
            assert other is None or not np.any(other), f"{name}: one path has no gradient, the other {other}"
            continue
        assert a.shape == b.shape and a.dtype == b.dtype, f"{name}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{name} (compiled vs tape) {context}")


def compare(cell: RecurrentStep, xs, batch_sizes=None, reverse=False, rtol=1e-10, atol=1e-10, xs_grad=True):
    tape = run(cell, xs, batch_sizes, reverse, compiled=False, xs_grad=xs_grad)
    compiled = run(cell, xs, batch_sizes, reverse, compiled=True, xs_grad=xs_grad)
    assert_close(compiled, tape, rtol, atol, f"batch_sizes={batch_sizes} reverse={reverse}")
    return compiled


@st.composite
def layouts(draw, batch: int):
    """(batch_sizes or None, steps) of a sequence with ``batch`` rows: padded (T, N) or packed."""
    if draw(st.booleans()):
        lengths = sorted(draw(st.lists(st.integers(1, 4), min_size=batch, max_size=batch)), reverse=True)
        return lengths_to_batch_sizes(lengths), None
    return None, draw(st.integers(1, 4))


def inputs_for(cell: RecurrentStep, batch_sizes, steps, seed: int = 0) -> np.ndarray:
    random = np.random.default_rng(seed)
    shape = (sum(batch_sizes), cell.input_size) if batch_sizes else (steps, cell.batch, cell.input_size)
    return random.standard_normal(shape).astype(cell.dtype)


@st.composite
def scan_cases(draw, cells=None):
    """(cell, batch_sizes, steps, reverse): a random cell and a sequence for it."""
    cell = draw(recurrent_steps() if cells is None else cells)
    batch_sizes, steps = draw(layouts(cell.batch))
    return cell, batch_sizes, steps, draw(st.booleans())


# -- fixed cells -----------------------------------------------------------------------------------


def _tensors(random, dtype, **shapes) -> dict:
    return {name: tg.Tensor((random.standard_normal(shape) / np.sqrt(shape[-1])).astype(dtype), requires_grad=True)
            for name, shape in shapes.items()}


def builtin_cell(kind: str, input_size=3, hidden=4, batch=4, dtype=np.float64, seed=0) -> RecurrentStep:
    """One of the cells of tinygrad_rnn/nn/cells.py as a RecurrentStep, with PyTorch's weight shapes."""
    gates, cell = KINDS[kind].gates, KINDS[kind].cell_function
    random = np.random.default_rng(seed)
    w = _tensors(random, dtype, weight_ih=(gates * hidden, input_size), weight_hh=(gates * hidden, hidden),
                 bias_ih=(gates * hidden,), bias_hh=(gates * hidden,))
    weights = (w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
    state = [tg.Tensor((0.5 * random.standard_normal((batch, hidden))).astype(dtype), requires_grad=True)
             for _ in range(KINDS[kind].states)]

    def step(carry, x):
        carry = cell(x, carry, *weights)
        return carry, carry[0] if isinstance(carry, tuple) else carry  # y_t: h
    return RecurrentStep(step, KINDS[kind].carry(state), w, input_size, f"{kind}_cell, hidden {hidden}")


def layer_norm_lstm(input_size=2, hidden=3, batch=3, seed=0) -> RecurrentStep:
    """An LSTM with LayerNorm on its gate block, a softmax output head and a (N,) output: many ops at once."""
    random = np.random.default_rng(seed)
    w = _tensors(random, np.float64, W=(4 * hidden, input_size), U=(hidden, 4 * hidden), b=(4 * hidden,),
                 O=(2, hidden))
    W, U, b, O = w["W"], w["U"], w["b"], w["O"]

    def step(carry, x):
        h, c = carry
        a = x @ W.T + h.tanh() @ U + b
        a = a - a.mean(dim=1, keepdim=True)
        a = a * ((a ** 2).mean(dim=1, keepdim=True) + 1) ** -0.5
        i, f, g, o = a.chunk(4, dim=1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        y = tg.cat([(h @ O.T).log_softmax(dim=1), c.logsumexp(dim=1, keepdim=True), x], dim=1)
        return (h, c), y

    init = tuple(tg.Tensor(0.5 * random.standard_normal((batch, hidden)), requires_grad=True) for _ in range(2))
    return RecurrentStep(step, init, w, input_size, inspect.getsource(step))


def one_feature_gru(batch=2, seed=0) -> RecurrentStep:
    """A GRU-like cell with one hidden feature: every fused run is (N, 1); no recurrent GEMM at all."""
    random = np.random.default_rng(seed)
    w = _tensors(random, np.float64, W=(2, 1))
    W = w["W"]

    def step(h, x):
        a = x @ W.T
        z = a[:, 0:1].sigmoid()
        n = a[:, 1:2].tanh()
        return (1 - z) * n + z * h, None

    init = tg.Tensor(0.5 * random.standard_normal((batch, 1)), requires_grad=True)
    return RecurrentStep(step, init, w, 1, inspect.getsource(step))


def masked_relu_cell(input_size=3, hidden=4, batch=3, seed=0) -> RecurrentStep:
    """relu, clamp, a constant where-mask, max over features and a y_t of shape (N,)."""
    random = np.random.default_rng(seed)
    w = _tensors(random, np.float64, W=(hidden, input_size), U=(hidden, hidden))
    W, U = w["W"], w["U"]
    keep = np.arange(hidden) % 2 == 0

    def step(h, x):
        a = (x @ W.T + h @ U.T).relu().clamp(None, 2.0)
        a = a - a.amax(dim=1, keepdim=True)
        h = a.where(keep, h)
        return h, a.sum(dim=1)

    init = tg.Tensor(0.5 * random.standard_normal((batch, hidden)), requires_grad=True)
    return RecurrentStep(step, init, w, input_size, inspect.getsource(step))


# -- compiled == tape ----------------------------------------------------------------------------------


@budget(10)
@given(scan_cases())
@example((layer_norm_lstm(), [3, 3, 2, 1], None, True))
@example((layer_norm_lstm(), None, 3, False))
@example((one_feature_gru(), None, 3, False))
@example((masked_relu_cell(), [3, 2, 2], None, True))
def test_compiled_equals_tape_for_random_cells(case):
    cell, batch_sizes, steps, reverse = case
    compare(cell, inputs_for(cell, batch_sizes, steps), batch_sizes, reverse)


@pytest.mark.nojit
@pytest.mark.skipif(not NO_JIT, reason="with the JIT, test_compiled_equals_tape_for_random_cells covers this")
@budget(40)
@given(scan_cases())
def test_compiled_equals_tape_for_random_cells_as_python(case):
    """The generated code run as Python (NUMBA_DISABLE_JIT=1): nothing compiles, so many more cells."""
    cell, batch_sizes, steps, reverse = case
    compare(cell, inputs_for(cell, batch_sizes, steps), batch_sizes, reverse)


BUILTIN = sorted(KINDS)
LAYOUTS = [  # (batch_sizes, steps, reverse) for a batch of 4
    pytest.param(None, 3, False, id="padded"),
    pytest.param(None, 3, True, id="padded-reverse"),
    pytest.param([4, 4, 2, 1], None, False, id="packed"),
    pytest.param([4, 3, 3, 1, 1], None, True, id="packed-reverse"),
]


@pytest.mark.parametrize("kind", BUILTIN)
@pytest.mark.parametrize("batch_sizes, steps, reverse", LAYOUTS)
def test_builtin_cells_compiled_equal_tape_float64(kind, batch_sizes, steps, reverse):
    cell = builtin_cell(kind)
    compare(cell, inputs_for(cell, batch_sizes, steps), batch_sizes, reverse)


@pytest.mark.parametrize("kind", BUILTIN)
@pytest.mark.parametrize("batch_sizes, steps, reverse", LAYOUTS[1:3])
def test_builtin_cells_compiled_equal_tape_float32(kind, batch_sizes, steps, reverse):
    cell = builtin_cell(kind, dtype=np.float32)
    result = compare(cell, inputs_for(cell, batch_sizes, steps), batch_sizes, reverse, rtol=1e-5, atol=1e-5)
    assert all(v is None or v.dtype == np.float32 for v in result.values())


@pytest.mark.parametrize("kind", BUILTIN)
def test_builtin_cells_with_one_hidden_feature(kind):
    """Hidden size 1: every gate is one column, every fused loop runs over (N, 1)."""
    cell = builtin_cell(kind, input_size=2, hidden=1, batch=3)
    compare(cell, inputs_for(cell, [3, 2, 2, 1], None), [3, 2, 2, 1], reverse=True)


@pytest.mark.nojit
def test_tanh_rnn_compiled_equals_tape_quick():
    cell = builtin_cell("rnn_tanh")  # the sizes of the tests above: the same compiled source
    compare(cell, inputs_for(cell, [4, 2, 1], None), [4, 2, 1], reverse=True)
    compare(cell, inputs_for(cell, None, 2), None, 2)


def test_inputs_that_do_not_require_grad():
    """xs without requires_grad: no gradient for it, the same gradients for the rest."""
    cell = builtin_cell("lstm")
    result = compare(cell, inputs_for(cell, [4, 3, 1], None), [4, 3, 1], reverse=False, xs_grad=False)
    assert result["grad xs"] is None


def test_one_step_and_a_batch_of_one():
    cell = builtin_cell("gru", batch=1)
    compare(cell, inputs_for(cell, None, 1), None, False)
    compare(cell, inputs_for(cell, [1, 1, 1], None), [1, 1, 1], True)


def test_ys_have_the_step_outputs_shape():
    cell = masked_relu_cell(batch=3)
    xs = tg.Tensor(inputs_for(cell, None, 5), requires_grad=True)  # the program of the random-cell example
    for compiled in (False, True):
        final, ys = tg.scan(cell.step, cell.init, xs, compiled=compiled)
        assert final.shape == (3, 4) and ys.shape == (5, 3)
        final, ys = tg.scan(cell.step, cell.init, xs.reshape(15, 3), batch_sizes=[3] * 5, compiled=compiled)
        assert ys.shape == (15,)


# Small steps, each the minimal form of a case the compiler once got wrong. Each compiles a tiny cell.

def _leaf(shape, seed=0, scale=1.0) -> tg.Tensor:
    return tg.Tensor(scale * np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def _compare_step(step, init, weights: dict, xs_shape, batch_sizes=None, reverse=False):
    cell = RecurrentStep(step, init, weights, xs_shape[-1], step.__name__)
    return compare(cell, inputs_for_shape(xs_shape), batch_sizes, reverse)


def test_a_step_that_ignores_its_input():
    """An autonomous recurrence: x_t only sets the number of steps."""
    U = _leaf((3, 3), scale=0.5)

    def autonomous(h, x):
        return (h @ U).tanh(), None

    _compare_step(autonomous, _leaf((2, 3), 1), {"U": U}, (3, 2, 1))


def test_a_carry_part_the_step_does_not_read():
    """c is written every step but never read (a carry holding the previous output, say)."""
    U = _leaf((3, 3), scale=0.5)

    def unread(carry, x):
        h, c = carry
        return ((h @ U + x).tanh(), (h @ U).sigmoid()), h

    _compare_step(unread, (_leaf((2, 3), 1), _leaf((2, 3), 2)), {"U": U}, (4, 1), [2, 1, 1], True)


def test_a_step_without_weights():
    """A running sum, the simplest scan there is: nothing closed over."""
    def running_sum(h, x):
        return h + x, h * x

    _compare_step(running_sum, _leaf((2, 3)), {}, (3, 2, 3))


def test_input_and_carry_with_the_same_gradient():
    """x added to h before the GEMM: one value is both gradients, d(h + x)."""
    U = _leaf((3, 3), scale=0.5)

    def residual(h, x):
        return ((h + x) @ U).tanh(), None

    _compare_step(residual, _leaf((2, 3), 1), {"U": U}, (4, 2, 3))


def test_features_rotated_by_a_cat_of_slices():
    U = _leaf((3, 3), scale=0.5)

    def rotate(h, x):
        a = h @ U + x
        return tg.cat([a[:, 1:3], a[:, 0:1]], dim=1).tanh(), None

    _compare_step(rotate, _leaf((2, 3), 1), {"U": U}, (4, 2, 1))


def test_the_smallest_feature_of_each_row():
    U = _leaf((3, 3), scale=0.5)

    def shifted(h, x):
        a = (h @ U + x).tanh()
        return a - a.amin(dim=1, keepdim=True), a.amin(dim=1)

    _compare_step(shifted, _leaf((2, 3), 1), {"U": U}, (4, 2, 3))


def test_gates_sliced_from_the_end():
    """a[:, :1] and a[:, -1:], the two gates of a GRU-like cell with one feature."""
    W = _leaf((2, 1))

    def gates(h, x):
        a = x @ W.T
        z, n = a[:, :1].sigmoid(), a[:, -1:].tanh()
        return (1 - z) * n + z * h, None

    _compare_step(gates, _leaf((2, 1), 1), {"W": W}, (3, 2, 1))


def test_an_output_that_does_not_depend_on_the_carry():
    W = _leaf((3, 2))

    def step(h, x):
        return (h + x @ W.T).tanh(), x @ W.T

    _compare_step(step, _leaf((2, 3), 1), {"W": W}, (3, 2, 2))


def test_open_ended_slices():
    W = _leaf((5, 2))

    def gates(h, x):
        a = x @ W.T
        z, n = a[:, :2].sigmoid(), a[:, 2:].tanh()
        return z * n[:, 1:] + (1 - z) * h, n[:, :1] * h

    _compare_step(gates, _leaf((3, 2), 1), {"W": W}, (6, 2), [3, 2, 1], True)


def test_frozen_weights_are_read_at_every_call():
    """A weight that does not require grad is an input of the compiled step, not a constant of it."""
    random = np.random.default_rng(0)
    W = tg.Tensor(random.standard_normal((3, 2)))  # frozen
    U = tg.Tensor(random.standard_normal((3, 3)) / 2, requires_grad=True)
    h0 = tg.Tensor(random.standard_normal((2, 3)), requires_grad=True)

    def step(h, x):
        h = (x @ W.T + h @ U.T).tanh()
        return h, (h @ U).sigmoid()  # U read twice: its gradient sums both uses

    cell = RecurrentStep(step, h0, {"U": U}, 2, "frozen W")
    xs = inputs_for_shape((3, 2, 2))
    first = compare(cell, xs)
    W.data = W.data * 2
    second = compare(cell, xs)
    assert not np.allclose(first["final[0]"], second["final[0]"])


def inputs_for_shape(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# -- against finite differences, bit for bit, against numpy ------------------------------------------------


def _scan_function(cell: RecurrentStep, batch_sizes, reverse):
    count = len(cell.carry)
    single = not isinstance(cell.init, tuple)

    def fn(xs, *tensors):  # the carry's tensors come first; the weights are closed over by the step
        init = tensors[0] if single else tuple(tensors[:count])
        final, ys = tg.scan(cell.step, init, xs, batch_sizes=batch_sizes, reverse=reverse, compiled=True)
        return (final, ys) if ys is not None else final

    return fn


@pytest.mark.parametrize("make, batch_sizes, steps, reverse", [
    pytest.param(lambda: builtin_cell("lstm"), [4, 2, 1], None, True, id="lstm"),
    pytest.param(lambda: builtin_cell("gru"), None, 2, False, id="gru"),
    pytest.param(lambda: layer_norm_lstm(), [3, 3, 1], None, False, id="layer-norm-lstm"),
])
def test_compiled_gradients_match_finite_differences(make, batch_sizes, steps, reverse):
    cell = make()
    xs = tg.Tensor(inputs_for(cell, batch_sizes, steps), requires_grad=True)
    assert tg.gradcheck(_scan_function(cell, batch_sizes, reverse), [xs, *cell.tensors()])


def test_same_inputs_give_the_same_bits():
    """Twice with one program, and once more with a fresh trace of a new closure over the same weights."""
    cell = layer_norm_lstm()
    xs = inputs_for(cell, [3, 3, 2, 1], None)
    first = run(cell, xs, [3, 3, 2, 1], reverse=True)
    second = run(cell, xs, [3, 3, 2, 1], reverse=True)
    step = cell.step
    again = RecurrentStep(lambda carry, x: step(carry, x), cell.init, cell.weights, cell.input_size, cell.source)
    third = run(again, xs, [3, 3, 2, 1], reverse=True)
    for name in first:
        for other in (second, third):
            assert (first[name] is None) == (other[name] is None), name
            if first[name] is not None:
                assert first[name].tobytes() == other[name].tobytes(), name


def _numpy_tanh_rnn(xs, h0, W, U, b, batch_sizes, reverse):
    """h_t = tanh(x_t W^T + h_{t-1} U^T + b) over packed rows, and its BPTT by hand for L = sum(hT*gh) + sum(ys*gy)."""
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    order = list(reversed(range(len(batch_sizes)))) if reverse else list(range(len(batch_sizes)))
    h, ys, previous = h0.copy(), np.zeros((len(xs), len(b))), {}
    for t in order:
        n, rows = batch_sizes[t], slice(offsets[t], offsets[t + 1])
        previous[t] = h[:n].copy()
        h[:n] = np.tanh(xs[rows] @ W.T + h[:n] @ U.T + b)
        ys[rows] = h[:n]

    def backward(g_final, g_ys):
        dh, dxs = g_final.copy(), np.zeros_like(xs)
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
        for t in reversed(order):
            n, rows = batch_sizes[t], slice(offsets[t], offsets[t + 1])
            da = (dh[:n] + g_ys[rows]) * (1 - ys[rows] ** 2)
            dxs[rows] = da @ W
            dW += da.T @ xs[rows]
            dU += da.T @ previous[t]
            db += da.sum(0)
            dh[:n] = da @ U
        return dh, dxs, dW, dU, db

    return h, ys, backward


@pytest.mark.nojit
@pytest.mark.parametrize("reverse", [False, True])
def test_tape_path_equals_a_numpy_loop(reverse):
    """The specification itself, against an independent answer: a tanh RNN's loop and BPTT in numpy."""
    random = np.random.default_rng(3)
    batch_sizes, features, hidden = [3, 3, 2, 1], 2, 4
    xs = random.standard_normal((sum(batch_sizes), features))
    h0 = random.standard_normal((3, hidden))
    W, U, b = random.standard_normal((hidden, features)), random.standard_normal((hidden, hidden)) / 2, \
        random.standard_normal(hidden)
    tensors = [tg.Tensor(a, requires_grad=True) for a in (xs, h0, W, U, b)]
    tx, th, tW, tU, tb = tensors

    def step(h, x):
        h = (x @ tW.T + h @ tU.T + tb).tanh()
        return h, h

    final, ys = tg.scan(step, th, tx, batch_sizes=batch_sizes, reverse=reverse, compiled=False)
    g_final, g_ys = random.standard_normal(final.shape), random.standard_normal(ys.shape)
    ((final * tg.Tensor(g_final)).sum() + (ys * tg.Tensor(g_ys)).sum()).backward()
    h, expected_ys, backward = _numpy_tanh_rnn(xs, h0, W, U, b, batch_sizes, reverse)
    np.testing.assert_allclose(final.numpy(), h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ys.numpy(), expected_ys, rtol=1e-12, atol=1e-12)
    dh, dxs, dW, dU, db = backward(g_final, g_ys)
    for tensor, expected in zip(tensors, (dxs, dh, dW, dU, db)):
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-10, atol=1e-12)


# -- what the compiler refuses, and bad arguments ---------------------------------------------------------


def _unsupported_steps():
    random = np.random.default_rng(0)
    U = tg.Tensor(random.standard_normal((3, 3)), requires_grad=True)
    table = tg.nn.Embedding(5, 3).double()

    def embedding(h, x):  # a bias looked up in a table
        return (h @ U + x + table(np.array(2))).tanh(), None

    def integer_indexing(h, x):
        return (h[:, np.array([2, 0, 1])] @ U + x).tanh(), None

    def sum_over_the_batch(h, x):
        return (h - h.sum(dim=0, keepdim=True)) @ U + x, None

    def mean_over_the_batch(h, x):
        return (h - h.mean(dim=0, keepdim=True)) @ U + x, None

    def softmax_over_the_batch(h, x):
        return h.softmax(dim=0) @ U + x, None

    def max_over_the_batch(h, x):
        return h.amax(dim=0) * h @ U + x, None

    def mask_from_the_data(h, x):
        a = h @ U + x
        return tg.where(a > 0, a, 0.1 * a), None

    return [
        pytest.param(embedding, "embedding", id="embedding"),
        pytest.param(integer_indexing, "index", id="integer-indexing"),
        pytest.param(sum_over_the_batch, "sum", id="sum-over-batch"),
        pytest.param(mean_over_the_batch, "mean", id="mean-over-batch"),
        pytest.param(softmax_over_the_batch, "softmax", id="softmax-over-batch"),
        pytest.param(max_over_the_batch, "max", id="max-over-batch"),
        pytest.param(mask_from_the_data, "where", id="where-data-mask"),
    ]


@pytest.mark.nojit
@pytest.mark.parametrize("step, op", _unsupported_steps())
def test_unsupported_ops_raise_naming_the_op(step, op):
    h0 = tg.Tensor(np.ones((2, 3)) * 0.5, requires_grad=True)
    xs = tg.Tensor(np.zeros((4, 2, 1)))
    final, _ = tg.scan(step, h0, xs, compiled=False)  # the tape runs it
    final.sum().backward()
    with pytest.raises(UnsupportedStep) as raised:
        tg.scan(step, h0, xs, compiled=True)
    message = str(raised.value)
    assert isinstance(raised.value, TypeError)
    assert op in message and "compiled=False" in message, message


def _bad_calls():
    h0 = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    xs = tg.Tensor(np.zeros((4, 2, 1)))
    rows = tg.Tensor(np.zeros((5, 1)))

    def good(h, x):
        return (h + x).tanh(), h

    def pair(carry, x):
        h, c = carry
        return ((h + x).tanh(), c), None

    return [
        pytest.param(lambda h, x: (h[:, :2], None), h0, xs, {}, ValueError, "new carry must match", id="carry-shape"),
        pytest.param(lambda h, x: ((h, h), None), h0, xs, {}, ValueError, "new carry must match", id="carry-structure"),
        pytest.param(lambda h, x: (h.float(), None), h0, xs, {}, ValueError, "dtypes", id="carry-dtype"),
        pytest.param(lambda h, x: h, h0, xs, {}, TypeError, r"\(new_carry, y_t\)", id="not-a-pair"),
        pytest.param(lambda h, x: (h, h[:1]), h0, xs, {}, ValueError, "y_t must be", id="y-rows"),
        pytest.param(good, h0, tg.Tensor(np.zeros((4, 3, 1))), {}, ValueError, "N = 2", id="xs-batch"),
        pytest.param(good, h0, np.zeros((4, 2, 1)), {}, TypeError, "xs must be a Tensor", id="xs-array"),
        pytest.param(good, np.zeros((2, 3)), xs, {}, TypeError, r"init\[0\]", id="init-array"),
        pytest.param(pair, (h0, tg.Tensor(np.zeros((3, 3)))), xs, {}, ValueError, "batch", id="init-batches"),
        pytest.param(pair, (h0, tg.Tensor(np.zeros((3, 3)))), rows, {"batch_sizes": [2, 2, 1]}, ValueError, "batch",
                     id="init-batches-packed"),
        pytest.param(good, h0, rows, {"batch_sizes": [1, 2, 2]}, ValueError, "non-increasing", id="increasing"),
        pytest.param(good, h0, rows, {"batch_sizes": [3, 2]}, ValueError, "start with N = 2", id="first-not-N"),
        pytest.param(good, h0, rows, {"batch_sizes": [2, 2]}, ValueError, "sum", id="rows-mismatch"),
        pytest.param(good, h0, rows, {"batch_sizes": [2, 0, 0]}, ValueError, "positive", id="zero"),
        pytest.param(good, h0, rows, {"batch_sizes": [2.0, 2.0, 1.0]}, TypeError, "int", id="floats"),
        pytest.param(good, h0, rows, {"batch_sizes": []}, TypeError, "non-empty", id="empty"),
        pytest.param(good, h0, rows, {"batch_sizes": [[2, 2, 1]]}, TypeError, "1-D", id="2-d"),
    ]


@pytest.mark.nojit
@pytest.mark.parametrize("compiled", [False, True], ids=["tape", "compiled"])
@pytest.mark.parametrize("step, init, xs, options, error, match", _bad_calls())
def test_bad_arguments_raise_clear_errors(step, init, xs, options, error, match, compiled):
    with pytest.raises(error, match=match):
        tg.scan(step, init, xs, compiled=compiled, **options)


# -- explain ------------------------------------------------------------------------------------------


@pytest.mark.nojit
def test_explain_prints_every_stage():
    cell = builtin_cell("lstm", input_size=2, hidden=3, batch=2)
    text = explain(cell.step, cell.init, tg.Tensor(inputs_for(cell, None, 3)))
    stages = ["== trace", "== differentiate", "== schedule", "== fuse and emit"]
    positions = [text.find(stage) for stage in stages]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions
    assert "def forward" in text and "def backward" in text
    assert "matmul" in text and "sigmoid" in text  # the trace lists the step's primitives
    packed = explain(cell.step, cell.init, tg.Tensor(inputs_for(cell, [2, 1], None)), batch_sizes=[2, 1])
    assert "def forward" in packed


@pytest.mark.nojit
@settings(max_examples=5)
@given(recurrent_steps(max_size=2))
def test_random_cells_read_as_code(cell):
    """A drawn cell's repr is its source, which is what its step runs."""
    text = repr(cell)
    assert "def make_step(" in text and "def step(" in text and "return" in text
    for name in cell.weights:
        assert name in text


# -- recorded scans: every step's carry and the gradient that reached it --------------------------


def unrolled_carry_grads(layer, x: np.ndarray, cotangent: np.ndarray) -> tuple:
    """A one-layer LSTM unrolled by hand with LSTMCell, a zero added to (h_t, c_t) as each step passes
    them on: the zeros' gradients, (T, N, H) each, and the gradient of every output h_t."""
    cell = tg.nn.LSTMCell(layer.input_size, layer.hidden_size).double()
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in layer.state_dict().items()})
    state, outputs, zeros = None, [], []
    for t in range(x.shape[0]):
        h, c = cell(tg.Tensor(x[t]), state)
        outputs.append(h.retain_grad())
        zeros.append([tg.zeros(*h.shape, dtype="float64", requires_grad=True) for _ in range(2)])
        state = (h + zeros[t][0], c + zeros[t][1])
    (tg.stack(outputs) * tg.Tensor(cotangent)).sum().backward()
    passed_on = [[np.zeros(z.shape) if z.grad is None else z.grad for z in step] for step in zeros]  # None: unused
    return (*(np.stack([step[k] for step in passed_on]) for k in range(2)), np.stack([h.grad for h in outputs]))


@pytest.mark.nojit
@pytest.mark.parametrize("compiled", [True, False])
def test_recorded_scans_give_every_carry_and_its_gradient(compiled):
    tg.manual_seed(0)
    layer = tg.nn.LSTM(3, 4, fused=compiled).double()
    rng = np.random.default_rng(0)
    x, cotangent = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 4))
    with tg.recorded_scans() as records:
        out, (h_n, c_n) = layer(tg.Tensor(x))
        assert records[0].carry_grads is None  # before backward
        out.retain_grad()
        (out * tg.Tensor(cotangent)).sum().backward()
    (record,) = records
    h, c = (carry.reshape(6, 2, 4) for carry in record.carries)
    np.testing.assert_allclose(h, out.data, atol=1e-12)
    np.testing.assert_allclose(c[-1], c_n.data[0], atol=1e-12)
    expected_dh, expected_dc, dh_total = unrolled_carry_grads(layer, x, cotangent)
    dh, dc = (g.reshape(6, 2, 4) for g in record.carry_grads)
    np.testing.assert_allclose(dh, expected_dh, atol=1e-10)
    np.testing.assert_allclose(dc, expected_dc, atol=1e-10)
    assert np.abs(dh[:-1]).min() > 0 and not dh[-1].any()  # nothing follows the last step's carry here
    np.testing.assert_allclose(dh + out.grad, dh_total, atol=1e-10)  # with the output's own: the whole dL/dh_t


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "LayerNormLSTM"])
def test_recorded_scans_agree_on_both_paths_packed_and_bidirectional(kind):
    found = {}
    for compiled in (True, False):
        tg.manual_seed(0)
        layer = getattr(tg.nn, kind)(3, 4, num_layers=2, bidirectional=True, fused=compiled).double()
        x = tg.Tensor(np.random.default_rng(1).standard_normal((5, 3, 3)))
        packed = tg.nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2])
        with tg.recorded_scans() as records:
            out, _ = layer(packed)
            (out.data ** 2).sum().backward()
        assert len(records) == 4  # a scan per layer and direction
        found[compiled] = [(*r.carries, *r.carry_grads) for r in records]
    for compiled_arrays, tape_arrays in zip(found[True], found[False]):
        for a, b in zip(compiled_arrays, tape_arrays):
            np.testing.assert_allclose(a, b, atol=1e-10)


def test_scans_are_recorded_only_inside_the_block():
    layer = tg.nn.GRU(2, 3)
    x = tg.Tensor(np.ones((4, 1, 2), np.float32))
    with tg.recorded_scans() as records:
        layer(x)
    layer(x)
    assert len(records) == 1 and records[0].per_step(records[0].carries[0])[3].shape == (1, 3)


def test_one_source_serves_every_size_of_a_cell():
    from tinygrad_rnn.compiler import compile_step
    from tinygrad_rnn.nn.recurrent import _layer_step

    programs = []
    for input_size, hidden_size in [(3, 2), (100, 512), (7, 5)]:
        layer = tg.nn.LSTM(input_size, hidden_size)
        step = functools.partial(_layer_step, layer.recurrence, *layer.layer_weights(0, 0))
        carry = (tg.zeros(2, hidden_size), tg.zeros(2, hidden_size))
        programs.append(compile_step(step, carry, False, (input_size,), np.float32))
    assert len({p.source for p in programs}) == 1 and len({id(p.forward) for p in programs}) == 1
    assert [p.dims.tolist() for p in programs][1] == [512, 4 * 512, 2 * 512, 3 * 512]  # H, 4H, 2H, 3H
