"""Optimizers: trajectories against the update formulas written out here, PyTorch parity,
state_dict round trips, parameter groups, and argument checks."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import optim

# -- the problem: least squares in W plus a quadratic in b; one parameter never gets a gradient --

_random = np.random.default_rng(0)
X = _random.standard_normal((6, 3))
Y = _random.standard_normal((6, 2))
SCALE = np.array([0.5, 2.0, 4.0])
CENTER = _random.standard_normal(3)
START = {"W": _random.standard_normal((3, 2)), "b": _random.standard_normal(3), "unused": np.ones(2)}


def loss_of(params):
    """0.5 ||X W - Y||^2 + 0.5 sum(SCALE (b - CENTER)^2); `unused` is not part of it."""
    residual = tg.Tensor(X) @ params["W"] - tg.Tensor(Y)
    offset = params["b"] - tg.Tensor(CENTER)
    return 0.5 * (residual * residual).sum() + 0.5 * (tg.Tensor(SCALE) * offset * offset).sum()


def gradients_of(values):
    return {"W": X.T @ (X @ values["W"] - Y), "b": SCALE * (values["b"] - CENTER)}


def fresh_params(dtype=np.float64, start=START):
    return {name: tg.Tensor(np.array(value, dtype), requires_grad=True) for name, value in start.items()}


def run(make_optimizer, steps, params=None):
    """Trajectory of (W, b, unused) after each step of an optimizer on the problem."""
    params = fresh_params() if params is None else params
    optimizer = make_optimizer(list(params.values()))
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(params).backward()
        optimizer.step()
        trajectory.append({name: p.data.copy() for name, p in params.items()})
    return trajectory, optimizer, params


# -- the update formulas, written out by hand ----------------------------------------------------


def sgd_formula(lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    def update(p, g, s, t):
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            s["b"] = g.copy() if t == 1 else momentum * s["b"] + (1 - dampening) * g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return p - lr * g
    return update


def adam_formula(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, decoupled=False):
    beta1, beta2 = betas

    def update(p, g, s, t):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
        s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * g**2
        s["v_max"] = np.maximum(s.get("v_max", 0), s["v"])
        m_hat = s["m"] / (1 - beta1**t)
        v_hat = (s["v_max"] if amsgrad else s["v"]) / (1 - beta2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


def adagrad_formula(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
    def update(p, g, s, t):
        g = g + weight_decay * p
        s["sum"] = s.get("sum", initial_accumulator_value) + g**2
        return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)
    return update


def rmsprop_formula(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    def update(p, g, s, t):
        g = g + weight_decay * p
        s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g**2
        v = s["v"]
        if centered:
            s["g_avg"] = alpha * s.get("g_avg", 0) + (1 - alpha) * g
            v = v - s["g_avg"] ** 2
        step = g / (np.sqrt(v) + eps)
        if momentum:
            s["b"] = momentum * s.get("b", 0) + step
            step = s["b"]
        return p - lr * step
    return update


def run_formula(update, steps):
    values = {name: np.array(value, np.float64) for name, value in START.items()}
    states = {"W": {}, "b": {}}
    trajectory = []
    for t in range(1, steps + 1):
        grads = gradients_of(values)
        for name in ("W", "b"):
            values[name] = update(values[name], grads[name], states[name], t)
        trajectory.append({name: v.copy() for name, v in values.items()})
    return trajectory


CASES = [
    ("SGD", dict(lr=0.05), sgd_formula),
    ("SGD", dict(lr=0.05, weight_decay=0.1), sgd_formula),
    ("SGD", dict(lr=0.02, momentum=0.9), sgd_formula),
    ("SGD", dict(lr=0.02, momentum=0.9, dampening=0.3, weight_decay=0.05), sgd_formula),
    ("SGD", dict(lr=0.02, momentum=0.8, nesterov=True), sgd_formula),
    ("SGD", dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.1), sgd_formula),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True), sgd_formula),
    ("Adam", dict(lr=0.1), adam_formula),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1), adam_formula),
    ("Adam", dict(lr=0.1, betas=(0.9, 0.5), amsgrad=True), adam_formula),
    ("Adam", dict(lr=0.1, betas=(0.9, 0.5), amsgrad=True, weight_decay=0.2), adam_formula),
    ("AdamW", dict(lr=0.1), adam_formula),
    ("AdamW", dict(lr=0.1, weight_decay=0.3, betas=(0.9, 0.5), amsgrad=True), adam_formula),
    ("Adagrad", dict(lr=0.3), adagrad_formula),
    ("Adagrad", dict(lr=0.3, lr_decay=0.1, weight_decay=0.1), adagrad_formula),
    ("Adagrad", dict(lr=0.3, initial_accumulator_value=0.5, eps=1e-3), adagrad_formula),
    ("RMSprop", dict(lr=0.01), rmsprop_formula),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1), rmsprop_formula),
    ("RMSprop", dict(lr=0.01, momentum=0.9), rmsprop_formula),
    ("RMSprop", dict(lr=0.01, centered=True), rmsprop_formula),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-4), rmsprop_formula),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items())}" for name, options, _ in CASES]


def formula_for(name, options, formula):
    if name == "AdamW":
        return formula(**{"weight_decay": 1e-2, **options}, decoupled=True)
    return formula(**options)


@pytest.mark.parametrize("name, options, formula", CASES, ids=CASE_IDS)
def test_trajectory_follows_the_update_formula(name, options, formula):
    ours, _, _ = run(lambda params: getattr(optim, name)(params, **options), steps=8)
    expected = run_formula(formula_for(name, options, formula), steps=8)
    for step, (got, want) in enumerate(zip(ours, expected)):
        for key in ("W", "b"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-14, err_msg=f"{key} step {step}")
        np.testing.assert_array_equal(got["unused"], START["unused"])  # no grad: skipped
    assert not np.allclose(ours[-1]["W"], START["W"])  # it did move


@pytest.mark.parametrize("name, options, formula", CASES, ids=CASE_IDS)
def test_trajectory_agrees_with_pytorch_over_25_steps(name, options, formula):
    torch = pytest.importorskip("torch")
    ours, _, _ = run(lambda params: getattr(optim, name)(params, **options), steps=25)
    params = {name: torch.tensor(START[name], requires_grad=True) for name in ("W", "b")}
    optimizer = getattr(torch.optim, name)(list(params.values()), **options)
    X_, Y_, SCALE_, CENTER_ = (torch.tensor(a) for a in (X, Y, SCALE, CENTER))
    for step in range(25):
        optimizer.zero_grad()
        residual = X_ @ params["W"] - Y_
        loss = 0.5 * (residual**2).sum() + 0.5 * (SCALE_ * (params["b"] - CENTER_) ** 2).sum()
        loss.backward()
        optimizer.step()
        for key in ("W", "b"):
            np.testing.assert_allclose(ours[step][key], params[key].detach().numpy(), rtol=1e-6, atol=1e-12,
                                       err_msg=f"{key} step {step}")


@pytest.mark.parametrize("name, options, formula", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_resumes_bit_exactly(name, options, formula):
    make = lambda params: getattr(optim, name)(params, **options)  # noqa: E731
    first, optimizer, params = run(make, steps=4)
    saved = optimizer.state_dict()
    checkpoint = {key: p.data.copy() for key, p in params.items()}
    continued, _, _ = run(lambda _: optimizer, steps=5, params=params)

    resumed_params = fresh_params(start=checkpoint)
    resumed_optimizer = getattr(optim, name)(list(resumed_params.values()), lr=123.0)  # lr comes from the state
    resumed_optimizer.load_state_dict(saved)
    resumed, _, _ = run(lambda _: resumed_optimizer, steps=5, params=resumed_params)
    for got, want in zip(resumed, continued):
        for key in got:
            np.testing.assert_array_equal(got[key], want[key])


def test_state_dict_is_a_copy_and_survives_a_checkpoint_file(tmp_path):
    io = pytest.importorskip("tinygrad_rnn.io")
    trajectory, optimizer, params = run(lambda p: optim.Adam(p, lr=0.1, amsgrad=True), steps=3)
    saved = optimizer.state_dict()
    exp_avg = saved["state"][0]["exp_avg"].copy()
    continued, _, _ = run(lambda _: optimizer, steps=1, params=params)
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], exp_avg)  # stepping did not touch it

    io.save({"optimizer": saved}, tmp_path / "checkpoint.npz")
    loaded = io.load(tmp_path / "checkpoint.npz")["optimizer"]
    resumed_params = fresh_params(start=trajectory[-1])
    resumed_optimizer = optim.Adam(list(resumed_params.values()))
    resumed_optimizer.load_state_dict(loaded)
    resumed, _, _ = run(lambda _: resumed_optimizer, steps=1, params=resumed_params)
    for key in resumed[0]:
        np.testing.assert_array_equal(resumed[0][key], continued[0][key])


def test_state_dict_layout_is_pytorchs():
    _, optimizer, _ = run(lambda p: optim.SGD([{"params": p[:1]}, {"params": p[1:], "lr": 0.5}],
                                              lr=0.1, momentum=0.9), steps=1)
    saved = optimizer.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1, 2]]
    assert [g["lr"] for g in saved["param_groups"]] == [0.1, 0.5]
    assert sorted(saved["state"]) == [0, 1]  # parameter 2 never had a gradient
    assert set(saved["state"][0]) == {"momentum_buffer"}


def test_load_state_dict_checks_the_layout():
    _, optimizer, params = run(lambda p: optim.Adam(p), steps=1)
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="has 3 parameters.*has 2"):
        optim.Adam(list(params.values())[:2]).load_state_dict(saved)
    with pytest.raises(ValueError, match="1 parameter groups.*2"):
        p = list(params.values())
        optim.Adam([{"params": p[:1]}, {"params": p[1:]}]).load_state_dict(saved)
    saved["state"][0]["exp_avg"] = np.zeros((5, 5))
    with pytest.raises(ValueError, match=r"exp_avg.*\(5, 5\).*\(3, 2\)"):
        optim.Adam(list(params.values())).load_state_dict(saved)


def _saved_adam():
    _, optimizer, params = run(lambda p: optim.Adam(p, lr=0.01), steps=1)
    return optimizer.state_dict(), list(params.values())


def _with(change):
    saved, _ = _saved_adam()
    change(saved)
    return saved


@pytest.mark.parametrize("change, error, match", [
    (lambda s: s["state"].update({99: s["state"][0]}), ValueError,
     r"Adam: the state dict has state for parameter 99, but its groups number the parameters \[0, 1, 2\]"),
    (lambda s: s["param_groups"][0].pop("params"), TypeError,
     r"Adam: saved parameter group 0 must be a dict with a 'params' entry, got keys"),
    (lambda s: s["param_groups"][0].update(lr=float("nan")), ValueError, r"Adam: invalid lr nan"),
    (lambda s: s["param_groups"][0].update(lr=float("inf")), ValueError, r"Adam: invalid lr inf"),
    (lambda s: s["param_groups"][0].update(betas=(0.9, 1.0)), ValueError, r"Adam: invalid betas \(0.9, 1.0\)"),
    (lambda s: s["param_groups"][0].update(amsgrad="yes"), TypeError, r"Adam: amsgrad must be a bool"),
    (lambda s: s["param_groups"][0].update(params=[0, 0, 1]), ValueError, r"repeat a parameter index"),
    (lambda s: s["param_groups"][0].update(params=["W", "b", "c"]), TypeError, r"expected a list of parameter indices"),
    (lambda s: s["param_groups"].__setitem__(0, "group"), TypeError, r"saved parameter group 0 must be a dict"),
    (lambda s: s.update(state=[1, 2]), TypeError, r"'param_groups' to be a list and 'state' a dict"),
    (lambda s: s["state"][0].update(step=float("nan")), ValueError, r"state 'step' must be a count >= 0, got nan"),
    (lambda s: s["state"][0].update(step=-1), ValueError, r"state 'step' must be a count >= 0, got -1"),
    (lambda s: s["state"][0].update(exp_avg="zeros"), TypeError, r"state 'exp_avg' must be an array of numbers"),
    (lambda s: s["state"].update({0: [1.0]}), TypeError, r"the state of parameter 0 must be a dict"),
], ids=["unknown index", "no params", "lr nan", "lr inf", "betas", "amsgrad", "repeated index", "str indices",
        "group not a dict", "state not a dict", "step nan", "step negative", "buffer not numbers", "state not dict"])
def test_load_state_dict_validates_like_the_constructor_and_changes_nothing_on_error(change, error, match):
    saved = _with(change)
    _, params = _saved_adam()
    optimizer = optim.Adam(params, lr=0.5)
    with pytest.raises(error, match=match):
        optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["lr"] == 0.5 and optimizer.state == {}


def test_load_state_dict_takes_a_step_saved_as_pytorch_saves_it():
    saved, params = _saved_adam()
    saved["state"][0]["step"] = np.array(1.0, np.float32)  # torch.optim keeps step as a float tensor
    optimizer = optim.Adam(params)
    optimizer.load_state_dict(saved)
    assert optimizer.state[params[0]]["step"] == 1


# -- behaviour -------------------------------------------------------------------------------------


def test_parameter_groups_use_their_own_options():
    params = fresh_params()
    optimizer = optim.SGD([{"params": [params["W"]], "lr": 0.1}, {"params": [params["b"]]}], lr=0.01)
    loss_of(params).backward()
    optimizer.step()
    grads = gradients_of(START)
    np.testing.assert_allclose(params["W"].data, START["W"] - 0.1 * grads["W"], rtol=1e-14)
    np.testing.assert_allclose(params["b"].data, START["b"] - 0.01 * grads["b"], rtol=1e-14)
    optimizer.add_param_group({"params": [params["unused"]], "lr": 1.0})
    assert optimizer.param_groups[-1]["lr"] == 1.0


def test_zero_grad_sets_none_or_zeros():
    params = fresh_params()
    optimizer = optim.SGD(list(params.values()), lr=0.1)
    loss_of(params).backward()
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(params["W"].grad, 0.0)
    assert params["unused"].grad is None
    optimizer.zero_grad()
    assert all(p.grad is None for p in params.values())


def test_step_with_closure_returns_the_loss():
    params = fresh_params()
    optimizer = optim.SGD(list(params.values()), lr=0.01)

    def closure():
        optimizer.zero_grad()
        loss = loss_of(params)
        loss.backward()
        return loss

    with tg.no_grad():
        first = optimizer.step(closure)
    assert first.item() > optimizer.step(closure).item()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_float32_parameters_are_updated_in_float32(name):
    options = dict(lr=0.01, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.01)
    params = fresh_params(np.float32)
    optimizer = getattr(optim, name)(list(params.values()), **options)
    for _ in range(3):
        optimizer.zero_grad()
        loss_of(params).backward()
        data_before = params["W"].data
        optimizer.step()
        assert params["W"].data is data_before  # in place
    assert all(p.dtype == np.float32 for p in params.values())
    for state in optimizer.state.values():
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "SGD: invalid lr -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: invalid momentum -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "SGD: invalid weight_decay -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "SGD: invalid nesterov.*momentum=0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "SGD: invalid nesterov.*dampening=0.1"),
    (lambda p: optim.SGD([{"params": p, "lr": -2.0}], lr=0.1), "SGD: invalid lr -2.0"),
    (lambda p: optim.Adam(p, lr=-1e-3), "Adam: invalid lr -0.001"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Adam: invalid eps -1e-08"),
    (lambda p: optim.Adam(p, weight_decay=-0.1), "Adam: invalid weight_decay -0.1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"Adam: invalid betas \(1.0, 0.999\)"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"Adam: invalid betas \(0.9, -0.1\)"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.5)), r"AdamW: invalid betas \(0.9, 1.5\)"),
    (lambda p: optim.Adagrad(p, lr_decay=-1.0), "Adagrad: invalid lr_decay -1.0"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1.0), "Adagrad: invalid initial_accumulator_value"),
    (lambda p: optim.Adagrad(p, eps=-1.0), "Adagrad: invalid eps -1.0"),
    (lambda p: optim.RMSprop(p, alpha=-0.9), "RMSprop: invalid alpha -0.9"),
    (lambda p: optim.RMSprop(p, momentum=-0.9), "RMSprop: invalid momentum -0.9"),
    (lambda p: optim.RMSprop(p, eps=-1.0), "RMSprop: invalid eps -1.0"),
])
def test_invalid_hyper_parameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(list(fresh_params().values()))


def test_invalid_parameter_lists_raise():
    params = fresh_params()
    with pytest.raises(TypeError, match="SGD: params must be an iterable.*wrap it in a list"):
        optim.SGD(params["W"], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="more than once"):
        optim.Adam([params["W"], params["W"]])
    with pytest.raises(ValueError, match="leaf tensors"):
        optim.Adam([params["W"] * 2])
    with pytest.raises(TypeError, match="can only optimize tensors"):
        optim.Adam([np.zeros(3)])


def test_adam_first_step_moves_every_coordinate_by_about_lr():
    """A property of the bias correction: step 1 is lr * g / (|g| + eps) = lr * sign(g)."""
    params = fresh_params()
    optimizer = optim.Adam(list(params.values()), lr=0.01)
    loss_of(params).backward()
    optimizer.step()
    moved = np.abs(params["W"].data - START["W"])
    np.testing.assert_allclose(moved, 0.01, rtol=1e-5)
    assert math.isclose(optimizer.state[params["W"]]["step"], 1)
