"""A compiled scan: a whole sequence as one primitive, its forward and backward generated from a step.

The compiler (tinygrad_rnn/compiler) turns a step function into a Program
with two compiled functions; this primitive puts them on the tape. Its
inputs are the packed input rows, the initial carry and the tensors the
step closes over; its one output is the final carry and the outputs of
every step, flattened one after another (``Scan.run`` cuts them apart).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..kernels.threads import loop_threads

__all__ = ["Scan"]


class Scan(Function):
    """``program`` over packed ``xs`` (rows, ...) in steps of ``batch_sizes``, from the carry given."""

    def forward(self, xs, *arrays, program, batch_sizes, reverse=False, record=None):
        count = len(program.trace.carry)
        # float16 is computed in float32 (the program was compiled so) and rounded back
        self.dtype, compute = xs.dtype, np.float32 if xs.dtype == np.float16 else xs.dtype
        # C order throughout: numba compiles one version per memory layout of its arguments
        xs, arrays = np.ascontiguousarray(xs, compute), [np.ascontiguousarray(a, compute) for a in arrays]
        carry, params = arrays[:count], arrays[count:]
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(np.int64)
        sizes = np.asarray(batch_sizes, np.int64)
        weight = max((p.size for p in params), default=0)  # a step's GEMM: batch x its largest weight
        self.threads = loop_threads(int(sizes[0]), weight), loop_threads(xs.shape[0], weight)  # loop, hoisted
        result = program.forward(xs, sizes, offsets, reverse, program.dims, *self.threads, *carry, *params,
                                 *program.constants)
        finals, ys, kept = result[:count], result[count], result[count + 1:]
        if program.record:  # every step's carry, after what backward needs
            kept, record.carries = kept[:-count], tuple(c.astype(self.dtype, copy=False) for c in kept[-count:])
        if self.needs_input_grad is not None:
            self.program, self.sizes, self.offsets, self.reverse = program, sizes, offsets, reverse
            self.record = record
            self.shapes = [f.shape for f in finals] + [ys.shape]
            self.params, self.kept = params, kept
        parts = [*finals, *([ys] if program.trace.y is not None else [])]
        return np.concatenate([p.reshape(-1) for p in parts]).astype(self.dtype, copy=False)

    def backward(self, grad):
        sizes = [int(np.prod(s)) for s in self.shapes]
        compute = np.float32 if self.dtype == np.float16 else self.dtype
        pieces = np.split(np.ascontiguousarray(grad, compute), np.cumsum(sizes)[:-1])
        grads = [p.reshape(s) for p, s in zip(pieces, self.shapes)]
        if self.program.trace.y is None:
            grads[-1] = np.zeros(self.shapes[-1], compute)
        xs = np.ascontiguousarray(self.inputs[0], compute)
        result = self.program.backward(xs, self.sizes, self.offsets, self.reverse, self.program.dims, *self.threads,
                                       grads[-1], *grads[:-1], *self.params, *self.program.constants, *self.kept)
        count = len(self.shapes) - 1
        result = tuple(r.astype(self.dtype, copy=False) for r in result)
        if self.program.record:  # the gradient that reached every step's carry, last
            result, self.record._carry_grads = result[:-count], result[-count:]
        return (result[count], *result[:count], *result[count + 1:])

    def recording(self, output):
        raise RuntimeError("scan: backward with create_graph=True (a derivative of a gradient) is not supported "
                           "through a compiled scan; use compiled=False (for a recurrent layer: build it with "
                           "fused=False)")

    @staticmethod
    def run(program, carry: tuple, xs, batch_sizes: np.ndarray, reverse: bool, record=None):
        """Apply the primitive; (final carry as a tuple, packed ys or None). ``record``: a ScanRecord to fill."""
        out = Scan.apply(xs, *carry, *program.trace.param_tensors, program=program, batch_sizes=batch_sizes,
                         reverse=reverse, record=record)
        finals, start = [], 0
        for c in carry:
            finals.append(out[start:start + c.numel()].reshape(c.shape))
            start += c.numel()
        if program.trace.y is None:
            return tuple(finals), None
        y = program.trace.y
        return tuple(finals), out[start:].reshape(xs.shape[0], *y.shape[1:])
