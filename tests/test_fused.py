"""Fused recurrences (ops/recurrent.py) against the composed layers, the specification.

Equal to 1e-10 in float64 (outputs, final states and every gradient) over
random kinds, sizes, layers, directions, layouts, initial states and packed
lengths; finite differences on the fused path; determinism; no_grad.

``@pytest.mark.nojit`` marks a quick subset CI also runs with the kernels as
plain Python: ``NUMBA_DISABLE_JIT=1 pytest -m nojit``.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import ops
from tinygrad_rnn.kernels import recurrent as recurrent_kernels
from tinygrad_rnn.nn.utils import rnn as rnn_utils

from layer_kinds import KINDS


@st.composite
def configs(draw, max_side=5):
    steps, batch = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    packed = draw(st.booleans())
    num_layers = draw(st.integers(1, 3))
    return dict(
        kind=draw(st.sampled_from(sorted(KINDS))),
        input_size=draw(st.integers(1, max_side)),
        hidden_size=draw(st.integers(1, max_side)),
        num_layers=num_layers,
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.0, 0.5])) if num_layers > 1 else 0.0,  # one layer has no dropout (warns)
        steps=steps,
        batch=batch,
        given_hx=draw(st.booleans()),
        lengths=draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch)) if packed else None,
        seed=draw(st.integers(0, 2**16)),
    )


def make_layer(config, dtype=np.float64):
    tg.manual_seed(config["seed"])
    layer = KINDS[config["kind"]].make_layer(
        config["input_size"], config["hidden_size"], num_layers=config["num_layers"], bias=config["bias"],
        batch_first=config["batch_first"], dropout=config["dropout"], bidirectional=config["bidirectional"])
    return layer.to(dtype)


def make_inputs(config, dtype=np.float64):
    """x and hx (None, a tensor, or LSTM's pair), all requiring grad."""
    rng = np.random.default_rng(config["seed"])
    steps, batch = config["steps"], config["batch"]
    shape = (batch, steps) if config["batch_first"] else (steps, batch)
    x = tg.Tensor(rng.standard_normal((*shape, config["input_size"])).astype(dtype), requires_grad=True)
    if not config["given_hx"]:
        return x, None
    directions = 2 if config["bidirectional"] else 1
    state_shape = (config["num_layers"] * directions, batch, config["hidden_size"])
    kind = KINDS[config["kind"]]
    states = [tg.Tensor(rng.standard_normal(state_shape).astype(dtype), requires_grad=True)
              for _ in range(kind.states)]
    return x, kind.carry(states)


def flat(state):
    return [] if state is None else list(state) if isinstance(state, tuple) else [state]


def forward(layer, config, x, hx):
    """Output (padded) and final states, for padded or packed input."""
    if config["lengths"] is None:
        output, h_n = layer(x, hx)
        return output, flat(h_n)
    packed = rnn_utils.pack_padded_sequence(x, config["lengths"], batch_first=config["batch_first"],
                                            enforce_sorted=False)
    output, h_n = layer(packed, hx)
    padded, _ = rnn_utils.pad_packed_sequence(output, batch_first=config["batch_first"])
    return padded, flat(h_n)


def results(config, fused, dtype=np.float64):
    """Everything a layer computes: output, final states, and the gradient of every input
    of a random weighting of them (so no gradient is a plain sum)."""
    layer = make_layer(config, dtype)
    layer.fused = fused
    x, hx = make_inputs(config, dtype)
    tg.manual_seed(config["seed"] + 1)  # the same dropout masks on both paths
    output, finals = forward(layer, config, x, hx)
    rng = np.random.default_rng(config["seed"] + 2)
    loss = sum((t * tg.Tensor(rng.standard_normal(t.shape).astype(dtype))).sum() for t in [output, *finals])
    loss.backward()
    found = {"output": output.data, "x.grad": x.grad}
    found.update({f"h_n[{k}]": t.data for k, t in enumerate(finals)})
    found.update({f"hx[{k}].grad": t.grad for k, t in enumerate(flat(hx))})
    found.update({f"{name}.grad": p.grad for name, p in layer.named_parameters()})
    return found


def assert_same(fused: dict, composed: dict, tolerance: float):
    assert fused.keys() == composed.keys()
    for name in composed:
        assert fused[name] is not None and composed[name] is not None, name
        np.testing.assert_allclose(fused[name], composed[name], rtol=tolerance, atol=tolerance, err_msg=name)


# -- fused == composed ------------------------------------------------------------------


@given(configs())
def test_fused_equals_composed(config):
    assert_same(results(config, fused=True), results(config, fused=False), 1e-10)


FIXED = dict(input_size=3, hidden_size=2, num_layers=2, bidirectional=True, batch_first=True, bias=True,
             dropout=0.0, steps=4, batch=3, given_hx=True, lengths=[2, 4, 3], seed=5)  # sorting order [1, 2, 0] is not its own inverse


@pytest.mark.nojit
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fused_equals_composed_packed_bidirectional_stack(kind):
    config = dict(FIXED, kind=kind)
    assert_same(results(config, fused=True), results(config, fused=False), 1e-10)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_python_time_loops_equal_the_compiled_ones(kind, monkeypatch):
    """Where numpy's BLAS is not found the time loops stay Python (kernels/blas.py);
    that path must compute the same."""
    compiled = results(FIXED | {"kind": kind}, fused=True)
    for name in dir(recurrent_kernels):
        loop = getattr(recurrent_kernels, name)
        if name.endswith("_loop") and hasattr(loop, "py_func"):
            monkeypatch.setattr(recurrent_kernels, name, loop.py_func)
    assert_same(results(FIXED | {"kind": kind}, fused=True), compiled, 1e-12)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_float32_fused_is_close_to_composed(kind):
    config = dict(FIXED, kind=kind, hidden_size=8, steps=12, lengths=[12, 7, 3])
    assert_same(results(config, True, np.float32), results(config, False, np.float32), 2e-5)
    fused = results(config, True, np.float32)
    assert all(v.dtype == np.float32 for v in fused.values())


# -- finite differences -------------------------------------------------------------------


@settings(max_examples=20)
@given(configs(max_side=3))
def test_fused_layer_gradients_match_finite_differences(config):
    config = dict(config, dropout=0.0)
    layer = make_layer(config)
    assert layer.fused
    x, hx = make_inputs(config)
    assert tg.gradcheck(lambda *_: forward(layer, config, x, hx), [x, *flat(hx), *layer.parameters()],
                        fast_mode=True, atol=1e-6)


def sequence_inputs(name, bias=True, seed=0, batch_sizes=(3, 3, 2, 1), features=2, hidden=3):
    """(op, tensors, params) for calling a fused primitive directly."""
    kind = KINDS[name]
    rows = kind.gates * hidden
    rng = np.random.default_rng(seed)
    batch_sizes = np.array(batch_sizes)
    shapes = [(batch_sizes.sum(), features)] + [(batch_sizes[0], hidden)] * kind.states
    shapes += [(rows, features), (rows, hidden)] + [(rows,)] * (2 * bias)
    tensors = [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    return kind.sequence_op, tensors, dict(kind.sequence_options, batch_sizes=batch_sizes)


@pytest.mark.nojit
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_primitive_gradients_match_finite_differences(kind, reverse):
    op, tensors, params = sequence_inputs(kind, seed=len(kind))
    assert tg.gradcheck(lambda *ts: op.apply(*ts, reverse=reverse, **params), tensors, atol=1e-6)


# -- determinism, no_grad, dtypes ---------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_same_inputs_give_the_same_bits(kind):
    config = dict(FIXED, kind=kind, input_size=24, hidden_size=48, steps=20, batch=9,
                  lengths=[20, 3, 17, 20, 9, 1, 14, 20, 5])
    first, second = results(config, True, np.float32), results(config, True, np.float32)
    for name in first:
        assert np.array_equal(first[name], second[name]), name


@pytest.mark.nojit
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_grad_gives_the_same_output_and_saves_nothing(kind):
    op, tensors, params = sequence_inputs(kind)
    recorded = op.apply(*tensors, **params)
    with tg.no_grad():
        plain = op.apply(*tensors, **params)
    assert not plain.requires_grad and recorded.requires_grad
    np.testing.assert_array_equal(plain.data, recorded.data)
    node = op()  # forward alone, as apply runs it when nothing is recorded
    node.forward(*[t.data for t in tensors], **params)
    assert not hasattr(node, "saved") and not hasattr(node, "x")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layer_under_no_grad_matches_and_records_nothing(kind):
    config = dict(FIXED, kind=kind)
    layer = make_layer(config)
    x, hx = make_inputs(config)
    expected, _ = forward(layer, config, x, hx)
    with tg.no_grad():
        output, finals = forward(layer, config, x, hx)
    assert not output.requires_grad and not any(t.requires_grad for t in finals)
    np.testing.assert_array_equal(output.data, expected.data)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_layers_without_bias_get_every_gradient(kind):
    op, tensors, params = sequence_inputs(kind, bias=False)
    op.apply(*tensors, **params).sum().backward()
    assert all(t.grad is not None and t.grad.shape == t.shape for t in tensors)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_give_finite_values_and_gradients(kind, dtype):
    config = dict(FIXED, kind=kind)
    layer = make_layer(config, dtype)
    x, hx = make_inputs(config, dtype)
    x.data *= 1e4
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        output, finals = forward(layer, config, x, hx)
        (output.sum() + sum(t.sum() for t in finals)).backward()
    for t in [output, *finals]:
        assert np.all(np.isfinite(t.data))
    for t in [x, *flat(hx), *layer.parameters()]:
        assert t.grad.dtype == dtype and np.all(np.isfinite(t.grad))


# -- errors ----------------------------------------------------------------------------------


def fused_tanh(values: np.ndarray) -> np.ndarray:
    """tanh of each value by the fused RNN kernel: one step, zero weights, the values as bias."""
    n, dtype = values.size, values.dtype
    zeros = [tg.Tensor(np.zeros(shape, dtype)) for shape in [(1, n), (1, n), (n, n), (n, n)]]
    y = ops.RNNSequence.apply(*zeros, tg.Tensor(values), tg.Tensor(np.zeros(n, dtype)), batch_sizes=np.array([1]))
    return y.data[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_tanh_is_accurate_in_relative_terms_near_zero_too(dtype):
    magnitudes = np.geomspace(1e-30, 30, 3000)
    values = np.concatenate([magnitudes, -magnitudes, [0.0, -0.0]]).astype(dtype)
    exact = np.tanh(values.astype(np.float64))  # of the inputs as rounded to dtype
    got = fused_tanh(values)
    assert got.dtype == dtype
    ulps = np.abs(got - exact) / np.maximum(np.abs(exact), np.finfo(dtype).tiny) / np.finfo(dtype).eps
    assert ulps.max() <= 4, f"{ulps.max():.1f} ulps at tanh({values[ulps.argmax()]!r})"
    np.testing.assert_array_equal(fused_tanh(np.array([np.inf, -np.inf, np.nan], dtype)), [1, -1, np.nan])


@pytest.mark.nojit
@pytest.mark.parametrize("change, error, match", [
    (lambda ts, p: p.update(batch_sizes=np.array([1, 3, 3, 2])), ValueError, "non-increasing"),
    (lambda ts, p: p.update(batch_sizes=np.array([3, 3, 2])), ValueError, r"sum\(batch_sizes\)"),
    (lambda ts, p: p.update(batch_sizes=np.array([3.0, 3.0, 2.0, 1.0])), ValueError, "int array"),
    (lambda ts, p: ts.__setitem__(1, tg.Tensor(np.zeros((2, 3)))), ValueError, "do not fit"),
    (lambda ts, p: ts.__setitem__(3, tg.Tensor(np.zeros((3, 4)))), ValueError, "do not fit"),
    (lambda ts, p: ts.pop(), TypeError, "optionally bias_ih"),
    (lambda ts, p: ts.__setitem__(0, ts[0].float()), TypeError, "one float dtype"),
])
def test_bad_inputs_name_the_op(change, error, match):
    op, tensors, params = sequence_inputs("gru")
    change(tensors, params)
    with pytest.raises(error, match=match) as info:
        op.apply(*tensors, **params)
    assert str(info.value).startswith("grusequence: ")
