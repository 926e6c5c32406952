"""tg.manual_seed(n) repeats initialisation, dropout and training bit for bit, composed or fused.

Every random draw (init, dropout, tg.randn/rand) comes from the one generator
in tinygrad_rnn.rng, and the arithmetic has no order that depends on the run
(no threads, no hash order), so the same seed gives the same bits. Each test
also checks that a different seed gives different bits: a test that would
pass with randomness switched off proves nothing.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import nn, optim

from layer_kinds import CELL_CLASSES, LAYER_CLASSES


def fingerprint(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class Tagger(nn.Module):
    """Embedding -> dropout -> 2-layer bidirectional recurrent layer with dropout -> Linear."""

    def __init__(self, kind: str, fused: bool):
        super().__init__()
        self.embed = nn.Embedding(11, 6, padding_idx=0)
        self.drop = nn.Dropout(0.2)
        self.rnn = LAYER_CLASSES[kind](6, 7, num_layers=2, dropout=0.3, bidirectional=True, fused=fused)
        self.head = nn.Linear(14, 5)

    def forward(self, tokens):
        out, _ = self.rnn(self.drop(self.embed(tokens)))
        return self.head(out)


def train(seed: int, kind: str = "LSTM", fused: bool = False, steps: int = 6) -> list:
    """Initial weights, every loss and the final weights and optimizer state of a short run."""
    tg.manual_seed(seed)
    model = Tagger(kind, fused)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    record = [p.data.copy() for p in model.parameters()]
    for _ in range(steps):
        tokens = (tg.rand(5, 3) * 11).data.astype(np.int64)  # data drawn from the same generator
        targets = (tg.rand(5, 3) * 5).data.astype(np.int64)
        loss = F.cross_entropy(model(tokens).reshape(15, 5), targets.reshape(15))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        record.append(loss.data)
    record += [p.data for p in model.parameters()]
    record += [v for s in opt.state_dict()["state"].values() for v in s.values() if isinstance(v, np.ndarray)]
    return record


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
@pytest.mark.parametrize("kind", sorted(LAYER_CLASSES))
def test_training_repeats_bit_for_bit(kind, fused):
    first, again = train(3, kind, fused), train(3, kind, fused)
    assert fingerprint(first) == fingerprint(again)
    assert fingerprint(train(4, kind, fused)) != fingerprint(first)


def test_dropout_masks_repeat_and_advance():
    x = tg.ones(50, 40)
    tg.manual_seed(7)
    a, b = F.dropout(x, 0.5).data, nn.Dropout(0.3)(x).data
    tg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, a)
    np.testing.assert_array_equal(nn.Dropout(0.3)(x).data, b)
    assert not np.array_equal(F.dropout(x, 0.5).data, a)  # the generator moved on


INITIALISED = {
    "Linear": lambda: nn.Linear(5, 4),
    "Embedding": lambda: nn.Embedding(9, 3, padding_idx=2),
    **{name: (lambda cell=cell: cell(3, 4)) for name, cell in CELL_CLASSES.items()},
    "RNN": lambda: nn.RNN(3, 4, num_layers=2, bidirectional=True, fused=False),
    "LSTM": lambda: nn.LSTM(3, 4, num_layers=2, fused=False),
    "GRU": lambda: nn.GRU(3, 4, bias=False, fused=False),
}


@pytest.mark.parametrize("name", sorted(INITIALISED))
def test_initialisation_repeats(name):
    def weights(seed):
        tg.manual_seed(seed)
        return fingerprint(p.data for p in INITIALISED[name]().parameters())

    assert weights(0) == weights(0) != weights(1)


@pytest.mark.parametrize("fill", ["uniform_", "normal_", "xavier_uniform_", "kaiming_uniform_", "orthogonal_"])
def test_init_functions_repeat(fill):
    def filled(seed):
        tg.manual_seed(seed)
        return getattr(nn.init, fill)(tg.zeros(4, 6)).data.copy()

    np.testing.assert_array_equal(filled(5), filled(5))
    assert not np.array_equal(filled(5), filled(6))


def test_factories_repeat():
    tg.manual_seed(2)
    a, b = tg.randn(3, 4).data, tg.rand(3).data
    tg.manual_seed(2)
    np.testing.assert_array_equal(tg.randn(3, 4).data, a)
    np.testing.assert_array_equal(tg.rand(3).data, b)


_TRAIN_IN_A_FRESH_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
from test_determinism import fingerprint, train
print(fingerprint(train(11, "GRU")))
"""


def test_a_fresh_process_gets_the_same_bits():
    """No dependence on hash seeds, object addresses or earlier use of the generator."""
    train(99)  # disturb this process's generator first
    here = fingerprint(train(11, "GRU"))
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run([sys.executable, "-c", _TRAIN_IN_A_FRESH_PROCESS, os.path.dirname(__file__)],
                                env=env, capture_output=True, text=True, timeout=300, check=True)
        assert result.stdout.strip() == here


_TRAIN_WIDE_LAYERS = """
import hashlib
import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
tg.manual_seed(0)
model, head = nn.LSTM(64, 128, num_layers=2), nn.Linear(128, 64)
params = list(model.parameters()) + list(head.parameters())
opt = optim.Adam(params, lr=1e-3)
x = tg.randn(30, 16, 64)
for _ in range(3):
    loss = ((head(model(x)[0]) - x) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(hashlib.sha256(b"".join(p.data.tobytes() for p in params)).hexdigest())
"""


def test_the_blas_thread_count_is_part_of_the_machine_and_the_docs_say_so():
    """OpenBLAS splits a GEMM's sums among its threads: another thread count may sum in another
    order. Each count repeats its own bits; whether two counts differ depends on the machine
    (here, 2 cores, they do), and docs/errors.md must say so under determinism."""
    found = {}
    for threads in ("1", "2", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
        result = subprocess.run([sys.executable, "-c", _TRAIN_WIDE_LAYERS], env=env, capture_output=True,
                                text=True, timeout=300, check=True)
        found.setdefault(threads, set()).add(result.stdout.strip())
    assert len(found["2"]) == 1  # the same thread count, the same bits
    determinism = open(os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md")).read()
    determinism = determinism.split("## Determinism", 1)[1].split("\n## ", 1)[0]
    assert "OPENBLAS_NUM_THREADS" in determinism, (
        "docs/errors.md, Determinism, must say that the BLAS thread count can change the bits"
        + (" (it did here)" if found["1"] != found["2"] else ""))
