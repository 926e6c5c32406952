"""Sequence layers: a cell unrolled over time, stacked and bidirectional.

The layer loop is the whole algorithm: for each layer and direction, scan
the cell over the sequence (``tg.scan``), each step reading the input of
that step and the state of the step before. Every sequence, padded or
packed, is handled as packed data: rows of all steps back to back, step t
holding ``batch_sizes[t]`` rows, longest sequences first. A shorter
sequence simply drops out of the prefix that is computed, so its state
freezes at its own last step, and the reverse direction, which walks the
steps from the end, picks it up at its true end from its initial state.

Backpropagation through time needs no code here. With ``fused=False`` the
tape records every step, and backward() through them is BPTT. With
``fused=True``, the default, each layer and direction is one primitive:
tg.scan's compiled step, whose backward is the tape's own rules recorded
on the traced cell, for every cell (held equal to the tape to 1e-10).

Any registered recurrence (nn/recurrences.py) runs in these layers:
RNN, LSTM and GRU with PyTorch's names, and PeepholeLSTM, CIFGLSTM,
IndRNN, MinGRU and LayerNormLSTM.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import functional as F
from .. import arguments
from ..creation import cat, stack
from ..scan import scan
from ..tensor import Tensor
from .cells import check_sizes, nonlinearity_mode
from .module import Module
from .recurrences import Recurrence, recurrence
from .utils.rnn import PackedSequence, batch_sizes_of


def _layer_step(recurrence: Recurrence, *weights_carry_x):
    """scan's step for one layer and direction: (new state, h)."""
    *weights, carry, x_t = weights_carry_x
    new = recurrence.step(x_t, carry if isinstance(carry, tuple) else (carry,), tuple(weights))
    return (new if recurrence.states > 1 else new[0]), new[0]


def run_direction(recurrence: Recurrence, weights: tuple, data: Tensor, batch_sizes: np.ndarray, state: tuple,
                  reverse: bool, compiled: bool = True):
    """Scan the cell over packed ``data``: (outputs packed like ``data``, final state as a tuple)."""
    step = functools.partial(_layer_step, recurrence, *weights)  # the same weights, the same compiled step
    final, outputs = scan(step, state if recurrence.states > 1 else state[0], data, batch_sizes=batch_sizes,
                          reverse=reverse, compiled=compiled)
    return outputs, (final if recurrence.states > 1 else (final,))


class RNNBase(Module):
    """A stack of layers of any registered recurrence; RNN, LSTM, GRU and the others subclass it.

    ``RNNBase(recurrence, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, fused=True)``: ``recurrence`` a name in
    ``nn.RECURRENCES`` or a Recurrence. ``fused=True`` runs each layer and direction
    as one primitive (see the module's docstring); ``fused=False`` records every step on the tape.
    """

    def __init__(self, recurrence_name, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, fused: bool = True):
        super().__init__()
        name = type(self).__name__
        self.recurrence = recurrence(name, recurrence_name)
        check_sizes(name, input_size, hidden_size)
        arguments.integer(name, "num_layers", num_layers, low=1)
        arguments.probability(name, "dropout", dropout)
        if dropout and num_layers == 1:  # as PyTorch warns
            warnings.warn(f"{name}: dropout is applied between stacked layers, after all but the last, so with "
                          f"num_layers=1 it does nothing; got dropout={dropout} and num_layers=1", UserWarning,
                          stacklevel=3)
        for flag, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional),
                            ("fused", fused)):
            arguments.boolean(name, flag, value)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.fused = float(dropout), bidirectional, fused
        self.num_directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes():
                for weight in self.recurrence.weights_for(bias):
                    setattr(self, f"{weight.name}_l{layer}{suffix}", weight.make(layer_input, hidden_size))

    def _suffixes(self) -> tuple:
        return ("", "_reverse")[: self.num_directions]

    def layer_weights(self, layer: int, direction: int) -> tuple:
        """The weights of one layer and direction, in the order the cell takes them."""
        suffix = self._suffixes()[direction]
        return tuple(getattr(self, f"{w.name}_l{layer}{suffix}") for w in self.recurrence.weights_for(self.bias))

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
        return self.recurrence.states

    # -- input and state shapes ----------------------------------------------------

    def _as_packed(self, input):
        """(data (rows, in), batch_sizes, sorted_indices, unsorted_indices, batched, steps)."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            data, batch_sizes = input.data, batch_sizes_of(name, input)
            batched, steps = True, len(batch_sizes)
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
        else:
            arguments.instance(name, "input", input, (Tensor, PackedSequence))
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
        for weight_name, weight in self.named_parameters():  # one assigned another dtype's .data
            if weight.dtype != data.dtype:
                raise TypeError(f"{name}: {weight_name} has dtype {weight.dtype}, but the input and weight_ih_l0 "
                                f"have {data.dtype}; convert the whole module with .to(dtype)")
        return data, batch_sizes, sorted_indices, unsorted_indices, batched, steps

    def _initial_state(self, hx, batch: int, batched: bool, dtype, sorted_indices) -> tuple:
        """One (L*D, N, H) tensor per state component (h, and c for LSTM)."""
        name = type(self).__name__
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return tuple(Tensor(np.zeros(shape, dtype)) for _ in range(self._state_size))
        if self._state_size == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                got = f"a {type(hx).__name__} of {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {got}")
            components = tuple(hx)
        else:
            components = (arguments.instance(name, "hx", hx, Tensor),)
        expected = shape if batched else (shape[0], shape[2])
        checked = []
        for label, h in zip(("h_0", "c_0"), components):
            arguments.instance(name, label, h, Tensor)
            if h.shape != expected:
                raise ValueError(
                    f"{name}: {label} has shape {h.shape}, expected {expected} = "
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
                out, final = run_direction(self.recurrence, weights, data, batch_sizes, initial,
                                           reverse=direction == 1, compiled=self.fused)
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
        h_n = h_n if self._state_size == 2 else h_n[0]

        if isinstance(input, PackedSequence):
            return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices), h_n
        output = data.reshape(steps, -1, data.shape[1])
        if not batched:
            return output.squeeze(1), h_n
        return (output.transpose(0, 1) if self.batch_first else output), h_n


class _Named(RNNBase):
    """A layer whose class names its recurrence: ``recurrence_name``, and RNNBase's arguments.

    ``(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, fused=True)``; forward as RNNBase.forward.
    """

    recurrence_name = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, fused: bool = True):
        super().__init__(self.recurrence_name, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, fused)


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, hx=None) -> (output, h_n)``, shapes as in RNNBase.forward.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, fused: bool = True):
        super().__init__(nonlinearity_mode("RNN", nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, fused)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + f", nonlinearity={self.nonlinearity!r}"


class LSTM(_Named):
    """Long short-term memory; gates i, f, g, o stacked in that order in each weight.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``.
    """

    recurrence_name = "lstm"


class GRU(_Named):
    """Gated recurrent unit; gates r, z, n stacked in that order in each weight.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, fused=True)``;
    ``forward(input, h_0=None) -> (output, h_n)``.
    """

    recurrence_name = "gru"


class PeepholeLSTM(_Named):
    """LSTM whose gates also read the cell (Gers and Schmidhuber 2000): ``nn.cells.peephole_lstm_cell``.
    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``; arguments as LSTM."""

    recurrence_name = "peephole_lstm"


class CIFGLSTM(_Named):
    """LSTM with the forget gate coupled to the input gate, f = 1 - i (Greff et al. 2017):
    ``nn.cells.cifg_lstm_cell``. ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``."""

    recurrence_name = "cifg_lstm"


class IndRNN(_Named):
    """h_t = relu(W x_t + u * h_{t-1} + b), each unit its own recurrence (Li et al. 2018):
    ``nn.cells.indrnn_cell``. ``forward(input, h_0=None) -> (output, h_n)``."""

    recurrence_name = "indrnn"


class MinGRU(_Named):
    """minGRU, gate and candidate read only the input (Feng et al. 2024): ``nn.cells.mingru_cell``.
    ``forward(input, h_0=None) -> (output, h_n)``."""

    recurrence_name = "mingru"


class LayerNormLSTM(_Named):
    """LSTM with layer normalisation of its gates and cell (Ba, Kiros and Hinton 2016):
    ``nn.cells.layernorm_lstm_cell``. ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``."""

    recurrence_name = "layernorm_lstm"
