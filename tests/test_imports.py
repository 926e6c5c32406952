"""The import graph of tinygrad_rnn/: one cycle, and layers that import downwards.

Tensor, the tape and the primitives depend on each other: a Tensor method
applies a primitive, a primitive is a Function of the tape, and the tape
makes Tensors (early tinygrad and minitorch have the same tie). Nothing else
may join that circle, and the layers above it (nn, the compiler, optim,
data, viz) are not imported by it. docs/design.md draws this picture.

Every ``import`` counts, at the top of a file or inside a function: a
deferred import is still a dependency.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_rnn"


def _modules() -> dict:
    """Dotted module name -> (path, whether it is a package's __init__)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imported(module: str, is_package: bool, statement, modules: dict) -> list:
    """The package's modules that one import statement names."""
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names if alias.name in modules]
    if statement.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - statement.level + 1]
        target = ".".join(base + ([statement.module] if statement.module else []))
    else:
        target = statement.module or ""
    if target not in modules:
        return []
    return [f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
            for alias in statement.names]


def import_graph() -> dict:
    """module -> the set of the package's modules it imports."""
    modules = _modules()
    graph = {}
    for module, (path, is_package) in modules.items():
        statements = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom))]
        graph[module] = {t for s in statements for t in _imported(module, is_package, s, modules) if t != module}
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan's, with an explicit stack)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _in(module: str, *areas: str) -> bool:
    return any(module == f"tinygrad_rnn.{a}" or module.startswith(f"tinygrad_rnn.{a}.") for a in areas)


def test_the_only_cycle_is_tensor_tape_and_primitives():
    found = cycles(import_graph())
    core = [c for c in found if "tinygrad_rnn.tensor" in c]
    assert len(found) == 1 and core, f"cycles other than Tensor <-> tape: {found}"
    strays = sorted(m for m in core[0] if not _in(m, "tensor", "autograd", "ops"))
    assert not strays, f"these modules joined the Tensor <-> tape cycle: {strays}"
    assert "tinygrad_rnn.autograd.functional" not in core[0]  # built on the tape, not part of it


ABOVE_THE_CORE = ("nn", "compiler", "scan", "optim", "data", "viz", "functional")
MUST_NOT_IMPORT = {  # an area -> the areas it must not import
    "kernels": ("tensor", "autograd", "ops", *ABOVE_THE_CORE),
    "tensor": ABOVE_THE_CORE,
    "autograd": ABOVE_THE_CORE,
    "ops": ABOVE_THE_CORE,
    "compiler": ("nn", "optim", "data", "viz", "functional"),
    "nn": ("optim", "data", "viz"),
    "optim": ("nn", "data", "viz", "compiler"),
}
LEAVES = ("switch", "arguments")  # import nothing of ours, so that any layer may use them


def upward_imports(graph: dict, must_not_import: dict) -> list:
    """(module, imported) pairs where a module imports an area its own area must not."""
    return [(module, target) for module, targets in graph.items() for area, banned in must_not_import.items()
            if _in(module, area) for target in targets if _in(target, *banned)]


def test_layers_import_downwards():
    graph = import_graph()
    wrong = upward_imports(graph, MUST_NOT_IMPORT)
    assert not wrong, f"imports that go up a layer: {wrong}"
    leaves_importing = {leaf: graph[f"tinygrad_rnn.{leaf}"] for leaf in LEAVES if graph[f"tinygrad_rnn.{leaf}"]}
    assert not leaves_importing, f"these should import nothing of ours: {leaves_importing}"


def test_the_checks_above_see_a_cycle_and_an_upward_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert _in("tinygrad_rnn.ops.pointwise", "ops") and not _in("tinygrad_rnn.optim.sgd", "ops")
    layered = {"tinygrad_rnn.ops.pointwise": {"tinygrad_rnn.nn.cells"}, "tinygrad_rnn.nn.cells": {"tinygrad_rnn.ops"}}
    assert upward_imports(layered, {"ops": ("nn",)}) == [("tinygrad_rnn.ops.pointwise", "tinygrad_rnn.nn.cells")]
