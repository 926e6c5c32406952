"""Holding an op to PyTorch's: the same float64 inputs, the same values, the same gradients."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor


def _as_list(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def assert_matches_torch(ours, theirs, arrays, rtol: float = 1e-10, atol: float = 1e-10, seed: int = 0):
    """``ours(*tensors)`` and ``theirs(*torch_tensors)`` on copies of ``arrays``: equal
    outputs (values, NaN where torch has NaN, shapes, dtypes), and equal vector-Jacobian
    products for one random cotangent per float output. Skips when torch is not installed.

    numpy's warnings are off: special values (0, NaN, inf) are meant, and make them.
    """
    torch = pytest.importorskip("torch")
    with np.errstate(all="ignore"):
        _compare(torch, ours, theirs, arrays, rtol, atol, seed)


def _compare(torch, ours, theirs, arrays, rtol, atol, seed):
    arrays = [np.asarray(a) for a in arrays]
    float_input = [a.dtype.kind == "f" for a in arrays]
    mine = [Tensor(a.copy(), requires_grad=f) for a, f in zip(arrays, float_input)]
    yours = [torch.tensor(a.copy(), requires_grad=f) for a, f in zip(arrays, float_input)]
    outputs, expected = _as_list(ours(*mine)), _as_list(theirs(*yours))
    assert len(outputs) == len(expected)
    random = np.random.default_rng(seed)
    cotangents = []
    for got, want in zip(outputs, expected):
        want = want.detach().numpy()
        assert got.shape == want.shape, (got.shape, want.shape)
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got.data, want, rtol=rtol, atol=atol)
        cotangents.append(random.standard_normal(want.shape) if want.dtype.kind == "f" else None)
    differentiable = [(o, e, c) for o, e, c in zip(outputs, expected, cotangents)
                      if c is not None and e.requires_grad]
    if not differentiable or not any(float_input):
        return
    total = sum((o * Tensor(c)).sum() for o, _, c in differentiable)
    total_torch = sum((e * torch.from_numpy(c)).sum() for _, e, c in differentiable)
    total.backward()
    total_torch.backward()
    for t, tt in zip(mine, yours):
        if t.requires_grad:
            want = np.zeros(t.shape) if tt.grad is None else tt.grad.numpy()
            got = np.zeros(t.shape) if t.grad is None else t.grad
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
