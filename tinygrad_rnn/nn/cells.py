"""Recurrent cells: one time step, written as the textbook equations.

Each step is a plain function of tensors built from primitives only, so the
tape records it like any other expression; unrolling it over a sequence and
calling backward() *is* backpropagation through time. The Cell modules hold
the weights with PyTorch's names, shapes and gate order.

Weights are stacked by gate: ``weight_ih`` is (G*H, input_size) and
``weight_hh`` (G*H, H), with G = 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).
``@registered`` over a cell records its state, gates and weights
(nn/recurrences.py), so that every recurrent layer can run it by name.
"""

from __future__ import annotations

import math

import numpy as np

from .. import arguments, rng
from .. import functional as F
from ..tensor import Tensor
from .module import Module, Parameter
from .recurrences import Weight, registered, stacked, vector


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """x W^T + b for a batch of rows x (N, in)."""
    out = x @ weight.T
    return out if bias is None else out + bias


@registered(states=1, gates=1, weights=stacked(1))
def rnn_tanh_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).  x (N, in), h (N, H) -> (N, H)."""
    return (_affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)).tanh()


@registered(states=1, gates=1, weights=stacked(1))
def rnn_relu_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """h_t = relu(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).  x (N, in), h (N, H) -> (N, H)."""
    return (_affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)).relu()


@registered(states=2, gates=4, weights=stacked(4))
def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step. x (N, in), state (h, c) each (N, H) -> (h_t, c_t).

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)    input gate
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)    forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       candidate cell
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)    output gate
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)
    """
    h, c = state
    gates = _affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)
    i_t, f_t, g_t, o_t = gates.chunk(4, dim=1)
    i_t, f_t, g_t, o_t = i_t.sigmoid(), f_t.sigmoid(), g_t.tanh(), o_t.sigmoid()
    c_t = f_t * c + i_t * g_t
    h_t = o_t * c_t.tanh()
    return h_t, c_t


@registered(states=1, gates=3, weights=stacked(3))
def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step. x (N, in), h (N, H) -> h_t (N, H).

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)           reset gate
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)           update gate
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))      candidate
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """
    x_r, x_z, x_n = _affine(x, weight_ih, bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = _affine(h, weight_hh, bias_hh).chunk(3, dim=1)
    r_t = (x_r + h_r).sigmoid()
    z_t = (x_z + h_z).sigmoid()
    n_t = (x_n + r_t * h_n).tanh()
    h_t = (1 - z_t) * n_t + z_t * h
    return h_t


@registered(states=2, gates=4, weights=(*stacked(4)[:2], vector("weight_ci"), vector("weight_cf"),
                                              vector("weight_co"), *stacked(4)[2:]))
def peephole_lstm_cell(x, state, weight_ih, weight_hh, weight_ci, weight_cf, weight_co, bias_ih=None, bias_hh=None):
    """An LSTM whose gates also see the cell (Gers and Schmidhuber 2000, "Recurrent nets that time
    and count"). x (N, in), state (h, c) each (N, H), peepholes weight_c* (H,) -> (h_t, c_t).

        i_t = sigmoid(W_i x_t + U_i h_{t-1} + p_i * c_{t-1} + b_i)
        f_t = sigmoid(W_f x_t + U_f h_{t-1} + p_f * c_{t-1} + b_f)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        c_t = f_t * c_{t-1} + i_t * g_t
        o_t = sigmoid(W_o x_t + U_o h_{t-1} + p_o * c_t + b_o)     the new cell
        h_t = o_t * tanh(c_t)
    """
    h, c = state
    gates = _affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)
    a_i, a_f, a_g, a_o = gates.chunk(4, dim=1)
    i_t = (a_i + weight_ci * c).sigmoid()
    f_t = (a_f + weight_cf * c).sigmoid()
    g_t = a_g.tanh()
    c_t = f_t * c + i_t * g_t
    o_t = (a_o + weight_co * c_t).sigmoid()
    h_t = o_t * c_t.tanh()
    return h_t, c_t


@registered(states=2, gates=3, weights=stacked(3))
def cifg_lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """An LSTM whose forget gate is one minus its input gate (coupled input and forget gate, CIFG:
    Greff et al. 2017, "LSTM: A Search Space Odyssey"). Gates i, g, o stacked: 3H rows.

        i_t = sigmoid(W_i x_t + U_i h_{t-1} + b_i)
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)
        o_t = sigmoid(W_o x_t + U_o h_{t-1} + b_o)
        c_t = (1 - i_t) * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)
    """
    h, c = state
    gates = _affine(x, weight_ih, bias_ih) + _affine(h, weight_hh, bias_hh)
    a_i, a_g, a_o = gates.chunk(3, dim=1)
    i_t, g_t, o_t = a_i.sigmoid(), a_g.tanh(), a_o.sigmoid()
    c_t = (1 - i_t) * c + i_t * g_t
    h_t = o_t * c_t.tanh()
    return h_t, c_t


@registered(states=1, gates=1, weights=(Weight("weight_ih", lambda i, h: (h, i)), vector("weight_hh", init="unit"),
                                              vector("bias_ih", bias=True)))
def indrnn_cell(x, h, weight_ih, weight_hh, bias_ih=None):
    """Independently recurrent: each unit sees only its own past (Li et al. 2018, "Independently
    Recurrent Neural Network (IndRNN)"). weight_hh is a vector u (H,).

        h_t = relu(W x_t + u * h_{t-1} + b)
    """
    return (_affine(x, weight_ih, bias_ih) + weight_hh * h).relu()


@registered(states=1, gates=2, weights=(Weight("weight_ih", lambda i, h: (2 * h, i)), vector("bias_ih", 2, bias=True)))
def mingru_cell(x, h, weight_ih, bias_ih=None):
    """A GRU whose gate and candidate read only the input (Feng et al. 2024, "Were RNNs All We
    Needed?"): the recurrence is linear in h, which is what lets it train in parallel.
    weight_ih stacks W_z and W_h: (2H, in).

        z_t = sigmoid(W_z x_t + b_z)
        h~_t = W_h x_t + b_h
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
    """
    a_z, candidate = _affine(x, weight_ih, bias_ih).chunk(2, dim=1)
    z_t = a_z.sigmoid()
    return (1 - z_t) * h + z_t * candidate


def layer_norm(v: Tensor, gain: Tensor, shift: Tensor, eps: float = 1e-5) -> Tensor:
    """(v - mean) / sqrt(var + eps) * gain + shift, over the features of each row (N, F)."""
    return F.layer_norm(v, v.shape[-1], gain, shift, eps)


@registered(states=2, gates=4, weights=(
    *stacked(4)[:2], vector("ln_ih_weight", 4, "ones"), vector("ln_ih_bias", 4, "zeros"),
    vector("ln_hh_weight", 4, "ones"), vector("ln_hh_bias", 4, "zeros"), vector("ln_cell_weight", 1, "ones"),
    vector("ln_cell_bias", 1, "zeros"), vector("bias", 4, "zeros", bias=True)))
def layernorm_lstm_cell(x, state, weight_ih, weight_hh, ln_ih_weight, ln_ih_bias, ln_hh_weight, ln_hh_bias,
                        ln_cell_weight, ln_cell_bias, bias=None):
    """An LSTM with layer normalisation (Ba, Kiros and Hinton 2016, "Layer Normalization"): the
    input and recurrent contributions to the gates are normalised apart, and so is the cell
    before its tanh. Gates i, f, g, o stacked: 4H rows; LN(v; gain, shift) over the features.

        a_t = LN(W x_t; ih) + LN(U h_{t-1}; hh) + b
        i_t, f_t, g_t, o_t = sigmoid, sigmoid, tanh, sigmoid of the four parts of a_t
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(LN(c_t; cell))
    """
    h, c = state
    gates = layer_norm(x @ weight_ih.T, ln_ih_weight, ln_ih_bias) + layer_norm(h @ weight_hh.T, ln_hh_weight,
                                                                               ln_hh_bias)
    if bias is not None:
        gates = gates + bias
    a_i, a_f, a_g, a_o = gates.chunk(4, dim=1)
    i_t, f_t, g_t, o_t = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
    c_t = f_t * c + i_t * g_t
    h_t = o_t * layer_norm(c_t, ln_cell_weight, ln_cell_bias).tanh()
    return h_t, c_t


GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # of the Cell modules below


def check_sizes(owner: str, input_size, hidden_size) -> None:
    """The sizes every cell and recurrent layer takes: ints >= 1."""
    arguments.integer(owner, "input_size", input_size, low=1)
    arguments.integer(owner, "hidden_size", hidden_size, low=1)


def uniform_parameter(shape: tuple, hidden_size: int, dtype=np.float32) -> Parameter:
    """U(-1/sqrt(H), 1/sqrt(H)), PyTorch's initialisation of every recurrent weight."""
    bound = 1 / math.sqrt(hidden_size)
    return Parameter(rng.generator().uniform(-bound, bound, shape).astype(dtype))


def nonlinearity_mode(owner: str, nonlinearity: str) -> str:
    """The mode (a key of GATES, a recurrence's name) of an Elman RNN with this nonlinearity."""
    return "rnn_" + arguments.choice(owner, "nonlinearity", nonlinearity, ("tanh", "relu"))


class _CellBase(Module):
    """Holds weight_ih (G*H, in), weight_hh (G*H, H), bias_ih and bias_hh (G*H,)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool):
        super().__init__()
        check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = GATES[mode] * hidden_size
        self.weight_ih = uniform_parameter((rows, input_size), hidden_size)
        self.weight_hh = uniform_parameter((rows, hidden_size), hidden_size)
        if bias:
            self.bias_ih = uniform_parameter((rows,), hidden_size)
            self.bias_hh = uniform_parameter((rows,), hidden_size)
        else:
            self.bias_ih = self.bias_hh = None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, input: Tensor, hx: Tensor | None):
        """Batch a 1-D input, check shapes, and default hx to zeros."""
        name = type(self).__name__
        arguments.instance(name, "input", input, Tensor)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: input must be (N, input_size) or (input_size,), got shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input has {input.shape[-1]} features but input_size is {self.input_size} "
                f"(input shape {input.shape})"
            )
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input dtype {input.dtype} differs from the weights' {self.weight_ih.dtype}")
        batched = input.ndim == 2
        x = input if batched else input.reshape(1, -1)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if hx is None:
            return x, Tensor(np.zeros((x.shape[0], self.hidden_size), input.dtype)), batched
        arguments.instance(name, "hx", hx, Tensor)
        if hx.shape != expected:
            raise ValueError(f"{name}: hx has shape {hx.shape}, expected {expected}")
        if hx.dtype != input.dtype:
            raise TypeError(f"{name}: hx dtype {hx.dtype} differs from the input's {input.dtype}")
        return x, (hx if batched else hx.reshape(1, -1)), batched


class RNNCell(_CellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu.

    ``forward(input (N, in) or (in,), hx (N, H) or (H,) = zeros) -> h' (N, H) or (H,)``
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        super().__init__(nonlinearity_mode("RNNCell", nonlinearity), input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h_t = cell(x, h, *self._weights())
        return h_t if batched else h_t.reshape(-1)


class LSTMCell(_CellBase):
    """c' = f*c + i*g, h' = o*tanh(c'), gates i, f, g, o stacked in that order.

    ``forward(input (N, in) or (in,), hx=(h, c) each (N, H) or (H,) = zeros) -> (h', c')``
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__("lstm", input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        x, h, batched = self._prepare(input, h)
        _, c, _ = self._prepare(input, c)
        h_t, c_t = lstm_cell(x, (h, c), *self._weights())
        return (h_t, c_t) if batched else (h_t.reshape(-1), c_t.reshape(-1))


class GRUCell(_CellBase):
    """h' = (1-z)*n + z*h with n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), gates r, z, n.

    ``forward(input (N, in) or (in,), hx (N, H) or (H,) = zeros) -> h' (N, H) or (H,)``
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__("gru", input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        h_t = gru_cell(x, h, *self._weights())
        return h_t if batched else h_t.reshape(-1)
