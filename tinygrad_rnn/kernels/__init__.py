"""numba kernels: plain ndarrays in and out, no Tensor, no autograd.

Each kernel loops once over contiguous 1-D memory and writes into an output
the caller allocated; the wrappers in pointwise.py take arrays of any shape.

numba keeps compiled kernels on disk (``cache=True``), next to the sources or
in the user's cache directory. Where it can write neither (a read-only or
system-wide install run by another user, no writable HOME, no
NUMBA_CACHE_DIR), ``cache=True`` would make every kernel fail at import; this
module gives numba a private temporary directory instead, removed at exit,
and says so once. ``CACHE`` is what the kernels pass as ``cache``: False only
if not even a temporary directory can be made, when they compile in memory.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import warnings

import numba


def _probe():
    pass


def _numba_can_cache() -> bool:
    """Whether numba finds a writable cache directory for the files of this package."""
    try:
        numba.njit(cache=True)(_probe)  # only looks for a place to write; compiles nothing
    except RuntimeError as err:
        if "cannot cache" not in str(err):
            raise
        return False
    return True


def _cache_somewhere() -> bool:
    """Make sure numba can cache this package's kernels; False if it cannot at all."""
    if _numba_can_cache():
        return True
    try:
        directory = tempfile.mkdtemp(prefix="tinygrad_rnn-numba-")  # private: mode 0700
    except OSError:
        directory = None
    if directory is not None:
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        numba.config.CACHE_DIR = directory
    where = f"into {directory}, for this process only" if directory else "in memory"
    warnings.warn(
        "tinygrad_rnn: numba cannot write its cache next to the package or in the user's cache "
        f"directory, so kernels compile {where} (a few seconds at each start); set NUMBA_CACHE_DIR "
        "to a writable directory to keep them between runs",
        RuntimeWarning, stacklevel=2)
    return directory is not None


CACHE = _cache_somewhere()
