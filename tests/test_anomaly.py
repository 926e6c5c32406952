"""Anomaly mode: the first op to make NaN or inf is named, with the user's line that created it."""

import inspect
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, anomaly, autograd, nn

HERE = __file__


def line_of(marker: str) -> int:
    """The line of this file holding ``marker`` (a comment), so tests do not hard-code numbers."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    (number,) = [i + 1 for i, text in enumerate(lines) if text.rstrip().endswith("# " + marker)]
    return number


def raises_anomaly(fn, **expected) -> tg.AnomalyError:
    with pytest.raises(tg.AnomalyError) as info:
        fn()
    err = info.value
    for name, value in expected.items():
        assert getattr(err, name) == value, (name, str(err))
    return err


def assert_points_at(err: tg.AnomalyError, marker: str, function: str) -> None:
    assert err.created_at == (HERE, line_of(marker), function)
    assert f"created at {HERE}:{line_of(marker)} in {function}" in str(err)


def vec(*values, requires_grad=True):
    return Tensor(np.array(values, np.float64), requires_grad=requires_grad)


# -- off by default, and free -------------------------------------------------------------


def test_off_by_default_values_propagate_silently():
    assert not tg.is_anomaly_enabled()
    with np.errstate(divide="ignore"):
        y = vec(0.0, 1.0).log()
    assert y.data[0] == -math.inf


def test_off_nothing_is_recorded_on_the_nodes():
    y = vec(1.0, 2.0) * 3
    assert not hasattr(y._node, "created_at")
    with tg.detect_anomaly():
        z = vec(1.0, 2.0) * 3
    assert z._node.created_at[0] == HERE


def test_anomaly_error_is_a_runtime_error():
    assert issubclass(tg.AnomalyError, RuntimeError)


# -- forward ------------------------------------------------------------------------------


def test_forward_inf_from_finite_inputs_names_op_and_line():
    def train_step():
        x = vec(1.0, 0.0, 2.0)
        return x.log()  # log-line

    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        err = raises_anomaly(train_step, op="log", phase="forward", kind="inf", shape=(3,))
    assert_points_at(err, "log-line", "train_step")
    assert "'log' produced inf from finite inputs" in str(err) and "output shape (3,)" in str(err)


def test_forward_nan_is_told_apart_from_inf():
    def compute():
        x = vec(0.0, 1.0)
        return x / x  # div-line

    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        err = raises_anomaly(compute, op="div", phase="forward", kind="nan", shape=(2,))
    assert_points_at(err, "div-line", "compute")
    assert "produced NaN from inputs without NaN" in str(err)


def test_the_first_op_to_make_nan_is_blamed_not_the_ops_after_it():
    x = vec(0.0, 1.0)
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        err = raises_anomaly(lambda: ((x * 0) / (x * 0)).exp().sum() * 2, op="div", kind="nan")
    assert "exp" not in str(err)


def test_inf_passing_through_is_not_an_anomaly_but_nan_from_it_is():
    scores = Tensor(np.zeros((2, 3)), requires_grad=True)
    mask = Tensor(np.array([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]]))
    with tg.detect_anomaly(), np.errstate(invalid="ignore"):
        ok = (scores[:1] + mask[:1]).softmax(-1)  # a masked position: -inf flows into softmax
        np.testing.assert_allclose(ok.data, [[0.5, 0.0, 0.5]])
        masked = scores + mask  # no error: the inf was given, not produced
        raises_anomaly(lambda: masked.softmax(-1), op="softmax", kind="nan", shape=(2, 3))


def test_nan_in_a_leaf_is_reported_where_it_first_enters_an_op():
    data = Tensor(np.array([1.0, np.nan]))

    def model():
        return data * 2  # leaf-line

    with tg.detect_anomaly():
        err = raises_anomaly(model, op="mul", phase="forward", kind="nan")
    assert_points_at(err, "leaf-line", "model")
    assert "given NaN in input 0" in str(err) and "no op under anomaly mode produced it" in str(err)


def test_the_line_is_the_users_not_the_librarys():
    layer = nn.Linear(2, 2)
    layer.weight.data[:] = 3e38  # float32: the product overflows
    x = Tensor(np.full((1, 2), 3e38, np.float32))

    def forward_pass():
        return layer(x)  # layer-line

    with tg.detect_anomaly(), np.errstate(over="ignore"):
        err = raises_anomaly(forward_pass, op="matmul", phase="forward", kind="inf", shape=(1, 2))
    assert_points_at(err, "layer-line", "forward_pass")


def test_works_under_no_grad_too():
    with tg.no_grad(), tg.detect_anomaly(), np.errstate(divide="ignore"):
        raises_anomaly(lambda: vec(0.0).log(), op="log", kind="inf")


# -- backward -----------------------------------------------------------------------------


def test_backward_inf_names_the_op_and_its_forward_line():
    def loss_fn(x):
        return x.sqrt().sum()  # sqrt-line

    with tg.detect_anomaly():
        loss = loss_fn(vec(0.0, 4.0))
        with np.errstate(divide="ignore"):
            err = raises_anomaly(loss.backward, op="sqrt", phase="backward", kind="inf", shape=(2,))
    assert_points_at(err, "sqrt-line", "loss_fn")
    assert "the backward of 'sqrt' produced inf" in str(err) and "gradient shape (2,)" in str(err)


def test_backward_nan_from_a_finite_gradient():
    x = vec(0.0, 1.0)
    with tg.detect_anomaly():
        loss = (x.sqrt() * Tensor(np.array([0.0, 1.0]))).sum()  # 0 * inf in sqrt's backward
        with np.errstate(divide="ignore", invalid="ignore"):
            err = raises_anomaly(loss.backward, op="sqrt", phase="backward", kind="nan")
    assert "produced NaN in the gradient of input 0" in str(err)
    assert x.grad is None  # it stopped before reaching the leaf


def test_backward_nan_handed_in_by_the_caller_is_named_as_such():
    x = vec(1.0, 2.0)
    with tg.detect_anomaly():
        y = x * 2
        err = raises_anomaly(lambda: y.backward(np.array([np.nan, 1.0])), op="mul", phase="backward")
    assert "already holds NaN" in str(err)


def test_backward_of_ops_recorded_outside_the_block_says_so():
    with np.errstate(divide="ignore"):
        loss = vec(0.0, 1.0).sqrt().sum()
        with tg.detect_anomaly():
            err = raises_anomaly(loss.backward, op="sqrt", phase="backward", created_at=None)
    assert "created outside detect_anomaly()" in str(err)


def test_slice_gradients_are_checked():
    x = vec(0.0, 1.0, 4.0)
    with tg.detect_anomaly():
        loss = x[:2].sqrt().sum() + x[2]
        with np.errstate(divide="ignore"):
            raises_anomaly(loss.backward, op="sqrt", phase="backward", shape=(2,))


# -- no false alarms, no change in results --------------------------------------------------


def _lstm_training_step(anomaly: bool):
    tg.manual_seed(0)
    model = nn.LSTM(3, 5, num_layers=2)
    head = nn.Linear(5, 2)
    x = tg.randn(7, 4, 3) * 100  # large inputs saturate the gates, but stay finite
    target = np.random.default_rng(0).integers(0, 2, (7, 4))
    with tg.set_detect_anomaly(anomaly):
        out, _ = model(x)
        loss = nn.CrossEntropyLoss()(head(out).reshape(28, 2), target.reshape(28))
        loss.backward()
    return [loss.data] + [p.grad for p in model.parameters()]


def test_a_healthy_training_step_passes_and_gives_the_same_numbers():
    for with_check, without in zip(_lstm_training_step(True), _lstm_training_step(False)):
        np.testing.assert_array_equal(with_check, without)


# -- switching ----------------------------------------------------------------------------


def test_decorator_and_nesting_restore_the_previous_mode():
    @tg.detect_anomaly()
    def checked():
        assert tg.is_anomaly_enabled()
        with tg.set_detect_anomaly(False):
            assert not tg.is_anomaly_enabled()
            with np.errstate(divide="ignore"):
                vec(0.0).log()  # no error while switched off
        assert tg.is_anomaly_enabled()
        return vec(0.0).log()

    with np.errstate(divide="ignore"):
        raises_anomaly(checked, op="log")
    assert not tg.is_anomaly_enabled()


def test_set_detect_anomaly_as_a_call_switches_until_switched_back():
    try:
        tg.set_detect_anomaly(True)
        assert tg.is_anomaly_enabled() and anomaly.anomaly_mode.value
    finally:
        tg.set_detect_anomaly(False)
    assert not tg.is_anomaly_enabled()


def test_mode_is_restored_after_an_error_inside_the_block():
    with pytest.raises(tg.AnomalyError), tg.detect_anomaly(), np.errstate(divide="ignore"):
        vec(0.0).log()
    assert not tg.is_anomaly_enabled()


def test_set_detect_anomaly_wants_a_bool():
    with pytest.raises(TypeError, match="set_detect_anomaly: mode must be a bool, got str"):
        tg.set_detect_anomaly("yes")
    assert not tg.is_anomaly_enabled()
