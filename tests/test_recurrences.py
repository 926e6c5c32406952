"""The registry of recurrences and the layers it gives every cell: the five new cells compiled
against the tape, against finite differences, and a cell registered by a user."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.recurrences import RECURRENCES, Recurrence, Weight, register

from layer_kinds import KINDS, NEW_LAYERS


def _run(layer, x, hx=None):
    """Output, final state and every gradient of a fixed scalar of them."""
    for t in (x, *layer.parameters()):
        t.grad = None
    output, h_n = layer(x, hx)
    states = h_n if isinstance(h_n, tuple) else (h_n,)
    weights = np.cos(np.arange(output.numel())).reshape(output.shape)
    ((output * tg.Tensor(weights)).sum() + sum((s * s).sum() for s in states)).backward()
    return [output.data, *(s.data for s in states), x.grad, *(p.grad for p in layer.parameters())]


def _pair(cls, **options):
    tg.manual_seed(0)
    compiled = cls(3, 4, **options).double()
    tape = cls(3, 4, fused=False, **options).double()
    tape.load_state_dict(compiled.state_dict())
    return compiled, tape


@pytest.mark.parametrize("name", sorted(NEW_LAYERS))
@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True}, {"bias": False}],
                         ids=["plain", "2-layer-bidirectional", "no-bias"])
def test_new_cells_compiled_equal_the_tape(name, options):
    compiled, tape = _pair(NEW_LAYERS[name], **options)
    x = tg.Tensor(np.random.default_rng(1).standard_normal((5, 2, 3)), requires_grad=True)
    for got, want in zip(_run(compiled, x), _run(tape, x)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(NEW_LAYERS))
def test_new_cells_on_packed_sequences_equal_the_tape(name):
    compiled, tape = _pair(NEW_LAYERS[name], bidirectional=True)
    rng = np.random.default_rng(2)
    sequences = [tg.Tensor(rng.standard_normal((n, 3))) for n in (2, 5, 4)]
    packed = nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)
    data = tg.Tensor(packed.data.data, requires_grad=True)
    packed = nn.utils.rnn.PackedSequence(data, *packed[1:])
    results = []
    for layer in (compiled, tape):
        data.grad = None
        output, _ = layer(packed)
        (output.data * output.data).sum().backward()
        results.append((output.data.data, data.grad))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(NEW_LAYERS))
def test_new_cells_compiled_gradients_match_finite_differences(name):
    tg.manual_seed(0)
    layer = NEW_LAYERS[name](3, 4).double()
    x = tg.Tensor(np.random.default_rng(3).standard_normal((4, 2, 3)), requires_grad=True)
    assert tg.gradcheck(lambda inp, *params: layer(inp)[0], [x, *layer.parameters()], fast_mode=True)


def test_every_registered_recurrence_is_in_the_test_tables():
    """A recurrence registered without a row in tests/layer_kinds.py would go untested."""
    assert sorted(RECURRENCES) == sorted([*KINDS, *NEW_LAYERS])


def test_state_dict_names_follow_the_registry():
    layer = nn.PeepholeLSTM(3, 4, num_layers=2)
    assert list(layer.state_dict())[:7] == ["weight_ih_l0", "weight_hh_l0", "weight_ci_l0", "weight_cf_l0",
                                            "weight_co_l0", "bias_ih_l0", "bias_hh_l0"]
    assert layer.weight_ih_l1.shape == (16, 4) and layer.weight_ci_l0.shape == (4,)
    assert nn.MinGRU(3, 4).weight_ih_l0.shape == (8, 3) and not hasattr(nn.MinGRU(3, 4), "weight_hh_l0")
    norm = nn.LayerNormLSTM(3, 4)
    np.testing.assert_array_equal(norm.ln_cell_weight_l0.data, np.ones(4))
    np.testing.assert_array_equal(norm.ln_ih_bias_l0.data, np.zeros(16))
    assert 0 <= nn.IndRNN(3, 4).weight_hh_l0.data.min() and nn.IndRNN(3, 4).weight_hh_l0.data.max() <= 1


def test_a_cell_registered_by_a_user_gets_a_layer():
    def scaled_tanh_cell(x, h, weight_ih, weight_hh, scale):
        """h_t = scale * tanh(x W^T + h U^T): one function of one step."""
        return scale * (x @ weight_ih.T + h @ weight_hh.T).tanh()

    weights = (Weight("weight_ih", lambda i, h: (h, i)), Weight("weight_hh", lambda i, h: (h, h)),
               Weight("scale", lambda i, h: (h,), init="ones"))
    recurrence = Recurrence("test_scaled_tanh", scaled_tanh_cell, states=1, gates=1, weights=weights)
    register(recurrence)
    try:
        tg.manual_seed(0)
        compiled = nn.RNNBase("test_scaled_tanh", 3, 4, bidirectional=True).double()
        tape = nn.RNNBase(recurrence, 3, 4, bidirectional=True, fused=False).double()
        tape.load_state_dict(compiled.state_dict())
        x = tg.Tensor(np.random.default_rng(4).standard_normal((5, 2, 3)), requires_grad=True)
        for got, want in zip(_run(compiled, x), _run(tape, x)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        with pytest.raises(ValueError, match="already registered"):
            register(recurrence)
    finally:
        del RECURRENCES["test_scaled_tanh"]


def test_an_unknown_recurrence_raises_listing_the_registered_ones():
    with pytest.raises(ValueError, match="no recurrence named 'nope'; registered: .*lstm"):
        nn.RNNBase("nope", 3, 4)
