"""Recurrent time loops run numpy's OpenBLAS on one thread when their per-step GEMMs are small."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.kernels import threads

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


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM, nn.GRU, nn.MinGRU, nn.PeepholeLSTM])
def test_a_small_layer_runs_forward_and_backward_on_one_thread(thread_changes, layer):
    rnn = layer(3, 8)
    output, _ = rnn(tg.randn(5, 2, 3))
    assert thread_changes == [1, 2]  # forward: down to one, then back
    output.sum().backward()
    assert thread_changes == [1, 2, 1, 2]
    assert threads.num_threads() == 2


def test_a_large_step_keeps_the_threads(thread_changes, monkeypatch):
    rnn = nn.LSTM(3, 8)  # batch 2 x a 32 x 8 weight: 512 multiply-adds a step
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 512)
    output, _ = rnn(tg.randn(5, 2, 3))
    output.sum().backward()
    assert thread_changes == []
    monkeypatch.setattr(threads, "ONE_THREAD_BELOW", 513)
    rnn(tg.randn(5, 2, 3))
    assert thread_changes == [1, 2]


def test_a_limit_the_user_set_stays(thread_changes):
    threads._CONTROLS[1](1)  # as OPENBLAS_NUM_THREADS=1 or threadpoolctl would
    rnn = nn.GRU(3, 8)
    output, _ = rnn(tg.randn(5, 2, 3))
    output.sum().backward()
    assert thread_changes == [1]  # ours: never raised again
    assert threads.num_threads() == 1


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
