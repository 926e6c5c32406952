"""numpy's own BLAS, callable from numba kernels.

numba compiles ``np.dot`` to a BLAS call only when SciPy is installed, and
SciPy is not a dependency. But numpy's wheels carry OpenBLAS as a shared
library (``numpy.libs/libscipy_openblas64_*`` on Linux, 64-bit integers, every
symbol named ``scipy_..._64_``), and the CBLAS functions in it are exported.
We load that library into LLVM's symbol table and declare ``cblas_sgemm`` and
``cblas_dgemm`` as external functions: compiled code then calls BLAS by
symbol name, with no Python in between, and numba can cache such code (a
ctypes function pointer would be an address baked into the code, which it
refuses to cache). It is the same library instance numpy uses, so the thread
settings are shared.

``matmul_into(a, b, out)`` and ``matmul_tn_into(a, b, out)`` (a transposed,
without copying it) are the entry points. Called from Python, or under
``NUMBA_DISABLE_JIT=1``, they are ``np.matmul``; in compiled code each is
one GEMM. ``AVAILABLE`` says whether the library was found; where it is not
(numpy from another source, another platform), callers keep their loops in
Python.

When editing this file: numba's on-disk cache is keyed on the file of each
cached function, not on what it calls, so the loops in recurrent.py keep
their old copy of this code until ``kernels/__pycache__/*.nb[ic]`` is deleted.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from numba import types
from numba.extending import intrinsic, overload, register_jitable

_ROW_MAJOR, _NO_TRANSPOSE, _TRANSPOSE = 101, 111, 112  # CBLAS enum values
_SYMBOLS = {"float32": "scipy_cblas_sgemm64_", "float64": "scipy_cblas_dgemm64_"}


def _find_library() -> str | None:
    """The path of numpy's OpenBLAS if it exports the 64-bit CBLAS GEMMs, else None."""
    package = os.path.dirname(np.__file__)
    folders = (os.path.join(os.path.dirname(package), "numpy.libs"),  # Linux and Windows wheels
               os.path.join(package, ".dylibs"))  # macOS wheels
    for path in sorted(p for folder in folders for p in glob.glob(os.path.join(folder, "libscipy_openblas64_*"))):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        if all(hasattr(library, name) for name in _SYMBOLS.values()):
            return path
    return None


def _load(path: str | None) -> bool:
    if path is None:
        return False
    import llvmlite.binding as llvm

    llvm.load_library_permanently(path)
    return True


LIBRARY = _find_library()  # its path; threads.py sets its thread count
AVAILABLE = _load(LIBRARY)


def matmul_into(a, b, out):
    """out = a @ b, all 2-D, each row contiguous (C arrays and their row slices)."""
    np.matmul(a, b, out=out)


def matmul_tn_into(a, b, out):
    """out = a.T @ b, all 2-D, each row contiguous: the sum over rows of a weight gradient."""
    np.matmul(a.T, b, out=out)


@intrinsic
def _data_pointer(typingctx, array):
    """The address of array[0, 0], as a typed pointer."""

    def codegen(context, builder, signature, args):
        return context.make_array(array)(context, builder, args[0]).data

    return types.CPointer(array.dtype)(array), codegen


@register_jitable
def _row_stride(array):
    """The distance between rows in elements; for one row, numpy may report any stride,
    and BLAS wants at least the row length. Rows must be contiguous: BLAS cannot be told
    otherwise, and would read the wrong elements."""
    if array.shape[1] > 1 and array.strides[1] != array.itemsize:
        raise ValueError("matmul_into: every row must be contiguous (a C array or a row slice of one)")
    if array.shape[0] == 1:
        return array.shape[1]
    return array.strides[0] // array.itemsize


def _gemm(dtype):
    integer, pointer = types.int64, types.CPointer(dtype)
    signature = types.void(types.int32, types.int32, types.int32, integer, integer, integer,
                           dtype, pointer, integer, pointer, integer, dtype, pointer, integer)
    return types.ExternalFunction(_SYMBOLS[str(dtype)], signature)


@overload(matmul_into)
def _compiled_matmul_into(a, b, out):
    return _gemm_into(a, b, out, transpose_a=False)


@overload(matmul_tn_into)
def _compiled_matmul_tn_into(a, b, out):
    return _gemm_into(a, b, out, transpose_a=True)


def _gemm_into(a, b, out, transpose_a: bool):
    """The compiled body of out = op(a) @ b, op transposing a when asked."""
    if not AVAILABLE or a.dtype != b.dtype or a.dtype != out.dtype or str(a.dtype) not in _SYMBOLS:
        return None
    gemm = _gemm(a.dtype)
    scalar = np.dtype(str(a.dtype)).type
    one, zero = scalar(1), scalar(0)
    flag_a = _TRANSPOSE if transpose_a else _NO_TRANSPOSE

    def impl(a, b, out):
        (m, k), n = (a.shape[::-1] if transpose_a else a.shape), b.shape[1]
        if b.shape[0] != k or out.shape[0] != m or out.shape[1] != n:
            raise ValueError("matmul_into: shapes do not fit out (m, n) = a (m, k) @ b (k, n)")
        gemm(_ROW_MAJOR, flag_a, _NO_TRANSPOSE, m, n, k,
             one, _data_pointer(a), _row_stride(a), _data_pointer(b), _row_stride(b),
             zero, _data_pointer(out), _row_stride(out))

    # numba names compiled code by qualified name and a per-process counter: two variants both
    # called "_gemm_into.<locals>.impl" could meet under one name in code cached by two processes
    impl.__name__ = impl.__qualname__ = "gemm_tn_into" if transpose_a else "gemm_into"
    return impl
