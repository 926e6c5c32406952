"""The recurrent kinds, one table for every test that loops over them.

A test that runs "for every kind" of PyTorch's parametrizes over ``sorted(KINDS)``
(the four kinds, the RNN once per nonlinearity) or over ``LAYER_CLASSES`` (the
three layer classes, each with its defaults) and reads what it needs from the
row: the module classes, their keyword arguments, the gate and state counts, the
cell function and the fused primitive. The cells PyTorch does not have are in
``NEW_LAYERS``. Every recurrence registered in ``nn.RECURRENCES`` is in one of
the two tables (test_recurrences.py checks it): a new cell is one row here.

The table is written out by hand, not read from ``nn.RECURRENCES``: it is the
specification the library's own registry is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinygrad_rnn import nn, ops
from tinygrad_rnn.nn import cells


@dataclass(frozen=True)
class Kind:
    """One recurrent kind: ``layer(input_size, hidden_size, **options)`` and its pieces.

    ``gates``: blocks of ``hidden_size`` rows in ``weight_ih`` (PyTorch's layout);
    ``states``: tensors in the carry (2 for LSTM's ``(h, c)``); ``cell_function``:
    the step of tinygrad_rnn/nn/cells.py; ``sequence_op`` and ``sequence_options``:
    the fused primitive of ops/recurrent.py and its keyword arguments. The PyTorch
    counterparts are ``torch.nn.<layer.__name__>`` and ``torch.nn.<cell.__name__>``.
    """

    name: str
    layer: type
    cell: type
    gates: int
    states: int
    cell_function: object
    sequence_op: type
    options: dict = field(default_factory=dict)
    sequence_options: dict = field(default_factory=dict)

    def make_layer(self, *args, **kwargs) -> nn.Module:
        return self.layer(*args, **self.options, **kwargs)

    def make_cell(self, *args, **kwargs) -> nn.Module:
        return self.cell(*args, **self.options, **kwargs)

    def carry(self, tensors: list):
        """The carry a layer or cell takes: LSTM's tuple ``(h, c)``, the others' one tensor."""
        assert len(tensors) == self.states, (self.name, len(tensors))
        return tuple(tensors) if self.states == 2 else tensors[0]


KINDS = {kind.name: kind for kind in (
    Kind("rnn_tanh", nn.RNN, nn.RNNCell, gates=1, states=1, cell_function=cells.rnn_tanh_cell,
         sequence_op=ops.RNNSequence, sequence_options={"nonlinearity": "tanh"}),
    Kind("rnn_relu", nn.RNN, nn.RNNCell, gates=1, states=1, cell_function=cells.rnn_relu_cell,
         sequence_op=ops.RNNSequence, options={"nonlinearity": "relu"}, sequence_options={"nonlinearity": "relu"}),
    Kind("lstm", nn.LSTM, nn.LSTMCell, gates=4, states=2, cell_function=cells.lstm_cell, sequence_op=ops.LSTMSequence),
    Kind("gru", nn.GRU, nn.GRUCell, gates=3, states=1, cell_function=cells.gru_cell, sequence_op=ops.GRUSequence),
)}

# class name -> class, each once (the RNN with its default tanh): for tests about the classes themselves
LAYER_CLASSES = {kind.layer.__name__: kind.layer for kind in KINDS.values()}
CELL_CLASSES = {kind.cell.__name__: kind.cell for kind in KINDS.values()}

# the recurrences of nn/recurrences.py that PyTorch does not have: registry name -> layer class
NEW_LAYERS = {"peephole_lstm": nn.PeepholeLSTM, "cifg_lstm": nn.CIFGLSTM, "indrnn": nn.IndRNN,
              "mingru": nn.MinGRU, "layernorm_lstm": nn.LayerNormLSTM}
