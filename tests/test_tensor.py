"""Tensor as users see it: construction, dtypes, operators, shape methods, PyTorch's habits."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.testing import arrays, shapes

# -- construction ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [1, 2.5, [1, 2], [[1.0, 2.0]], (3, 4)])
def test_python_data_becomes_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.array(data, np.float32))


def test_ndarrays_keep_their_dtype():
    assert Tensor(np.ones(2)).dtype == np.float64
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert Tensor(np.array([True, False])).dtype == np.bool_
    assert Tensor(True).dtype == np.bool_


def test_explicit_dtype_wins():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.tensor(np.ones(2), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("data", [np.array([1 + 2j]), [1j], np.array([object()]), np.array(["a"])])
def test_complex_object_and_string_data_raise(data):
    with pytest.raises(TypeError, match="Tensor: cannot hold data of dtype"):
        Tensor(data)


def test_construction_wraps_without_copying_an_ndarray():
    values = np.ones(3)
    assert Tensor(values).data is values


# -- scalars, promotion, operators -------------------------------------------------------


@pytest.mark.parametrize("op", [
    lambda t: t + 1, lambda t: 1 + t, lambda t: t - 2.5, lambda t: 2.5 - t, lambda t: t * 3,
    lambda t: 3 * t, lambda t: t / 2, lambda t: 2 / t, lambda t: t ** 2, lambda t: 2 ** t,
    lambda t: t * np.float64(2.0), lambda t: -t, lambda t: t.clamp(0.5, 1.5),
])
def test_python_and_numpy_scalars_keep_float32(op):
    assert op(Tensor([1.0, 2.0])).dtype == np.float32


@given(arrays(shapes(max_dims=2)), arrays(shapes(max_dims=2), away_from=(0.0,)))
def test_operators_match_numpy(a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return
    ta, tb = Tensor(a), Tensor(b)
    for got, want in [(ta + tb, a + b), (ta - tb, a - b), (ta * tb, a * b), (ta / tb, a / b)]:
        np.testing.assert_allclose(got.data, want)


@pytest.mark.parametrize("op", [
    lambda x, t: x + t, lambda x, t: x - t, lambda x, t: x * t, lambda x, t: x / t,
    lambda x, t: x @ t,
])
def test_ndarray_op_tensor_returns_a_tensor_with_gradient(op):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = Tensor(np.array([[1.0, -1.0], [0.5, 2.0]]), requires_grad=True)
    out = op(x, t)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, op(x, t.data))
    out.sum().backward()
    assert t.grad is not None and t.grad.shape == (2, 2)


def test_comparisons_give_bool_tensors_without_grad():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    for result, expected in [(x < 2, [1, 0, 0]), (x <= 2, [1, 1, 0]), (x > 2, [0, 0, 1]),
                             (x >= 2, [0, 1, 1]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1]),
                             (x > Tensor([1.0, 3.0, 2.0]), [0, 0, 1])]:
        assert result.dtype == np.bool_ and not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result.data, np.array(expected, bool))


def test_boolean_mask_from_a_comparison_indexes():
    x = Tensor(np.array([-1.0, 2.0, -3.0, 4.0]), requires_grad=True)
    x[x > 0].sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 0, 1])


def test_sqrt_and_rpow():
    x = Tensor(np.array([4.0, 9.0]), requires_grad=True)
    np.testing.assert_allclose(x.sqrt().data, [2.0, 3.0])
    y = 2**x
    np.testing.assert_allclose(y.data, [16.0, 512.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.log(2) * y.data)


# -- python protocol ------------------------------------------------------------------


def test_repr_shows_values_dtype_and_grad():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(Tensor(np.array([1.0]))) == "Tensor([1.], dtype=float64)"
    x = Tensor([1.0], requires_grad=True)
    assert repr(x) == "Tensor([1.], requires_grad=True)"
    assert repr(x * 2) == "Tensor([2.], grad_fn=mul)"


def test_len_iter_item():
    x = Tensor(np.arange(6.0).reshape(3, 2))
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(isinstance(r, Tensor) and r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])
    assert Tensor(2.5).item() == 2.5 and isinstance(Tensor(2.5).item(), float)
    assert x[1, 1].item() == 3.0
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_iterating_rows_passes_gradients_back():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    sum(row * (i + 1) for i, row in enumerate(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [2, 2], [3, 3]])


def test_detach_shares_data_and_cuts_the_graph():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.data is y.data or np.shares_memory(d.data, y.data)
    assert not d.requires_grad and d.grad_fn is None and d.grad is None
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])  # nothing flows through d


def test_numpy_and_facts():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.numpy() is x.data
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert x.size() == (2, 3, 4) and x.size(1) == 3


# -- shape methods against numpy --------------------------------------------------------


@given(arrays(shapes()))
def test_reshape_flatten_and_T_match_numpy(x):
    t = Tensor(x)
    assert t.reshape(-1).shape == x.reshape(-1).shape
    assert t.reshape(x.size, 1).shape == (x.size, 1)
    assert t.view(*x.shape).shape == x.shape
    assert t.flatten().shape == (x.size,)
    np.testing.assert_array_equal(t.T.data, x.T)
    if x.ndim >= 2:
        assert t.flatten(1).shape == x.reshape(x.shape[0], -1).shape
        assert t.flatten(0, -2).shape == (x.size // x.shape[-1], x.shape[-1])
        np.testing.assert_array_equal(t.transpose(0, -1).data, np.swapaxes(x, 0, -1))


@given(arrays(shapes()), st.data())
def test_squeeze_and_unsqueeze_match_numpy(x, data):
    t = Tensor(x)
    np.testing.assert_array_equal(t.squeeze().data, np.squeeze(x))
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim), label="unsqueeze dim")
    np.testing.assert_array_equal(t.unsqueeze(dim).data, np.expand_dims(x, dim))
    if x.ndim:
        dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="squeeze dim")
        expected = np.squeeze(x, dim) if x.shape[dim] == 1 else x  # PyTorch: other sizes stay
        np.testing.assert_array_equal(t.squeeze(dim).data, expected)
        assert t.squeeze(dim).shape == expected.shape


def test_zero_dim_tensors_squeeze_and_transpose_to_themselves():
    t = Tensor(2.0)
    assert t.squeeze(0).shape == () and t.squeeze(-1).shape == ()
    assert t.transpose(0, -1).shape == () and t.T.shape == ()
    assert t.unsqueeze(0).shape == (1,) and t.flatten().shape == (1,)


def test_max_with_dim_returns_values_and_indices():
    x = Tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]), requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert indices.dtype.kind == "i" and not indices.requires_grad
    result = x.max(0, keepdim=True)
    assert result.values.shape == (1, 3) and result.indices.shape == (1, 3)
    assert x.max().item() == 7.0 and x.min().item() == 0.0
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])


def test_argmax_and_argmin():
    x = Tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    assert x.argmax().item() == 3
    np.testing.assert_array_equal(x.argmin(dim=1).data, [0, 1])


def test_dtype_conversions():
    x = Tensor(np.array([1.5, -2.5]), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.grad_fn == "cast"
    assert x.double() is x  # already float64: no copy, no node
    assert x.to(np.float32).dtype == np.float32 and x.long().dtype == np.int64
    y.sum().backward()
    assert x.grad.dtype == np.float64


SPLIT_CASES = [((5,), 2, 0), ((5,), [1, 4], 0), ((4, 6), 4, 1), ((4, 6), [2, 0, 4], -1), ((3,), 5, 0)]
CHUNK_CASES = [((5,), 2, 0), ((6,), 4, 0), ((4, 7), 3, 1), ((3,), 5, 0), ((1, 10), 4, -1)]


@pytest.mark.parametrize("method, shape, sections, dim", [("split", *case) for case in SPLIT_CASES]
                         + [("chunk", *case) for case in CHUNK_CASES])
def test_split_and_chunk_sizes_match_pytorch(method, shape, sections, dim):
    torch = pytest.importorskip("torch")
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    ours = getattr(Tensor(x), method)(sections, dim)
    theirs = getattr(torch.from_numpy(x), method)(sections, dim)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.data, b.numpy())


def test_split_and_chunk_sizes_without_torch():
    x = Tensor(np.zeros((7, 2)))
    assert [p.shape[0] for p in x.split(3)] == [3, 3, 1]
    assert [p.shape[0] for p in x.split([2, 5])] == [2, 5]
    assert [p.shape[0] for p in x.chunk(3)] == [3, 3, 1]
    assert [p.shape[0] for p in Tensor(np.zeros(6)).chunk(4)] == [2, 2, 2]  # fewer than asked


def test_expand_and_where():
    x = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    y = x.expand(3, 2, 4)
    assert y.shape == (3, 2, 4) and x.expand(-1, 5).shape == (2, 5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[12.0], [12.0]])
    picked = tg.where(np.array([True, False]), Tensor([1.0, 2.0]), 0.0)
    np.testing.assert_array_equal(picked.data, [1.0, 0.0])
    assert picked.dtype == np.float32


def test_factories():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(2, dtype=np.float64).dtype == np.float64
    assert tg.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert tg.arange(4).data.tolist() == [0, 1, 2, 3]
    assert tg.randn(3, 4, requires_grad=True).requires_grad
    tg.manual_seed(3)
    first = tg.rand(5).data
    tg.manual_seed(3)
    np.testing.assert_array_equal(first, tg.rand(5).data)
    assert tg.zeros_like(Tensor(np.ones(2))).dtype == np.float64
