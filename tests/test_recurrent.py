"""Recurrent cells and layers: finite differences, hand-written BPTT, PyTorch parity, shapes, errors."""

import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.recurrent import RNNBase
from tinygrad_rnn.nn.utils import rnn as rnn_utils

LAYERS = {"rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
          "lstm": (nn.LSTM, {}), "gru": (nn.GRU, {})}
CELLS = {"rnn_tanh": (nn.RNNCell, {}), "rnn_relu": (nn.RNNCell, {"nonlinearity": "relu"}),
         "lstm": (nn.LSTMCell, {}), "gru": (nn.GRUCell, {})}


def randn(*shape, seed=0):
    return tg.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def make_layer(kind, input_size, hidden_size, **kwargs):
    cls, extra = LAYERS[kind]
    return cls(input_size, hidden_size, **extra, **kwargs).double()


def initial_state(kind, shape, seed):
    if kind == "lstm":
        return (randn(*shape, seed=seed), randn(*shape, seed=seed + 1))
    return randn(*shape, seed=seed)


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@st.composite
def layer_configs(draw):
    return dict(
        kind=draw(st.sampled_from(sorted(LAYERS))),
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(1, 4)),
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        steps=draw(st.integers(1, 5)),
        batch=draw(st.integers(1, 3)),
        given_hx=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


# -- finite differences ------------------------------------------------------------


@given(kind=st.sampled_from(sorted(CELLS)), batched=st.booleans(), given_hx=st.booleans(),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_cell_gradients_match_finite_differences(kind, batched, given_hx, bias, seed):
    cls, extra = CELLS[kind]
    tg.manual_seed(seed)
    cell = cls(3, 4, bias=bias, **extra).double()
    x = randn(2, 3, seed=seed) if batched else randn(3, seed=seed)
    state_shape = (2, 4) if batched else (4,)
    hx = initial_state(kind, state_shape, seed + 7) if given_hx else None
    if kind == "rnn_relu":  # keep pre-activations away from the kink at 0
        x.data[...] = np.sign(x.data) * (np.abs(x.data) + 0.5)
    state_inputs = flat(hx) if hx is not None else []

    def run(x, *rest):
        return cell(x, hx)

    assert tg.gradcheck(run, [x, *state_inputs, *cell.parameters()], atol=1e-6)


@given(layer_configs())
def test_layer_gradients_match_finite_differences(config):
    tg.manual_seed(config["seed"])
    kind = config["kind"]
    layer = make_layer(kind, config["input_size"], config["hidden_size"],
                       num_layers=config["num_layers"], bidirectional=config["bidirectional"],
                       batch_first=config["batch_first"], bias=config["bias"])
    steps, batch = config["steps"], config["batch"]
    shape = (batch, steps) if config["batch_first"] else (steps, batch)
    x = randn(*shape, config["input_size"], seed=config["seed"])
    directions = 2 if config["bidirectional"] else 1
    hx = (initial_state(kind, (config["num_layers"] * directions, batch, config["hidden_size"]),
                        config["seed"] + 3) if config["given_hx"] else None)
    state_inputs = flat(hx) if hx is not None else []
    assert tg.gradcheck(lambda *_: layer(x, hx), [x, *state_inputs, *layer.parameters()],
                        fast_mode=True, atol=1e-6)


@given(layer_configs(), st.data())
def test_packed_layer_gradients_match_finite_differences(config, data):
    tg.manual_seed(config["seed"])
    kind, steps, batch = config["kind"], config["steps"], config["batch"]
    layer = make_layer(kind, config["input_size"], config["hidden_size"],
                       num_layers=config["num_layers"], bidirectional=config["bidirectional"])
    lengths = data.draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch))
    x = randn(steps, batch, config["input_size"], seed=config["seed"])
    directions = 2 if config["bidirectional"] else 1
    hx = (initial_state(kind, (config["num_layers"] * directions, batch, config["hidden_size"]),
                        config["seed"] + 3) if config["given_hx"] else None)

    def run(*_):
        packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=False)
        output, h_n = layer(packed, hx)
        return rnn_utils.pad_packed_sequence(output)[0], h_n

    state_inputs = flat(hx) if hx is not None else []
    assert tg.gradcheck(run, [x, *state_inputs, *layer.parameters()], fast_mode=True, atol=1e-6)


def test_padded_positions_get_no_gradient():
    layer = make_layer("lstm", 2, 3, bidirectional=True)
    x = randn(4, 2, 2)
    output, (h_n, c_n) = layer(rnn_utils.pack_padded_sequence(x, [4, 2]))
    (rnn_utils.pad_packed_sequence(output)[0].sum() + h_n.sum() + c_n.sum()).backward()
    assert np.all(x.grad[2:, 1] == 0) and np.all(x.grad[:2, 1] != 0)


# -- BPTT by hand --------------------------------------------------------------------


def handwritten_bptt(x, h0, w_ih, w_hh, b, v):
    """Gradients of L = sum_t <v_t, h_t> for h_t = tanh(W_ih x_t + W_hh h_{t-1} + b), unbatched.

    Written as the lecture notes derive it: dL/dW = sum over t of the direct
    effect at t times the chain of Jacobians dh_j/dh_{j-1} back from every
    later step k that the loss reads. Deliberately the slow, literal
    double sum, with explicit Jacobian matrices.
    """
    steps, hidden = len(x), len(h0)
    h = [h0]
    for t in range(steps):
        h.append(np.tanh(w_ih @ x[t] + w_hh @ h[t] + b))
    jacobian = [None] + [np.diag(1 - h[j] ** 2) @ w_hh for j in range(1, steps + 1)]  # dh_j/dh_{j-1}

    d_w_ih, d_w_hh, d_b = np.zeros_like(w_ih), np.zeros_like(w_hh), np.zeros_like(b)
    d_x, d_h = np.zeros_like(x), np.zeros((steps + 1, hidden))  # d_h[t] = dL/dh_t
    for k in range(1, steps + 1):  # the loss term <v_k, h_k>
        chain = np.eye(hidden)  # dh_k/dh_t, built from t = k down to 1
        for t in range(k, 0, -1):
            upstream = v[k - 1] @ chain  # d<v_k, h_k>/dh_t
            d_h[t] += upstream
            pre = upstream * (1 - h[t] ** 2)  # through tanh at step t
            d_w_ih += np.outer(pre, x[t - 1])
            d_w_hh += np.outer(pre, h[t - 1])
            d_b += pre
            d_x[t - 1] += w_ih.T @ pre
            chain = chain @ jacobian[t]
        d_h[0] += v[k - 1] @ chain
    return d_x, d_h, d_w_ih, d_w_hh, d_b


def test_tape_equals_handwritten_bptt():
    rng = np.random.default_rng(3)
    steps, inputs, hidden = 7, 3, 4
    cell = nn.RNNCell(inputs, hidden).double()
    x_np = rng.standard_normal((steps, inputs))
    v = rng.standard_normal((steps, hidden))
    h0 = tg.Tensor(rng.standard_normal(hidden), requires_grad=True)
    xs = [tg.Tensor(x_np[t], requires_grad=True) for t in range(steps)]

    hs, h, loss = [h0], h0, 0
    for t in range(steps):
        h = cell(xs[t], h).retain_grad()
        hs.append(h)
        loss = loss + (h * tg.Tensor(v[t])).sum()
    loss.backward()

    bias = cell.bias_ih.data + cell.bias_hh.data
    d_x, d_h, d_w_ih, d_w_hh, d_b = handwritten_bptt(
        x_np, h0.data, cell.weight_ih.data, cell.weight_hh.data, bias, v)
    np.testing.assert_allclose(np.stack([x.grad for x in xs]), d_x, atol=1e-10)
    np.testing.assert_allclose(np.stack([h.grad for h in hs]), d_h, atol=1e-10)
    np.testing.assert_allclose(cell.weight_ih.grad, d_w_ih, atol=1e-10)
    np.testing.assert_allclose(cell.weight_hh.grad, d_w_hh, atol=1e-10)
    np.testing.assert_allclose(cell.bias_ih.grad, d_b, atol=1e-10)
    np.testing.assert_allclose(cell.bias_hh.grad, d_b, atol=1e-10)


def gradient_norms_through_time(cell, steps, seed=0):
    """||dL/dh_t|| for every t when the loss reads only the last state."""
    x = tg.Tensor(np.random.default_rng(seed).standard_normal((steps, 1, cell.input_size)))
    state = None
    hs = []
    for t in range(steps):
        state = cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        hs.append(h.retain_grad())
    hs[-1].sum().backward()
    return np.array([np.linalg.norm(h.grad) for h in hs])


def test_retain_grad_shows_vanishing_in_tanh_rnn_and_not_in_lstm():
    tg.manual_seed(0)
    rnn_cell = nn.RNNCell(2, 16).double()
    lstm_cell = nn.LSTMCell(2, 16).double()
    lstm_cell.bias_ih.data[16:32] = 5.0  # forget gate open: the cell state carries gradient
    rnn_norms = gradient_norms_through_time(rnn_cell, 60)
    lstm_norms = gradient_norms_through_time(lstm_cell, 60)
    assert np.all(rnn_norms > 0) and np.all(lstm_norms > 0)
    # over the same 29 steps back in time: geometric decay vs. carried by the cell state
    assert rnn_norms[0] / rnn_norms[29] < 1e-4
    assert lstm_norms[0] / lstm_norms[29] > 0.5


# -- PyTorch parity ------------------------------------------------------------------


def torch_twin(torch, ours):
    cls = getattr(torch.nn, type(ours).__name__)
    kwargs = dict(bias=ours.bias)
    if isinstance(ours, RNNBase):
        kwargs.update(num_layers=ours.num_layers, batch_first=ours.batch_first,
                      bidirectional=ours.bidirectional)
    if hasattr(ours, "nonlinearity"):
        kwargs["nonlinearity"] = ours.nonlinearity
    twin = cls(ours.input_size, ours.hidden_size, **kwargs).double()
    twin.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return twin


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("packed", [False, True])
def test_layers_match_torch(kind, packed):
    torch = pytest.importorskip("torch")
    tg.manual_seed(1)
    ours = make_layer(kind, 3, 5, num_layers=2, bidirectional=True, batch_first=True)
    twin = torch_twin(torch, ours)
    rng = np.random.default_rng(0)
    # sorting [2, 6, 5, 1] is the permutation [1, 2, 0, 3], not its own inverse: a swap of
    # sorted_indices and unsorted_indices cannot hide
    x_np, lengths = rng.standard_normal((4, 6, 3)), [2, 6, 5, 1]
    hx_np = [rng.standard_normal((4, 4, 5)) for _ in range(2 if kind == "lstm" else 1)]
    x, tx = tg.Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    hx = [tg.Tensor(h, requires_grad=True) for h in hx_np]
    thx = [torch.tensor(h, requires_grad=True) for h in hx_np]

    if packed:
        out, h_n = ours(rnn_utils.pack_padded_sequence(x, lengths, True, False),
                        tuple(hx) if kind == "lstm" else hx[0])
        out = rnn_utils.pad_packed_sequence(out, batch_first=True)[0]
        pack = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), True, False)
        t_out, t_h_n = twin(pack, tuple(thx) if kind == "lstm" else thx[0])
        t_out = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)[0]
    else:
        out, h_n = ours(x, tuple(hx) if kind == "lstm" else hx[0])
        t_out, t_h_n = twin(tx, tuple(thx) if kind == "lstm" else thx[0])

    weights = rng.standard_normal(out.shape)
    states, t_states = flat(h_n), flat(t_h_n)
    ((out * tg.Tensor(weights)).sum() + sum((s * s).sum() for s in states)).backward()
    ((t_out * torch.tensor(weights)).sum() + sum((s * s).sum() for s in t_states)).backward()

    np.testing.assert_allclose(out.data, t_out.detach().numpy(), atol=1e-12)
    for s, t_s in zip(states, t_states):
        np.testing.assert_allclose(s.data, t_s.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-12)
    for h, t_h in zip(hx, thx):
        np.testing.assert_allclose(h.grad, t_h.grad.numpy(), atol=1e-12)
    t_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cells_match_torch(kind):
    torch = pytest.importorskip("torch")
    cls, extra = CELLS[kind]
    ours = cls(3, 4, **extra).double()
    twin = torch_twin(torch, ours)
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((2, 3))
    x, tx = tg.Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, t_out = flat(ours(x)), flat(twin(tx))
    sum((o * o).sum() for o in out).backward()
    sum((o * o).sum() for o in t_out).backward()
    for o, t_o in zip(out, t_out):
        np.testing.assert_allclose(o.data, t_o.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-12)
    t_params = dict(twin.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, t_params[name].grad.numpy(), atol=1e-12, err_msg=name)


def test_state_dict_names_and_shapes_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    theirs = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    ours_shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert ours_shapes == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert list(ours_shapes) == list(theirs.state_dict())


# -- shapes and semantics --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_output_shapes(kind):
    layer = LAYERS[kind][0](3, 5, num_layers=2, bidirectional=True, batch_first=True,
                            **LAYERS[kind][1])
    out, h_n = layer(tg.randn(4, 6, 3))
    assert out.shape == (4, 6, 10)
    for s in flat(h_n):
        assert s.shape == (4, 4, 5)
    out, h_n = layer(tg.randn(6, 3))  # unbatched
    assert out.shape == (6, 10)
    for s in flat(h_n):
        assert s.shape == (4, 5)


def test_h_n_is_the_state_at_each_sequences_own_last_step():
    layer = make_layer("gru", 2, 3, bidirectional=True)
    x = randn(5, 2, 2)
    packed = rnn_utils.pack_padded_sequence(x, [3, 5], enforce_sorted=False)
    out, h_n = layer(packed)
    alone, h_alone = layer(x[:3, :1])  # the first sequence, without its padding
    np.testing.assert_allclose(h_n.data[:, 0], h_alone.data[:, 0], atol=1e-12)
    padded = rnn_utils.pad_packed_sequence(out)[0]
    np.testing.assert_allclose(padded.data[:3, 0], alone.data[:, 0], atol=1e-12)
    assert np.all(padded.data[3:, 0] == 0)


def test_dropout_only_between_layers_and_only_in_training():
    tg.manual_seed(0)
    layer = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = tg.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    layer.eval()
    first, second = layer(x)[0].data, layer(x)[0].data
    np.testing.assert_array_equal(first, second)
    layer.train()
    assert not np.allclose(layer(x)[0].data, first)
    with pytest.warns(UserWarning, match="with num_layers=1 it does nothing"):  # as PyTorch warns
        single = nn.LSTM(3, 4, dropout=0.5).double()  # one layer: nothing between layers
    single.train()
    np.testing.assert_array_equal(single(x)[0].data, single(x)[0].data)


def test_truncated_bptt_keeps_memory_flat():
    tg.manual_seed(0)
    layer = nn.LSTM(4, 16)
    stream = tg.Tensor(np.random.default_rng(0).standard_normal((5, 2, 4)).astype(np.float32))
    state = None

    def chunk(state):
        out, state = layer(stream, state)
        out.sum().backward()
        return tuple(s.detach() for s in state)

    for _ in range(20):
        state = chunk(state)
    gc.collect()
    tracemalloc.start()
    for _ in range(20):
        state = chunk(state)
    gc.collect()
    early, _ = tracemalloc.get_traced_memory()
    for _ in range(300):  # a retained graph would cost tens of kB per chunk
        state = chunk(state)
    gc.collect()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert late - early < 64 * 1024, (early, late)


def test_long_sequence_runs_backward_without_recursion():
    layer = nn.LSTM(2, 3, fused=False)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((5000, 1, 2)).astype(np.float32),
                  requires_grad=True)
    out, (h_n, c_n) = layer(x)
    (out.sum() + h_n.sum()).backward()
    assert np.all(np.isfinite(x.grad)) and np.all(x.grad[0] != 0)


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("make, match", [
    (lambda: nn.LSTM(3, 0), "hidden_size must be an int >= 1"),
    (lambda: nn.GRU(0, 3), "input_size must be an int >= 1"),
    (lambda: nn.RNN(3, 4, num_layers=0), "num_layers must be an int >= 1"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), r"dropout must be a probability in \[0, 1\]"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), "nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.LSTMCell(3, -1), "hidden_size must be an int >= 1"),
])
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_call_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: input has 5 features per step but input_size is 3"):
        lstm(tg.randn(6, 2, 5))
    with pytest.raises(ValueError, match=r"LSTM: input must be .* got shape \(2, 3, 4, 3\)"):
        lstm(tg.randn(2, 3, 4, 3))
    with pytest.raises(ValueError, match=r"LSTM: h_0 has shape \(1, 2, 4\), expected \(2, 2, 4\)"):
        lstm(tg.randn(6, 2, 3), (tg.zeros(1, 2, 4), tg.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple"):
        lstm(tg.randn(6, 2, 3), tg.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"GRU: input shape \(0, 2, 3\) has an empty sequence"):
        nn.GRU(3, 4)(tg.zeros(0, 2, 3))
    with pytest.raises(TypeError, match=r"RNN: input dtype float64 differs from the weights' float32"):
        nn.RNN(3, 4)(tg.Tensor(np.zeros((2, 1, 3))))
    with pytest.raises(ValueError, match=r"GRUCell: input has 2 features but input_size is 3"):
        nn.GRUCell(3, 4)(tg.randn(5, 2))
    with pytest.raises(ValueError, match=r"RNNCell: hx has shape \(3, 4\), expected \(5, 4\)"):
        nn.RNNCell(3, 4)(tg.randn(5, 3), tg.zeros(3, 4))


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_initial_state_of_another_dtype_is_refused_naming_the_layer(kind, fused, dtype):
    cls, extra = LAYERS[kind]
    layer = cls(3, 4, fused=fused, **extra)  # float32 weights
    h_0 = tg.Tensor(np.zeros((1, 2, 4), dtype))
    hx = (h_0, tg.zeros(1, 2, 4)) if kind == "lstm" else h_0
    message = rf"{cls.__name__}: h_0 dtype {np.dtype(dtype)} differs from the weights' float32"
    with pytest.raises(TypeError, match=message):  # never computed in float64, nor an internal op's error
        layer(tg.randn(5, 2, 3), hx)
    if kind == "lstm":
        with pytest.raises(TypeError, match=r"LSTM: c_0 dtype float64 differs from the weights' float32"):
            layer(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.Tensor(np.zeros((1, 2, 4)))))


@pytest.mark.parametrize("lengths, match", [
    ([0, 2], "every length must be between 1 and 4"),
    ([5, 2], "every length must be between 1 and 4"),
    ([2, 3], "not in decreasing order"),
    ([3], "got 1 lengths for a batch of 2"),
])
def test_packing_errors(lengths, match):
    with pytest.raises(ValueError, match=match):
        rnn_utils.pack_padded_sequence(tg.zeros(4, 2, 3), lengths)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("fused", [True, False])
def test_packed_sequence_derives_the_order_it_is_not_given(kind, fused):
    x = randn(6, 4, 3)
    packed = rnn_utils.pack_padded_sequence(x, [2, 6, 5, 1], enforce_sorted=False)
    assert packed.sorted_indices.tolist() == [1, 2, 0, 3] and packed.unsorted_indices.tolist() == [2, 0, 1, 3]
    layer = make_layer(kind, 3, 5, fused=fused)
    expected = flat(layer(packed)[1])
    only_sorted = rnn_utils.PackedSequence(packed.data, packed.batch_sizes, packed.sorted_indices)
    only_unsorted = rnn_utils.PackedSequence(packed.data, packed.batch_sizes, unsorted_indices=[2, 0, 1, 3])
    for given in (only_sorted, only_unsorted):
        np.testing.assert_array_equal(given.unsorted_indices, [2, 0, 1, 3])
        np.testing.assert_array_equal(given.sorted_indices, [1, 2, 0, 3])
        for h, want in zip(flat(layer(given)[1]), expected):  # h_n in the original order
            np.testing.assert_array_equal(h.data, want.data)


def test_packed_sequence_derives_unsorted_indices_as_torch_does():
    torch = pytest.importorskip("torch")
    ours = rnn_utils.PackedSequence(tg.zeros(14, 1), np.array([4, 3, 3, 2, 1, 1]), np.array([1, 2, 0, 3]))
    theirs = torch.nn.utils.rnn.PackedSequence(torch.zeros(14, 1), torch.tensor([4, 3, 3, 2, 1, 1]),
                                               torch.tensor([1, 2, 0, 3]))
    np.testing.assert_array_equal(ours.unsorted_indices, theirs.unsorted_indices.numpy())


@pytest.mark.parametrize("sorted_indices, unsorted_indices, error, match", [
    ([0, 0, 1, 2], None, ValueError, r"PackedSequence: sorted_indices \[0, 0, 1, 2\] is not a permutation"),
    ([1, 2, 0, 3], [1, 2, 0, 3], ValueError, r"unsorted_indices \[1, 2, 0, 3\] is not the inverse of"),
    (None, [[0, 1]], TypeError, r"PackedSequence: unsorted_indices must be a 1-D integer array"),
    ([0.0, 1.0], None, TypeError, r"PackedSequence: sorted_indices must be a 1-D integer array"),
])
def test_packed_sequence_refuses_orders_that_are_not_permutations(sorted_indices, unsorted_indices, error, match):
    with pytest.raises(error, match=match):
        rnn_utils.PackedSequence(tg.zeros(4, 3), np.array([4]), sorted_indices, unsorted_indices)


def test_a_layer_refuses_an_order_of_the_wrong_size_or_half_an_order():
    packed = rnn_utils.pack_padded_sequence(tg.zeros(3, 4, 2), [2, 3, 3, 1], enforce_sorted=False)
    lstm = nn.LSTM(2, 3)
    with pytest.raises(ValueError, match=r"LSTM: sorted_indices has 3 entries but the batch has batch_sizes\[0\] = 4"):
        lstm(rnn_utils.PackedSequence(packed.data, packed.batch_sizes, [2, 0, 1]))
    with pytest.raises(ValueError, match=r"LSTM: the PackedSequence has only one of sorted_indices and unsorted"):
        lstm(packed._replace(unsorted_indices=None))


def test_packing_round_trip_and_torch_layout():
    x = randn(5, 3, 2)
    packed = rnn_utils.pack_padded_sequence(x, [2, 5, 3], enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    padded, lengths = rnn_utils.pad_packed_sequence(packed, padding_value=-1.0)
    assert lengths.tolist() == [2, 5, 3]
    for b, n in enumerate([2, 5, 3]):
        np.testing.assert_array_equal(padded.data[:n, b], x.data[:n, b])
        assert np.all(padded.data[n:, b] == -1)
    sequences = [randn(n, 2, seed=n) for n in (3, 1, 4)]
    stacked = rnn_utils.pad_sequence(sequences, batch_first=True)
    assert stacked.shape == (3, 4, 2)
    assert tg.gradcheck(lambda *s: rnn_utils.pad_sequence(s), sequences)
