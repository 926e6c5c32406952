"""Recurrent time loops run numpy's OpenBLAS on one thread when their per-step GEMMs are small."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.kernels import threads

from layer_kinds import LAYER_CLASSES

pytestmark = pytest.mark.skipif(threads.num_threads() is None, reason="numpy's OpenBLAS was not found")


@pytest.fixture
def thread_changes(monkeypatch):
    """Start at 2 BLAS threads; record every count we set; put the count back afterwards."""
    get, put = threads._CONTROLS
    before = get()
    changes = []

    def recording_put(count):
        changes.append(count)
        put(count)

    put(2)
    monkeypatch.setattr(threads, "_CONTROLS", (get, recording_put))
    yield changes
    put(before)


@pytest.fixture
def loop_choices(monkeypatch):
    """Start at 2 BLAS threads; record the thread counts each compiled scan asks for (loop, hoisted GEMMs)."""
    from tinygrad_rnn.ops import scan as scan_op

    choices, choose = [], scan_op.loop_threads

    def recording(rows, weight_elements):
        choices.append(choose(rows, weight_elements))
        return choices[-1]

    before = threads.num_threads()
    threads.set_blas_threads(2)
    monkeypatch.setattr(scan_op, "loop_threads", recording)
    yield choices
    threads.set_blas_threads(before)


@pytest.mark.parametrize("layer", [*LAYER_CLASSES.values(), nn.MinGRU, nn.PeepholeLSTM])
def test_a_small_layer_runs_its_time_loop_on_one_thread_and_puts_the_count_back(loop_choices, layer):
    rnn = layer(3, 8)
    output, _ = rnn(tg.randn(5, 2, 3))
    output.sum().backward()
    assert loop_choices == [1, 1]  # the loop's GEMMs and the hoisted ones: both small
    assert threads.num_threads() == 2


def test_the_generated_code_limits_the_time_loop_only():
    from tinygrad_rnn.compiler import explain

    W, U = tg.randn(8, 3), tg.randn(8, 8)
    source = explain(lambda h, x: ((x @ W.T + h @ U.T).tanh(), None), tg.zeros(2, 8), tg.randn(5, 2, 3))
    for function in source.split("\ndef ")[1:]:  # forward, backward
        lines = [line.strip() for line in function.splitlines()]
        loop = lines.index("for i in range(steps):")
        assert "outer_threads = limit_threads(rows_threads)" in lines[:loop]  # the hoisted GEMMs' own rule
        assert lines[loop - 1] == "limit_threads(loop_threads)"
        assert "restore_threads(outer_threads)" in lines[loop:]


def test_the_compiled_thread_switch_sets_and_restores_the_count():
    from tinygrad_rnn.compiler.runtime import limit_threads, restore_threads

    before = threads.num_threads()
    threads.set_blas_threads(2)
    try:
        assert limit_threads(1) == 2 and threads.num_threads() == 1
        assert limit_threads(0) == 1 and threads.num_threads() == 1  # 0: as it is
        restore_threads(2)
        assert threads.num_threads() == 2
        assert limit_threads(4) == 2 and threads.num_threads() == 2  # never raised
    finally:
        threads.set_blas_threads(before)


def test_a_large_step_keeps_the_threads(loop_choices, monkeypatch):
    rnn = nn.LSTM(3, 8)  # batch 2 x a 32 x 8 weight: 512 multiply-adds a step; 10 rows x it hoisted
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 512)
    rnn(tg.randn(5, 2, 3))
    assert loop_choices == [0, 0]
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 513)
    rnn(tg.randn(5, 2, 3))
    assert loop_choices == [0, 0, 1, 0]


def test_a_limit_the_user_set_stays(loop_choices):
    threads.set_blas_threads(1)  # as OPENBLAS_NUM_THREADS=1 or threadpoolctl would
    rnn = nn.GRU(3, 8)
    output, _ = rnn(tg.randn(5, 2, 3))
    output.sum().backward()
    assert loop_choices == [1, 1] and threads.num_threads() == 1  # asked for one, never raised again


def test_the_count_comes_back_after_an_error(thread_changes):
    with pytest.raises(ZeroDivisionError):
        with threads.one_thread_if_small(1, 1):
            assert threads.num_threads() == 1
            1 / 0
    assert threads.num_threads() == 2


def test_overlapping_blocks_put_the_count_back_once_the_last_ends(thread_changes):
    entered, release = threading.Barrier(2), threading.Event()

    def loop():
        with threads.one_thread_if_small(1, 1):
            entered.wait()
            release.wait()

    other = threading.Thread(target=loop)
    other.start()
    with threads.one_thread_if_small(1, 1):
        entered.wait()  # both inside now
    assert threads.num_threads() == 1  # the other block still runs
    release.set()
    other.join()
    assert threads.num_threads() == 2 and thread_changes == [1, 2]


def test_results_do_not_depend_on_the_limit(monkeypatch):
    """One thread or the default: the same values, to rounding (the split of each sum may differ)."""
    tg.manual_seed(0)
    rnn = nn.LSTM(4, 16).double()
    x = tg.randn(6, 3, 4, dtype=np.float64)
    limited = rnn(x)[0].numpy()
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 0)
    np.testing.assert_allclose(rnn(x)[0].numpy(), limited, rtol=1e-12, atol=1e-12)
