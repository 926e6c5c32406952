"""F.layer_norm and F.scaled_dot_product_attention: PyTorch's values and gradients, finite differences."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor
from torch_parity import assert_matches_torch

seeds = st.integers(0, 2**32 - 1)


# -- layer_norm ----------------------------------------------------------------------------


@st.composite
def layer_norm_cases(draw):
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    normalized = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    random = np.random.default_rng(draw(seeds))
    x = random.standard_normal(lead + normalized) * 3 + 1
    params = [random.standard_normal(normalized) if draw(st.booleans()) else None for _ in range(2)]
    return x, normalized, params, draw(st.sampled_from([1e-5, 0.1]))


@given(case=layer_norm_cases())
def test_layer_norm_matches_pytorch(case):
    x, normalized, (weight, bias), eps = case
    present = [a for a in (x, weight, bias) if a is not None]

    def call(F_, tensors):
        it = iter(tensors)
        x_, w_, b_ = next(it), next(it) if weight is not None else None, next(it) if bias is not None else None
        return F_.layer_norm(x_, normalized if F_ is F else list(normalized), w_, b_, eps)

    assert_matches_torch(lambda *ts: call(F, ts), lambda *ts: call(_torch_F(), ts), present)


@given(case=layer_norm_cases())
def test_layer_norm_first_and_second_derivatives(case):
    x, normalized, (weight, bias), eps = case
    inputs = [Tensor(a, requires_grad=True) for a in (x, weight, bias) if a is not None]

    def fn(x_, *params):
        it = iter(params)
        return F.layer_norm(x_, normalized, next(it) if weight is not None else None,
                            next(it) if bias is not None else None, eps)

    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def test_layer_norm_is_finite_for_constant_and_large_rows():
    x = Tensor(np.array([[3.0, 3.0, 3.0], [1e4, -1e4, 5e3]], np.float32), requires_grad=True)
    out = F.layer_norm(x, 3)
    out.backward(np.ones(out.shape, np.float32))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_array_equal(out.data[0], [0, 0, 0])


def test_layer_norm_names_the_shapes_it_rejects():
    x = tg.randn(2, 3)
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\) does not end with "
                                         r"normalized_shape \(4,\)"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape \(3,\), got \(2,\)"):
        F.layer_norm(x, (3,), tg.randn(2))
    with pytest.raises(ValueError, match="layer_norm: input of shape"):
        F.layer_norm(x, (2, 2, 3))
    with pytest.raises(ValueError, match="layer_norm: eps"):
        F.layer_norm(x, 3, eps=math.nan)


# -- scaled_dot_product_attention ----------------------------------------------------------


@st.composite
def attention_cases(draw):
    """Query, key, value with broadcast batch dims, and one of: no mask, bool, float, causal."""
    length, source, features, value_features = (draw(st.integers(1, 4)) for _ in range(4))
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    random = np.random.default_rng(draw(seeds))
    q = random.standard_normal(batch + (length, features))
    k = random.standard_normal(batch + (source, features))
    v = random.standard_normal(batch + (source, value_features))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    options = {}
    if kind == "bool":  # some rows may be all False: those queries attend nowhere
        options["attn_mask"] = random.random((length, source)) < 0.7
    elif kind == "float":
        options["attn_mask"] = random.standard_normal((1,) * len(batch) + (length, source))
    elif kind == "causal":
        options["is_causal"] = True
    if draw(st.booleans()):
        options["scale"] = draw(st.sampled_from([0.3, 2.0]))
    return (q, k, v), options


def _torch_F():
    return pytest.importorskip("torch").nn.functional


def _torch_options(options):
    torch = pytest.importorskip("torch")
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


@given(case=attention_cases())
def test_attention_matches_pytorch(case):
    arrays, options = case
    assert_matches_torch(lambda *ts: F.scaled_dot_product_attention(*ts, **options),
                         lambda *ts: _torch_F().scaled_dot_product_attention(*ts, **_torch_options(options)),
                         arrays)


@given(case=attention_cases())
def test_attention_first_and_second_derivatives(case):
    arrays, options = case
    inputs = [Tensor(a, requires_grad=True) for a in arrays]

    def fn(*ts):
        return F.scaled_dot_product_attention(*ts, **options)

    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


def test_attention_float_mask_is_differentiable():
    random = np.random.default_rng(0)
    q, k, v, mask = (Tensor(random.standard_normal(s), requires_grad=True)
                     for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2), (3, 5)])
    assert tg.gradcheck(lambda *ts: F.scaled_dot_product_attention(*ts[:3], attn_mask=ts[3]), [q, k, v, mask])


def test_attention_causal_query_sees_only_the_past():
    random = np.random.default_rng(1)
    q, k = Tensor(random.standard_normal((4, 3))), Tensor(random.standard_normal((4, 3)))
    v = Tensor(np.eye(4))  # each output row is then the attention weights themselves
    weights = F.scaled_dot_product_attention(q, k, v, is_causal=True).data
    np.testing.assert_array_equal(np.triu(weights, 1), 0)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-14)
    assert weights[0, 0] == 1


def test_attention_query_with_no_key_gets_zeros_and_no_gradient():
    random = np.random.default_rng(2)
    q, k, v = (Tensor(random.standard_normal(s), requires_grad=True) for s in [(2, 3), (4, 3), (4, 2)])
    mask = np.array([[True, False, True, False], [False] * 4])
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    out.sum().backward()
    np.testing.assert_array_equal(out.data[1], 0)
    np.testing.assert_array_equal(q.grad[1], 0)
    assert np.all(np.isfinite(k.grad)) and np.all(np.isfinite(v.grad))


def test_attention_grouped_query_heads_share_key_heads():
    random = np.random.default_rng(3)
    q, k, v = (random.standard_normal(s) for s in [(1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3)])
    out = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), enable_gqa=True)
    repeated = F.scaled_dot_product_attention(Tensor(q), Tensor(np.repeat(k, 2, axis=1)),
                                              Tensor(np.repeat(v, 2, axis=1)))
    np.testing.assert_array_equal(out.data, repeated.data)
    assert_matches_torch(lambda *ts: F.scaled_dot_product_attention(*ts, enable_gqa=True),
                         lambda *ts: _torch_F().scaled_dot_product_attention(*ts, enable_gqa=True), (q, k, v))


def test_attention_large_scores_stay_finite():
    q = Tensor(np.array([[1e4, -1e4]], np.float32), requires_grad=True)
    k = Tensor(np.array([[1e4, 1e4], [-1e4, 1e4]], np.float32), requires_grad=True)
    v = Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v)
    out.sum().backward()
    for t in (out.data, q.grad, k.grad, v.grad):
        assert np.all(np.isfinite(t))


def test_attention_dropout_is_seeded_and_keeps_the_expectation_scale():
    q, k, v = tg.randn(1, 8, 4), tg.randn(1, 8, 4), tg.randn(1, 8, 4)
    tg.manual_seed(5)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    tg.manual_seed(5)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(first.data, second.data)
    assert not np.allclose(first.data, F.scaled_dot_product_attention(q, k, v).data)


def test_attention_names_what_it_rejects():
    q, k, v = tg.randn(2, 3, 4), tg.randn(2, 5, 4), tg.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: query \(2, 3, 4\), key \(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, tg.randn(2, 5, 3), v)
    with pytest.raises(ValueError, match="attn_mask of shape \\(4, 4\\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask must be bool or floating point, got dtype int64"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), np.int64))
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(ValueError, match="enable_gqa"):
        F.scaled_dot_product_attention(tg.randn(1, 3, 2, 4), tg.randn(1, 2, 5, 4), tg.randn(1, 2, 5, 4),
                                       enable_gqa=True)
