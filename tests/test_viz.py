"""tg.viz: the DOT text of small graphs, names, gradient norms, step frames, rendering."""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz

NODE = re.compile(r"^\s*(n\d+|folded) \[label=<(.*)>, (.*)\];$", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+);$", re.M)


def parse(dot: str):
    """({node id: label text without markup}, [(source, target)], {node id: attributes})."""
    labels = {m[0]: re.sub(r"<[^>]+>", "\n", m[1]) for m in NODE.findall(dot)}
    attributes = {m[0]: m[2] for m in NODE.findall(dot)}
    return labels, EDGE.findall(dot), attributes


def lines_of(label: str) -> list[str]:
    return [line for line in label.split("\n") if line]


def leaf(*shape, requires_grad=True):
    return tg.Tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape) / 10, requires_grad=requires_grad)


def find(labels: dict, first_line: str) -> list[str]:
    return [node for node, label in labels.items() if lines_of(label)[0] == first_line]


def test_small_expression_has_one_node_per_tensor_and_edges_from_inputs_to_ops():
    x, w = leaf(2, 3), leaf(3, 4)
    y = (x @ w).tanh().sum()
    labels, edges, _ = parse(viz.to_dot(y, names={"x": x, "w": w}))

    assert sorted(lines_of(label)[0] for label in labels.values()) == ["matmul", "sum", "tanh", "w", "x"]
    [x_id], [w_id], [mm], [th], [sm] = (find(labels, n) for n in ("x", "w", "matmul", "tanh", "sum"))
    assert sorted(edges) == sorted([(x_id, mm), (w_id, mm), (mm, th), (th, sm)])
    assert lines_of(labels[mm])[1] == "(2, 4) float64"
    assert lines_of(labels[sm])[1] == "() float64"
    assert lines_of(labels[x_id])[1] == "(2, 3) float64"


def test_dtype_is_shown_per_node():
    x = leaf(3).float()  # a cast op: float64 leaf -> float32
    labels, _, _ = parse(viz.to_dot((x * 2).sum()))
    [cast] = find(labels, "cast")
    assert "(3,) float32" in labels[cast]


def test_an_input_read_twice_has_two_edges():
    x = leaf(3)
    labels, edges, _ = parse(viz.to_dot(x * x))
    [mul] = find(labels, "mul")
    [x_id] = find(labels, "leaf")
    assert edges == [(x_id, mul), (x_id, mul)]


def test_constants_show_their_value_and_unnamed_leaves_say_leaf():
    x = leaf(2)
    labels, _, attributes = parse(viz.to_dot(1 - x))
    [one] = find(labels, "1")
    assert "#eeeeee" in attributes[one]  # drawn as a constant
    assert find(labels, "leaf")


def test_module_parameters_are_named_and_styled_as_parameters():
    tg.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    x = leaf(4, 3, requires_grad=False)
    out = layer(x).sum()
    for names in (layer, dict(layer.named_parameters()), layer.named_parameters()):
        labels, _, attributes = parse(viz.to_dot(out, names=names))
        [weight], [bias] = find(labels, "weight"), find(labels, "bias")
        assert "#cfe2ff" in attributes[weight] and "#cfe2ff" in attributes[bias]
        assert "(2, 3) float64" in labels[weight]


def test_intermediate_tensors_can_be_named():
    x = leaf(2)
    h = x.tanh()
    labels, _, _ = parse(viz.to_dot(h.sum(), names={"h": h}))
    assert find(labels, "h = tanh")


def test_names_must_map_to_tensors():
    x = leaf(2)
    with pytest.raises(TypeError, match="to_dot: names must map names to tensors.*'x'"):
        viz.to_dot(x.sum(), names={"x": x.data})


def test_getitem_nodes_show_their_index():
    x = leaf(4, 8)
    a, b = x.chunk(2, dim=1)
    labels, _, _ = parse(viz.to_dot((a * b)[1:, 2].sum() + x[np.array([0, 0])].sum()))
    assert find(labels, "getitem[:, 0:4]") and find(labels, "getitem[:, 4:8]")
    assert find(labels, "getitem[1:, 2]") and find(labels, "getitem[array]")


def test_no_gradient_norms_before_backward():
    x = leaf(2, 2)
    assert "|grad|" not in viz.to_dot((x * 3).sum())


def test_gradient_norms_after_backward_with_retained_graph():
    x, w = leaf(2, 3), leaf(3, 4)
    y = (x @ w).tanh().sum()
    assert viz.retain_grads(y) is y
    y.backward(retain_graph=True)
    labels, _, _ = parse(viz.to_dot(y, names={"x": x, "w": w}))
    tanh_grad = np.ones((2, 4))
    matmul_grad = 1 - np.tanh(x.data @ w.data) ** 2
    expected = {"x": x.grad, "w": w.grad, "sum": 1.0, "tanh": tanh_grad, "matmul": matmul_grad}
    for first, grad in expected.items():
        [node] = find(labels, first)
        assert f"|grad| = {np.linalg.norm(grad):.3g}" in labels[node], first
    assert np.allclose(x.grad, matmul_grad @ w.data.T)  # retaining changes no leaf gradient


def test_without_retain_grads_only_leaves_show_a_norm():
    x = leaf(3)
    y = x.exp().sum()
    y.backward(retain_graph=True)
    labels, _, _ = parse(viz.to_dot(y))
    assert "|grad|" in labels[find(labels, "leaf")[0]]
    assert "|grad|" not in labels[find(labels, "exp")[0]]
    assert "|grad|" not in viz.to_dot(y, show_grad=False)


def test_a_freed_graph_cannot_be_drawn():
    x = leaf(3)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="to_dot: .*'sum'.*freed by backward.*retain_graph=True"):
        viz.to_dot(y)


def test_an_input_whose_own_graph_was_freed_is_drawn_as_freed():
    x = leaf(3)
    y = x * 2
    y.sum().backward()  # frees the mul behind y
    labels, edges, _ = parse(viz.to_dot(y + 1))
    [freed] = find(labels, "mul (freed)")
    assert not [e for e in edges if e[1] == freed]  # its inputs are gone with the node


def test_bad_arguments_raise():
    x = leaf(2)
    with pytest.raises(TypeError, match="to_dot: expected a Tensor, got ndarray"):
        viz.to_dot(x.data)
    with pytest.raises(ValueError, match="to_dot: rankdir must be"):
        viz.to_dot(x.sum(), rankdir="up")
    with pytest.raises(ValueError, match="to_dot: max_steps must be an int of at least 2, got 1"):
        viz.to_dot(x.sum(), group_by_step=True, max_steps=1)
    with pytest.raises(ValueError, match="to_dot: max_steps must be an int of at least 2, got 2.5"):
        viz.to_dot(x.sum(), group_by_step=True, max_steps=2.5)
    with pytest.raises(ValueError, match="to_dot: max_steps folds time steps; pass group_by_step=True"):
        viz.to_dot(x.sum(), max_steps=4)
    with pytest.raises(ValueError, match="draw: format must be 'svg', 'png' or 'pdf', got 'txt'"):
        viz.draw(x.sum(), "graph.txt")


def test_a_deep_graph_is_walked_without_recursion():
    depth = 3 * sys.getrecursionlimit()
    x = leaf(2)
    y = x
    for _ in range(depth):
        y = y * 1.0
    labels, edges, _ = parse(viz.to_dot(y))
    assert len(find(labels, "mul")) == depth
    assert len(edges) == 2 * depth  # each mul reads the previous tensor and a constant


# -- time steps ---------------------------------------------------------------------


def unrolled_rnn(steps: int):
    """A tanh RNN written out by hand, each step inside viz.step(t)."""
    tg.manual_seed(0)
    cell = nn.RNNCell(2, 3).double()
    xs = [leaf(1, 2, requires_grad=False) * (t + 1) for t in range(steps)]  # constants
    h = None
    for t, x in enumerate(xs):
        with viz.step(t):
            h = cell(x, h)
    return cell, h.sum()


def frames(dot: str) -> dict:
    """{frame label: [node ids inside]}."""
    found = {}
    for body in re.findall(r"subgraph cluster_\d+ \{(.*?)\n  \}", dot, re.S):
        label = re.search(r"label=<<b>(.*?)</b>>", body)[1]
        found[label] = re.findall(r"^\s*(n\d+) \[", body, re.M)
    return found


def test_step_tags_the_ops_recorded_inside_and_restores_the_previous_tag():
    x = leaf(2)
    with viz.step(1):
        a = x * 2
        with viz.step(2):
            b = a * 3
        c = b * 4
    d = c * 5
    assert [t._node.tags.get("step") for t in (a, b, c, d)] == [1, 2, 1, None]
    with pytest.raises(ZeroDivisionError):
        with viz.step(7):
            1 / 0
    assert "step" not in (x * 2)._node.tags


def test_group_by_step_draws_one_frame_per_step_with_its_ops():
    cell, loss = unrolled_rnn(3)
    dot = viz.to_dot(loss, names=cell, group_by_step=True)
    labels, edges, _ = parse(dot)
    found = frames(dot)
    assert list(found) == ["t = 0", "t = 1", "t = 2"]
    for members in found.values():
        ops = sorted(lines_of(labels[n])[0] for n in members)
        # 2 transposes, 2 matmuls, 2 bias adds, the sum, tanh; the step's input x_t and,
        # at t = 0, the zero initial state: constants read only by that step
        assert [op for op in ops if op != "constant"] == ["add", "add", "add", "matmul", "matmul",
                                                          "permute", "permute", "tanh"]
    inside = {n for members in found.values() for n in members}
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "sum"):
        assert not set(find(labels, name)) & inside  # read by every step, so drawn outside
    assert "cluster" not in viz.to_dot(loss)  # grouping is asked for


def test_composed_recurrent_layers_tag_their_steps():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4, fused=False)
    x = tg.randn(5, 2, 3)
    output, _ = lstm(x)
    found = frames(viz.to_dot(output.sum(), group_by_step=True))
    assert list(found) == [f"t = {t}" for t in range(5)]
    assert len({len(members) for t, members in found.items() if t != "t = 0"}) == 1  # same ops per step


def test_max_steps_folds_the_middle_steps_into_one_node():
    cell, loss = unrolled_rnn(10)
    full = parse(viz.to_dot(loss, group_by_step=True))[0]
    dot = viz.to_dot(loss, names=cell, group_by_step=True, max_steps=4)
    labels, edges, _ = parse(dot)
    assert list(frames(dot)) == ["t = 0", "t = 1", "t = 8", "t = 9"]
    hidden = len(full) - (len(labels) - 1)
    assert lines_of(labels["folded"]) == ["6 more steps", f"{hidden} tensors, not drawn"]
    assert ("folded", "folded") not in edges
    assert len(edges) == len(set(e for e in edges if "folded" in e)) + len([e for e in edges if "folded" not in e])
    [weight_hh] = find(labels, "weight_hh")
    assert (weight_hh, "folded") in edges
    assert viz.to_dot(loss, group_by_step=True, max_steps=10) == viz.to_dot(loss, group_by_step=True)


# -- rendering ----------------------------------------------------------------------


def test_draw_explains_how_to_install_graphviz_when_the_package_is_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now raises ImportError
    with pytest.raises(viz.GraphvizNotFound, match=r"graphviz Python package is missing.*tinygrad_rnn\[viz\].*apt-get install graphviz"):
        viz.draw(leaf(2).sum(), tmp_path / "graph.svg")


def test_draw_explains_how_to_install_dot_when_the_program_is_missing(monkeypatch, tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(viz.GraphvizNotFound, match="dot program was not found.*apt-get install graphviz"):
        viz.draw(leaf(2).sum(), tmp_path / "graph.svg")


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


@needs_dot
@pytest.mark.parametrize("suffix, magic", [("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_draw_renders_the_file_the_suffix_names(tmp_path, suffix, magic):
    pytest.importorskip("graphviz")
    cell, loss = unrolled_rnn(3)
    path = tmp_path / f"graph.{suffix}"
    assert viz.draw(loss, path, names=cell, group_by_step=True) == str(path)
    content = path.read_bytes()
    assert magic in content[:400]
    if suffix == "svg":
        assert b"weight_hh" in content and b"t = 2" in content
