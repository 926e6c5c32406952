"""Hand-written recurrences: one primitive runs a layer's direction over a whole sequence.

No layer runs these: the layers' fused path is tg.scan's generated step
(ops/scan.py). They stay as the benchmark the generated kernels are measured
against (``python -m tinygrad_rnn.bench rnn``, "hand-written"), until those
match them everywhere. Their backward is backpropagation through time written
out by hand (kernels/recurrent.py); the property tests hold them equal to the
composed layers to 1e-10 in float64, values and every gradient.

A primitive has one output here, so the result is the packed outputs of every
step (rows, H) with the final states stacked below them: h_n (N, H), and c_n
(N, H) for the LSTM. The layer slices it; slicing is cheap in backward.

Inputs, in order: packed ``x`` (rows, input_size); ``h0`` (N, H) (and ``c0``);
``weight_ih`` (G*H, input_size); ``weight_hh`` (G*H, H); optionally
``bias_ih`` and ``bias_hh`` (G*H,). Params: ``batch_sizes`` (rows per step,
non-increasing, N first), ``reverse`` (walk the steps from the last).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..kernels import recurrent as kernel
from ..kernels.threads import one_thread_if_small

__all__ = ["RNNSequence", "LSTMSequence", "GRUSequence"]


class _Sequence(Function):
    """What the three recurrences share: the checks, the calls into their kernels, what
    backward keeps. Each subclass gives its sizes and its kernels."""

    gates = 1  # G: weight rows per hidden unit
    states = 1  # h0, or h0 and c0
    layer = "RNN"
    run_forward = run_backward = None  # the recurrence's pair of functions in kernels/recurrent.py
    reads_output = False  # the kernels' backward reads the arrays forward kept

    @property
    def reads_inputs(self) -> tuple:
        """weight_hh always (it carries dh back through time), weight_ih for dx, x for dW_ih;
        never the initial states or the biases."""
        x, w_ih = 0, 1 + self.states
        needs = self.needs_input_grad
        return (w_ih + 1,) + ((x,) if needs[w_ih] else ()) + ((w_ih,) if needs[x] else ())

    def recording(self, output):
        """The hand-written BPTT runs on ndarrays only: it cannot record itself."""
        raise RuntimeError(
            f"{self.name}: backward with create_graph=True (a derivative of a gradient) is not "
            f"supported through the fused {self.layer}; build the layer with fused=False"
        )

    def _split(self, arrays) -> tuple:
        """(x, states, w_ih, w_hh, b_ih, b_hh); biases may be None."""
        first_weight = 1 + self.states
        x, states = arrays[0], arrays[1:first_weight]
        w_ih, w_hh, b_ih, b_hh = (*arrays[first_weight:], None, None)[:4]
        return x, states, w_ih, w_hh, b_ih, b_hh

    def _unpack(self, arrays, batch_sizes):
        """(x, states, w_ih, w_hh, b_ih, b_hh) after checking every shape, in the dtype the
        kernels compute in: float16 becomes float32 (numba compiles no float16; forward and
        backward round their results back to float16)."""
        first_weight = 1 + self.states
        if len(arrays) not in (first_weight + 2, first_weight + 4):
            raise TypeError(
                f"{self.name}: expected x, {self.states} state(s), weight_ih, weight_hh and "
                f"optionally bias_ih, bias_hh; got {len(arrays)} arrays"
            )
        x, states, w_ih, w_hh, b_ih, b_hh = self._split(arrays)
        shapes = ", ".join(str(a.shape) for a in arrays)
        batch_sizes = np.asarray(batch_sizes)
        if batch_sizes.ndim != 1 or batch_sizes.dtype.kind not in "iu" or len(batch_sizes) == 0:
            raise ValueError(f"{self.name}: batch_sizes must be a non-empty 1-D int array, got {batch_sizes!r}")
        if batch_sizes[-1] < 1 or np.any(np.diff(batch_sizes) > 0):
            raise ValueError(f"{self.name}: batch_sizes must be positive and non-increasing, got {batch_sizes.tolist()}")
        if x.ndim != 2 or x.shape[0] != batch_sizes.sum():
            raise ValueError(
                f"{self.name}: x must be (sum(batch_sizes) = {batch_sizes.sum()}, input_size), got {x.shape}"
            )
        hidden = w_hh.shape[-1]
        rows = self.gates * hidden
        expected = [(int(batch_sizes[0]), hidden)] * self.states + [(rows, x.shape[1]), (rows, hidden)]
        expected += [(rows,)] * (len(arrays) - first_weight - 2)
        if [a.shape for a in arrays[1:]] != expected:
            raise ValueError(
                f"{self.name}: input shapes {shapes} do not fit x (rows, in) with states (N, H), "
                f"weight_ih ({self.gates}H, in), weight_hh ({self.gates}H, H) and biases ({self.gates}H,), "
                f"N = batch_sizes[0] = {batch_sizes[0]}"
            )
        if any(a.dtype != x.dtype for a in arrays) or x.dtype.kind != "f":
            raise TypeError(f"{self.name}: all inputs must share one float dtype, got "
                            + ", ".join(str(a.dtype) for a in arrays))
        self.half = x.dtype == np.float16
        if self.half:
            arrays = tuple(a.astype(np.float32) for a in arrays)
        return self._split(arrays)

    @staticmethod
    def _threads(batch_sizes, w_hh):
        """BLAS on one thread through the time loop if its per-step GEMM is small (kernels/threads.py)."""
        return one_thread_if_small(int(batch_sizes[0]), w_hh.size)

    def _output(self, y: np.ndarray) -> np.ndarray:
        """The kernel's result in the inputs' dtype."""
        return y.astype(np.float16) if self.half else y

    def _compute(self, grad: np.ndarray) -> np.ndarray:
        """The gradient in the dtype the kernels compute in."""
        return grad.astype(np.float32) if self.half else grad

    def forward(self, *arrays, batch_sizes, reverse=False):
        return self._run(arrays, batch_sizes, reverse)

    def _run(self, arrays, batch_sizes, reverse, **options):
        """Checks, then ``run_forward`` over the whole sequence; keeps what backward reads."""
        x, states, w_ih, w_hh, b_ih, b_hh = self._unpack(arrays, batch_sizes)
        save = self.needs_input_grad is not None
        with self._threads(batch_sizes, w_hh):
            y, saved = self.run_forward(x, *states, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse, save, **options)
        if save:
            self.x, self.w_ih, self.w_hh, self.has_bias = x, w_ih, w_hh, b_ih is not None
            self.batch_sizes, self.reverse, self.y, self.saved = batch_sizes, reverse, y, saved
            self.options = options
        return self._output(y)

    def backward(self, grad):
        with self._threads(self.batch_sizes, self.w_hh):
            grads = self.run_backward(self._compute(grad), self.y, self.saved, self.x, self.w_ih, self.w_hh,
                                      self.has_bias, self.batch_sizes, self.reverse, self._weight_needs(),
                                      **self.options)
        return self._trim(grads)

    def _weight_needs(self) -> tuple:
        """Which of (x, w_ih, w_hh, b_ih, b_hh) need a gradient."""
        needs = self.needs_input_grad
        first_weight = 1 + self.states
        return (needs[0], *needs[first_weight:], False, False)[:5]

    def _trim(self, grads: tuple) -> tuple:
        """Drop the bias gradients of a layer without biases; round float16 ones back."""
        grads = grads if self.has_bias else grads[:-2]
        return tuple(None if g is None else self._output(g) for g in grads)


class RNNSequence(_Sequence):
    """Elman RNN over a packed sequence: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``nonlinearity``: 'tanh' or 'relu'. Returns [outputs (rows, H); h_n (N, H)].
    """

    run_forward, run_backward = staticmethod(kernel.rnn_forward), staticmethod(kernel.rnn_backward)

    def forward(self, *arrays, batch_sizes, reverse=False, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{self.name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        return self._run(arrays, batch_sizes, reverse, relu=nonlinearity == "relu")


class LSTMSequence(_Sequence):
    """LSTM over a packed sequence (gates i, f, g, o). Returns [outputs; h_n; c_n]."""

    gates, states, layer = 4, 2, "LSTM"
    run_forward, run_backward = staticmethod(kernel.lstm_forward), staticmethod(kernel.lstm_backward)


class GRUSequence(_Sequence):
    """GRU over a packed sequence (gates r, z, n). Returns [outputs; h_n]."""

    gates, layer = 3, "GRU"
    run_forward, run_backward = staticmethod(kernel.gru_forward), staticmethod(kernel.gru_backward)
