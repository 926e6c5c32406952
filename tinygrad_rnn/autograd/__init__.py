"""The tape: primitives record themselves, backward() replays them in reverse.

Every differentiable primitive is a subclass of Function with a forward on
plain ndarrays and a backward that maps the gradient of the output to the
gradients of the inputs (a vector-Jacobian product). Applying one records a
node on the output tensor: the Function instance itself, holding its inputs,
its output and whatever else it saved. backward() walks those nodes in
reverse topological order with an explicit stack (no recursion, so
100,000-step sequences work), sums the gradients of tensors used more than
once and undoes broadcasting (gradients.py), and then frees the graph.

Each backward rule is written once, with operators and the functions of
ops/xp.py, which take ndarrays and Tensors alike. An ordinary backward runs
the rules on ndarrays. With ``create_graph=True`` it runs the same rules on
the tensors themselves, so every step of the backward pass is recorded too,
and the gradient can be differentiated again: Hessian-vector products,
gradient penalties, grad of grad (``grad`` below, and autograd/functional.py).
"""

from __future__ import annotations

import copy

import numpy as np

from ..anomaly import anomaly_mode, check_backward, check_forward
from ..switch import Switch
from ..tensor import Tensor, _writes
from .gradients import GradientBuffer

grad_mode = Switch(True)  # whether ops are recorded (``no_grad()`` turns it off)
tags = Switch({})  # labels every node recorded now keeps (``tag(step=t)``; viz draws by them)


class Function:
    """A primitive: ``forward(*arrays, **params) -> array`` and ``backward(grad)``.

    ``backward`` returns one gradient per tensor input (a bare one when there
    is one input), shaped like the forward's output broadcast, or None where
    an input needs none; ``needs_input_grad`` tells which are wanted. It
    reads the forward's inputs from ``self.inputs`` and its result from
    ``self.output``: ndarrays in an ordinary backward, the Tensors themselves
    when the backward is being recorded (see ``recording``), so the rule
    must use only operators and the functions of ops/xp.py on them. Anything
    else ``forward`` saves on ``self`` is a constant of the rule (a mask, a
    shape). ``needs_input_grad`` is set before ``forward`` runs, and stays
    None when the call is not recorded (no_grad, or no input requires grad):
    forward can then skip saving anything. The subclasses defined in the
    ops package, the primitives, are collected in ``Function.registry`` by
    their ``name``, so the test suite can insist that each has its tests; a
    Function defined anywhere else (your own) works the same, unregistered.

    ``reads_inputs`` (True, False, or the positions of the inputs) and
    ``reads_output`` say what ``backward`` reads. backward() checks that
    none of it was written since forward (``Tensor._version``), so the
    defaults, True, are the safe ones. (A primitive whose output is a view
    of its input shares the input's count: ops/movement.py's ``_View``.)
    """

    registry: dict[str, type[Function]] = {}
    name = "function"
    needs_input_grad: tuple | None = None
    reads_inputs: bool | tuple = True
    reads_output = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__.lower()
        # the primitives: the ops package's Functions, but not its shared bases (_Reduction and the like)
        if cls.__module__.startswith("tinygrad_rnn.ops.") and not cls.__name__.startswith("_"):
            Function.registry[cls.name] = cls

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def recording(self, output: Tensor) -> Function:
        """This node with its inputs and output as Tensors, so that its backward records itself."""
        twin = copy.copy(self)
        twin.inputs, twin.output = self.parents, output
        return twin

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        node = cls()
        needs_input_grad = tuple([t._requires_grad for t in inputs]) if grad_mode.value else ()
        requires_grad = True in needs_input_grad
        if requires_grad:
            node.parents = inputs
            node.needs_input_grad = needs_input_grad
            node.tags = tags.value
            node.clock = _writes[0]  # backward looks closer only if a write came after this
        arrays = tuple([t._data for t in inputs])
        try:
            data = node.forward(*arrays, **params)
        except (ValueError, IndexError, TypeError) as err:
            if str(err).startswith(cls.name + ":"):
                raise  # already names the op
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise type(err)(f"{cls.name}: {err} (input shapes {shapes})") from err
        if anomaly_mode.value:
            check_forward(node, inputs, data)
        out = Tensor(data)
        if requires_grad and data.dtype.kind == "f":  # an integer result carries no gradient
            out._requires_grad = True
            out._node = node
            node.inputs, node.output = arrays, out._data
        return out


class FreedNode:
    """What a node becomes once backward() has released it."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


# -- switches -----------------------------------------------------------------------


def no_grad():
    """``with no_grad():`` (or ``@no_grad()``) runs ops without recording them, in this thread."""
    return grad_mode.to(False)


def enable_grad():
    """Turns recording back on inside a ``no_grad`` block."""
    return grad_mode.to(True)


def is_grad_enabled() -> bool:
    """Whether ops run in this thread are recorded."""
    return grad_mode.value


def tag(**labels):
    """``with tag(step=t):`` every node recorded inside keeps ``labels`` in ``node.tags``.

    Tags nest: an inner block adds its labels to the outer ones and wins
    where both name the same label. ``tg.scan`` tags each time step this
    way; ``tg.viz`` draws the nodes of a step together.
    """
    return tags.to({**tags.value, **labels})


# -- gradients ---------------------------------------------------------------------


def recorded_inputs(tensor: Tensor) -> tuple:
    """The tensors the op that made ``tensor`` read, as the tape recorded them (none for a leaf)."""
    node = tensor._node
    return node.parents if isinstance(node, Function) else ()


def topological_order(roots, inputs_of=recorded_inputs) -> list:
    """Every tensor behind ``roots``, each after the tensors it was computed from.

    ``inputs_of(tensor)`` names those (by default, the tape's record).
    Depth-first with an explicit stack, so graphs of any depth are fine: an
    entry is visited twice, once to push its inputs and once, after all of
    them are done, to emit it. backward() runs this order reversed, viz
    draws it, and the cell compiler reads a traced step by it.
    """
    order, seen = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
        elif id(tensor) not in seen:
            seen.add(id(tensor))
            stack.append((tensor, True))
            for i in reversed(inputs_of(tensor)):
                if id(i) not in seen:  # a weight read at every step is pushed once, not every time
                    stack.append((i, False))
    return order


def _check_unchanged(node: Function, output: Tensor) -> None:
    """Raise if a tensor that ``node``'s backward reads was written after its forward.

    Each tensor's version counter holds the clock at its last write; a write
    the backward does not read is harmless, as in PyTorch.
    """
    reads = node.reads_inputs
    positions = range(len(node.parents)) if reads is True else (reads or ())
    read = [(f"input {i}", node.parents[i]) for i in positions]
    if node.reads_output:
        read.append(("the output", output))
    for which, tensor in read:
        if tensor._version_counter[1] > node.clock:
            raise RuntimeError(
                "backward: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {which} of '{node.name}' (shape {tensor.shape}, dtype {tensor.dtype}) "
                f"was written after the forward that saved it (it is at version {tensor._version} now). "
                "An optimizer step, load_state_dict, nn.init, Module.to or an assignment to .data came "
                "between the forward and this backward; run the forward again after the change"
            )


def _vjp(node: Function, output: Tensor, grad: Tensor):
    """``node``'s backward rule run on Tensors, so that every step of it is recorded."""
    try:
        return node.recording(output).backward(grad)
    except TypeError as err:
        if "does not support ufuncs" not in str(err):
            raise
        raise TypeError(
            f"{node.name}: its backward calls a numpy function on a Tensor, so it cannot be recorded for "
            "create_graph=True; write it with operators and tinygrad_rnn.ops.xp"
        ) from err


def _backpropagate(roots, seeds, wanted, retain_graph: bool, create_graph: bool) -> dict:
    """Run the tape backwards from ``roots``, each seeded with d(L)/d(root) from ``seeds``.

    Returns ``{id: (tensor, dL/dtensor)}`` for the tensors reached for which
    ``wanted(tensor)``. A tensor's gradient is complete when the walk reaches
    it, since everything that used it comes before.
    """
    grads = GradientBuffer()
    for root, seed in zip(roots, seeds):
        grads.add(root, seed)
    found = {}
    with grad_mode.to(create_graph):
        for tensor in reversed(topological_order(roots)):
            node, grad = tensor._node, grads.pop(tensor)
            if isinstance(node, FreedNode):
                raise _freed(node, tensor)
            if grad is None:  # nothing flows here from the roots
                continue
            if wanted(tensor):
                found[id(tensor)] = (tensor, grad)
            if node is None:  # a leaf
                continue
            for parent, parent_grad in zip(node.parents, _input_grads(node, tensor, grad, create_graph)):
                if parent_grad is not None and parent._requires_grad:
                    grads.add(parent, parent_grad)
            if not retain_graph:
                tensor._node = FreedNode(node.name)
    return found


def _input_grads(node: Function, output: Tensor, grad, create_graph: bool) -> tuple:
    """``node``'s backward rule at ``grad``: one gradient per input of its forward."""
    if _writes[0] != node.clock:
        _check_unchanged(node, output)  # a write came after this forward; does backward read it?
    input_grads = _vjp(node, output, grad) if create_graph else node.backward(grad)
    input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
    if anomaly_mode.value:
        check_backward(node, grad, input_grads)
    return input_grads


def _freed(node: FreedNode, output: Tensor) -> RuntimeError:
    return RuntimeError(
        f"backward: the graph through '{node.name}' (output shape {output.shape}) "
        "was already freed by an earlier backward(); pass retain_graph=True "
        "to the first backward() to go through it twice"
    )


def _seeds(op: str, outputs, grad_outputs, create_graph: bool) -> tuple[list, list]:
    """The roots of a backward pass and the gradient each starts from, checked."""
    roots = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(roots)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(roots):
        raise ValueError(f"{op}: got {len(grad_outputs)} gradients for {len(roots)} outputs")
    seeds = []
    for i, (root, seed) in enumerate(zip(roots, grad_outputs)):
        output = "the output" if len(roots) == 1 else f"output {i}"
        if not isinstance(root, Tensor):
            raise TypeError(f"{op}: {output} is a {type(root).__name__}, not a Tensor")
        if not root.requires_grad:
            raise RuntimeError(
                f"{op}: {output} of shape {root.shape} does not require grad and has no graph; "
                "set requires_grad=True on an input"
            )
        if seed is None:
            if root.data.size != 1:
                raise RuntimeError(
                    f"{op}: a gradient can be left out only for a single-element output, "
                    f"got shape {root.shape}; pass one of that shape"
                )
            seed = np.ones_like(root.data)
        elif not (create_graph and isinstance(seed, Tensor)):
            seed = np.asarray(seed.data if isinstance(seed, Tensor) else seed, dtype=root.dtype)
        if seed.shape != root.shape:
            raise ValueError(f"{op}: the gradient has shape {seed.shape} but {output} has shape {root.shape}")
        seeds.append(Tensor(seed) if create_graph and not isinstance(seed, Tensor) else seed)
    return roots, seeds


def _tensors(op: str, argument: str, tensors) -> list[Tensor]:
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {argument}[{i}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"{op}: {argument}[{i}] (shape {t.shape}) does not require grad")
    return tensors


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Add d(tensors)/d(leaf) into ``.grad`` of every leaf behind ``tensors``.

    ``tensors``: a tensor or a sequence of them; ``grad_tensors``: the
    gradient of some scalar with respect to each (may be left out for a
    single-element tensor). ``inputs``: add into the ``.grad`` of these
    tensors only. The graph is freed unless ``retain_graph`` (which defaults
    to ``create_graph``). With ``create_graph=True`` the backward pass is
    recorded; ``.grad`` still receives plain ndarrays (use ``grad`` to get
    the gradients as tensors with a graph).
    """
    roots, seeds = _seeds("backward", tensors, grad_tensors, create_graph)
    if inputs is None:  # every leaf, and the tensors that called retain_grad()
        wanted = lambda t: t._node is None or t._retains_grad  # noqa: E731
    else:
        targets = {id(t) for t in _tensors("backward", "inputs", inputs)}
        wanted = lambda t: id(t) in targets  # noqa: E731
    retain_graph = create_graph if retain_graph is None else retain_graph
    for tensor, grad in _backpropagate(roots, seeds, wanted, retain_graph, create_graph).values():
        grad = grad.data if isinstance(grad, Tensor) else grad
        if tensor._grad is None:  # not .grad, which warns for a non-leaf listed in inputs
            tensor._grad = np.array(grad, dtype=tensor.dtype)
        else:
            tensor._grad += grad


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple of Tensors.

    PyTorch's ``torch.autograd.grad``. ``outputs``: a tensor or a sequence of
    them; ``grad_outputs``: d(L)/d(output) for each (may be left out for a
    single-element output); ``inputs``: a tensor or a sequence, each of
    which requires grad. Returns one tensor per input, of its shape and
    dtype; ``.grad`` is left alone. With ``create_graph=True`` the backward
    pass is recorded, so the results can be differentiated again. An input
    that ``outputs`` does not depend on raises, unless ``allow_unused``
    (gives None) or ``materialize_grads`` (gives zeros). The graph is freed
    unless ``retain_graph`` (which defaults to ``create_graph``).
    """
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused to be True or None")
    roots, seeds = _seeds("grad", outputs, grad_outputs, create_graph)
    inputs = _tensors("grad", "inputs", inputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    targets = {id(t) for t in inputs}
    found = _backpropagate(roots, seeds, lambda t: id(t) in targets, retain_graph, create_graph)
    results = []
    for i, tensor in enumerate(inputs):
        grad = found.get(id(tensor), (None, None))[1]
        if grad is None and not allow_unused:
            raise RuntimeError(
                f"grad: inputs[{i}] (shape {tensor.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if grad is None:
            results.append(Tensor(np.zeros(tensor.shape, tensor.dtype)) if materialize_grads else None)
        elif isinstance(grad, Tensor):
            results.append(grad if grad.dtype == tensor.dtype else grad.to(tensor.dtype))
        else:
            results.append(Tensor(np.array(grad, dtype=tensor.dtype)))
    return tuple(results)



