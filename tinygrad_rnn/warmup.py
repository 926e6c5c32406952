"""Compile the numba kernels ahead of their first use: ``python -m tinygrad_rnn.warmup``.

A kernel compiles at its first call for each dtype, which takes seconds, and
numba keeps the machine code on disk (next to the package, or under
NUMBA_CACHE_DIR). This runs RNN (tanh and ReLU), LSTM and GRU once, forward
and backward, in float32 and float64, with inputs that need a gradient and
inputs that do not: the code ``tg.scan`` generates for them serves every
size, so later processes load it from that cache instead. Other cells
(PeepholeLSTM, CIFGLSTM, IndRNN, MinGRU, LayerNormLSTM and your own) compile
at their first use, and are cached from then on.
"""

from __future__ import annotations

import time

import numpy as np

from . import nn, rng
from .creation import randn
from .functional import logsigmoid
from .nn.utils.rnn import pack_sequence

# the built-in layers, and the keyword arguments that pick their cell
LAYERS = [(nn.RNN, {"nonlinearity": "tanh"}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.GRU, {})]


def warm_up(dtypes=(np.float32, np.float64)) -> float:
    """Run every built-in layer forward and backward in each dtype; the seconds it took.

    The random generator is left as it was: a script may call this after ``tg.manual_seed``.
    """
    started = time.perf_counter()
    state = rng.generator().bit_generator.state
    try:
        for dtype in dtypes:
            for layer, options in LAYERS:
                rnn = layer(3, 4, bidirectional=True, **options).to(dtype)
                for input_needs_grad in (True, False):  # two programs: with the input's gradient, and without
                    # sequences of different lengths: the packed path every layer takes
                    packed = pack_sequence([randn(5, 3, dtype=dtype, requires_grad=input_needs_grad),
                                            randn(2, 3, dtype=dtype)], enforce_sorted=True)
                    output, _ = rnn(packed)
                    output.data.sum().backward()
            x = randn(4, dtype=dtype, requires_grad=True)
            (x.sigmoid() + logsigmoid(x)).sum().backward()  # the pointwise kernels
    finally:
        rng.generator().bit_generator.state = state
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"tinygrad_rnn: kernels compiled or loaded from numba's cache in {warm_up():.1f} s")
