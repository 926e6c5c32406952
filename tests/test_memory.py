"""Resident memory stays flat over long runs: backward() frees the graph, detach() cuts it.

Memory is the resident set (/proc/self/statm) of a fresh process, read
after a warm-up (so caches, numba's compiled kernels and the optimizer's
buffers exist) and again after thousands of steps. A fresh process, because
in a long-lived one, memory that earlier work freed but the allocator kept
would absorb a leak without the resident set growing. A control run keeps
every step's graph alive and must blow through the same bound: the
measurement can see a leak of the size a forgotten graph makes.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")

STEPS, WARMUP = 2000, 200
BOUND = 3 * 2**20  # bytes of growth allowed over STEPS steps: ~1.5 kB per step
BATCH, FEATURES, HIDDEN, CHUNK = 4, 8, 16, 5


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(step, steps: int) -> int:
    """Resident bytes gained over ``steps`` calls of ``step(i)``, after a warm-up."""
    for i in range(WARMUP):
        step(i)
    before = resident_bytes()
    for i in range(WARMUP, WARMUP + steps):
        step(i)
    return resident_bytes() - before


def lstm_trainer(keep_graphs: bool):
    """A training step of an LSTM regressor (float32, the layer's default path)."""
    tg.manual_seed(0)
    model, head = nn.LSTM(FEATURES, HIDDEN), nn.Linear(HIDDEN, 1)
    opt = optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-3)
    x, y = tg.randn(CHUNK, BATCH, FEATURES), tg.randn(CHUNK, BATCH, 1)
    kept = []

    def step(i):
        out, _ = model(x)
        loss = ((head(out) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward(retain_graph=keep_graphs)
        opt.step()
        if keep_graphs:
            kept.append(loss)

    return step


def truncated_bptt_streamer(keep_graphs: bool):
    """Stream one long sequence in chunks, carrying the state over with detach()."""
    tg.manual_seed(1)
    model, head = nn.LSTM(FEATURES, HIDDEN), nn.Linear(HIDDEN, FEATURES)
    opt = optim.SGD(list(model.parameters()) + list(head.parameters()), lr=1e-2)
    stream = tg.randn((WARMUP + STEPS) * CHUNK + 1, BATCH, FEATURES).data  # next-step prediction
    state, kept = None, []

    def step(i):
        nonlocal state
        start = i * CHUNK
        inputs, targets = tg.Tensor(stream[start : start + CHUNK]), tg.Tensor(stream[start + 1 : start + CHUNK + 1])
        out, (h, c) = model(inputs, state)
        loss = ((head(out) - targets) ** 2).mean()
        opt.zero_grad()
        loss.backward(retain_graph=keep_graphs)
        opt.step()
        state = (h.detach(), c.detach())  # truncate: the next chunk's graph starts here
        if keep_graphs:
            kept.append(loss)

    return step


_MEASURE = """
import sys
sys.path.insert(0, sys.argv[1])
import test_memory as m
print(m.growth(getattr(m, sys.argv[2])(keep_graphs=sys.argv[3] == "keep"), int(sys.argv[4])))
"""


def growth_in_a_fresh_process(make_step: str, keep_graphs: bool, steps: int) -> int:
    command = [sys.executable, "-c", _MEASURE, os.path.dirname(__file__), make_step,
               "keep" if keep_graphs else "free", str(steps)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.parametrize("make_step", ["lstm_trainer", "truncated_bptt_streamer"])
def test_resident_memory_stays_flat(make_step):
    gained = growth_in_a_fresh_process(make_step, keep_graphs=False, steps=STEPS)
    assert gained < BOUND, f"resident memory grew by {gained / 2**20:.1f} MB over {STEPS} steps"


def test_the_measurement_sees_graphs_kept_alive():
    """The control: the same loop holding on to each step's graph exceeds the bound in a quarter of the steps."""
    gained = growth_in_a_fresh_process("lstm_trainer", keep_graphs=True, steps=STEPS // 4)
    assert gained > BOUND, f"kept graphs grew memory by only {gained / 2**20:.1f} MB"


def test_backward_releases_the_saved_arrays():
    """What keeps memory flat: after backward() no node holds its saved arrays."""
    x = tg.randn(3, 2, 4, requires_grad=True)
    out, (h, c) = nn.LSTM(4, 5)(x)
    loss = out.sum() + h.sum() + c.sum()
    loss.backward()
    for t in (loss, out, h, c):
        assert not isinstance(t._node, tg.Function), t.grad_fn
    assert np.isfinite(x.grad).all()
