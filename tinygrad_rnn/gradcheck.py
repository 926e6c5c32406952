"""Check the tape's gradients against central finite differences, in float64.

The function's outputs are reduced to one number L = sum(v * output) with a
fixed random v, so one backward gives v^T J; a wrong Jacobian shows up for
almost every v. Full mode then compares every element of dL/dinput with
(L(x + eps) - L(x - eps)) / 2eps; fast mode compares one random directional
derivative per input instead (one backward, two forwards per input).

gradgradcheck does the same one level up: the gradient v^T J, computed with
create_graph=True, is itself a function of the inputs and of v, and
gradcheck compares its recorded backward with finite differences of it.
"""

from __future__ import annotations

import re

import numpy as np

from . import autograd
from .autograd import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytical gradient disagrees with its finite-difference estimate."""


def _outputs(result) -> list[Tensor]:
    """The tensors in what ``fn`` returned: a tensor or nested tuples/lists of them."""
    found, pending = [], [result]
    while pending:
        item = pending.pop()
        if isinstance(item, Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            pending.extend(reversed(item))
    if not found:
        raise TypeError(f"gradcheck: fn returned {type(result).__name__}, not a tensor")
    return found


def _as_float64_leaf(t):
    """float64 leaves as they are (``fn`` may close over them, as over a model's
    parameters); anything else as a fresh float64 leaf."""
    if not isinstance(t, Tensor) or t.dtype.kind != "f" or (t.dtype == np.float64 and t.is_leaf):
        return t
    return Tensor(t.data.astype(np.float64), requires_grad=t.requires_grad)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast_mode: bool = False, seed: int = 0) -> bool:
    """Compare gradients of ``fn(*inputs)`` with finite differences.

    ``inputs``: a tensor or a sequence of tensors (and other arguments, passed
    as they are); those that require grad are checked, in float64. float64
    leaves are used as given, so ``fn`` may close over them: to check a
    layer, call ``layer.double()`` and pass ``layer.parameters()`` among the
    inputs. Their ``.grad`` is left as it was. Returns True, or raises
    GradcheckError naming the input, the element (or the random direction
    in ``fast_mode``) and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    inputs = [_as_float64_leaf(t) for t in inputs]
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    earlier_grads = [inputs[i].grad for i in checked]
    try:
        for i in checked:
            inputs[i].grad = None
        return _gradcheck(fn, inputs, checked, eps, atol, rtol, fast_mode, seed)
    finally:
        for i, grad in zip(checked, earlier_grads):
            inputs[i].grad = grad


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  fast_mode: bool = False, seed: int = 0) -> bool:
    """Compare second derivatives of ``fn(*inputs)`` with finite differences of its gradient.

    ``inputs`` as for ``gradcheck``. ``grad_outputs``: the v of v^T J, one
    tensor per output that has a graph; random float64 when left out. The
    function checked is ``(inputs, v) -> v^T J`` (its backward is the
    recorded backward of ``fn``'s gradient), elementwise or, in
    ``fast_mode``, along one random direction per input. Returns True, or
    raises GradcheckError naming the input (v's come after ``inputs``).
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    inputs = [_as_float64_leaf(t) for t in inputs]
    count = len(inputs)

    def differentiable_outputs(xs):
        return [out for out in _outputs(fn(*xs)) if out.requires_grad]

    with enable_grad():
        outputs = differentiable_outputs(inputs)
    if grad_outputs is None:
        random = np.random.default_rng(seed)
        grad_outputs = [Tensor(random.standard_normal(out.shape), requires_grad=True) for out in outputs]
    else:  # fresh float64 leaves: the caller's tensors are left as they were
        given = [grad_outputs] if isinstance(grad_outputs, (Tensor, np.ndarray)) else list(grad_outputs)
        grad_outputs = [Tensor(np.array(getattr(v, "data", v), dtype=np.float64), requires_grad=True)
                        for v in given]
    if not outputs:
        raise ValueError("gradgradcheck: no output of fn depends on an input that requires grad")
    if [v.shape for v in grad_outputs] != [out.shape for out in outputs]:
        raise ValueError(f"gradgradcheck: grad_outputs have shapes {[v.shape for v in grad_outputs]} but the "
                         f"outputs with a graph have shapes {[out.shape for out in outputs]}")

    @enable_grad()  # gradcheck evaluates under no_grad; the gradient needs its graph
    def first_derivatives(*args):
        xs, vs = args[:count], args[count:]
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = autograd.grad(differentiable_outputs(xs), wanted, vs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    try:
        return gradcheck(first_derivatives, [*inputs, *grad_outputs], eps, atol, rtol, fast_mode, seed)
    except GradcheckError as err:  # name the v's as the caller knows them

        def rename(match):
            position = int(match[1])
            return "gradgradcheck: " + (f"input {position}" if position < count
                                        else f"grad_outputs[{position - count}]")

        raise GradcheckError(re.sub(r"^gradcheck: input (\d+)", rename, str(err))) from None


def _gradcheck(fn, inputs, checked, eps, atol, rtol, fast_mode, seed) -> bool:
    random = np.random.default_rng(seed)

    outputs = _outputs(fn(*inputs))
    weights = [random.standard_normal(out.shape) for out in outputs]

    def projected(outs) -> float:
        return float(sum(np.sum(w * out.data.astype(np.float64)) for w, out in zip(weights, outs)))

    differentiable = [(o, w) for o, w in zip(outputs, weights) if o.requires_grad]
    if differentiable:
        total = sum((o * Tensor(w, dtype=o.dtype)).sum() for o, w in differentiable)
        total.backward()

    def loss_at() -> float:
        with no_grad():
            return projected(_outputs(fn(*inputs)))

    for i in checked:
        x = inputs[i]
        analytical = x.grad if x.grad is not None else np.zeros(x.shape)
        if fast_mode:
            _check_direction(i, x, analytical, loss_at, random, eps, atol, rtol)
        else:
            _check_elements(i, x, analytical, loss_at, eps, atol, rtol)
    return True


def _check_elements(i, x, analytical, loss_at, eps, atol, rtol):
    data = x.data
    for index in np.ndindex(*data.shape):
        original = data[index]
        data[index] = original + eps
        plus = loss_at()
        data[index] = original - eps
        minus = loss_at()
        data[index] = original
        numerical = (plus - minus) / (2 * eps)
        if not abs(analytical[index] - numerical) <= atol + rtol * abs(numerical):
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}), element {index}: "
                f"analytical {float(analytical[index])!r} vs numerical {numerical!r}"
            )


def _check_direction(i, x, analytical, loss_at, random, eps, atol, rtol):
    direction = random.standard_normal(x.shape)
    original = x.data.copy()
    x.data[...] = original + eps * direction
    plus = loss_at()
    x.data[...] = original - eps * direction
    minus = loss_at()
    x.data[...] = original
    numerical = (plus - minus) / (2 * eps)
    predicted = float(np.sum(analytical * direction))
    if not abs(predicted - numerical) <= atol + rtol * abs(numerical):
        raise GradcheckError(
            f"gradcheck: input {i} (shape {x.shape}), random direction: "
            f"analytical {predicted!r} vs numerical {numerical!r}"
        )
