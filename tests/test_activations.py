"""Activation modules, Identity, Flatten and LayerNorm: values and gradients against PyTorch
and finite differences, shapes, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn

ACTIVATIONS = [  # (ours, torch's name and arguments)
    (lambda: nn.ReLU(), ("ReLU", {})),
    (lambda: nn.Tanh(), ("Tanh", {})),
    (lambda: nn.Sigmoid(), ("Sigmoid", {})),
    (lambda: nn.GELU(), ("GELU", {})),
    (lambda: nn.GELU(approximate="tanh"), ("GELU", {"approximate": "tanh"})),
    (lambda: nn.Softmax(dim=-1), ("Softmax", {"dim": -1})),
    (lambda: nn.LogSoftmax(dim=1), ("LogSoftmax", {"dim": 1})),
    (lambda: nn.Identity(54, unused="ignored"), ("Identity", {})),
    (lambda: nn.Flatten(), ("Flatten", {})),
    (lambda: nn.Flatten(0, -2), ("Flatten", {"start_dim": 0, "end_dim": -2})),
]
IDS = ["relu", "tanh", "sigmoid", "gelu", "gelu_tanh", "softmax", "log_softmax", "identity", "flatten",
       "flatten_0_-2"]


def sample(shape, seed=0, scale=2.0):
    # away from relu's kink at 0, where finite differences straddle it
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return np.where(np.abs(x) < 0.05, 0.3, x)


@pytest.mark.parametrize("make, torch_spec", ACTIVATIONS, ids=IDS)
def test_activations_match_torch_in_values_and_gradients(make, torch_spec):
    torch = pytest.importorskip("torch")
    name, kwargs = torch_spec
    x = sample((3, 4, 5))
    upstream = np.random.default_rng(1).standard_normal(getattr(torch.nn, name)(**kwargs)(torch.tensor(x)).shape)
    ours_x = Tensor(x, requires_grad=True)
    out = make()(ours_x)
    (out * Tensor(upstream)).sum().backward()
    theirs_x = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn, name)(**kwargs)(theirs_x)
    (expected * torch.tensor(upstream)).sum().backward()
    assert out.shape == tuple(expected.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [make for make, _ in ACTIVATIONS], ids=IDS)
def test_activation_gradients_match_finite_differences(make):
    layer = make()
    assert tg.gradcheck(layer, [Tensor(sample((2, 3, 2), seed=2), requires_grad=True)])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_second_derivatives_match_torch(approximate):
    torch = pytest.importorskip("torch")
    x = sample((7,), seed=3)
    ours = Tensor(x, requires_grad=True)
    (g,) = tg.autograd.grad(nn.GELU(approximate)(ours).sum(), ours, create_graph=True)
    (gg,) = tg.autograd.grad((g * g).sum(), ours)
    theirs = torch.tensor(x, requires_grad=True)
    (tg_,) = torch.autograd.grad(torch.nn.functional.gelu(theirs, approximate=approximate).sum(), theirs,
                                 create_graph=True)
    (tgg,) = torch.autograd.grad((tg_ * tg_).sum(), theirs)
    np.testing.assert_allclose(g.data, tg_.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [make for make, _ in ACTIVATIONS], ids=IDS)
def test_activations_are_finite_for_large_inputs(make, dtype):
    x = Tensor(np.array([[-1e4, -30.0, 0.5, 30.0, 1e4]], dtype), requires_grad=True)
    out = make()(x)
    out.sum().backward()
    assert out.dtype == dtype and np.isfinite(out.data).all() and np.isfinite(x.grad).all()


def test_gelu_float32_stays_float32_and_rejects_integers_and_unknown_forms():
    assert nn.GELU()(Tensor(np.ones(3, np.float32))).dtype == np.float32
    with pytest.raises(TypeError, match=r"GELU: input must be floating point, got dtype int64 \(shape \(2,\)\)"):
        nn.GELU()(Tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")


def test_softmax_without_a_dim_uses_torchs_legacy_choice_with_a_warning():
    x = Tensor(sample((2, 3)))
    with pytest.warns(UserWarning, match="Softmax: implicit dimension choice is deprecated.*dim=1"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.data.sum(axis=1), 1.0)
    with pytest.warns(UserWarning, match="LogSoftmax: .*dim=0"):
        nn.LogSoftmax()(Tensor(sample((2, 3, 4))))
    with pytest.raises(TypeError, match="Softmax: dim must be an int, got float"):
        nn.Softmax(1.0)


def test_flatten_shapes_and_errors():
    x = Tensor(np.zeros((2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    with pytest.raises(ValueError, match="flatten: start_dim 3 comes after end_dim 1"):
        nn.Flatten(3, 1)(x)
    with pytest.raises(TypeError, match="Flatten: input must be a Tensor, got ndarray"):
        nn.Flatten()(np.zeros((2, 3)))


def test_activations_compose_in_a_sequential():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.GELU(), nn.Linear(4, 3), nn.LogSoftmax(dim=-1))
    out = model(tg.randn(5, 2, 3))
    assert out.shape == (5, 3)
    np.testing.assert_allclose(np.exp(out.data).sum(axis=1), 1.0, rtol=1e-6)


# -- LayerNorm ---------------------------------------------------------------------------


@pytest.mark.parametrize("normalized_shape, affine, bias", [
    (5, True, True), ((4, 5), True, True), (5, False, True), ((5,), True, False),
])
def test_layer_norm_matches_torch_in_values_and_gradients(normalized_shape, affine, bias):
    torch = pytest.importorskip("torch")
    x = sample((2, 3, 4, 5), seed=4) + 3.0
    ours = nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=np.float64)
    theirs = torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    rng = np.random.default_rng(5)
    with torch.no_grad():  # weights away from their ones and zeros, so that they matter
        for param in theirs.parameters():
            param.copy_(torch.tensor(rng.standard_normal(tuple(param.shape))))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    upstream = rng.standard_normal(x.shape)
    ours_x, theirs_x = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(ours_x), theirs(theirs_x)
    (out * Tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-10)
    for (name, param), (_, their_param) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(param.grad, their_param.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


@given(seed=st.integers(0, 2**32 - 1), lead=st.lists(st.integers(1, 3), max_size=2).map(tuple),
       features=st.integers(2, 4))
def test_layer_norm_gradients_match_finite_differences(seed, lead, features):
    tg.manual_seed(seed)
    layer = nn.LayerNorm(features, dtype=np.float64)
    for param in layer.parameters():
        param.data[...] = np.random.default_rng(seed).standard_normal(param.shape)
    x = Tensor(np.random.default_rng(seed + 1).standard_normal(lead + (features,)), requires_grad=True)
    out = layer(x)
    np.testing.assert_allclose(((out.data - layer.bias.data) / layer.weight.data).mean(axis=-1), 0, atol=1e-10)
    assert tg.gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_layer_norm_is_finite_for_large_and_constant_inputs_and_keeps_float32():
    layer = nn.LayerNorm(4)
    for values in ([1e4, -1e4, 3e4, 0.0], [7.0, 7.0, 7.0, 7.0]):
        x = Tensor(np.array([values], np.float32), requires_grad=True)
        out = layer(x)
        out.sum().backward()
        assert out.dtype == np.float32 and np.isfinite(out.data).all() and np.isfinite(x.grad).all()


def test_layer_norm_errors_name_the_shapes():
    layer = nn.LayerNorm((3, 4))
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3, 4)
    assert repr(layer) == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)"
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 4, 3\) does not end with "
                                         r"normalized_shape \(3, 4\)"):
        layer(Tensor(np.zeros((2, 4, 3), np.float32)))
    with pytest.raises(ValueError, match="does not end with"):
        layer(Tensor(np.zeros(4, np.float32)))
    with pytest.raises(TypeError, match="LayerNorm: input dtype float64 differs from the weight's float32"):
        layer(Tensor(np.zeros((3, 4))))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be an int >= 1, got 0"):
        nn.LayerNorm((3, 0))
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
