"""The compiler's picture of one step: values, each an input, a constant, or an op on other values.

A traced step is a list of Values in an order where each comes after its
inputs. The batch size is symbolic: ``N`` stands for it in shapes and in
an op's parameters, since a packed sequence's batch shrinks from step to
step and one compiled step serves every size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import autograd


class _Batch:
    """The symbolic batch size, printed as N."""

    def __repr__(self) -> str:
        return "N"


N = _Batch()

# What a Value can be besides a primitive applied to other values.
INPUT_KINDS = ("carry", "x", "param", "grad_carry", "grad_y")


@dataclass(eq=False)
class Value:
    """One value of a traced step.

    ``op``: a primitive's registry name, an input kind (INPUT_KINDS: the
    carry, the step's input rows, a weight the step closes over, and, in
    backward, the gradients arriving at the new carry and at y_t), "const"
    (``data`` holds it), or a mask a primitive derives from its input
    (``relu.positive``...). ``slot`` numbers inputs of one kind. ``shape``
    has N for the batch, always first; ``source`` is the line of the step.
    """

    index: int
    op: str
    inputs: tuple = ()
    params: dict = field(default_factory=dict)
    shape: tuple = ()
    dtype: np.dtype = np.dtype(np.float64)
    data: np.ndarray | None = None
    slot: int | None = None
    source: str = ""

    @property
    def batched(self) -> bool:
        """Whether the value has one row per sequence (the batch first)."""
        return bool(self.shape) and self.shape[0] is N

    @property
    def name(self) -> str:
        return f"v{self.index}"

    def describe(self) -> str:
        """One line: ``v7 = matmul(v3, v6)  (N, 256) float32``."""
        if self.op in INPUT_KINDS:
            what = f"{self.op}[{self.slot}]"
        elif self.op == "const":
            what = f"const {_short(self.data)}"
        else:
            arguments = [v.name for v in self.inputs]
            arguments += [f"{key}={_short(value)}" for key, value in self.params.items()]
            what = f"{self.op}({', '.join(arguments)})"
        shape = "(" + ", ".join(str(n) for n in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        return f"{self.name} = {what}  {shape} {self.dtype}"


def _short(value) -> str:
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.ndarray):
        return repr(value.item()) if value.size == 1 else f"<array {value.shape} {value.dtype}>"
    if isinstance(value, slice):
        return ":".join("" if part is None else str(part) for part in (value.start, value.stop, value.step)).rstrip(":") or ":"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def listing(values: list[Value]) -> str:
    """The values, one per line, as ``print`` shows a stage."""
    return "\n".join(v.describe() for v in values)


def ancestors(roots: list) -> set:
    """The ids of every Value behind ``roots``, the roots included (the tape's own walk)."""
    return {id(v) for v in autograd.topological_order(roots, lambda value: value.inputs)}
