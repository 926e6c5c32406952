"""numba's first compilation says so on stderr, once; ``python -m tinygrad_rnn.warmup`` does it ahead of time."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.warmup import warm_up

NOTICE = "tinygrad_rnn: compiling numba kernels at their first use"

# In a process whose numba cache starts empty: the user's own numba code, then warm_up, then the
# recurrent layers as a training script uses them, recording what numba still has to compile.
WARM_UP_THEN_TRAIN = """
import numba
import numpy as np
from numba.core import event

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.warmup import warm_up

numba.njit(lambda a: a + 1)(1.0)  # the user's own numba code: not ours to announce
print("after the user's code", flush=True)
warm_up()
print("warmed up", flush=True)


class Recorder(event.Listener):
    compiled = []

    def on_start(self, compiling):
        self.compiled.append(compiling.data["dispatcher"].py_func.__qualname__)

    def on_end(self, compiling):
        pass


event.register("numba:compile", Recorder())
for dtype in (np.float32, np.float64):
    for layer in (nn.RNN, nn.LSTM, nn.GRU):
        rnn = layer(8, 16, num_layers=2, batch_first=True).to(dtype)
        x = tg.randn(4, 7, 8, dtype=dtype, requires_grad=True)
        output, _ = rnn(x)
        output.sum().backward()
        with tg.no_grad():
            rnn(x)
    x = tg.Tensor(np.linspace(-3, 3, 5).astype(dtype), requires_grad=True)
    x.sigmoid().sum().backward()
print("compiled after warm_up:", Recorder.compiled)
"""


# a cell the warm-up does not compile: its first use says so
GENERATED_CELL = """
import tinygrad_rnn as tg
from tinygrad_rnn import nn

output, _ = nn.MinGRU(3, 11)(tg.randn(4, 2, 3))
output.sum().backward()
"""


def run_in_process_with_cache(cache, code: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NUMBA_")}
    env.update(NUMBA_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)


def test_first_compilation_says_so_once_and_warm_up_leaves_nothing_to_compile(tmp_path):
    first = run_in_process_with_cache(tmp_path, WARM_UP_THEN_TRAIN)  # the cache starts empty
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.splitlines() == ["after the user's code", "warmed up", "compiled after warm_up: []"]
    assert first.stderr.count(NOTICE) == 1, first.stderr
    assert "python -m tinygrad_rnn.warmup" in first.stderr
    second = run_in_process_with_cache(tmp_path, WARM_UP_THEN_TRAIN)  # loaded from disk: nothing to say
    assert second.returncode == 0, second.stderr[-3000:]
    assert NOTICE not in second.stderr
    cell = run_in_process_with_cache(tmp_path, GENERATED_CELL)  # the built-in cells cached, this one not
    assert cell.returncode == 0, cell.stderr[-3000:]
    assert cell.stderr.count(NOTICE) == 1, cell.stderr
    assert "once for each cell" in cell.stderr


def test_warm_up_leaves_the_random_generator_as_it_was():
    tg.manual_seed(3)
    expected = tg.randn(5).numpy()
    tg.manual_seed(3)
    warm_up(dtypes=(np.float64,))  # compiled already in this process, or loaded from the cache
    np.testing.assert_array_equal(tg.randn(5).numpy(), expected)
