"""Sequence layers RNN, LSTM and GRU: a cell unrolled over time, stacked and bidirectional.

The layer loop is the whole algorithm: for each layer and direction, apply
the cell at every step to the input of that step and the state of the step
before. Every sequence, padded or packed, is handled as packed data: rows of
all steps back to back, step t holding ``batch_sizes[t]`` rows, longest
sequences first. A shorter sequence simply drops out of the prefix that is
computed, so its state freezes at its own last step, and the reverse
direction, which walks the steps from the end, picks it up at its true end
starting from its initial state. Backpropagation through time needs no code
here: the tape recorded every step.

That is the composed path (``fused=False``), the specification. The default,
``fused=True``, runs each layer and direction as one primitive with
hand-written BPTT (ops/recurrent.py), equal to the composed path to 1e-10.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import arguments, viz
from ..creation import cat, stack
from ..ops.recurrent import GRUSequence, LSTMSequence, RNNSequence
from ..tensor import Tensor
from .cells import GATES, check_sizes, gru_cell, lstm_cell, nonlinearity_mode, rnn_relu_cell, rnn_tanh_cell, uniform_parameter
from .module import Module
from .utils.rnn import PackedSequence, batch_sizes_of

_SINGLE_STATE_CELLS = {"RNN_TANH": rnn_tanh_cell, "RNN_RELU": rnn_relu_cell, "GRU": gru_cell}
_SEQUENCE_OPS = {"RNN_TANH": (RNNSequence, {"nonlinearity": "tanh"}),
                 "RNN_RELU": (RNNSequence, {"nonlinearity": "relu"}),
                 "LSTM": (LSTMSequence, {}), "GRU": (GRUSequence, {})}


def run_direction(step, data: Tensor, batch_sizes: np.ndarray, state: tuple, reverse: bool):
    """Apply ``step(x_t, state) -> state`` over packed ``data``; returns (outputs, final state).

    ``outputs`` is packed like ``data``: the first state component (h) of every step.
    """
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])
    batch = int(batch_sizes[0])
    outputs = [None] * len(batch_sizes)
    for t in reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes)):
        with viz.step(t):  # tags this step's ops, so a drawing of the graph can group them
            size = int(batch_sizes[t])
            x_t = data[int(offsets[t]) : int(offsets[t + 1])]
            if size == batch:
                new = state = step(x_t, state)
            else:  # only the first `size` sequences are still running at step t
                new = step(x_t, tuple(s[:size] for s in state))
                state = tuple(cat([n, s[size:]]) for n, s in zip(new, state))
            outputs[t] = new[0]
    return cat(outputs), state


def run_direction_fused(mode: str, weights: tuple, data: Tensor, batch_sizes: np.ndarray,
                        state: tuple, reverse: bool):
    """``run_direction`` for the cell of ``mode`` as one fused primitive: (outputs, final state).

    The primitive returns the outputs with the final states stacked below them.
    """
    op, params = _SEQUENCE_OPS[mode]
    rows, batch = data.shape[0], state[0].shape[0]
    result = op.apply(data, *state, *(w for w in weights if w is not None),
                      batch_sizes=batch_sizes, reverse=reverse, **params)
    final = tuple(result[rows + k * batch : rows + (k + 1) * batch] for k in range(len(state)))
    return result[:rows], final


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters per layer and direction, and the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, fused: bool = True):
        super().__init__()
        name = type(self).__name__
        check_sizes(name, input_size, hidden_size)
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        for flag, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional),
                            ("fused", fused)):
            arguments.boolean(name, flag, value)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.fused = float(dropout), bidirectional, fused
        self.num_directions = 2 if bidirectional else 1
        rows = GATES[mode] * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes():
                setattr(self, f"weight_ih_l{layer}{suffix}", uniform_parameter((rows, layer_input), hidden_size))
                setattr(self, f"weight_hh_l{layer}{suffix}", uniform_parameter((rows, hidden_size), hidden_size))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", uniform_parameter((rows,), hidden_size))
                    setattr(self, f"bias_hh_l{layer}{suffix}", uniform_parameter((rows,), hidden_size))

    def _suffixes(self) -> tuple:
        return ("", "_reverse")[: self.num_directions]

    def layer_weights(self, layer: int, direction: int) -> tuple:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction; biases may be None."""
        suffix = self._suffixes()[direction]
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(getattr(self, f"{n}_l{layer}{suffix}", None) for n in names)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                    "bidirectional": False, "fused": True}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                text += f", {key}={getattr(self, key)}"
        return text

    @property
    def _state_size(self) -> int:
        return 2 if self.mode == "LSTM" else 1

    def _step(self, weights: tuple):
        if self.mode == "LSTM":
            return lambda x, state: lstm_cell(x, state, *weights)
        cell = _SINGLE_STATE_CELLS[self.mode]
        return lambda x, state: (cell(x, state[0], *weights),)

    # -- input and state shapes ----------------------------------------------------

    def _as_packed(self, input):
        """(data (rows, in), batch_sizes, sorted_indices, unsorted_indices, batched, steps)."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            data, batch_sizes = input.data, batch_sizes_of(name, input)
            batched, steps = True, len(batch_sizes)
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
                raise ValueError(f"{name}: input must be {layout} or unbatched (T, input_size), got shape {input.shape}")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            steps, batch = x.shape[:2]
            if steps == 0 or batch == 0:
                raise ValueError(f"{name}: input shape {input.shape} has an empty sequence or batch")
            data = x.reshape(steps * batch, x.shape[2])
            batch_sizes = np.full(steps, batch)
            sorted_indices = unsorted_indices = None
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(
                f"{name}: input has {data.shape[-1]} features per step but input_size is "
                f"{self.input_size} (input shape {input.shape if isinstance(input, Tensor) else data.shape})"
            )
        if data.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"{name}: input dtype {data.dtype} differs from the weights' {self.weight_ih_l0.dtype}")
        return data, batch_sizes, sorted_indices, unsorted_indices, batched, steps

    def _initial_state(self, hx, batch: int, batched: bool, dtype, sorted_indices) -> tuple:
        """One (L*D, N, H) tensor per state component (h, and c for LSTM)."""
        name = type(self).__name__
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return tuple(Tensor(np.zeros(shape, dtype)) for _ in range(self._state_size))
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            components = tuple(hx)
        else:
            components = (hx,)
        expected = shape if batched else (shape[0], shape[2])
        checked = []
        for label, h in zip(("h_0", "c_0"), components):
            if not isinstance(h, Tensor) or h.shape != expected:
                got = h.shape if isinstance(h, Tensor) else type(h).__name__
                raise ValueError(
                    f"{name}: {label} has shape {got}, expected {expected} = "
                    "(num_layers * num_directions, batch, hidden_size)"
                )
            if h.dtype != dtype:  # else the composed path would silently compute in h's dtype
                raise TypeError(f"{name}: {label} dtype {h.dtype} differs from the weights' {dtype}")
            h = h if batched else h.unsqueeze(1)
            checked.append(h if sorted_indices is None else h[:, sorted_indices])
        return tuple(checked)

    # -- the layer loop ------------------------------------------------------------

    def forward(self, input, hx=None):
        """Run the stacked, possibly bidirectional, recurrence over a sequence.

        input: (T, N, input_size), (N, T, input_size) with batch_first, unbatched
        (T, input_size), or a PackedSequence. hx: (L*D, N, H) (LSTM: a tuple
        (h_0, c_0)), zeros when None. Returns ``output, h_n`` (LSTM: ``output,
        (h_n, c_n)``): output (T, N, D*H) holds the last layer's h at every
        step, both directions concatenated (a PackedSequence for packed
        input); h_n[layer * D + direction] is the state after the last step.
        """
        data, batch_sizes, sorted_indices, unsorted_indices, batched, steps = self._as_packed(input)
        state = self._initial_state(hx, int(batch_sizes[0]), batched, data.dtype, sorted_indices)
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                weights, initial = self.layer_weights(layer, direction), tuple(s[index] for s in state)
                if self.fused:
                    out, final = run_direction_fused(self.mode, weights, data, batch_sizes, initial,
                                                     reverse=direction == 1)
                else:
                    out, final = run_direction(self._step(weights), data, batch_sizes, initial,
                                               reverse=direction == 1)
                outputs.append(out)
                finals.append(final)
            data = outputs[0] if len(outputs) == 1 else cat(outputs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                data = F.dropout(data, self.dropout)

        h_n = tuple(stack([f[k] for f in finals]) for k in range(self._state_size))
        if unsorted_indices is not None:
            h_n = tuple(h[:, unsorted_indices] for h in h_n)
        if not batched:
            h_n = tuple(h.squeeze(1) for h in h_n)
        h_n = h_n if self.mode == "LSTM" else h_n[0]

        if isinstance(input, PackedSequence):
            return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices), h_n
        output = data.reshape(steps, -1, data.shape[1])
        if not batched:
            return output.squeeze(1), h_n
        return (output.transpose(0, 1) if self.batch_first else output), h_n


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, hx=None) -> (output, h_n)``, shapes as in RNNBase.forward.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, fused: bool = True):
        super().__init__(nonlinearity_mode("RNN", nonlinearity), input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, fused)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + f", nonlinearity={self.nonlinearity!r}"


class LSTM(RNNBase):
    """Long short-term memory; gates i, f, g, o stacked in that order in each weight.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 fused: bool = True):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, fused)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n stacked in that order in each weight.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, h_0=None) -> (output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 fused: bool = True):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, fused)
