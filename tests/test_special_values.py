"""NaN, infinities and kinks: values and gradients as PyTorch gives them.

The property tests elsewhere draw inputs away from kinks (relu at 0, clamp at
its bounds) and never draw NaN, so this file pins those points down: a NaN
that goes in comes out, in forward and in backward, in the primitives and
in the fused kernels, and anomaly mode reports where it started. NaN and inf
*values* in data are not errors (docs/errors.md): they go through every layer
and loss; a NaN *argument* (a learning rate, a dropout p) is refused, and
that is tested in test_errors_layers.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.testing import arrays, shapes

NAN, INF = np.nan, np.inf
SPECIAL = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-300, 30.0, -30.0])


# -- PyTorch's values and gradients at special points -------------------------------------

# name: (ours, torch's); each takes a tensor and returns a tensor
ELEMENTWISE = {
    "relu": (Tensor.relu, lambda t, torch: torch.relu(t)),
    "clamp(-0.5, 0.5)": (lambda x: x.clamp(-0.5, 0.5), lambda t, torch: t.clamp(-0.5, 0.5)),
    "clamp(min=0)": (lambda x: x.clamp(min=0.0), lambda t, torch: t.clamp(min=0.0)),
    "clamp(max=-inf)": (lambda x: x.clamp(max=-INF), lambda t, torch: t.clamp(max=-INF)),
    "sigmoid": (Tensor.sigmoid, lambda t, torch: torch.sigmoid(t)),
    "logsigmoid": (F.logsigmoid, lambda t, torch: torch.nn.functional.logsigmoid(t)),
    "softplus": (F.softplus, lambda t, torch: torch.nn.functional.softplus(t)),
    "tanh": (Tensor.tanh, lambda t, torch: torch.tanh(t)),
    "exp": (Tensor.exp, lambda t, torch: torch.exp(t)),
    "x * x": (lambda x: x * x, lambda t, torch: t * t),
    "x ** 0": (lambda x: x**0, lambda t, torch: t**0),
    "where(x > 0)": (lambda x: x.where(x.data > 0, 0.0), lambda t, torch: torch.where(t > 0, t, 0.0)),
}

# name: (ours, torch's) over rows of SPECIAL values
REDUCTIONS = {
    "max()": (lambda x: x.max(), lambda t, torch: t.max()),
    "min()": (lambda x: x.min(), lambda t, torch: t.min()),
    "softmax": (lambda x: x.softmax(1), lambda t, torch: t.softmax(1)),
    "log_softmax": (lambda x: x.log_softmax(1), lambda t, torch: t.log_softmax(1)),
    "logsumexp": (lambda x: x.logsumexp(1), lambda t, torch: t.logsumexp(1)),
}

# Rows that isolate one special value each (a NaN, an inf, ties) among ordinary ones.
ROWS = np.array([[1.0, NAN, 3.0], [3.0, 1.0, 3.0], [NAN, 1.0, NAN], [1.0, INF, 3.0],
                 [-INF, -INF, -INF], [0.0, -0.0, -1.0]])


def ours_and_torchs(x: np.ndarray, ours, theirs):
    """(value, gradient of the sum) from tinygrad_rnn and from PyTorch, in float64."""
    torch = pytest.importorskip("torch")
    t = Tensor(x.copy(), requires_grad=True)
    y = ours(t)
    y.sum().backward()
    tt = torch.tensor(x.copy(), requires_grad=True)
    ty = theirs(tt, torch)
    ty.sum().backward()
    return (y.data, t.grad), (ty.detach().numpy(), tt.grad.numpy())


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_ops_give_pytorchs_values_and_gradients_at_special_points(name):
    with np.errstate(all="ignore"):
        (value, grad), (t_value, t_grad) = ours_and_torchs(SPECIAL, *ELEMENTWISE[name])
    np.testing.assert_allclose(value, t_value, rtol=1e-12, equal_nan=True, err_msg=f"{name} values")
    np.testing.assert_allclose(grad, t_grad, rtol=1e-12, equal_nan=True, err_msg=f"{name} gradients")


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_give_pytorchs_values_and_gradients_with_nan_inf_and_ties(name):
    for row in ROWS:  # one row at a time: a NaN in one row must not decide another's gradient
        with np.errstate(all="ignore"):
            (value, grad), (t_value, t_grad) = ours_and_torchs(row[None], *REDUCTIONS[name])
        np.testing.assert_allclose(value, t_value, rtol=1e-12, equal_nan=True, err_msg=f"{name}{row}")
        np.testing.assert_allclose(grad, t_grad, rtol=1e-12, equal_nan=True, err_msg=f"{name}'{row}")


def test_max_sends_the_gradient_to_the_nan_without_pytorch():
    x = Tensor(np.array([[1.0, NAN, 3.0], [NAN, 2.0, NAN]]), requires_grad=True)
    assert np.isnan(x.amax(1).data).all()
    x.amax(1).sum().backward()  # torch.amax would give NaN everywhere; torch.max gives this
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [0.5, 0, 0.5]])


# -- kinks, where the property tests never draw ------------------------------------------


@given(x=arrays(shapes(max_dims=2, max_side=4), elements=st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0])))
@example(x=np.array([-1.0, -0.0, 0.0, 1e-300, 1.0, NAN, INF, -INF]))
def test_relu_passes_nan_and_has_zero_gradient_at_zero(x):
    t = Tensor(x, requires_grad=True)
    y = t.relu()
    y.sum().backward()
    np.testing.assert_array_equal(y.data, np.where(x <= 0, 0.0, x))  # NaN stays NaN
    np.testing.assert_array_equal(t.grad, np.where(x <= 0, 0.0, 1.0))  # 0 at 0, 1 at NaN


@given(x=arrays(shapes(max_dims=2, max_side=4), elements=st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])),
       bounds=st.sampled_from([(-1.0, 1.0), (0.0, None), (None, 0.5), (0.5, 0.5)]))
@example(x=np.array([-2.0, -1.0, 0.0, 1.0, 2.0, NAN]), bounds=(-1.0, 1.0))
@example(x=np.array([-1.0, 0.0, 1.0, NAN]), bounds=(0.0, None))
@example(x=np.array([0.0, 0.5, 1.0, NAN]), bounds=(None, 0.5))
def test_clamp_passes_the_gradient_at_its_bounds_and_keeps_nan(x, bounds):
    low, high = bounds
    t = Tensor(x, requires_grad=True)
    y = t.clamp(low, high)
    y.sum().backward()
    inside = (x >= (-INF if low is None else low)) & (x <= (INF if high is None else high))
    np.testing.assert_array_equal(y.data, np.clip(x, low, high))
    np.testing.assert_array_equal(t.grad, inside.astype(float))  # bounds included, NaN excluded


def test_clamp_refuses_a_nan_bound():
    with pytest.raises(ValueError, match="clamp: min is NaN"):
        tg.randn(3).clamp(min=NAN)
    with pytest.raises(ValueError, match="clamp: max is NaN"):
        tg.randn(3).clamp(max=float("nan"))


# -- the fused kernels -------------------------------------------------------------------


def overflowing_relu_rnn(fused: bool, dtype=np.float32):
    """A ReLU RNN whose recurrent product overflows: inf - inf makes NaN inside the GEMM."""
    rnn = nn.RNN(2, 2, nonlinearity="relu", fused=fused, bias=False)
    rnn.weight_ih_l0.data = np.full((2, 2), 1e30, dtype)
    rnn.weight_hh_l0.data = np.array([[1e30, -1e30], [1e30, 1e30]], dtype)
    x = Tensor(np.ones((4, 1, 2), dtype), requires_grad=True)
    return rnn, x


@pytest.mark.parametrize("fused", [True, False])
def test_a_relu_rnn_that_overflows_ends_in_nan_as_in_pytorch(fused):
    rnn, x = overflowing_relu_rnn(fused)
    with np.errstate(all="ignore"):
        out, h_n = rnn(x)
        out.sum().backward()
    assert np.isnan(h_n.data).any() and np.isnan(out.data[-1]).any()
    assert np.isnan(x.grad).any()
    torch = pytest.importorskip("torch")
    twin = torch.nn.RNN(2, 2, nonlinearity="relu", bias=False)
    twin.load_state_dict({k: torch.tensor(v) for k, v in rnn.state_dict().items()})
    _, t_h_n = twin(torch.tensor(x.data))
    np.testing.assert_array_equal(np.isnan(h_n.data), np.isnan(t_h_n.detach().numpy()))


@pytest.mark.parametrize("fused", [True, False])
def test_anomaly_mode_reports_the_nan_of_an_overflowing_relu_rnn(fused):
    rnn, x = overflowing_relu_rnn(fused)
    with pytest.raises(tg.AnomalyError) as caught, tg.detect_anomaly(), np.errstate(all="ignore"):
        rnn(x)
    assert caught.value.kind == "nan" and caught.value.phase == "forward"
    if not fused:
        assert caught.value.op == "matmul"  # inf * 1e30 - inf * 1e30, the first NaN


@pytest.mark.parametrize("fused", [True, False])
def test_a_relu_rnn_keeps_a_nan_unit_as_nan_and_passes_its_gradient(fused):
    # zero weights and a NaN in one bias: a matmul would spread a NaN to every unit
    rnn = nn.RNN(3, 3, nonlinearity="relu", fused=fused).double()
    for w in (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0):
        w.data = np.zeros_like(w.data)
    rnn.bias_ih_l0.data = np.array([NAN, -1.0, 2.0])
    out, h_n = rnn(Tensor(np.zeros((1, 1, 3))))
    out.sum().backward()
    np.testing.assert_array_equal(h_n.data, [[[NAN, 0.0, 2.0]]])
    np.testing.assert_array_equal(rnn.bias_ih_l0.grad, [1.0, 0.0, 1.0])  # relu'(nan) = 1, as PyTorch


# -- the NaN policy (docs/errors.md): values propagate, arguments do not (test_errors_layers.py) --

NAN_DATA = np.array([[NAN, 1.0, -INF], [0.5, INF, 2.0]], np.float32)


@pytest.mark.parametrize("make, call", [
    (lambda: nn.Linear(3, 2), lambda m, x: m(x)),
    (lambda: nn.LSTM(3, 2), lambda m, x: m(x.unsqueeze(1))[0]),
    (lambda: nn.GRUCell(3, 2), lambda m, x: m(x)),
    (lambda: None, lambda m, x: F.cross_entropy(x, [0, 2])),
    (lambda: None, lambda m, x: F.mse_loss(x, Tensor(np.zeros((2, 3), np.float32)))),
    (lambda: None, lambda m, x: x.softmax(-1)),
])
def test_nan_and_inf_values_propagate_without_raising(make, call):
    with np.errstate(invalid="ignore", over="ignore"):
        out = call(make(), Tensor(NAN_DATA))
    assert not np.isfinite(out.data).all()


def test_anomaly_mode_catches_what_the_policy_lets_through():
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="given NaN"), np.errstate(invalid="ignore"):
        nn.Linear(3, 2)(Tensor(NAN_DATA))


def test_cross_entropy_with_every_target_ignored_is_nan_as_in_pytorch():
    loss = F.cross_entropy(Tensor(np.ones((2, 3), np.float32)), [-100, -100])
    assert np.isnan(loss.item())
