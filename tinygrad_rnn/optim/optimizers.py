"""Optimizers with PyTorch's names, parameter groups and update formulas.

An optimizer holds parameter groups (lists of parameters sharing
hyper-parameters) and, per parameter, a state of running buffers. ``step()``
reads each ``p.grad`` and updates ``p.data`` in place, in the parameter's
dtype; parameters whose grad is None are skipped. The formulas follow the
algorithm boxes of torch.optim, one line per line.

float16 parameters are the exception: their update and state are computed in
float32 and the new value is rounded to float16. In float16, Adam's eps
(1e-8) and the square of a gradient below 2e-4 are 0, so m / sqrt(v) would be
inf or NaN (PyTorch's float16 Adam gives them); updates smaller than
float16's resolution are still lost, as without float32 master weights.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .. import arguments
from ..autograd import enable_grad
from ..tensor import Tensor


class Optimizer:
    """Base class: ``params`` is an iterable of tensors, or of dicts ``{'params': [...], **options}``
    whose options override ``defaults`` for that group."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[Tensor, dict] = {}  # keyed by the parameter itself (identity hash)
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors or of dicts, got one Tensor "
                f"of shape {params.shape}; wrap it in a list"
            )
        if not hasattr(params, "__iter__"):
            raise TypeError(
                f"{self._name}: params must be an iterable of tensors or of dicts, got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters, filling options it leaves out from ``defaults``."""
        if not isinstance(group, dict) or "params" not in group:
            got = f"keys {sorted(group)}" if isinstance(group, dict) else type(group).__name__
            raise TypeError(f"{self._name}: a parameter group must be a dict with a 'params' entry, got {got}")
        params = group["params"]
        if not isinstance(params, Tensor) and not hasattr(params, "__iter__"):
            raise TypeError(f"{self._name}: a group's 'params' must be tensors, got {type(params).__name__}")
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimize tensors, got {type(p).__name__}")
            if not p.is_leaf or not p.requires_grad:
                raise ValueError(
                    f"{self._name}: can only optimize leaf tensors that require grad "
                    f"(got one of shape {p.shape})"
                )
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or known & {id(p) for p in params}:
            raise ValueError(f"{self._name}: a parameter appears more than once")
        group = {**self.defaults, **group, "params": params}
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group: dict) -> None:
        """Raise TypeError or ValueError for invalid hyper-parameters; each optimizer lists its own."""

    def _require(self, condition: bool, name: str, value, rule: str) -> None:
        if not condition:
            raise ValueError(f"{self._name}: invalid {name} {value!r} ({rule})")

    def _check_numbers(self, group: dict, names, high: float = math.inf) -> None:
        """Each option in ``names`` is a finite number in [0, high] (NaN and inf are never valid)."""
        for name in names:
            value = arguments.real(self._name, name, group[name])
            self._require(0 <= value <= high and math.isfinite(value), name, group[name],
                          f"must be a finite number in [0, {high:g}]")

    def _check_flags(self, group: dict, names) -> None:
        for name in names:
            arguments.boolean(self._name, name, group[name])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set them to None, or to zeros with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss first."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:
                    raise ValueError(
                        f"{self._name}: a gradient of shape {p.grad.shape} for a parameter of shape {p.shape}"
                    )
                state = self.state.setdefault(p, {})
                dtype = _update_dtype(p.dtype)
                if dtype == p.dtype:  # the update runs in the parameter's dtype, in place
                    self._update(p.data, np.asarray(p.grad, dtype=dtype), state, group)
                else:
                    param = p.data.astype(dtype)
                    self._update(param, np.asarray(p.grad, dtype=dtype), state, group)
                    p.data[...] = param  # rounded back to float16
                p._bump_version()  # a graph that saved p's old values can no longer backward
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update ``param`` in place from ``grad``; ``state`` starts empty and persists."""
        raise NotImplementedError

    # -- saving and resuming -------------------------------------------------------

    def state_dict(self) -> dict:
        """``{'state': {index: {name: array or int}}, 'param_groups': [{options, 'params': [index]}]}``.

        Parameters are numbered in group order, as in PyTorch; arrays are copies.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index[id(p)] = len(index)
            groups.append({**copy.deepcopy({k: v for k, v in group.items() if k != "params"}),
                           "params": [index[id(p)] for p in group["params"]]})
        state = {
            index[id(p)]: {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for p, s in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and buffers saved by ``state_dict()`` of an optimizer of the same layout.

        Checked as the constructor checks its arguments, and all of it before
        anything changes, so a bad state dict leaves the optimizer as it was:
        the layout (TypeError or ValueError), every option (a saved ``lr=nan``
        is as invalid as a given one), every parameter index, every buffer's
        shape and every ``step``.
        """
        name = self._name
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = f"keys {sorted(state_dict, key=str)}" if isinstance(state_dict, dict) else type(state_dict).__name__
            raise TypeError(f"{name}: load_state_dict expects a dict with 'state' and 'param_groups', got {got}")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise TypeError(f"{name}: load_state_dict expects 'param_groups' to be a list and 'state' a dict, "
                            f"got {type(groups).__name__} and {type(saved_state).__name__}")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(groups)} parameter groups, this optimizer has {len(self.param_groups)}"
            )
        params, options = {}, []  # saved index -> parameter; each group's options as they will be
        for number, (saved, group) in enumerate(zip(groups, self.param_groups)):
            params.update(zip(self._saved_indices(number, saved, len(group["params"])), group["params"]))
            restored = {**group, **{k: _plain(v) for k, v in saved.items() if k != "params"}}
            self._check_options(restored)
            options.append(restored)
        if len(params) != sum(len(g["params"]) for g in self.param_groups):
            raise ValueError(f"{name}: the saved parameter groups repeat a parameter index: "
                             f"{[g['params'] for g in groups]}")
        state = {}
        for index, saved in saved_state.items():
            if _integer(index) not in params:
                raise ValueError(f"{name}: the state dict has state for parameter {index!r}, but its groups "
                                 f"number the parameters {sorted(params)}")
            if not isinstance(saved, dict):
                raise TypeError(f"{name}: the state of parameter {index!r} must be a dict, got {type(saved).__name__}")
            p = params[_integer(index)]
            state[p] = {key: self._restore(key, value, p) for key, value in saved.items()}
        self.state = state
        for group, restored in zip(self.param_groups, options):
            group.update(restored)

    def _saved_indices(self, number: int, saved, count: int) -> list:
        """The parameter indices of saved group ``number``, checked against the ``count`` here."""
        if not isinstance(saved, dict) or "params" not in saved:
            got = f"keys {sorted(saved, key=str)}" if isinstance(saved, dict) else type(saved).__name__
            raise TypeError(f"{self._name}: saved parameter group {number} must be a dict with a 'params' "
                            f"entry, got {got}")
        indices = saved["params"]
        if not isinstance(indices, (list, tuple, np.ndarray)) or any(_integer(i) is None for i in indices):
            raise TypeError(f"{self._name}: saved parameter group {number} has 'params' {indices!r}; "
                            "expected a list of parameter indices")
        if len(indices) != count:
            raise ValueError(
                f"{self._name}: a saved parameter group has {len(indices)} parameters, "
                f"the matching group here has {count}"
            )
        return [_integer(i) for i in indices]

    def _restore(self, key: str, value, param: Tensor):
        if key == "step":
            step = _integer(value)
            if step is None or step < 0:
                raise ValueError(f"{self._name}: state 'step' must be a count >= 0, got {value!r}")
            return step
        try:
            value = np.array(value, dtype=_update_dtype(param.dtype))  # a copy in the dtype the updates run in
        except (TypeError, ValueError) as err:
            raise TypeError(f"{self._name}: state '{key}' must be an array of numbers, got "
                            f"{type(value).__name__} ({err})") from None
        if value.shape != param.shape:
            raise ValueError(
                f"{self._name}: state '{key}' has shape {value.shape} but its parameter has shape {param.shape}"
            )
        return value


def _integer(value) -> int | None:
    """``value`` as an int if it is a whole number (an int, a numpy integer, an integral float or
    0-d array, as PyTorch saves ``step``), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _update_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a parameter's update and state are computed in: its own, float32 for float16."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _plain(option):
    """A saved option as the Python value it started as (numpy scalars and arrays would
    change the dtype the updates run in)."""
    if isinstance(option, (np.ndarray, np.generic)):
        option = option.tolist()
    return tuple(option) if isinstance(option, list) else option


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (heavy ball or Nesterov).

    g = grad (+ weight_decay * p); with momentum: b = momentum * b + (1 - dampening) * g
    (b = g on the first step), g = g + momentum * b if nesterov else b; p -= lr * g.
    ``maximize`` ascends instead.
    """

    def __init__(self, params, lr: float, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _check_options(self, group):
        self._check_numbers(group, ("lr", "momentum", "dampening", "weight_decay"))
        self._check_flags(group, ("nesterov", "maximize"))
        if group["nesterov"]:
            self._require(group["momentum"] > 0 and group["dampening"] == 0, "nesterov", True,
                          f"needs momentum > 0 and dampening 0, got momentum={group['momentum']} "
                          f"and dampening={group['dampening']}")

    def _update(self, param, grad, state, group):
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.copy(g)
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            buf = state["momentum_buffer"]
            g = g + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * g


class Adam(Optimizer):
    """Adam: running means of the gradient (m) and of its square (v), bias-corrected.

    g = grad (+ weight_decay * p); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v' / (1 - b2^t)) + eps), v' = v, or the
    running maximum of v with ``amsgrad``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _check_options(self, group):
        self._check_numbers(group, ("lr", "eps", "weight_decay"))
        self._check_flags(group, ("amsgrad",))
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(
                f"{self._name}: betas must be a pair of numbers, got {type(betas).__name__} {betas!r}"
            )
        for beta in betas:
            arguments.real(self._name, "betas", beta)
        group["betas"] = betas = tuple(betas)
        self._require(all(0 <= b < 1 for b in betas), "betas", betas, "need two numbers in [0, 1)")

    def _decay(self, param, grad, group):
        """Adam's weight decay is L2 regularisation: it adds to the gradient."""
        return grad + group["weight_decay"] * param if group["weight_decay"] else grad

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        g = self._decay(param, grad, group)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * g
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        step_size = group["lr"] / (1 - beta1**step)
        denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2**step) + group["eps"]
        param -= step_size * exp_avg / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay, then Adam without decay."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _decay(self, param, grad, group):
        param *= 1 - group["lr"] * group["weight_decay"]
        return grad


class Adagrad(Optimizer):
    """Adagrad: each coordinate's step shrinks with its accumulated squared gradient.

    g = grad (+ weight_decay * p); s += g^2; p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps),
    s starting at ``initial_accumulator_value``.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _check_options(self, group):
        self._check_numbers(group, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"))

    def _update(self, param, grad, state, group):
        if not state:
            state.update(step=0, sum=np.full_like(param, group["initial_accumulator_value"]))
        state["step"] += 1
        g = grad + group["weight_decay"] * param if group["weight_decay"] else grad
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        param -= lr * g / (np.sqrt(state["sum"]) + group["eps"])


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    g = grad (+ weight_decay * p); v = alpha v + (1 - alpha) g^2; with ``centered``,
    m = alpha m + (1 - alpha) g and v' = v - m^2, else v' = v; d = g / (sqrt(v') + eps);
    with momentum: b = momentum * b + d, p -= lr * b; else p -= lr * d.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_options(self, group):
        self._check_numbers(group, ("lr", "eps", "weight_decay", "momentum"))
        self._check_numbers(group, ("alpha",), high=1)  # alpha > 1 would make the running square negative
        self._check_flags(group, ("centered",))

    def _update(self, param, grad, state, group):
        if not state:
            state.update(step=0, square_avg=np.zeros_like(param))
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        alpha = group["alpha"]
        g = grad + group["weight_decay"] * param if group["weight_decay"] else grad
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            # the variance estimate is >= 0 in exact arithmetic; rounding must not make it negative
            variance = np.maximum(square_avg - grad_avg * grad_avg, 0)
        else:
            variance = square_avg
        direction = g / (np.sqrt(variance) + group["eps"])
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += direction
            direction = buf
        param -= group["lr"] * direction
