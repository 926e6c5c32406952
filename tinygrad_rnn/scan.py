"""tg.scan: a step function applied along a sequence, carrying a state (JAX's lax.scan).

    final_carry, ys = tg.scan(step, init, xs)

``step(carry, x_t) -> (new_carry, y_t)`` is any function of tensors: an LSTM
cell, a peephole LSTM, a minGRU. ``compiled=False`` runs it on the tape, one
step after another; backward() through that loop is backpropagation through
time, with nothing written for it. ``compiled=True`` hands the step to the
compiler (tinygrad_rnn/compiler), which traces it once, derives its backward
from the tape's own rules, and runs both as generated loops.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from . import autograd
from .creation import cat
from .step_contract import as_packed, call_step
from .tensor import Tensor


def scan(step, init, xs, *, reverse: bool = False, batch_sizes=None, compiled: bool = True):
    """Apply ``step(carry, x_t) -> (new_carry, y_t)`` at every step of ``xs``.

    ``init``: the carry, a Tensor or a tuple of Tensors, each (N, ...) with the
    batch first. ``xs``: (T, N, features), or packed rows (sum(batch_sizes),
    features) with ``batch_sizes`` (rows per step, non-increasing, N first,
    as in PackedSequence): a sequence that has ended drops out of the
    batch and its carry stops changing. ``reverse``: walk the steps from the
    last (each packed sequence starts at its own end, from ``init``).
    Tensors the step uses but does not receive (weights, biases) receive
    gradients like any others.

    Returns ``(final_carry, ys)``: the carry after the last step, structured
    like ``init``; the ``y_t`` stacked in step order: (T, N, ...), or packed
    rows like ``xs``; None when the step returns None for ``y_t``.
    """
    carry, single = (init, True) if isinstance(init, Tensor) else (tuple(init), False)
    carry = (carry,) if single else carry
    xs, batch_sizes, padded = as_packed(xs, batch_sizes, carry)
    records = getattr(_recording, "records", None)
    record = None if records is None else ScanRecord(batch_sizes, reverse)
    if compiled:
        from .compiler import compiled_scan  # the compiler is imported only when used

        final, ys = compiled_scan(step, carry, single, xs, batch_sizes, reverse, record)
    else:
        final, ys = _scan_on_tape(step, carry, single, xs, batch_sizes, reverse, record)
    if record is not None:
        records.append(record)
    if ys is not None and padded:
        ys = ys.reshape(len(batch_sizes), int(batch_sizes[0]), *ys.shape[1:])
    return (final[0] if single else final), ys


class ScanRecord:
    """Every step of one scan, kept for study: made inside ``recorded_scans()``.

    ``carries``: for each part of the carry (an LSTM's h and c), the carry
    after every step, as packed rows like ``xs``: (sum(batch_sizes), ...),
    the rows of step t after those of step t - 1 (``per_step`` cuts them).
    ``carry_grads``: after backward, the gradient of the loss with respect
    to each of those carries, dL/dcarry_t, as the carry passes it on (to
    step t + 1, or out as the final carry); None before. Where a step also
    outputs its carry (a layer's h_t is its output), add the output's
    gradient for the whole dL/dh_t.
    """

    def __init__(self, batch_sizes: np.ndarray, reverse: bool):
        self.batch_sizes, self.reverse = batch_sizes, reverse
        self.carries: tuple = ()
        self._carry_grads = None  # set by the compiled scan's backward
        self._probes = []  # on the tape: one zero tensor per step and part, added to the carry

    @property
    def carry_grads(self):
        if self._carry_grads is not None:
            return self._carry_grads
        if all(p.grad is None for step in self._probes for p in step):
            return None  # no backward yet (a carry no gradient reached has None too: a zero)
        return tuple(np.concatenate([np.zeros_like(p.data) if p.grad is None else p.grad
                                     for p in (step[k] for step in self._probes)])
                     for k in range(len(self._probes[0])))

    def per_step(self, rows: np.ndarray) -> list:
        """``rows`` (packed like ``carries``) as one array per step, in step order."""
        return np.split(rows, np.cumsum(self.batch_sizes)[:-1])


_recording = threading.local()


@contextlib.contextmanager
def recorded_scans():
    """``with recorded_scans() as records:`` every scan run inside appends its ScanRecord.

    The layers run one scan per layer and direction, in order, so
    ``records[0]`` is the first layer's (forward direction). On both paths
    (compiled and on the tape); this thread only.
    """
    previous = getattr(_recording, "records", None)
    _recording.records = records = []
    try:
        yield records
    finally:
        _recording.records = previous


def _scan_on_tape(step, carry: tuple, single: bool, xs: Tensor, batch_sizes: np.ndarray, reverse: bool,
                  record: ScanRecord | None = None):
    """The loop itself, every step recorded on the tape: backward() through it is BPTT."""
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    batch = int(batch_sizes[0])
    ys, carries, probes = [None] * len(batch_sizes), [None] * len(batch_sizes), [None] * len(batch_sizes)
    for t in reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes)):
        with autograd.tag(step=t):  # so that tg.viz can draw each step's ops together
            size = int(batch_sizes[t])
            x_t = xs[int(offsets[t]): int(offsets[t + 1])]
            new, ys[t] = call_step(step, carry if size == batch else tuple(c[:size] for c in carry), single, x_t)
            if record is not None:  # a zero added to the carry: its gradient is the carry's
                carries[t] = [n.data.copy() for n in new]
                probes[t] = [Tensor(np.zeros(n.shape, n.dtype), requires_grad=True) for n in new]
                new = tuple(n + p for n, p in zip(new, probes[t]))
            # only the first `size` sequences are still running at step t
            carry = new if size == batch else tuple(cat([n, c[size:]]) for n, c in zip(new, carry))
    if record is not None:
        record.carries = tuple(np.concatenate([c[k] for c in carries]) for k in range(len(carry)))
        record._probes = probes
    if all(y is None for y in ys):
        return carry, None
    if any(y is None for y in ys):
        raise ValueError("scan: step returned None for y_t at some steps and a Tensor at others")
    return carry, cat(ys)
