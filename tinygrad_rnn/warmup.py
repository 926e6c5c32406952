"""Compile the numba kernels ahead of their first use: ``python -m tinygrad_rnn.warmup``.

A kernel compiles at its first call for each dtype, which takes seconds, and
numba keeps the machine code on disk (next to the package, or under
NUMBA_CACHE_DIR). This runs each hand-written kernel once, forward and
backward, in float32 and float64, so that later processes load them from
that cache instead. Cells that ``tg.scan`` compiles (PeepholeLSTM, CIFGLSTM,
IndRNN, MinGRU, LayerNormLSTM and your own) are generated for their sizes:
each compiles at its first use at a size, and is cached from then on.
"""

from __future__ import annotations

import time

import numpy as np

from . import nn, rng
from .creation import randn
from .functional import logsigmoid
from .nn.utils.rnn import pack_sequence

# every layer with a hand-written kernel, and the keyword arguments that pick a kernel
LAYERS = [(nn.RNN, {"nonlinearity": "tanh"}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.GRU, {})]


def warm_up(dtypes=(np.float32, np.float64)) -> float:
    """Run every hand-written kernel forward and backward in each dtype; the seconds it took.

    The random generator is left as it was: a script may call this after ``tg.manual_seed``.
    """
    started = time.perf_counter()
    state = rng.generator().bit_generator.state
    try:
        for dtype in dtypes:
            for layer, options in LAYERS:
                rnn = layer(3, 4, bidirectional=True, **options).to(dtype)
                # sequences of different lengths: the packed path every layer takes
                packed = pack_sequence([randn(5, 3, dtype=dtype, requires_grad=True), randn(2, 3, dtype=dtype)],
                                       enforce_sorted=True)
                output, _ = rnn(packed)
                output.data.sum().backward()
            x = randn(4, dtype=dtype, requires_grad=True)
            (x.sigmoid() + logsigmoid(x)).sum().backward()  # the pointwise kernels
    finally:
        rng.generator().bit_generator.state = state
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"tinygrad_rnn: kernels compiled or loaded from numba's cache in {warm_up():.1f} s")
