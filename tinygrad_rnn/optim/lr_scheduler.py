"""Learning-rate schedulers with torch.optim.lr_scheduler's names, arguments and sequences.

A scheduler rewrites ``group['lr']`` in its optimizer's parameter groups each
time ``step()`` is called, once per epoch (or per batch, for OneCycleLR),
after ``optimizer.step()``. Constructing one already takes the first step (to
epoch 0). Each rule is written as PyTorch writes it, most of them as a
change to the current ``group['lr']`` ("chainable": another scheduler or the
user may change the rate in between), so that the sequences of learning
rates are the same floats as torch's; tests/test_lr_scheduler.py compares
them step by step.

``state_dict()`` is every attribute but the optimizer (so it saves with
``tg.save``); ``load_state_dict`` restores them. PyTorch's deprecated
``step(epoch)`` is not supported, and neither is its warning for a
``scheduler.step()`` before the first ``optimizer.step()``.
"""

from __future__ import annotations

import copy
import math
import types
from collections import Counter

from .. import arguments
from .optimizers import Optimizer


def _check_optimizer(owner: str, optimizer) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer must be a tinygrad_rnn.optim Optimizer, got {type(optimizer).__name__}")
    return optimizer


def _per_group(owner: str, name: str, optimizer: Optimizer, value) -> list:
    """``value`` for each parameter group: a list of one per group, or one number for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{owner}: expected {groups} values for {name}, one per parameter group, "
                             f"got {len(value)}")
        return [arguments.real(owner, name, v) for v in value]
    return [arguments.real(owner, name, value)] * groups


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the rates for the epoch ``last_epoch`` just reached.

    ``last_epoch=-1`` starts afresh and records each group's ``lr`` as its
    ``initial_lr``; a later epoch resumes a schedule and needs ``initial_lr``
    in every group (a restored optimizer has it).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        owner = type(self).__name__
        self.optimizer = _check_optimizer(owner, optimizer)
        last_epoch = arguments.integer(owner, "last_epoch", last_epoch, low=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{index}] has no 'initial_lr', needed to resume at "
                                   f"last_epoch={last_epoch}; load the optimizer's state dict first, or start "
                                   "with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's own step: most rules keep the rates as they are
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__}: get_lr() is not defined")

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute but the optimizer, copied."""
        return copy.deepcopy({key: value for key, value in self.__dict__.items() if key != "optimizer"})

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned (from this scheduler class)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}: load_state_dict expects a dict, got {type(state_dict).__name__}")
        unknown = sorted(set(state_dict) - set(self.__dict__))
        if unknown:
            raise ValueError(f"{type(self).__name__}: the state dict has entries {unknown} that this scheduler "
                             "does not have; was it saved from another kind of scheduler?")
        self.__dict__.update(copy.deepcopy(state_dict))

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); ``lr_lambda`` is one function, or a list of one per group.

    ``state_dict()`` saves a lambda as None, and a callable object as its ``__dict__``, as PyTorch does.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer("LambdaLR", optimizer)
        groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(f"LambdaLR: expected {groups} lr_lambdas, one per parameter group, got {len(lambdas)}")
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        state = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")})
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved_lambdas = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, saved_lambdas):
            if saved is not None:
                fn.__dict__.update(copy.deepcopy(saved))


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = arguments.integer("StepLR", "step_size", step_size, low=1)
        self.gamma = arguments.real("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each epoch in ``milestones`` (by gamma^n at one listed n times)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        if not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, got {type(milestones).__name__}")
        self.milestones = Counter(arguments.integer("MultiStepLR", "milestones", m) for m in milestones)
        self.gamma = arguments.real("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = arguments.real("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, and back up after T_max.

    Computed as PyTorch does, as a factor on the current rate, so that other
    changes to the rate carry through; past ``T_max`` the rate rises again
    along the same cosine (SGDR without restarts, Loshchilov and Hutter, 2017).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = arguments.integer("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = arguments.real("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        epoch, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and epoch > 0:  # the first step after resuming: the closed form
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(epoch * math.pi / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:  # at the bottom the factor below would divide by 0
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for lr, base_lr in zip(self._current_lrs(), self.base_lrs)]
        return [(1 + math.cos(math.pi * epoch / T_max)) / (1 + math.cos(math.pi * (epoch - 1) / T_max))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin, 2018), stepped once per batch for ``total_steps`` steps.

    The rate warms up from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of the steps, then anneals to ``initial_lr / final_div_factor``
    (``anneal_strategy`` 'cos' or 'linear'). ``three_phase`` comes back down to
    the initial rate symmetrically first, then anneals. With ``cycle_momentum``
    the momentum (SGD's ``momentum``, Adam's first beta) moves the opposite
    way, between ``max_momentum`` and ``base_momentum``. Give ``total_steps``,
    or ``epochs`` and ``steps_per_epoch``. Stepping past ``total_steps`` raises.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        if total_steps is not None:
            self.total_steps = arguments.integer(owner, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (arguments.integer(owner, "epochs", epochs, low=1)
                                * arguments.integer(owner, "steps_per_epoch", steps_per_epoch, low=1))
        else:
            raise ValueError(f"{owner}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = arguments.number(owner, "pct_start", pct_start, 0.0, 1.0)
        arguments.choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.anneal_strategy = anneal_strategy
        # Each phase runs from the previous one's end_step to its own, between two of the group's entries.
        phases = [(float(pct_start * self.total_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if arguments.boolean(owner, "three_phase", three_phase):
            phases.append((float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                           "base_momentum", "max_momentum"))
            phases.append((self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"))
        else:
            phases.append((self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"))
        self._schedule_phases = [dict(zip(("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"),
                                          phase)) for phase in phases]
        max_lrs = _per_group(owner, "max_lr", optimizer, max_lr)
        div_factor = arguments.real(owner, "div_factor", div_factor)
        final_div_factor = arguments.real(owner, "final_div_factor", final_div_factor)
        if last_epoch == -1:
            for group, group_max_lr in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = arguments.boolean(owner, "cycle_momentum", cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__}; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group(owner, "max_momentum", optimizer, max_momentum)
            base_momentums = _per_group(owner, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, bottom in zip(optimizer.param_groups, max_momentums, base_momentums):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        """From ``start`` at pct 0 to ``end`` at pct 1, along a half cosine or a line."""
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or index == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                               group[phase["end_momentum"]], pct))
                    break
                start_step = end_step
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. ``mode`` 'min' (a loss) or 'max' (an
    accuracy); an epoch improves on the best so far when the metric beats it
    by more than ``threshold``, relative (``threshold_mode='rel'``: best * (1 -
    threshold) in 'min' mode) or absolute ('abs'). After a reduction,
    ``cooldown`` epochs pass before bad epochs count again. The rate never
    goes below ``min_lr`` (one number, or one per group), and a change smaller
    than ``eps`` is not made.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        owner = "ReduceLROnPlateau"
        self.optimizer = _check_optimizer(owner, optimizer)
        if arguments.real(owner, "factor", factor) >= 1.0:
            raise ValueError(f"{owner}: factor must be < 1.0, got {factor}")
        arguments.choice(owner, "mode", mode, ("min", "max"))
        arguments.choice(owner, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.factor = factor
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group(owner, "min_lr", optimizer, min_lr)
        self.patience = arguments.integer(owner, "patience", patience, low=0)
        self.cooldown = arguments.integer(owner, "cooldown", cooldown, low=0)
        self.eps = arguments.real(owner, "eps", eps)
        self.mode, self.threshold_mode = mode, threshold_mode
        self.threshold = arguments.real(owner, "threshold", threshold)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics) -> None:
        """Record one epoch's metric (a number or a 0-d Tensor); reduce the rates if it is time."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in a cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups, but "
                                   f"min_lr gave {len(self.min_lrs)}; set .min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def _is_better(self, current: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < best * (1.0 - self.threshold)
        if self.mode == "min":
            return current < best - self.threshold
        if self.threshold_mode == "rel":
            return current > best * (self.threshold + 1.0)
        return current > best + self.threshold


__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "MultiStepLR", "OneCycleLR",
           "ReduceLROnPlateau", "StepLR"]
