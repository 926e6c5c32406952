"""kernels/blas.py: numpy's OpenBLAS called from compiled code gives np.matmul's results."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from tinygrad_rnn.kernels import blas


@njit
def compiled_matmul_into(a, b, out):
    blas.matmul_into(a, b, out)


def numpy_blas_name() -> str:
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except TypeError:  # numpy before 1.26 only prints its configuration
        return "unknown"


@pytest.mark.skipif(numpy_blas_name() != "scipy-openblas", reason="numpy was not built with scipy-openblas")
def test_numpy_wheel_blas_is_found():
    """numpy's wheels from PyPI carry scipy-openblas; if it is not found, the time loops
    quietly fall back to Python, several times slower on small layers."""
    assert blas.AVAILABLE


@pytest.mark.skipif(not blas.AVAILABLE, reason="numpy's OpenBLAS was not found")
@given(m=st.integers(1, 7), k=st.integers(1, 7), n=st.integers(1, 7), skip=st.integers(0, 3),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_compiled_gemm_equals_numpy(m, k, n, skip, dtype, seed):
    """Row slices (as the time loops pass them), single rows and columns, both dtypes."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m + skip, k)).astype(dtype)[skip:]
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m + skip, n), np.nan, dtype)
    compiled_matmul_into(a, b, out[skip:])
    np.testing.assert_allclose(out[skip:], a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert np.isnan(out[:skip]).all(), "rows outside the slice were written"


@pytest.mark.skipif(not blas.AVAILABLE, reason="numpy's OpenBLAS was not found")
def test_compiled_gemm_refuses_rows_that_are_not_contiguous():
    a, b = np.ones((3, 5)), np.ones((3, 5))
    with pytest.raises(ValueError, match="matmul_into: every row must be contiguous"):
        compiled_matmul_into(a, b.T, np.empty((3, 3)))


@pytest.mark.skipif(not blas.AVAILABLE, reason="numpy's OpenBLAS was not found")
def test_compiled_gemm_refuses_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="matmul_into: shapes do not fit"):
        compiled_matmul_into(np.ones((3, 4)), np.ones((5, 2)), np.empty((3, 2)))
    with pytest.raises(ValueError, match="matmul_into: shapes do not fit"):
        compiled_matmul_into(np.ones((3, 4)), np.ones((4, 2)), np.empty((2, 2)))
