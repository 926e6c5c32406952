"""One BLAS thread for the time loops of small recurrent layers.

numpy's OpenBLAS starts a thread per core and splits every GEMM above about
262,144 multiply-adds (m k n) among them. A recurrent layer runs one small GEMM
per step, thousands in a row; each split makes the threads meet, and on a
machine busy with other work a thread that has lost its core makes the others
wait for it. With the second core busy, a small fused LSTM training step took
1.6 ms with this limit and 116 ms without it (docs/performance.md, "BLAS threads").

``one_thread_if_small(batch, weight_elements)`` runs its block with OpenBLAS on
one thread when a step's GEMM, batch x the recurrent weight's elements, is
below ``ONE_THREAD_BELOW`` multiply-adds, and puts the count back after. It
calls OpenBLAS's own ``openblas_set_num_threads`` on the library our kernels
call (kernels/blas.py: numpy's, shared with numpy): about a microsecond, where
threadpoolctl, which finds every BLAS and OpenMP library loaded, takes
milliseconds per change and would be a dependency. It only ever lowers the
count: a limit the user set (``OPENBLAS_NUM_THREADS=1``, threadpoolctl) stays.
Without numpy's OpenBLAS it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

from numba import types
from numba.extending import overload

from . import blas

ONE_THREAD_BELOW = 2**24
"""Multiply-adds of one step's recurrent GEMM below which a layer's time loop runs BLAS on one thread
(16.8 M: an LSTM of 256 units, a 1024 x 256 recurrent weight, stays below it up to batch 63).
Set it to 0 to leave the thread count alone."""


_GET, _SET = "scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"


def _controls():
    """(get, set) numpy's OpenBLAS thread count, or None where that library is not found."""
    if blas.LIBRARY is None:
        return None
    library = ctypes.CDLL(blas.LIBRARY)
    get, put = getattr(library, _GET, None), getattr(library, _SET, None)
    if get is None or put is None:
        return None
    get.argtypes, get.restype = [], ctypes.c_int
    put.argtypes, put.restype = [ctypes.c_int], None
    return get, put


_CONTROLS = _controls()
_lock = threading.Lock()  # layers run from several Python threads share one count
_inside = 0  # blocks running on one thread now
_before = 1  # the count to put back when the last of them ends


def num_threads() -> int | None:
    """The thread count of numpy's OpenBLAS now; None where that library is not found."""
    return None if _CONTROLS is None else _CONTROLS[0]()


@contextlib.contextmanager
def one_thread_if_small(batch: int, weight_elements: int):
    """Run the block with BLAS on one thread if batch x weight_elements < ONE_THREAD_BELOW."""
    global _inside, _before
    if not loop_threads(batch, weight_elements):
        yield
        return
    get, put = _CONTROLS
    with _lock:
        if _inside == 0:
            _before = get()
            if _before > 1:
                put(1)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _before > 1:
                put(_before)


def loop_threads(rows: int, weight_elements: int) -> int:
    """The BLAS threads for GEMMs of ``rows`` rows by a weight of ``weight_elements`` (a time
    loop's: the batch; those hoisted out of it: every step's rows): 1 below ONE_THREAD_BELOW
    multiply-adds, else 0 (as they are)."""
    return 1 if _CONTROLS is not None and rows * weight_elements < ONE_THREAD_BELOW else 0


def blas_threads() -> int:
    """The thread count of numpy's OpenBLAS (1 where that library is not found); also in compiled code."""
    return 1 if _CONTROLS is None else _CONTROLS[0]()


def set_blas_threads(count: int) -> None:
    """Set the thread count of numpy's OpenBLAS; also in compiled code, around a time loop."""
    if _CONTROLS is not None:
        _CONTROLS[1](count)


@overload(blas_threads)
def _compiled_blas_threads():
    if _CONTROLS is None or not blas.AVAILABLE:
        return lambda: 1
    get = types.ExternalFunction(_GET, types.int32())
    return lambda: get()


@overload(set_blas_threads)
def _compiled_set_blas_threads(count):
    if _CONTROLS is None or not blas.AVAILABLE:
        return lambda count: None
    put = types.ExternalFunction(_SET, types.void(types.int32))

    def set_count(count):
        put(count)

    return set_count
