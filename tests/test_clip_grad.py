"""Gradient clipping: the total norm as one vector, in-place scaling, edge cases, PyTorch parity."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import clip_grad_norm_, clip_grad_value_

NORM_TYPES = [1.0, 2.0, 3.0, math.inf]


def params_with_grads(grads, dtype=np.float64):
    params = []
    for grad in grads:
        p = tg.Tensor(np.zeros(np.shape(grad), dtype), requires_grad=True)
        p.grad = None if grad is None else np.array(grad, dtype)
        params.append(p)
    return params


def joined_norm(grads, norm_type):
    vector = np.concatenate([np.ravel(g) for g in grads])
    return np.max(np.abs(vector)) if norm_type == math.inf else np.sum(np.abs(vector) ** norm_type) ** (1 / norm_type)


grad_lists = st.lists(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
               elements=st.floats(-100, 100)),
    min_size=1, max_size=4,
)


@given(grad_lists, st.sampled_from(NORM_TYPES), st.floats(0.01, 500))
def test_clip_grad_norm_scales_to_max_norm_as_one_vector(grads, norm_type, max_norm):
    params = params_with_grads(grads)
    total = clip_grad_norm_(params, max_norm, norm_type)
    expected = joined_norm(grads, norm_type)
    assert total.shape == () and isinstance(total, tg.Tensor)
    assert total.item() == pytest.approx(expected, rel=1e-12, abs=1e-300)
    coefficient = max_norm / (expected + 1e-6)
    for p, g in zip(params, grads):
        if coefficient < 1:
            np.testing.assert_allclose(p.grad, g * coefficient, rtol=1e-12)
        else:
            np.testing.assert_array_equal(p.grad, g)  # untouched, bit for bit
    assert joined_norm([p.grad for p in params], norm_type) <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_by_hand():
    params = params_with_grads([[3.0, 0.0], [[4.0]]])
    total = clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad, [3 / (5 + 1e-6), 0.0])
    np.testing.assert_allclose(params[1].grad, [[4 / (5 + 1e-6)]])
    params = params_with_grads([[3.0, -7.0], [[4.0]]])
    assert clip_grad_norm_(params, 2.0, norm_type="inf").item() == 7.0
    np.testing.assert_allclose(params[0].grad, [3 * 2 / (7 + 1e-6), -7 * 2 / (7 + 1e-6)])


def test_clip_grad_norm_accepts_one_tensor_and_skips_missing_grads():
    params = params_with_grads([[3.0, 4.0], None])
    assert clip_grad_norm_(params[0], 10.0).item() == pytest.approx(5.0)
    assert clip_grad_norm_(params, 1.0).item() == pytest.approx(5.0)
    assert params[1].grad is None
    empty = clip_grad_norm_(params_with_grads([None]), 1.0)
    assert empty.item() == 0.0 and empty.shape == ()


def test_clip_grad_norm_on_a_module_after_backward():
    tg.manual_seed(0)
    model = nn.Linear(4, 3)
    (model(tg.randn(5, 4)) * 100).sum().backward()
    grads = [p.grad.copy() for p in model.parameters()]
    total = clip_grad_norm_(model.parameters(), 0.5)
    assert total.dtype == np.float32
    assert total.item() == pytest.approx(joined_norm(grads, 2), rel=1e-6)
    assert joined_norm([p.grad for p in model.parameters()], 2) == pytest.approx(0.5, rel=1e-5)
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_float32_gradients_do_not_overflow_when_squared():
    params = params_with_grads([[3e30, 4e30]], np.float32)
    total = clip_grad_norm_(params, 1.0)
    assert total.item() == pytest.approx(5e30, rel=1e-6)
    np.testing.assert_allclose(params[0].grad, [0.6, 0.8], rtol=1e-5)


@pytest.mark.filterwarnings("error")
def test_non_finite_norms():
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 .* is nan"):
        clip_grad_norm_(params_with_grads([[1.0, np.nan]]), 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="is inf"):
        clip_grad_norm_(params_with_grads([[1.0, np.inf]]), 1.0, error_if_nonfinite=True)
    params = params_with_grads([[1.0, np.inf]])
    assert clip_grad_norm_(params, 1.0).item() == math.inf
    np.testing.assert_array_equal(params[0].grad, [0.0, np.nan])  # as in PyTorch: scaled by 0
    params = params_with_grads([[1.0, np.nan]])
    assert math.isnan(clip_grad_norm_(params, 1.0).item())
    np.testing.assert_array_equal(params[0].grad, [1.0, np.nan])  # a nan norm leaves them as they are


def test_bad_arguments_raise():
    params = params_with_grads([[1.0]])
    with pytest.raises(ValueError, match=r"clip_grad_norm_: max_norm must be a number in \[0, inf\], got -1.0"):
        clip_grad_norm_(params, -1.0)
    with pytest.raises(ValueError, match=r"clip_grad_norm_: norm_type must be a number in \(0, inf\], got 0.0"):
        clip_grad_norm_(params, 1.0, norm_type=0)
    with pytest.raises(ValueError, match=r"clip_grad_value_: clip_value must be a number in \[0, inf\], got -0.5"):
        clip_grad_value_(params, -0.5)


@given(grad_lists, st.floats(0.0, 150))
def test_clip_grad_value_clamps_each_element(grads, clip_value):
    params = params_with_grads(grads + [None])
    assert clip_grad_value_(params, clip_value) is None
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, np.clip(g, -clip_value, clip_value))
    assert params[-1].grad is None


def test_clip_grad_value_accepts_one_tensor_in_place():
    (p,) = params_with_grads([[-3.0, 0.5, 2.0]], np.float32)
    grad = p.grad
    clip_grad_value_(p, 1)
    assert p.grad is grad and grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [-1.0, 0.5, 1.0])


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_agrees_with_pytorch(norm_type, max_norm, dtype):
    torch = pytest.importorskip("torch")
    random = np.random.default_rng(0)
    grads = [random.standard_normal(shape).astype(dtype) * 3 for shape in [(4, 3), (3,), (2, 2, 2)]]
    ours = params_with_grads(grads, dtype)
    theirs = [torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert total.dtype == dtype
    np.testing.assert_allclose(total.item(), expected.item(), rtol=rtol)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=rtol, atol=1e-30)


def test_an_infinite_max_norm_measures_the_norm_without_clipping_as_in_pytorch():
    params = params_with_grads([[3.0, 0.0], [[4.0]]])
    total = clip_grad_norm_(params, max_norm=math.inf)  # documented: the way to read the total norm
    assert total.item() == 5.0
    np.testing.assert_array_equal(params[0].grad, [3.0, 0.0])
    torch = pytest.importorskip("torch")
    twin = torch.zeros(2, requires_grad=True)
    twin.grad = torch.tensor([3.0, 4.0])
    assert torch.nn.utils.clip_grad_norm_([twin], math.inf).item() == 5.0 and twin.grad.tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match=r"clip_grad_norm_: max_norm must be a number in \[0, inf\], got nan"):
        clip_grad_norm_(params, max_norm=math.nan)
