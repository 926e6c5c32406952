"""The tape: primitives record themselves, backward() replays them in reverse.

Every differentiable primitive is a subclass of Function with a forward on
plain ndarrays and a backward that maps the gradient of the output to the
gradients of the inputs (a vector-Jacobian product). Applying one records a
node on the output tensor: the Function instance itself, holding its inputs
and whatever it saved. backward() walks those nodes in reverse topological
order with an explicit stack (no recursion, so 100,000-step sequences work),
sums the gradients of tensors used more than once, undoes broadcasting in one
place, and then frees the graph.
"""

from __future__ import annotations

import functools

import numpy as np

from .tensor import Tensor

_grad_enabled = True
_anomaly_enabled = False  # switched by anomaly.detect_anomaly(); off, it costs one test per op
_step = None  # the time step being recorded, set by viz.step(t); each node keeps it for drawing


class Function:
    """A primitive: ``forward(*arrays, **params) -> array`` and ``backward(grad)``.

    ``backward`` returns one gradient per tensor input (a bare array when
    there is one input), shaped like the forward's output broadcast, or None
    where an input needs none; ``needs_input_grad`` tells which are wanted.
    It is set before ``forward`` runs, and stays None when the call is not
    recorded (no_grad, or no input requires grad): forward can then skip
    saving anything for backward. Subclasses are collected in
    ``Function.registry`` by their ``name``, so the test suite can insist
    that each has a gradient test.
    """

    registry: dict[str, type[Function]] = {}
    name = "function"
    needs_input_grad: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__.lower()
        if not cls.__name__.startswith("_"):  # _Reduction and the like are shared bases, not primitives
            Function.registry[cls.name] = cls

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        node = cls()
        needs_input_grad = tuple([t._requires_grad for t in inputs]) if _grad_enabled else ()
        requires_grad = True in needs_input_grad
        if requires_grad:
            node.parents = inputs
            node.needs_input_grad = needs_input_grad
            node.step = _step
        try:
            data = node.forward(*[t.data for t in inputs], **params)
        except (ValueError, IndexError, TypeError) as err:
            if str(err).startswith(cls.name + ":"):
                raise  # already names the op
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise type(err)(f"{cls.name}: {err} (input shapes {shapes})") from err
        if _anomaly_enabled:
            anomaly.check_forward(node, inputs, data)
        out = Tensor(data)
        if requires_grad and data.dtype.kind == "f":  # an integer result carries no gradient
            out._requires_grad = True
            out._node = node
        return out


class FreedNode:
    """What a node becomes once backward() has released it."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


# -- grad mode -----------------------------------------------------------------


class _GradMode:
    """Context manager and decorator that switches recording on or off."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _GradMode:
    """``with no_grad():`` (or ``@no_grad()``) runs ops without recording them."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Turns recording back on inside a ``no_grad`` block."""
    return _GradMode(True)


def is_grad_enabled() -> bool:
    return _grad_enabled


# -- backward ------------------------------------------------------------------


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the one place broadcasting is undone.

    A broadcast copies an input along new leading axes and along axes of
    size 1, so its vector-Jacobian product sums over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    if leading:
        grad = grad.sum(axis=tuple(range(leading)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _topological_order(root: Tensor) -> list[Tensor]:
    """Recorded tensors behind ``root``, each after everything it depends on.

    Depth-first with an explicit stack: an entry is visited twice, once to
    push its parents and once, after all of them are done, to emit it.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        tensor, parents_done = stack.pop()
        if parents_done:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if isinstance(node, Function):
            stack.extend((p, False) for p in node.parents if p._node is not None)
    return order


class SliceGrad:
    """A gradient that is zero outside ``index``, as a selection's backward returns.

    The tape adds ``values`` into one buffer per input instead of building a
    zero array of the input's shape for every slice, so reading a sequence
    step by step costs O(step), not O(sequence), per step in backward.
    ``unique`` says no element is selected twice (plain slices and ints).
    """

    __slots__ = ("index", "values", "unique")

    def __init__(self, index, values: np.ndarray, unique: bool):
        self.index, self.values, self.unique = index, values, unique


def _scatter_add(target: np.ndarray, grad: SliceGrad) -> None:
    if grad.unique:
        target[grad.index] += grad.values
    else:
        np.add.at(target, grad.index, grad.values)  # repeated indices accumulate


def _sum_grads(total, grad, tensor: Tensor, owned: bool):
    """``total + grad`` for ``tensor``; ``total`` may be reused when ``owned`` (allocated here)."""
    if isinstance(grad, SliceGrad):
        if total is None:
            total = np.zeros(tensor.shape, grad.values.dtype)
        elif not owned:
            total = total.copy()
        _scatter_add(total, grad)
        return total
    grad = unbroadcast(grad, tensor.shape)
    if total is None:
        return grad
    if owned:
        total += grad
        return total
    return total + grad


def _accumulate_into_grad(tensor: Tensor, grad) -> None:
    """Add into ``tensor.grad``, which always owns its memory (never aliases another grad)."""
    if tensor.grad is None and not isinstance(grad, SliceGrad):
        tensor.grad = np.array(unbroadcast(grad, tensor.shape), dtype=tensor.dtype)
    else:
        tensor.grad = _sum_grads(tensor.grad, grad, tensor, owned=True).astype(tensor.dtype, copy=False)


def backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Fill ``.grad`` of the leaves behind ``root`` with d(root)/d(leaf).

    ``grad`` is the gradient of some scalar with respect to ``root``; it may
    be left out only when ``root`` holds a single element.
    """
    if not root.requires_grad:
        raise RuntimeError(
            f"backward: the tensor of shape {root.shape} does not require grad "
            "and has no graph; set requires_grad=True on an input"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be left out only for a single-element output, "
                f"got shape {root.shape}; pass grad= of that shape"
            )
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: grad has shape {grad.shape} but the output has shape {root.shape}"
            )

    if root._node is None:  # a leaf: d(root)/d(root) = 1
        _accumulate_into_grad(root, grad)
        return

    grads = {id(root): grad}
    owned = set()  # ids of gradient buffers allocated here, safe to add into in place
    for tensor in reversed(_topological_order(root)):
        grad = grads.pop(id(tensor), None)
        node = tensor._node
        if isinstance(node, FreedNode):
            raise RuntimeError(
                f"backward: the graph through '{node.name}' (output shape {tensor.shape}) "
                "was already freed by an earlier backward(); pass retain_graph=True "
                "to the first backward() to go through it twice"
            )
        if grad is None:  # nothing flows here from root
            continue
        if tensor._retains_grad:
            _accumulate_into_grad(tensor, grad)
        input_grads = node.backward(grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if _anomaly_enabled:
            anomaly.check_backward(node, grad, input_grads)
        for parent, parent_grad in zip(node.parents, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent._node is None:
                _accumulate_into_grad(parent, parent_grad)
                continue
            key = id(parent)
            total = grads.get(key)
            grads[key] = _sum_grads(total, parent_grad, parent, key in owned)
            if total is not None or isinstance(parent_grad, SliceGrad):
                owned.add(key)
        if not retain_graph:
            tensor._node = FreedNode(node.name)


from . import anomaly  # noqa: E402  (it switches _anomaly_enabled above)
