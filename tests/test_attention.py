"""nn.MultiheadAttention: values, attention weights and gradients against torch.nn.MultiheadAttention
(weights moved by state dict), finite differences, masks, shapes and errors."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

L, S, N, E, H = 4, 5, 3, 6, 2


def causal(length, source):
    return np.triu(np.ones((length, source), bool), k=1)  # True above the diagonal: the future is masked


def padding(batch, source):
    lengths = np.arange(batch) % source + (source - batch + 1 if batch <= source else 1)
    return np.arange(source) >= np.minimum(lengths, source)[:, None]  # (N, S), True at padding


CASES = {  # name: (constructor options, forward options as ndarrays, batched)
    "plain": ({}, {}, True),
    "batch_first": ({"batch_first": True}, {}, True),
    "no_bias": ({"bias": False}, {}, True),
    "kdim_vdim": ({"kdim": 4, "vdim": 3}, {}, True),
    "key_padding_mask": ({}, {"key_padding_mask": padding(N, S)}, True),
    "float_key_padding_mask": ({}, {"key_padding_mask": np.random.default_rng(7).standard_normal((N, S))}, True),
    "causal_attn_mask": ({}, {"attn_mask": causal(L, S), "is_causal": True}, True),
    "per_head_float_mask": ({}, {"attn_mask": np.random.default_rng(8).standard_normal((N * H, L, S))}, True),
    "both_masks": ({"batch_first": True}, {"attn_mask": causal(L, S), "key_padding_mask": padding(N, S)}, True),
    "heads_not_averaged": ({}, {"average_attn_weights": False}, True),
    "no_weights": ({}, {"need_weights": False}, True),
    "unbatched": ({}, {"key_padding_mask": padding(1, S)[0]}, False),
    "unbatched_per_head_mask": ({}, {"attn_mask": causal(L, S)[None].repeat(H, 0), "average_attn_weights": False},
                                False),
}


def inputs(options, batched, seed=0):
    rng = np.random.default_rng(seed)
    kdim, vdim = options.get("kdim", E), options.get("vdim", E)
    sizes = [(L, E), (S, kdim), (S, vdim)]
    if batched:
        sizes = [(N, T, F) if options.get("batch_first") else (T, N, F) for T, F in sizes]
    return [rng.standard_normal(size) for size in sizes]


def pair(options, seed=0):
    """Our layer and torch's, with torch's random weights copied into ours."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **options)
    with torch.no_grad():  # nonzero biases, so that they are tested too
        for name, param in theirs.named_parameters():
            if "bias" in name:
                param.copy_(torch.randn(param.shape, dtype=torch.float64))
    ours = nn.MultiheadAttention(E, H, dtype=np.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("case", CASES)
def test_multihead_attention_matches_torch(case):
    torch = pytest.importorskip("torch")
    options, forward_options, batched = CASES[case]
    ours, theirs = pair(options)
    arrays = inputs(options, batched)
    our_inputs = [Tensor(a, requires_grad=True) for a in arrays]
    their_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, weights = ours(*our_inputs, **forward_options)
    their_options = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in forward_options.items()}
    expected, expected_weights = theirs(*their_inputs, **their_options)

    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    if expected_weights is None:
        assert weights is None
    else:
        assert weights.shape == tuple(expected_weights.shape)
        np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), rtol=1e-10, atol=1e-12)

    upstream = np.random.default_rng(1).standard_normal(out.shape)
    loss = (out * Tensor(upstream)).sum() + (0 if weights is None else (weights * weights).sum())
    their_loss = (expected * torch.tensor(upstream)).sum()
    their_loss = their_loss + (0 if expected_weights is None else (expected_weights ** 2).sum())
    loss.backward()
    their_loss.backward()
    for name, ours_x, theirs_x in zip(("query", "key", "value"), our_inputs, their_inputs):
        np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    for (name, param), (_, their_param) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(param.grad, their_param.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", ["plain", "kdim_vdim", "both_masks", "per_head_float_mask", "unbatched"])
def test_multihead_attention_gradients_match_finite_differences(case):
    options, forward_options, batched = CASES[case]
    tg.manual_seed(0)
    layer = nn.MultiheadAttention(E, H, dtype=np.float64, **options)
    for name, param in layer.named_parameters():
        if "bias" in name:
            param.data[...] = np.random.default_rng(2).standard_normal(param.shape)
    tensors = [Tensor(a, requires_grad=True) for a in inputs(options, batched, seed=3)]

    def attend(query, key, value, *params):
        out, weights = layer(query, key, value, **forward_options)
        return out.sum() + (weights * weights).sum()

    assert tg.gradcheck(attend, [*tensors, *layer.parameters()])


def test_a_float_mask_tensor_gets_its_gradient():
    layer = nn.MultiheadAttention(E, H, dtype=np.float64)
    query, key, value = (Tensor(a) for a in inputs({}, True, seed=4))
    mask = Tensor(np.random.default_rng(5).standard_normal((L, S)), requires_grad=True)
    assert tg.gradcheck(lambda m: layer(query, key, value, attn_mask=m)[0], [mask])


def test_self_attention_with_one_tensor_and_a_padding_mask_ignores_the_padding():
    tg.manual_seed(0)
    layer = nn.MultiheadAttention(E, H, batch_first=True, dtype=np.float64)
    x = np.random.default_rng(6).standard_normal((2, S, E))
    lengths = [S, 2]
    mask = np.arange(S) >= np.array(lengths)[:, None]
    out, weights = layer(Tensor(x), Tensor(x), Tensor(x), key_padding_mask=mask)
    assert out.shape == (2, S, E) and weights.shape == (2, S, S)
    assert np.all(weights.data[1, :, 2:] == 0)  # nobody attends to the padding
    changed = x.copy()
    changed[1, 2:] = 100.0  # what the padding holds changes nothing in the real positions
    out_changed, _ = layer(Tensor(changed), Tensor(changed), Tensor(changed), key_padding_mask=mask)
    np.testing.assert_allclose(out_changed.data[1, :2], out.data[1, :2], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_query_that_may_attend_to_nothing_gives_nan_as_in_torch():
    layer = nn.MultiheadAttention(E, H, dtype=np.float64)
    query, key, value = (Tensor(a) for a in inputs({}, True))
    mask = np.zeros((N, S), bool)
    mask[1] = True
    out, weights = layer(query, key, value, key_padding_mask=mask)
    assert np.isnan(out.data[:, 1]).all() and np.isfinite(out.data[:, [0, 2]]).all()
    assert np.isnan(weights.data[1]).all()


def test_dropout_acts_on_the_attention_weights_only_in_training():
    tg.manual_seed(0)
    layer = nn.MultiheadAttention(E, H, dropout=0.5, dtype=np.float64)
    query, key, value = (Tensor(a) for a in inputs({}, True))
    _, weights = layer(query, key, value, average_attn_weights=False)
    assert (weights.data == 0).any()
    kept = weights.data[weights.data != 0]
    layer.eval()
    out, weights = layer(query, key, value, average_attn_weights=False)
    np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-12)
    assert kept.size and not np.isin(kept, weights.data).all()  # the kept ones were scaled by 2
    out_again, _ = layer(query, key, value)
    np.testing.assert_array_equal(out.data, out_again.data)


def test_initialisation_is_torchs_xavier_and_zero_biases():
    tg.manual_seed(0)
    layer = nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6 / (64 + 3 * 64))
    assert layer.in_proj_weight.shape == (192, 64) and layer.in_proj_weight.dtype == np.float32
    assert np.abs(layer.in_proj_weight.data).max() <= bound and np.abs(layer.in_proj_weight.data).max() > 0.9 * bound
    assert not layer.in_proj_bias.data.any() and not layer.out_proj.bias.data.any()
    assert layer.q_proj_weight is None and layer.head_dim == 16
    assert [name for name, _ in nn.MultiheadAttention(4, 2, bias=False).named_parameters()] == [
        "in_proj_weight", "out_proj.weight"]


def test_errors_name_the_argument_and_the_shapes():
    layer = nn.MultiheadAttention(E, H, dtype=np.float64)
    query, key, value = (Tensor(a) for a in inputs({}, True))
    with pytest.raises(ValueError, match="embed_dim=6 must be divisible by num_heads=4"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(NotImplementedError, match="add_bias_kv=True is not supported"):
        nn.MultiheadAttention(6, 2, add_bias_kv=True)
    with pytest.raises(ValueError, match=r"query must end in 6 features, got query \(4, 3, 5\)"):
        layer(Tensor(np.zeros((L, N, 5))), key, value)
    with pytest.raises(ValueError, match="all be 3-D .* or all 2-D"):
        layer(query, key[0], value)
    with pytest.raises(ValueError, match="key and value must have the same length and batch"):
        layer(query, key, value[:2])
    with pytest.raises(ValueError, match=r"query and key must have the same batch size \(dim 1"):
        layer(query, key[:, :2], value[:, :2])
    with pytest.raises(TypeError, match="query dtype float32 differs from the weights' float64"):
        layer(query.float(), key, value)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(3, 5\) \(N, S\), got \(5, 3\)"):
        layer(query, key, value, key_padding_mask=np.zeros((S, N), bool))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(4, 5\) \(L, S\) or \(6, 4, 5\)"):
        layer(query, key, value, attn_mask=np.zeros((S, L), bool))
    with pytest.raises(TypeError, match="attn_mask must be bool .* or float .*, got dtype int64"):
        layer(query, key, value, attn_mask=np.zeros((L, S), np.int64))
    with pytest.raises(ValueError, match="is_causal=True is a hint .* pass attn_mask too"):
        layer(query, key, value, is_causal=True)
    with pytest.raises(TypeError, match="MultiheadAttention: query must be a Tensor, got ndarray"):
        layer(query.data, key, value)
