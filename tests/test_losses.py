"""Losses (F.* and nn.*Loss): gradients, hand-computed values, stability, errors, PyTorch parity."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.ops.pointwise import LogSigmoid

REDUCTIONS = ["mean", "sum", "none"]


# -- strategies -------------------------------------------------------------------------


@st.composite
def classification_cases(draw, probabilities=False):
    """Logits in one of the layouts (C,), (N, C), (N, C, d1), a matching target, and options.

    Index targets include ignored entries (at least one kept, so 'mean' is finite).
    """
    layout = draw(st.sampled_from(["C", "NC", "NCd"]))
    n, c, d = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = {"C": (c,), "NC": (n, c), "NCd": (n, c, d)}[layout]
    seed = draw(st.integers(0, 2**32 - 1))
    random = np.random.default_rng(seed)
    logits = random.standard_normal(shape) * 2
    class_dim = 0 if layout == "C" else 1
    options = dict(
        reduction=draw(st.sampled_from(REDUCTIONS)),
        weight=random.random(c) + 0.5 if draw(st.booleans()) else None,
    )
    if probabilities:
        target = random.random(shape)
        target = target / target.sum(axis=class_dim, keepdims=True)
        return logits, target, options
    target_shape = shape[:class_dim] + shape[class_dim + 1 :]
    target = random.integers(0, c, target_shape)
    ignore_index = draw(st.sampled_from([-100, 0]))
    if target.size > 1 and draw(st.booleans()):
        flat = target.reshape(-1)
        flat[random.integers(0, flat.size)] = ignore_index
        flat[0] = 1 if ignore_index == 0 and c > 1 else flat[0]
    if not (target != ignore_index).any():
        ignore_index = -100
    options["ignore_index"] = ignore_index
    return logits, target, options


def _leaf(array, requires_grad=True):
    return tg.Tensor(np.array(array, np.float64), requires_grad=requires_grad)


# -- gradients against finite differences (float64) -------------------------------------------


@given(classification_cases(), st.sampled_from([0.0, 0.3]))
def test_cross_entropy_gradient_with_index_targets(case, label_smoothing):
    logits, target, options = case
    assert tg.gradcheck(
        lambda x: F.cross_entropy(x, target, label_smoothing=label_smoothing, **options), [_leaf(logits)]
    )


@given(classification_cases(probabilities=True), st.sampled_from([0.0, 0.3]))
def test_cross_entropy_gradient_with_probability_targets(case, label_smoothing):
    """Both the logits and the target distribution get gradients, as in PyTorch."""
    logits, target, options = case
    assert tg.gradcheck(
        lambda x, t: F.cross_entropy(x, t, label_smoothing=label_smoothing, **options),
        [_leaf(logits), _leaf(target)],
    )


@given(classification_cases())
def test_nll_loss_gradient(case):
    logits, target, options = case
    log_probs = logits - np.log(np.exp(logits).sum(axis=0 if logits.ndim == 1 else 1, keepdims=True))
    assert tg.gradcheck(lambda x: F.nll_loss(x, target, **options), [_leaf(log_probs)])


@st.composite
def elementwise_cases(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    random = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return random.standard_normal(shape) * 3, random.random(shape), random, draw(st.sampled_from(REDUCTIONS))


@given(elementwise_cases(), st.booleans(), st.booleans())
def test_bce_with_logits_gradient(case, with_weight, with_pos_weight):
    logits, target, random, reduction = case
    weight = random.random(logits.shape[-1:]) + 0.5 if with_weight else None
    pos_weight = random.random(logits.shape[-1:]) * 3 if with_pos_weight else None
    assert tg.gradcheck(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight, pos_weight, reduction),
        [_leaf(logits), _leaf(target)],
    )


@given(elementwise_cases())
def test_mse_loss_gradient(case):
    prediction, target, _, reduction = case
    assert tg.gradcheck(lambda x, y: F.mse_loss(x, y, reduction), [_leaf(prediction), _leaf(target)])


@given(elementwise_cases())
def test_logsigmoid_primitive_gradient_and_value(case):
    x, _, _, _ = case
    assert tg.gradcheck(lambda t: LogSigmoid.apply(t), [_leaf(x)])
    np.testing.assert_allclose(F.logsigmoid(_leaf(x)).data, -np.log1p(np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(F.softplus(_leaf(x)).data, np.log1p(np.exp(x)), rtol=1e-12)


# -- values computed by hand ------------------------------------------------------------------


def _log_softmax_rows(x):
    return [[v - math.log(sum(math.exp(u) for u in row)) for v in row] for row in x]


def test_cross_entropy_matches_the_formula_written_out():
    """weight, ignore_index and label smoothing, element by element, as PyTorch defines them."""
    logits = [[1.0, 2.0, 0.5], [0.1, -1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, -2.0]]
    target = [2, -100, 0, 1]
    weight = [0.5, 2.0, 1.5]
    eps, classes = 0.2, 3
    log_p = _log_softmax_rows(logits)
    per_row, kept_weight = [], 0.0
    for row, t in zip(log_p, target):
        if t == -100:
            per_row.append(0.0)
            continue
        kept_weight += weight[t]
        nll = -weight[t] * row[t]
        smooth = -sum(w * v for w, v in zip(weight, row)) / classes
        per_row.append((1 - eps) * nll + eps * smooth)

    x = _leaf(logits)
    args = (np.array(target), np.array(weight))
    none = F.cross_entropy(x, *args, reduction="none", label_smoothing=eps)
    np.testing.assert_allclose(none.data, per_row, rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, *args, reduction="sum", label_smoothing=eps).item(),
                               sum(per_row), rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, *args, label_smoothing=eps).item(),
                               sum(per_row) / kept_weight, rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    x = _leaf(logits)
    F.cross_entropy(x, np.array([2, 0])).backward()
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, (softmax - np.eye(3)[[2, 0]]) / 2, rtol=1e-12)


def test_cross_entropy_with_a_spatial_dim_equals_the_flattened_loss():
    random = np.random.default_rng(1)
    logits, target = random.standard_normal((2, 4, 3)), random.integers(0, 4, (2, 3))
    flat_logits = logits.transpose(0, 2, 1).reshape(-1, 4)
    for reduction in REDUCTIONS:
        spatial = F.cross_entropy(_leaf(logits), target, reduction=reduction).data
        flat = F.cross_entropy(_leaf(flat_logits), target.reshape(-1), reduction=reduction).data
        np.testing.assert_allclose(spatial.reshape(-1), flat.reshape(-1), rtol=1e-12)


def test_unbatched_cross_entropy_is_minus_the_log_probability_of_the_target():
    logits = np.array([0.5, -1.0, 2.0])
    expected = -_log_softmax_rows([logits])[0][2]
    assert F.cross_entropy(_leaf(logits), np.array(2)).item() == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(_leaf(logits), np.array(2), reduction="none").shape == ()


def test_probability_targets_mean_divides_by_the_number_of_rows():
    logits, target = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.25, 0.75], [1.0, 0.0]])
    log_p = _log_softmax_rows(logits)
    rows = [-sum(q * v for q, v in zip(qs, vs)) for qs, vs in zip(target, log_p)]
    assert F.cross_entropy(_leaf(logits), target).item() == pytest.approx(sum(rows) / 2, rel=1e-12)


def test_one_hot_probability_targets_equal_index_targets():
    random = np.random.default_rng(2)
    logits, target = random.standard_normal((5, 4)), random.integers(0, 4, 5)
    weight = random.random(4) + 0.1
    for eps in (0.0, 0.3):
        by_index = F.cross_entropy(_leaf(logits), target, weight, reduction="sum", label_smoothing=eps)
        by_probability = F.cross_entropy(_leaf(logits), np.eye(4)[target], weight, reduction="sum",
                                         label_smoothing=eps)
        assert by_index.item() == pytest.approx(by_probability.item(), rel=1e-12)


def test_nll_loss_picks_minus_the_weighted_target_entry():
    log_probs = np.log(np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]))
    weight = np.array([3.0, 1.0])
    target = np.array([1, 0, -100])
    expected = (-1.0 * log_probs[0, 1] - 3.0 * log_probs[1, 0]) / (1.0 + 3.0)
    assert F.nll_loss(_leaf(log_probs), target, weight).item() == pytest.approx(expected, rel=1e-12)


def test_bce_with_logits_matches_the_formula_written_out():
    x, y = np.array([[-2.0, 0.5, 3.0]]), np.array([[0.0, 1.0, 0.3]])
    pos_weight, weight = np.array([2.0, 0.5, 1.5]), np.array([1.0, 2.0, 0.5])
    p = 1 / (1 + np.exp(-x))
    expected = -weight * (pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))
    out = F.binary_cross_entropy_with_logits(_leaf(x), y, weight, pos_weight, reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_mse_loss_matches_the_formula():
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 0.5])
    assert F.mse_loss(_leaf(a), b).item() == pytest.approx((1 + 9 + 0) / 3)
    assert F.mse_loss(_leaf(a), b, reduction="sum").item() == pytest.approx(10)


def test_every_target_ignored_gives_nan_with_zero_gradient():
    """The mean over no targets is 0/0: nan, as in PyTorch, and the gradient is zero."""
    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    with np.errstate(all="raise"):
        loss = F.cross_entropy(x, np.array([-100, -100]))
        loss.backward()
    assert math.isnan(loss.item())
    np.testing.assert_array_equal(x.grad, 0.0)
    assert F.cross_entropy(_leaf([[1.0, 2.0]]), np.array([-100]), reduction="sum").item() == 0.0


# -- stability --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stay_finite_for_logits_of_magnitude_1e4(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [3.0, -1e4, 1e4]], dtype)
    losses = {
        "cross_entropy": lambda x: F.cross_entropy(x, np.array([1, 0, 1]), label_smoothing=0.1),
        "cross_entropy_weighted": lambda x: F.cross_entropy(x, np.array([1, 2, 0]), np.array([1.0, 2.0, 3.0])),
        "cross_entropy_soft": lambda x: F.cross_entropy(x, np.full((3, 3), 1 / 3, dtype)),
        "nll_loss": lambda x: F.nll_loss(x.log_softmax(1), np.array([1, 0, 2])),
        "bce": lambda x: F.binary_cross_entropy_with_logits(
            x, np.array([[0, 1, 0.5]] * 3, dtype), pos_weight=np.array([3.0, 0.5, 1.0])),
        "mse": lambda x: F.mse_loss(x, np.zeros((3, 3), dtype)),
    }
    for name, loss_fn in losses.items():
        x = tg.Tensor(logits.copy(), requires_grad=True)
        loss = loss_fn(x)
        loss.backward()
        assert loss.dtype == dtype, name
        assert np.isfinite(loss.item()), name
        assert np.all(np.isfinite(x.grad)) and x.grad.dtype == dtype, name


def test_large_logits_give_the_exact_limits():
    x = tg.Tensor(np.array([[1e4, -1e4]], np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    loss.backward()
    assert loss.item() == 2e4
    np.testing.assert_array_equal(x.grad, [[1.0, -1.0]])
    assert F.binary_cross_entropy_with_logits(tg.Tensor(np.float32([-1e4])), np.float32([1])).item() == 1e4


# -- errors -------------------------------------------------------------------------------------


def test_class_target_out_of_range_raises_index_error_naming_loss_value_and_classes():
    x = _leaf(np.zeros((2, 3)))
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 .*C=3"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(IndexError, match=r"nll_loss: target -1 .*C=3"):
        F.nll_loss(x, np.array([-1, 0]))
    assert np.isfinite(F.cross_entropy(x, np.array([7, 0]), ignore_index=7).item())


def test_shape_mismatches_raise_value_error_with_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 4\)"):
        F.cross_entropy(_leaf(np.zeros((2, 4))), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        F.cross_entropy(_leaf(np.zeros((2, 4))), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        F.mse_loss(_leaf(np.zeros((2, 3))), np.zeros(3))
    with pytest.raises(ValueError, match=r"\(2, 1\).*\(2, 3\)"):
        F.binary_cross_entropy_with_logits(_leaf(np.zeros((2, 3))), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\).*\(2, 3\)"):
        F.binary_cross_entropy_with_logits(_leaf(np.zeros((2, 3))), np.zeros((2, 3)), pos_weight=np.ones(2))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\).*\(3,\)"):
        F.cross_entropy(_leaf(np.zeros((2, 4))), np.array([0, 1]), weight=np.ones(3))


def test_class_index_targets_must_be_integers():
    with pytest.raises(TypeError, match="cross_entropy: class-index targets must be integers.*float"):
        F.cross_entropy(_leaf(np.zeros((2, 4))), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="nll_loss"):
        F.nll_loss(_leaf(np.zeros((2, 4))), np.zeros((2, 4)))


@pytest.mark.parametrize("loss", [
    lambda r: F.cross_entropy(_leaf(np.zeros((2, 3))), np.array([0, 1]), reduction=r),
    lambda r: F.nll_loss(_leaf(np.zeros((2, 3))), np.array([0, 1]), reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(_leaf(np.zeros(2)), np.zeros(2), reduction=r),
    lambda r: F.mse_loss(_leaf(np.zeros(2)), np.zeros(2), reduction=r),
    lambda r: nn.CrossEntropyLoss(reduction=r),
])
def test_unknown_reduction_raises(loss):
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        loss("avg")


def test_bad_label_smoothing_raises():
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(_leaf(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=1.5)


# -- modules ------------------------------------------------------------------------------------


def test_loss_modules_call_the_functions_with_their_options():
    random = np.random.default_rng(3)
    logits, target = random.standard_normal((4, 3)), random.integers(0, 3, 4)
    weight = np.array([1.0, 2.0, 0.5])
    module = nn.CrossEntropyLoss(weight=weight, ignore_index=1, reduction="sum", label_smoothing=0.1)
    expected = F.cross_entropy(_leaf(logits), target, weight, 1, "sum", 0.1)
    assert module(_leaf(logits), target).item() == expected.item()
    assert list(module.state_dict()) == ["weight"]
    assert "reduction='sum'" in repr(module)

    log_probs = _leaf(logits).log_softmax(1)
    assert nn.NLLLoss(weight)(log_probs, target).item() == F.nll_loss(log_probs, target, weight).item()
    probabilities = random.random((4, 3))
    bce = nn.BCEWithLogitsLoss(pos_weight=np.array([2.0, 1.0, 1.0]), reduction="none")
    np.testing.assert_array_equal(
        bce(_leaf(logits), probabilities).data,
        F.binary_cross_entropy_with_logits(_leaf(logits), probabilities, None, np.array([2.0, 1.0, 1.0]),
                                           "none").data,
    )
    assert nn.MSELoss()(_leaf(logits), probabilities).item() == F.mse_loss(_leaf(logits), probabilities).item()


def test_float32_losses_stay_float32():
    x = tg.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    assert F.cross_entropy(x, np.array([0, 1]), weight=np.ones(3)).dtype == np.float32
    assert F.binary_cross_entropy_with_logits(x, np.zeros((2, 3))).dtype == np.float32
    assert F.mse_loss(x, np.zeros((2, 3))).dtype == np.float32


# -- PyTorch parity -----------------------------------------------------------------------------


def _torch_leaf(torch, array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@given(classification_cases(), st.sampled_from([0.0, 0.3]))
def test_cross_entropy_and_nll_agree_with_pytorch(case, label_smoothing):
    torch = pytest.importorskip("torch")
    logits, target, options = case
    ours, theirs = _leaf(logits), _torch_leaf(torch, logits)
    torch_options = dict(options, weight=None if options["weight"] is None else torch.tensor(options["weight"]))
    out = F.cross_entropy(ours, target, label_smoothing=label_smoothing, **options)
    expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(target), label_smoothing=label_smoothing,
                                                 **torch_options)
    grad = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)

    log_probs = logits - logits.max()
    out = F.nll_loss(_leaf(log_probs), target, **options)
    expected = torch.nn.functional.nll_loss(_torch_leaf(torch, log_probs), torch.tensor(target), **torch_options)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)


@given(classification_cases(probabilities=True), st.sampled_from([0.0, 0.3]))
def test_cross_entropy_with_probability_targets_agrees_with_pytorch(case, label_smoothing):
    torch = pytest.importorskip("torch")
    logits, target, options = case
    ours, ours_target = _leaf(logits), _leaf(target)
    theirs, theirs_target = _torch_leaf(torch, logits), _torch_leaf(torch, target)
    weight = None if options["weight"] is None else torch.tensor(options["weight"])
    out = F.cross_entropy(ours, ours_target, options["weight"], reduction=options["reduction"],
                          label_smoothing=label_smoothing)
    expected = torch.nn.functional.cross_entropy(theirs, theirs_target, weight, reduction=options["reduction"],
                                                 label_smoothing=label_smoothing)
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_target.grad, theirs_target.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(elementwise_cases(), st.booleans(), st.booleans())
def test_bce_with_logits_and_mse_agree_with_pytorch(case, with_weight, with_pos_weight):
    torch = pytest.importorskip("torch")
    logits, target, random, reduction = case
    logits = logits * 10  # reach deep into both tails
    weight = random.random(logits.shape[-1:]) + 0.5 if with_weight else None
    pos_weight = random.random(logits.shape[-1:]) * 3 if with_pos_weight else None
    ours, ours_target = _leaf(logits), _leaf(target)
    theirs, theirs_target = _torch_leaf(torch, logits), _torch_leaf(torch, target)
    out = F.binary_cross_entropy_with_logits(ours, ours_target, weight, pos_weight, reduction)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        theirs, theirs_target, None if weight is None else torch.tensor(weight), reduction=reduction,
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight))
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_target.grad, theirs_target.grad.numpy(), rtol=1e-10, atol=1e-12)

    ours, theirs = _leaf(logits), _torch_leaf(torch, logits)
    out = F.mse_loss(ours, target, reduction)
    expected = torch.nn.functional.mse_loss(theirs, torch.tensor(target), reduction=reduction)
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_logits_agree_with_pytorch(dtype):
    torch = pytest.importorskip("torch")
    random = np.random.default_rng(4)
    logits = (random.standard_normal((6, 5)) * 1e4).astype(dtype)
    target = random.integers(0, 5, 6)
    probabilities = random.random((6, 5)).astype(dtype)
    ours, theirs = tg.Tensor(logits.copy(), requires_grad=True), torch.tensor(logits, requires_grad=True)
    out = F.cross_entropy(ours, target, label_smoothing=0.1) + F.binary_cross_entropy_with_logits(ours, probabilities)
    expected = (torch.nn.functional.cross_entropy(theirs, torch.tensor(target), label_smoothing=0.1)
                + torch.nn.functional.binary_cross_entropy_with_logits(theirs, torch.tensor(probabilities)))
    out.backward()
    expected.backward()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


# -- the other F functions --------------------------------------------------------------------


def test_linear_values_gradient_and_shape_check():
    random = np.random.default_rng(5)
    x, weight, bias = random.standard_normal((2, 4, 3)), random.standard_normal((5, 3)), random.standard_normal(5)
    np.testing.assert_allclose(F.linear(_leaf(x), _leaf(weight), _leaf(bias)).data, x @ weight.T + bias, rtol=1e-12)
    assert F.linear(_leaf(x), _leaf(weight)).shape == (2, 4, 5)
    assert tg.gradcheck(F.linear, [_leaf(x), _leaf(weight), _leaf(bias)])
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 4, 3\) does not fit weight of shape \(5, 4\)"):
        F.linear(_leaf(x), _leaf(np.zeros((5, 4))))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\), got \(3,\)"):
        F.linear(_leaf(x), _leaf(weight), _leaf(np.zeros(3)))


def test_activation_functions_are_the_tensor_methods():
    x = _leaf(np.array([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.0]]))
    for function, method in [(F.relu, x.relu), (F.tanh, x.tanh), (F.sigmoid, x.sigmoid)]:
        np.testing.assert_array_equal(function(x).data, method().data)
    np.testing.assert_array_equal(F.softmax(x, dim=1).data, x.softmax(1).data)
    np.testing.assert_array_equal(F.log_softmax(x, dim=0).data, x.log_softmax(0).data)


@pytest.mark.filterwarnings("error")
def test_softplus_and_logsigmoid_are_exact_in_both_tails():
    x = tg.Tensor(np.array([-1e4, -40.0, 40.0, 1e4], np.float32), requires_grad=True)
    np.testing.assert_allclose(F.softplus(x).data, [0.0, math.exp(-40), 40.0, 1e4], rtol=1e-6)
    F.logsigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0, math.exp(-40), 0.0], rtol=1e-6)


def test_dropout_rejects_p_outside_unit_interval_naming_it():
    with pytest.raises(ValueError, match=r"dropout: p must be .* got 1.5"):
        F.dropout(_leaf(np.ones(3)), p=1.5)
