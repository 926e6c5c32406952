"""optim.lr_scheduler: the same learning rates as torch.optim.lr_scheduler, step by step, for
every scheduler over many settings; state dicts that resume a schedule exactly; errors."""

import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.optim import lr_scheduler

GROUP_LRS = [0.1, 0.03]  # two parameter groups with different rates


def our_optimizer(kind="SGD"):
    groups = [{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in GROUP_LRS]
    return optim.SGD(groups, lr=1.0, momentum=0.9) if kind == "SGD" else optim.Adam(groups)


def their_optimizer(torch, kind="SGD"):
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))], "lr": lr} for lr in GROUP_LRS]
    return torch.optim.SGD(groups, lr=1.0, momentum=0.9) if kind == "SGD" else torch.optim.Adam(groups)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


SCHEDULES = {  # name: (scheduler class name, keyword arguments, steps)
    "step": ("StepLR", {"step_size": 3, "gamma": 0.5}, 40),
    "step_1": ("StepLR", {"step_size": 1, "gamma": 0.9}, 30),
    "multistep": ("MultiStepLR", {"milestones": [2, 5, 5, 11], "gamma": 0.3}, 30),
    "multistep_unsorted": ("MultiStepLR", {"milestones": [20, 4], "gamma": 0.7}, 30),
    "exponential": ("ExponentialLR", {"gamma": 0.93}, 60),
    "cosine": ("CosineAnnealingLR", {"T_max": 10}, 75),
    "cosine_eta_min": ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}, 60),
    "cosine_one": ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}, 10),
    "onecycle": ("OneCycleLR", {"max_lr": 1.0, "total_steps": 50}, 50),
    "onecycle_linear": ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": 37, "anneal_strategy": "linear"}, 37),
    "onecycle_three_phase": ("OneCycleLR", {"max_lr": 0.8, "epochs": 4, "steps_per_epoch": 10, "pct_start": 0.25,
                                            "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0}, 40),
    "onecycle_three_phase_linear": ("OneCycleLR", {"max_lr": 0.8, "total_steps": 23, "three_phase": True,
                                                   "anneal_strategy": "linear", "base_momentum": [0.8, 0.7],
                                                   "max_momentum": 0.99}, 23),
    "onecycle_no_momentum": ("OneCycleLR", {"max_lr": 0.3, "total_steps": 20, "cycle_momentum": False,
                                            "pct_start": 0.5}, 20),
}


def run_both(name, kwargs, steps, kind="SGD", lambdas=False):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = our_optimizer(kind), their_optimizer(torch, kind)
    if lambdas:
        kwargs = {"lr_lambda": [lambda epoch: 0.95 ** epoch, lambda epoch: 1 / (1 + epoch // 4)]}
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    for epoch in range(steps):
        assert ours.get_last_lr() == theirs.get_last_lr(), f"epoch {epoch}"
        for our_group, their_group in zip(ours_opt.param_groups, theirs_opt.param_groups):
            assert our_group["lr"] == their_group["lr"]
            assert momentum_of(our_group) == momentum_of(their_group), f"momentum at epoch {epoch}"
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
    return ours, theirs


@pytest.mark.parametrize("case", SCHEDULES)
def test_schedules_give_torchs_learning_rates_step_by_step(case):
    name, kwargs, steps = SCHEDULES[case]
    run_both(name, kwargs, steps)


@pytest.mark.parametrize("case", ["onecycle", "onecycle_three_phase"])
def test_one_cycle_cycles_adams_first_beta_as_torch_does(case):
    name, kwargs, steps = SCHEDULES[case]
    run_both(name, kwargs, steps, kind="Adam")


def test_lambda_lr_gives_torchs_learning_rates():
    run_both("LambdaLR", {}, 30, lambdas=True)


@pytest.mark.parametrize("mode, threshold_mode, threshold, patience, cooldown, min_lr, factor", [
    ("min", "rel", 1e-4, 2, 0, 0.0, 0.1),
    ("min", "abs", 0.05, 0, 1, 1e-3, 0.5),
    ("max", "rel", 0.01, 3, 2, [1e-3, 2e-3], 0.2),
    ("max", "abs", 0.0, 1, 3, 0.005, 0.7),
])
def test_reduce_on_plateau_gives_torchs_learning_rates(mode, threshold_mode, threshold, patience, cooldown,
                                                       min_lr, factor):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = our_optimizer(), their_optimizer(torch)
    kwargs = dict(mode=mode, threshold_mode=threshold_mode, threshold=threshold, patience=patience,
                  cooldown=cooldown, min_lr=min_lr, factor=factor)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
    rng = np.random.default_rng(0)
    # a metric that improves, stalls, wobbles within the threshold, and improves again
    metrics = np.concatenate([np.linspace(1, 0.5, 10), np.full(8, 0.5), 0.5 + 0.003 * rng.standard_normal(20),
                              np.linspace(0.5, 0.1, 10), np.full(30, 0.1)])
    if mode == "max":
        metrics = 2 - metrics  # an accuracy that rises as the loss falls
    for epoch, metric in enumerate(metrics):
        ours.step(Tensor(np.float64(metric)) if epoch % 2 else metric)
        theirs.step(metric)
        assert ours.get_last_lr() == theirs.get_last_lr(), f"epoch {epoch}"
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == (
            theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best), f"epoch {epoch}"
    assert ours.get_last_lr() != GROUP_LRS  # the schedule did reduce the rates


@pytest.mark.parametrize("case", ["step", "multistep", "exponential", "cosine_eta_min", "onecycle_three_phase"])
def test_a_saved_schedule_resumes_exactly(case, tmp_path):
    name, kwargs, steps = SCHEDULES[case]
    optimizer = our_optimizer()
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    for _ in range(steps // 2):
        optimizer.step()
        scheduler.step()
    tg.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "ckpt")
    expected = []
    for _ in range(steps - steps // 2 - 1):
        scheduler.step()
        expected.append(scheduler.get_last_lr())

    checkpoint = tg.load(tmp_path / "ckpt")
    resumed_optimizer = our_optimizer()
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    resumed = getattr(lr_scheduler, name)(resumed_optimizer, **kwargs)
    resumed.load_state_dict(checkpoint["scheduler"])
    got = []
    for _ in range(steps - steps // 2 - 1):
        resumed.step()
        got.append(resumed.get_last_lr())
    assert got == expected


def test_reduce_on_plateau_state_resumes_exactly(tmp_path):
    optimizer = our_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=1)
    for metric in [1.0, 0.9, 0.9, 0.9]:
        scheduler.step(metric)
    tg.save({"scheduler": scheduler.state_dict()}, tmp_path / "ckpt")
    resumed = lr_scheduler.ReduceLROnPlateau(our_optimizer(), patience=1, cooldown=1)
    resumed.load_state_dict(tg.load(tmp_path / "ckpt")["scheduler"])
    assert (resumed.best, resumed.num_bad_epochs, resumed.cooldown_counter, resumed.last_epoch) == (
        0.9, 0, 1, 4)


def test_lambda_lr_saves_callable_objects_but_not_functions():
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    optimizer = our_optimizer()
    scheduler = lr_scheduler.LambdaLR(optimizer, [Warmup(4), lambda epoch: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"steps": 4}, None]
    other = lr_scheduler.LambdaLR(our_optimizer(), [Warmup(10), lambda epoch: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].steps == 4


def test_the_scheduler_writes_the_rates_the_optimizer_uses():
    parameter = nn.Parameter(np.zeros(1))
    optimizer = optim.SGD([parameter], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for expected_lr in [1.0, 0.5, 0.25]:
        parameter.grad = np.ones(1)
        before = parameter.data.copy()
        optimizer.step()
        assert before - parameter.data == pytest.approx([expected_lr])
        scheduler.step()


def test_torch_style_access_and_resuming_needs_initial_lr():
    assert tg.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    optimizer = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(KeyError, match=r"StepLR: param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=4)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    assert optimizer.param_groups[0]["initial_lr"] == 0.1 and scheduler.last_epoch == 0


def test_errors_name_the_scheduler_and_the_argument():
    optimizer = our_optimizer()
    with pytest.raises(TypeError, match="StepLR: optimizer must be a tinygrad_rnn.optim Optimizer, got list"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size must be an int >= 1, got 0"):
        lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(TypeError, match="MultiStepLR: milestones must be an int, got float"):
        lr_scheduler.MultiStepLR(optimizer, milestones=[1.5])
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas, one per parameter group, got 3"):
        lr_scheduler.LambdaLR(optimizer, [math.exp] * 3)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps, or both epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, epochs=3)
    with pytest.raises(ValueError, match="OneCycleLR: expected 2 values for max_lr, one per parameter group, got 1"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=[1.0], total_steps=10)
    with pytest.raises(ValueError, match="OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'step'"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, anneal_strategy="step")
    with pytest.raises(ValueError, match=r"OneCycleLR: pct_start must be a number in \[0, 1\], got 1.5"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with momentum or betas, got Adagrad"):
        lr_scheduler.OneCycleLR(optim.Adagrad([nn.Parameter(np.ones(1))]), max_lr=1.0, total_steps=10)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 4 times, but total_steps is 3"):
        scheduler.step()
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1.0, got 1.5"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max', got 'best'"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="best")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'pct'"):
        lr_scheduler.ReduceLROnPlateau(optimizer, threshold_mode="pct")
    with pytest.raises(ValueError, match=r"StepLR: the state dict has entries \['best', 'cooldown'"):
        lr_scheduler.StepLR(optimizer, step_size=2).load_state_dict(
            lr_scheduler.ReduceLROnPlateau(optimizer).state_dict())
