"""The tape as a picture: a Graphviz DOT graph of the ops behind a tensor.

Every tensor behind the root becomes one node. A tensor made by an op is a
box labelled with the op's name, its output shape and dtype; a leaf is an
ellipse labelled with its name when ``names`` gives one (parameters blue,
other leaves that require grad green, constants grey). Edges run from inputs
to the ops that read them, so the picture reads top to bottom like the code.

After ``backward()`` every tensor that holds a ``.grad`` shows its norm. The
leaves always keep theirs; ``retain_grads(root)`` before backward makes every
tensor in the graph keep its gradient too. backward() frees the graph unless
it is called with ``retain_graph=True``, so draw before it, or pass that:

    y = (x @ w).tanh().sum()
    tg.viz.retain_grads(y)
    y.backward(retain_graph=True)
    tg.viz.draw(y, "graph.svg", names={"x": x, "w": w})

An unrolled recurrent net has the same few ops at every time step. Ops
recorded inside ``with tg.viz.step(t):`` remember ``t`` (the composed
recurrent layers tag their steps this way), and ``group_by_step=True`` draws
each step in its own frame; ``max_steps=k`` keeps the first and last steps
and folds the ones between into a single node, so a 100-step LSTM stays
readable.

Rendering needs the ``graphviz`` Python package and Graphviz's ``dot``
program (``pip install "tinygrad_rnn[viz]"``, and ``apt-get install graphviz``
or ``brew install graphviz``); ``to_dot`` needs neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from . import autograd
from .autograd import FreedNode
from .tensor import Tensor

__all__ = ["GraphvizNotFound", "draw", "retain_grads", "step", "to_dot"]

_STYLES = {  # node kind -> Graphviz attributes
    "op": 'shape=box, style="rounded,filled", fillcolor="#fff3d6", color="#b08a2e"',
    "parameter": 'shape=ellipse, style=filled, fillcolor="#cfe2ff", color="#3d6cb3"',
    "input": 'shape=ellipse, style=filled, fillcolor="#d7f0d2", color="#4f8f46"',
    "constant": 'shape=ellipse, style=filled, fillcolor="#eeeeee", color="#999999", fontsize=10',
    "folded": 'shape=box, style="dashed,filled", fillcolor="#f6f6f6", color="#777777"',
}


def step(t):
    """``with step(t):`` tags every op recorded inside with time step ``t``.

    ``to_dot(..., group_by_step=True)`` then draws each step's ops in a frame
    labelled ``t = ...``. Steps nest: the innermost one wins. The tag belongs
    to the thread that set it. (``autograd.tag(step=t)``, under the name
    drawing cares about.)
    """
    return autograd.tag(step=t)


def retain_grads(root: Tensor) -> Tensor:
    """Make every tensor behind ``root`` that requires grad keep ``.grad`` after backward.

    Returns ``root``. Call it before ``backward()``; the drawn graph then shows
    the gradient norm of every op, not only of the leaves.
    """
    for tensor in _walk(root)[0]:
        if tensor.requires_grad and tensor._node is not None:
            tensor.retain_grad()
    return root


def _walk(root: Tensor):
    """(tensors, edges): every tensor behind ``root``, each after its inputs (root last),
    and the edges as (input index, op index) pairs. An op that reads a tensor twice
    (``x * x``) has two edges from it."""
    order = autograd.topological_order([root])
    position = {id(tensor): i for i, tensor in enumerate(order)}
    edges = [(position[id(parent)], i) for i, tensor in enumerate(order)
             for parent in autograd.recorded_inputs(tensor)]
    return order, edges


def _steps(tensors: list, edges: list) -> list:
    """The time step of each tensor: its op's tag (see ``step``), or None.

    A leaf read only by the ops of one step (that step's input slice, an
    initial state) is drawn inside that step.
    """
    steps = [getattr(t._node, "tags", {}).get("step") for t in tensors]
    readers = {}
    for a, b in edges:
        readers.setdefault(a, set()).add(steps[b])
    for i, tensor in enumerate(tensors):
        if tensor._node is None and len(readers.get(i, ())) == 1:
            steps[i] = next(iter(readers[i]))
    return steps


def _name_table(names) -> dict:
    """id(tensor) -> name, from a dict {name: tensor}, (name, tensor) pairs, or an nn.Module."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    table = {}
    for name, tensor in dict(names).items():
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"to_dot: names must map names to tensors, got {type(tensor).__name__} for {name!r}"
            )
        table[id(tensor)] = str(name)
    return table


def _shape_text(tensor: Tensor) -> str:
    return f"{tuple(tensor.shape)} {tensor.dtype}"


def _grad_text(tensor: Tensor) -> str | None:
    if tensor._grad is None:  # not .grad, which warns on a non-leaf that kept none
        return None
    return f"|grad| = {np.linalg.norm(np.asarray(tensor._grad, dtype=np.float64)):.3g}"


def _describe(tensor: Tensor, name: str | None) -> tuple[str, list[str]]:
    """(kind, label lines) of one node: what it is, then its shape and dtype."""
    node = tensor._node
    if node is None:
        if name is None and not tensor.requires_grad and tensor.data.size == 1:
            return "constant", [f"{tensor.data.item():.4g}"]
        from .nn.module import Parameter  # here, not at the top: nn imports this module

        kind = ("parameter" if isinstance(tensor, Parameter)
                else "input" if tensor.requires_grad else "constant")
        first = name or ("leaf" if tensor.requires_grad else "constant")
    else:
        kind = "op"
        first = node.name + _index_text(getattr(node, "index", None))
        if name is not None:
            first = f"{name} = {first}"
        if isinstance(node, FreedNode):
            first += " (freed)"
    return kind, [first, _shape_text(tensor)]


def _index_text(index) -> str:
    """``[:, 8:16]`` for a getitem's index, so the four gates of a chunk can be told apart."""
    if index is None:
        return ""
    parts = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(_index_part(part) for part in parts) + "]"


def _index_part(part) -> str:
    if isinstance(part, slice):
        bounds = ["" if b is None else str(b) for b in (part.start, part.stop)]
        return ":".join(bounds + ([] if part.step is None else [str(part.step)]))
    if part is None or part is Ellipsis:
        return "None" if part is None else "..."
    if isinstance(part, (int, np.integer)):
        return str(part)
    return "array"  # integer or mask indexing: the values would not fit


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _label(lines: list[str], grad: str | None = None) -> str:
    """A Graphviz HTML label: the first line bold, then the others, then the gradient in red."""
    parts = [f"<b>{_html(lines[0])}</b>"] + [_html(line) for line in lines[1:]]
    if grad:
        parts.append(f'<font color="#b3261e">{_html(grad)}</font>')
    return "<" + "<br/>".join(parts) + ">"


def _fold_steps(steps: list, max_steps) -> tuple[list, list, list]:
    """(first, folded, last): the distinct ``steps`` split so that at most ``max_steps`` are drawn."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 2:
        raise ValueError(f"to_dot: max_steps must be an int of at least 2, got {max_steps!r}")
    if len(steps) <= max_steps:
        return steps, [], []
    head, tail = (max_steps + 1) // 2, max_steps // 2
    return steps[:head], steps[head:len(steps) - tail], steps[len(steps) - tail:]


def to_dot(tensor: Tensor, names: Mapping[str, Tensor] | Iterable | None = None,
           show_grad: bool = True, group_by_step: bool = False, max_steps: int | None = None,
           rankdir: str = "TB") -> str:
    """The graph of ops that produced ``tensor``, as Graphviz DOT text.

    Args:
        tensor: the root, usually a loss.
        names: labels for tensors: a dict ``{name: tensor}`` (for instance
            ``dict(model.named_parameters())`` plus your inputs), (name, tensor)
            pairs, or an ``nn.Module`` (its parameters' dotted names).
        show_grad: add ``|grad| = ...`` (Frobenius norm) to tensors that hold a ``.grad``.
        group_by_step: draw the ops recorded inside ``with step(t):`` in one
            frame per ``t``.
        max_steps: with ``group_by_step``, draw at most this many steps (the
            first and last ones) and fold the steps between into one node.
        rankdir: Graphviz layout direction: ``"TB"`` (top to bottom), ``"LR"``,
            ``"BT"`` or ``"RL"``.

    Raises:
        RuntimeError: the graph behind ``tensor`` was freed by ``backward()``.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if isinstance(tensor._node, FreedNode):
        raise RuntimeError(
            f"to_dot: the graph behind this tensor (made by '{tensor._node.name}', shape "
            f"{tensor.shape}) was freed by backward(); draw it before, or call "
            "backward(retain_graph=True)"
        )
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    if max_steps is not None and not group_by_step:
        raise ValueError("to_dot: max_steps folds time steps; pass group_by_step=True with it")
    tensors, edges = _walk(tensor)
    labels = _name_table(names)
    steps = _steps(tensors, edges) if group_by_step else [None] * len(tensors)
    distinct = list(dict.fromkeys(s for s in steps if s is not None))
    if all(isinstance(s, (int, np.integer)) for s in distinct):
        distinct.sort()
    first, folded, last = _fold_steps(distinct, max_steps) if max_steps is not None else (distinct, [], [])

    # newrank ranks all nodes together, so every edge points down even between frames
    lines = ["digraph tape {",
             f'  graph [rankdir={rankdir}, newrank=true, nodesep=0.25, ranksep=0.35, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=11, margin="0.1,0.04", height=0.3];',
             '  edge [color="#555555", arrowsize=0.6];']
    frames = {s: [] for s in first + last}
    node_id = []  # DOT id of each tensor; the folded ones share one
    for i, t in enumerate(tensors):
        if steps[i] is not None and steps[i] not in frames:
            node_id.append("folded")
            continue
        node_id.append(f"n{i}")
        kind, text = _describe(t, labels.get(id(t)))
        statement = f"n{i} [label={_label(text, _grad_text(t) if show_grad else None)}, {_STYLES[kind]}];"
        if steps[i] is None:
            lines.append("  " + statement)
        else:
            frames[steps[i]].append("    " + statement)
    for k, s in enumerate(first + last):
        if folded and k == len(first):  # the fold stands between the first and the last steps
            text = [f"{len(folded)} more steps", f"{node_id.count('folded')} tensors, not drawn"]
            lines.append(f"  folded [label={_label(text)}, {_STYLES['folded']}];")
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(f'    label={_label([f"t = {s}"])}; style="rounded,dashed"; color="#888888";')
        lines += frames[s]
        lines.append("  }")

    fold_edges = set()  # each edge into or out of the fold is drawn once
    for a, b in edges:
        source, target = node_id[a], node_id[b]
        if "folded" in (source, target):
            if source == target or (source, target) in fold_edges:
                continue
            fold_edges.add((source, target))
        lines.append(f"  {source} -> {target};")
    lines.append("}")
    return "\n".join(lines) + "\n"


class GraphvizNotFound(RuntimeError):
    """draw() needs the graphviz Python package and Graphviz's dot program; one is missing."""


_INSTALL_HINT = (
    "install the graphviz Python package (pip install \"tinygrad_rnn[viz]\" or pip install graphviz) "
    "and Graphviz's dot program (apt-get install graphviz, brew install graphviz, or "
    "https://graphviz.org/download/); to_dot() works without them"
)


def draw(tensor: Tensor, path, format: str | None = None, **to_dot_options) -> str:
    """Render the graph of ``tensor`` to ``path`` (SVG, PNG or PDF) and return the path.

    ``format`` defaults to the file's suffix. Other keywords go to ``to_dot``.
    Needs the ``graphviz`` Python package and the ``dot`` program; raises
    GraphvizNotFound (a RuntimeError) saying how to install them when either is missing.
    """
    path = os.fspath(path)
    format = format or os.path.splitext(path)[1].lstrip(".").lower()
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"draw: format must be 'svg', 'png' or 'pdf', got {format!r} (path {path!r})")
    text = to_dot(tensor, **to_dot_options)
    try:
        import graphviz
    except ImportError as err:
        raise GraphvizNotFound(f"draw: the graphviz Python package is missing; {_INSTALL_HINT}") from err
    try:
        image = graphviz.Source(text).pipe(format=format)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFound(f"draw: Graphviz's dot program was not found on PATH; {_INSTALL_HINT}") from err
    with open(path, "wb") as file:
        file.write(image)
    return path
