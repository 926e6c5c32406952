"""Anomaly mode: find the op that first turned finite numbers into NaN or inf.

    with tg.detect_anomaly():
        loss = model(x)          # each op remembers the line of your code that made it
        loss.backward()          # AnomalyError at the first op whose forward or backward
                                 # produced NaN or inf

Inside the block every op's output is checked in forward, and every
gradient an op's backward returns is checked in backward. The op to blame
is the first one, in execution order, whose result is not finite although
what it was given was:

- inf from finite inputs (an overflow, log(0), x / 0) is reported as inf;
- NaN from inputs without NaN (0 / 0, inf - inf, log(-1)) is reported as NaN;
- an inf that merely passes through (x + a -inf mask) is not an anomaly, so
  masks keep working; NaN never passes: an op given NaN that no op produced
  (it came from a leaf's data, or from a tensor computed outside the
  block) is reported as such.

The error names the op, forward or backward, the shape, and where the op
was created: the first stack frame outside tinygrad_rnn (file, line,
function). Outside the block nothing is recorded or checked: the tape pays
one boolean test per op and per backward node. The mode belongs to the
thread that switched it on; other threads run unchecked.
"""

from __future__ import annotations

import sys

import numpy as np

from .switch import Flip, Switch

_PACKAGE = __name__.rpartition(".")[0]


class AnomalyError(RuntimeError):
    """A NaN or inf produced under anomaly mode.

    Attributes: ``op`` (the primitive's name), ``phase`` ('forward' or
    'backward'), ``shape`` (of the bad output or gradient), ``kind`` ('nan'
    or 'inf') and ``created_at`` ((file, line, function) or None).
    """

    def __init__(self, message: str, op: str, phase: str, shape: tuple, kind: str, created_at):
        super().__init__(message)
        self.op, self.phase, self.shape, self.kind, self.created_at = op, phase, shape, kind, created_at


anomaly_mode = Switch(False)  # read by the tape at every op and backward node


def detect_anomaly() -> Flip:
    """``with detect_anomaly():`` (or ``@detect_anomaly()``) checks every op for NaN and inf."""
    return anomaly_mode.to(True)


class set_detect_anomaly(Flip):  # noqa: N801  (PyTorch's name; a function to its users)
    """``set_detect_anomaly(mode)`` switches anomaly mode on or off now; used as a
    context manager, it also restores the previous mode on exit (as in PyTorch)."""

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_detect_anomaly: mode must be a bool, got {type(mode).__name__}")
        super().__init__(anomaly_mode, bool(mode))
        super().__enter__()

    def __enter__(self):
        return self


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread."""
    return anomaly_mode.value


# -- the checks the tape calls while anomaly mode is on ---------------------------------


def user_frame():
    """(file, line, function) of the innermost caller outside tinygrad_rnn, or None."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != _PACKAGE and not module.startswith(_PACKAGE + "."):
            return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


def check_forward(node, inputs: tuple, output: np.ndarray) -> None:
    """Record where ``node`` was created; raise if its forward made NaN or inf."""
    node.created_at = user_frame()
    if output.dtype.kind != "f" or np.isfinite(output).all():
        return
    arrays = [t.data for t in inputs]
    shapes = ", ".join(str(a.shape) for a in arrays)
    given = f"(input shapes {shapes})"
    for i, array in enumerate(arrays):
        if array.dtype.kind == "f" and np.isnan(array).any():
            _raise(node, "forward", "nan", output.shape,
                   f"was given NaN in input {i} {given}; no op under anomaly mode produced it: it "
                   "comes from a tensor's data or from a computation outside detect_anomaly()")
    if np.isnan(output).any():
        _raise(node, "forward", "nan", output.shape, f"produced NaN from inputs without NaN {given}")
    if all(np.isfinite(a).all() for a in arrays if a.dtype.kind == "f"):
        _raise(node, "forward", "inf", output.shape, f"produced inf from finite inputs {given}")


def check_backward(node, grad, input_grads: tuple) -> None:
    """Raise if ``node.backward`` turned the gradient ``grad`` into NaN or inf."""
    incoming = _values(grad)
    for i, input_grad in enumerate(input_grads):
        values = _values(input_grad)
        if values is None or np.isfinite(values).all():
            continue
        shape = node.parents[i].shape
        if np.isnan(incoming).any():
            _raise(node, "backward", "nan", shape,
                   f"received a gradient (shape {incoming.shape}) that already holds NaN; it was "
                   "passed to backward() or summed from the uses of a tensor")
        if np.isnan(values).any():
            _raise(node, "backward", "nan", shape,
                   f"produced NaN in the gradient of input {i} from a gradient without NaN")
        if np.isfinite(incoming).all():
            _raise(node, "backward", "inf", shape,
                   f"produced inf in the gradient of input {i} from a finite gradient")


def _values(grad):
    grad = getattr(grad, "values", grad)  # a SliceGrad carries its values
    return getattr(grad, "data", grad)  # a recorded backward passes Tensors


def _raise(node, phase: str, kind: str, shape: tuple, what: str):
    created_at = getattr(node, "created_at", None)
    if created_at is None:
        where = "created outside detect_anomaly() (run the forward inside it to see where)"
    else:
        file, line, function = created_at
        where = f"created at {file}:{line} in {function}"
    op = f"'{node.name}'" if phase == "forward" else f"the backward of '{node.name}'"
    size = "output" if phase == "forward" else "gradient"
    raise AnomalyError(f"anomaly: {op} {what}; {size} shape {shape}; the op was {where}",
                       node.name, phase, shape, kind, created_at)
