"""The ops of sequence models (issue 15) held to PyTorch's: values, gradients, dtypes, ties, NaN.

Gradients against finite differences, first and second order, are in test_op_gradients.py
(SPECS and COMPOSITES); here each op meets torch on float64 inputs, special values
included (0, -0, NaN, inf), and its conventions: dims, keepdim, ties, result dtypes.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor
from tinygrad_rnn.testing import arrays, shapes
from torch_parity import assert_matches_torch

nan, inf = math.nan, math.inf
SPECIAL = np.array([-2.5, -1.0, -0.0, 0.0, 0.3, 1.0, 2.0, nan, inf, -inf])
SMALL = dict(max_dims=3, max_side=4)


def torch():
    return pytest.importorskip("torch")


# -- elementwise ------------------------------------------------------------------------------

UNARY = ["abs", "sign", "square", "sqrt", "rsqrt", "sin", "cos", "erf", "exp", "log", "tanh", "sigmoid", "relu",
         "neg", "clone", "isnan", "isinf", "isfinite"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_functions_match_pytorch_at_special_values(name):
    assert_matches_torch(getattr(tg, name), getattr(torch(), name), [SPECIAL])


@pytest.mark.parametrize("name", UNARY)
@given(x=arrays(shapes(**SMALL), elements=st.floats(0.1, 3)))
def test_unary_methods_match_pytorch(name, x):
    assert_matches_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x * np.sign(x - 1.5)])


@pytest.mark.parametrize("name", ["maximum", "minimum", "pow"])
def test_binary_functions_match_pytorch_at_special_values(name):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    assert_matches_torch(getattr(tg, name), getattr(torch(), name), [a, b])


@given(case=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), seed=st.integers(0, 99))
def test_maximum_minimum_and_pow_broadcast_as_pytorch(case, seed):
    random = np.random.default_rng(seed)
    a, b = (np.round(random.standard_normal(s) * 2) / 2 for s in case.input_shapes)  # ties happen
    for name in ("maximum", "minimum"):
        assert_matches_torch(getattr(tg, name), getattr(torch(), name), [a, b])
    assert_matches_torch(lambda x, y: x ** y, lambda x, y: x ** y, [np.abs(a) + 0.5, b])


def test_ties_share_the_gradient_of_maximum_and_nan_wins():
    a = Tensor(np.array([1.0, 2.0, nan, 3.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 3.0, 1.0, nan]), requires_grad=True)
    out = a.maximum(b)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1, 3, nan, nan])
    np.testing.assert_array_equal(a.grad, [0.5, 0, 1, 1])
    np.testing.assert_array_equal(b.grad, [0.5, 1, 1, 1])


def test_number_to_a_tensor_power_allows_any_base():
    x = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    assert_matches_torch(lambda t: (-2.0) ** t, lambda t: (-2.0) ** t, [np.array([2.0, 3.0])])
    assert_matches_torch(lambda t: 0.0 ** t, lambda t: 0.0 ** t, [np.array([0.0, 2.0])])
    (2 ** x).sum().backward()
    np.testing.assert_allclose(x.grad, np.log(2) * 2 ** x.data, rtol=1e-15)


def test_sign_has_a_zero_gradient_and_abs_the_sign():
    x = Tensor(SPECIAL.copy(), requires_grad=True)
    x.sign().sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(SPECIAL.shape))
    assert Tensor(np.array([-3, 0, 2])).sign().dtype == np.int64
    assert abs(Tensor(np.array([-2.0]))).item() == 2.0


@pytest.mark.parametrize("alpha", [1, 2.5])
def test_add_and_sub_with_alpha(alpha):
    a, b = np.arange(3.0), np.array([0.5, -1.0, 4.0])
    for name in ("add", "sub"):
        assert_matches_torch(lambda x, y: getattr(x, name)(y, alpha=alpha),
                             lambda x, y: getattr(x, name)(y, alpha=alpha), [a, b])
    assert_matches_torch(lambda x, y: x.mul(y).div(y.add(4)).neg(), lambda x, y: x.mul(y).div(y.add(4)).neg(), [a, b])


# -- reductions and statistics -------------------------------------------------------------------


@st.composite
def reduction_cases(draw):
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dims = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim,
                         unique_by=lambda d: d % x.ndim))
    dim = dims[0] if len(dims) == 1 and draw(st.booleans()) else tuple(dims)
    return x, dim, draw(st.booleans())


@given(case=reduction_cases(), correction=st.sampled_from([0, 1, 2]))
def test_var_and_std_match_pytorch(case, correction):
    x, dim, keepdim = case
    count = np.prod([x.shape[d] for d in np.atleast_1d(dim)])
    assume(count > correction)  # else the result is inf or NaN, and torch's gradient a sign of a zero
    for name in ("var", "std"):
        assert_matches_torch(lambda t: getattr(t, name)(dim, keepdim=keepdim, correction=correction),
                             lambda t: getattr(t, name)(dim, keepdim=keepdim, correction=correction), [x])
    if x.size > 1:  # one element has no degree of freedom left for the default correction 1
        assert_matches_torch(lambda t: t.var(), lambda t: t.var(), [x])
    assert_matches_torch(lambda t: tg.std(t, dim, unbiased=False), lambda t: torch().std(t, dim, unbiased=False), [x])


def test_std_and_norm_of_a_constant_have_zero_gradients_as_pytorch():
    x = np.array([[2.0, 2.0, 2.0], [0.0, 0.0, 0.0], [1.0, -1.0, 3.0]])
    assert_matches_torch(lambda t: t.std(1), lambda t: t.std(1), [x])
    for p in ("fro", 2, 3):
        assert_matches_torch(lambda t: t.norm(p, dim=1), lambda t: t.norm(p, dim=1), [x])


@given(case=reduction_cases(), p=st.sampled_from(["fro", 1, 2, 3, 0.5, inf, -inf]))
def test_norm_matches_pytorch(case, p):
    x, dim, keepdim = case
    x = np.where(x >= 0, x + 0.1, x - 0.1)  # away from 0, where p < 1 has no derivative
    distinct_magnitudes = np.abs(x) + 1e-3 * np.arange(x.size).reshape(x.shape)  # no ties for inf, -inf
    order = 2 if p == "fro" else p  # torch.norm's "fro" takes two dims at most; vector_norm any number
    assert_matches_torch(lambda t: t.norm(p, dim, keepdim),
                         lambda t: torch().linalg.vector_norm(t, order, dim, keepdim),
                         [np.sign(x) * distinct_magnitudes])


@given(x=arrays(shapes(min_dims=1, **SMALL)), data=st.data())
def test_cumsum_matches_pytorch(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_matches_torch(lambda t: t.cumsum(dim), lambda t: t.cumsum(dim), [x])
    assert tg.cumsum(Tensor(np.array([True, True, False])), 0).tolist() == [1, 2, 2]
    assert Tensor(np.array([1, 2], np.int32)).cumsum(0).dtype == np.int64


def test_argmax_argmin_give_int64_and_the_first_of_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0], [nan, 5.0, nan]])
    for name in ("argmax", "argmin"):
        for dim in (None, 0, 1, -1):
            for keepdim in ((False, True) if dim is not None else (False,)):
                assert_matches_torch(lambda t: getattr(t, name)(dim, keepdim), lambda t: getattr(t, name)(dim, keepdim),
                                     [x])


@given(x=arrays(shapes(min_dims=1, **SMALL), elements=st.sampled_from([-1.0, 0.0, 2.0, 3.5])), data=st.data())
def test_sort_argsort_and_topk_match_pytorch_with_ties(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    descending = data.draw(st.booleans())
    assert_matches_torch(lambda t: t.sort(dim, descending, stable=True),
                         lambda t: t.sort(dim=dim, descending=descending, stable=True), [x])
    assert_matches_torch(lambda t: t.argsort(dim, descending, stable=True),
                         lambda t: t.argsort(dim=dim, descending=descending, stable=True), [x])
    k = data.draw(st.integers(0, x.shape[dim]))
    largest = data.draw(st.booleans())
    distinct = x + 1e-3 * np.arange(x.size).reshape(x.shape)  # torch leaves the order of tied picks open
    assert_matches_torch(lambda t: t.topk(k, dim, largest), lambda t: t.topk(k, dim, largest), [distinct])


def test_sort_puts_nan_last_ascending_and_first_descending_as_pytorch():
    x = np.array([[1.0, nan, -inf, 2.0, nan, inf, 1.0]])
    for descending in (False, True):
        assert_matches_torch(lambda t: t.sort(-1, descending, stable=True),
                             lambda t: t.sort(dim=-1, descending=descending, stable=True), [x])
    assert_matches_torch(lambda t: t.topk(3), lambda t: t.topk(3), [np.array([1.0, nan, 3.0, 2.0])])


@given(x=arrays(shapes(**SMALL), elements=st.sampled_from([0.0, 1.0, -2.0, nan])), data=st.data())
def test_any_and_all_give_bools_as_pytorch(x, data):
    dim = data.draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    keepdim = data.draw(st.booleans()) and dim is not None
    for name in ("any", "all"):
        if dim is None:
            assert_matches_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x])
        else:
            assert_matches_torch(lambda t: getattr(t, name)(dim, keepdim), lambda t: getattr(t, name)(dim, keepdim),
                                 [x])


@given(a=hnp.arrays(np.bool_, shapes(**SMALL)), data=st.data())
def test_masks_combine_as_in_pytorch(a, data):
    b = data.draw(hnp.arrays(np.bool_, hnp.broadcastable_shapes(a.shape, max_dims=3)))
    t = torch()
    for ours, theirs in ((lambda x, y: ~x & y, lambda x, y: ~x & y), (lambda x, y: x | ~y, lambda x, y: x | ~y),
                         (lambda x, y: x ^ y, lambda x, y: x ^ y), (lambda x, y: x & True, lambda x, y: x & True)):
        got = ours(Tensor(a), Tensor(b))
        assert got.dtype == bool
        np.testing.assert_array_equal(got.data, theirs(t.from_numpy(a), t.from_numpy(b)).numpy())
    assert (~Tensor(np.array([0, 5]))).tolist() == [-1, -6]
    with pytest.raises(TypeError, match=r"and: needs bool or integer tensors, got dtype float64 \(shape \(2,\)\)"):
        Tensor(a) & Tensor(np.ones(2))


# -- indexing, selection, movement ---------------------------------------------------------------


@st.composite
def gather_cases(draw):
    x = draw(arrays(shapes(min_dims=1, **SMALL)))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    shape = [draw(st.integers(1, n)) for n in x.shape]
    shape[dim] = draw(st.integers(1, 4))
    index = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[dim] - 1)))
    # src of index's shape: torch's backward fails for a larger src (test_op_gradients.py checks that case)
    return x, dim, index, draw(arrays(tuple(shape)))


@given(case=gather_cases())
def test_gather_and_scatter_add_match_pytorch(case):
    x, dim, index, src = case
    t = torch()
    assert_matches_torch(lambda a: a.gather(dim, index), lambda a: a.gather(dim, t.from_numpy(index)), [x])
    assert_matches_torch(lambda a, s: a.scatter_add(dim, index, s),
                         lambda a, s: a.scatter_add(dim, t.from_numpy(index), s), [x, src])


@given(case=gather_cases())
def test_scatter_matches_pytorch_where_no_two_writes_meet(case):
    x, dim, index, src = case
    t = torch()
    flat = np.moveaxis(index, dim, 0).reshape(index.shape[dim], -1)
    first = np.array([len(set(column)) == len(column) for column in flat.T]).all()
    if not first:  # torch leaves the result of two writes to one place open
        index = np.take(np.arange(x.shape[dim]), np.indices(index.shape)[dim % x.ndim] % x.shape[dim])
        index = index[tuple(slice(0, x.shape[dim]) if d == dim % x.ndim else slice(None) for d in range(x.ndim))]
    src = src[tuple(slice(0, n) for n in index.shape)]
    assert_matches_torch(lambda a, s: a.scatter(dim, index, s), lambda a, s: a.scatter(dim, t.from_numpy(index), s),
                         [x, src])
    assert_matches_torch(lambda a: a.scatter(dim, index, value=-1.5),
                         lambda a: a.scatter(dim, t.from_numpy(index), -1.5), [x])


def test_scatter_lets_the_last_write_win_and_passes_every_written_gradient():
    x = Tensor(np.zeros(3), requires_grad=True)
    src = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = x.scatter(0, np.array([1, 1, 0]), src)
    np.testing.assert_array_equal(out.data, [3, 2, 0])
    out.backward(np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(src.grad, [20, 20, 10])  # as torch: grad.gather(dim, index)
    np.testing.assert_array_equal(x.grad, [0, 0, 30])


@given(x=arrays(shapes(min_dims=1, **SMALL)), data=st.data())
def test_index_select_flip_roll_match_pytorch(x, data):
    t = torch()
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    index = np.array(data.draw(st.lists(st.integers(0, x.shape[dim] - 1), max_size=5)), np.int64)
    assert_matches_torch(lambda a: a.index_select(dim, index), lambda a: a.index_select(dim, t.from_numpy(index)), [x])
    dims = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True)))
    assert_matches_torch(lambda a: a.flip(dims), lambda a: a.flip(dims), [x])
    shifts = tuple(data.draw(st.integers(-6, 6)) for _ in dims)
    assert_matches_torch(lambda a: a.roll(shifts, dims), lambda a: a.roll(shifts, dims), [x])
    assert_matches_torch(lambda a: a.roll(shifts[0]), lambda a: a.roll(shifts[0]), [x])


@given(x=arrays(shapes(max_dims=3, max_side=3)), data=st.data())
def test_repeat_tile_and_repeat_interleave_match_pytorch(x, data):
    t = torch()
    sizes = tuple(data.draw(st.lists(st.integers(0, 3), min_size=max(x.ndim, 1), max_size=x.ndim + 2)))
    assert_matches_torch(lambda a: a.repeat(*sizes), lambda a: a.repeat(*sizes), [x])
    reps = sizes[: data.draw(st.integers(1, len(sizes)))] or (2,)
    assert_matches_torch(lambda a: a.tile(reps), lambda a: a.tile(reps), [x])
    count = data.draw(st.integers(0, 3))
    assert_matches_torch(lambda a: a.repeat_interleave(count), lambda a: a.repeat_interleave(count), [x])
    if x.ndim:
        dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
        counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=x.shape[dim], max_size=x.shape[dim])))
        assert_matches_torch(lambda a: a.repeat_interleave(counts, dim),
                             lambda a: a.repeat_interleave(t.from_numpy(counts), dim), [x])
        assert_matches_torch(lambda a: a.repeat_interleave(count, dim), lambda a: a.repeat_interleave(count, dim), [x])


@given(x=arrays(shapes(min_dims=2, **SMALL)), diagonal=st.integers(-4, 4))
def test_tril_and_triu_match_pytorch(x, diagonal):
    for name in ("tril", "triu"):
        assert_matches_torch(lambda a: getattr(a, name)(diagonal), lambda a: getattr(a, name)(diagonal), [x])


def test_tril_keeps_inf_and_nan_where_it_keeps_entries():
    x = np.array([[inf, -inf], [nan, 1.0]])
    assert_matches_torch(lambda a: a.tril(), lambda a: a.tril(), [x])
    assert_matches_torch(lambda a: a.triu(), lambda a: a.triu(), [x])


@given(x=arrays(shapes(**SMALL)), data=st.data())
def test_masked_fill_matches_pytorch(x, data):
    t = torch()
    mask = data.draw(hnp.arrays(np.bool_, x.shape[data.draw(st.integers(0, x.ndim)):]))
    value = data.draw(st.sampled_from([0.0, -inf, 2.5]))
    assert_matches_torch(lambda a: a.masked_fill(mask, value), lambda a: a.masked_fill(t.from_numpy(mask), value), [x])
    # a 0-d tensor value gets the gradient of every place it fills
    assert_matches_torch(lambda a, v: a.masked_fill(mask, v), lambda a, v: a.masked_fill(t.from_numpy(mask), v),
                         [x, np.array(1.5)])


@given(x=arrays(shapes(min_dims=1, **SMALL)), data=st.data())
def test_views_match_pytorch(x, data):
    source = tuple(data.draw(st.permutations(range(x.ndim)))[: data.draw(st.integers(1, x.ndim))])
    destination = tuple(data.draw(st.permutations(range(-x.ndim, 0)))[: len(source)])
    assert_matches_torch(lambda a: a.movedim(source, destination), lambda a: a.movedim(source, destination), [x])
    assert_matches_torch(lambda a: a.movedim(source[0], -1), lambda a: a.movedim(source[0], -1), [x])
    a0, a1 = data.draw(st.integers(-x.ndim, x.ndim - 1)), data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_matches_torch(lambda a: a.swapaxes(a0, a1), lambda a: a.swapaxes(a0, a1), [x])
    assert_matches_torch(lambda a: a.ravel(), lambda a: a.ravel(), [x])
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_matches_torch(lambda a: a.unflatten(dim, (1, -1)), lambda a: a.unflatten(dim, (1, -1)), [x])
    assert_matches_torch(lambda a: a.contiguous(), lambda a: a.contiguous(), [x])


def test_t_mm_and_contiguous():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    assert_matches_torch(lambda x, y: x.t().t().mm(y), lambda x, y: x.t().t().mm(y), [a, b])
    assert_matches_torch(lambda x: x.t(), lambda x: x.t(), [np.arange(3.0)])
    c, d = np.arange(24.0).reshape(2, 3, 4), np.arange(16.0).reshape(2, 4, 2)
    assert_matches_torch(tg.bmm, torch().bmm, [c, d])
    with pytest.raises(ValueError, match=r"bmm: expects \(B, n, k\) and \(B, k, m\), got shapes "
                                         r"\(2, 3, 4\) and \(3, 4, 2\)"):
        tg.bmm(Tensor(c), Tensor(np.ones((3, 4, 2))))
    x = Tensor(a).T
    assert not x.data.flags.c_contiguous and x.contiguous().data.flags.c_contiguous
    y = Tensor(a)
    assert y.contiguous() is y
    assert y.clone().data is not y.data and np.shares_memory(y.clone().data, y.data) is False


# -- creation ----------------------------------------------------------------------------------------


def test_factories_match_pytorch():
    t = torch()
    np.testing.assert_array_equal(tg.eye(3).data, t.eye(3).numpy())
    np.testing.assert_array_equal(tg.eye(2, 4, dtype=np.float64).data, t.eye(2, 4, dtype=t.float64).numpy())
    assert tg.eye(3).dtype == np.float32
    np.testing.assert_allclose(tg.linspace(-1, 2, 7).data, t.linspace(-1, 2, 7).numpy(), rtol=1e-6)
    assert tg.linspace(0, 1, 0).shape == (0,) and tg.linspace(0, 1, 1).tolist() == [0.0]
    x = Tensor(np.ones((2, 3), np.float64))
    for fn, value in ((tg.zeros_like, 0), (tg.ones_like, 1), (lambda x, **kw: tg.full_like(x, 7, **kw), 7)):
        assert fn(x).dtype == np.float64 and fn(x).shape == (2, 3) and (fn(x).data == value).all()
        assert fn(x, dtype=np.int64).dtype == np.int64
    assert tg.zeros_like(x, requires_grad=True).requires_grad


def test_randint_is_seeded_in_range_and_int64():
    tg.manual_seed(3)
    first = tg.randint(2, 5, (4, 100))
    tg.manual_seed(3)
    np.testing.assert_array_equal(first.data, tg.randint(2, 5, (4, 100)).data)
    assert first.dtype == np.int64 and first.shape == (4, 100)
    assert first.data.min() == 2 and first.data.max() == 4
    assert tg.randint(3, (5,)).data.max() < 3
    with pytest.raises(ValueError, match="randint: high must be larger than low, got low=5, high=5"):
        tg.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint: give high and size"):
        tg.randint(5)


def test_module_functions_are_the_methods():
    x = Tensor(np.array([[3.0, -1.0], [0.5, 2.0]]))
    assert tg.max(x, 1).indices.tolist() == [0, 1]
    np.testing.assert_array_equal(tg.matmul(x, x).data, (x @ x).data)
    np.testing.assert_array_equal(tg.softmax(x, -1).data, x.softmax(-1).data)
    np.testing.assert_array_equal(tg.sum(x, 0).data, x.sum(0).data)
    with pytest.raises(TypeError, match="exp: input must be a Tensor, got ndarray"):
        tg.exp(np.ones(2))


# -- functional ---------------------------------------------------------------------------------------


@given(x=arrays(shapes(min_dims=1, **SMALL)), data=st.data())
def test_pad_matches_pytorch(x, data):
    pad = []
    for side in reversed(x.shape[-data.draw(st.integers(1, x.ndim)):]):
        before = data.draw(st.integers(-side, 2))
        pad += [before, data.draw(st.integers(-(side + min(before, 0)), 2))]
    value = data.draw(st.sampled_from([None, -2.0]))
    assert_matches_torch(lambda a: F.pad(a, pad, value=value),
                         lambda a: torch().nn.functional.pad(a, pad, value=0.0 if value is None else value), [x])


def test_one_hot_and_embedding_match_pytorch():
    t = torch()
    ids = np.array([[0, 3], [2, 2]])
    np.testing.assert_array_equal(F.one_hot(ids).data, t.nn.functional.one_hot(t.from_numpy(ids)).numpy())
    assert F.one_hot(Tensor(ids), 5).dtype == np.int64 and F.one_hot(ids, 5).shape == (2, 2, 5)
    weight = np.random.default_rng(0).standard_normal((4, 3))
    for padding_idx in (None, 2, -1):
        assert_matches_torch(lambda w: F.embedding(ids, w, padding_idx),
                             lambda w: t.nn.functional.embedding(t.from_numpy(ids), w, padding_idx), [weight])
    with pytest.raises(IndexError, match="one_hot: id 3 is out of range for num_classes=2"):
        F.one_hot(ids, 2)


ACTIVATIONS = {
    "gelu": ({}, {}), "gelu(tanh)": ({"approximate": "tanh"}, {"approximate": "tanh"}), "silu": ({}, {}),
    "leaky_relu": ({"negative_slope": 0.2}, {"negative_slope": 0.2}), "elu": ({"alpha": 1.5}, {"alpha": 1.5}),
    "softplus": ({"beta": 2.0, "threshold": 5.0}, {"beta": 2.0, "threshold": 5.0}),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_pytorch_at_special_and_large_values(name):
    ours, theirs = ACTIVATIONS[name]
    fn = name.split("(")[0]
    x = np.concatenate([SPECIAL[np.isfinite(SPECIAL)], [-1e4, -40.0, -5.0, 2.6, 3.0, 40.0, 1e4]])
    assert_matches_torch(lambda a: getattr(F, fn)(a, **ours), lambda a: getattr(torch().nn.functional, fn)(a, **theirs),
                         [x])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_finite_for_large_inputs(name, dtype):
    ours, _ = ACTIVATIONS[name]
    x = Tensor(np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = getattr(F, name.split("(")[0])(x, **ours)
        out.sum().backward()
    assert out.dtype == dtype and np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


@given(x=arrays(shapes(**SMALL), elements=st.floats(0, 1)), y=st.data(),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy_matches_pytorch(x, y, reduction):
    target = y.draw(arrays(x.shape, elements=st.floats(0, 1)))
    weight = y.draw(st.one_of(st.none(), arrays(x.shape[x.ndim // 2:], elements=st.floats(0.5, 2))))
    assert_matches_torch(
        lambda a, b: F.binary_cross_entropy(a, b, weight, reduction=reduction),
        lambda a, b: torch().nn.functional.binary_cross_entropy(
            a, b, None if weight is None else torch().from_numpy(weight), reduction=reduction),
        [x, target], rtol=1e-9)


def test_binary_cross_entropy_clamps_its_logs_as_pytorch():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-16, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.3, 0.3])
    with np.errstate(divide="ignore"):
        assert_matches_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
                             lambda a, b: torch().nn.functional.binary_cross_entropy(a, b, reduction="none"), [x, y])
    loss = F.binary_cross_entropy(Tensor(np.array([0.0], np.float32)), Tensor(np.array([1.0], np.float32)))
    assert loss.item() == 100.0
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\], got 1.5"):
        F.binary_cross_entropy(Tensor(np.array([0.5, 1.5])), Tensor(np.array([0.0, 1.0])))


def test_pad_names_what_it_rejects():
    x = tg.randn(2, 3)
    with pytest.raises(ValueError, match=r"pad: pad \(1, 1, 1\) must hold a \(before, after\) pair"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: only mode='constant' is supported, got 'reflect'"):
        F.pad(x, (1, 1), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: pad \(-2, -2\) removes more than the input of shape \(2, 3\) holds"):
        F.pad(x, (-2, -2))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(x, approximate="erf")


def test_layer_norm_and_the_relu_built_activations_compile_in_a_scan():
    """Composed of primitives the compiler knows (no mask taken from the data), they compile,
    and the compiled step's values and BPTT equal the tape's."""
    random = np.random.default_rng(0)
    w = Tensor(random.standard_normal((4, 3)), requires_grad=True)
    gain = Tensor(random.standard_normal(4), requires_grad=True)

    def step(h, x_t):
        a = x_t @ w.T + h
        h_t = F.layer_norm(F.silu(a) + F.elu(a, 0.5) + F.leaky_relu(a, 0.1), 4, gain)
        return h_t, h_t

    xs, h0 = Tensor(random.standard_normal((5, 2, 3))), Tensor(np.zeros((2, 4)))
    grads = []
    for compiled in (True, False):
        _, ys = tg.scan(step, h0, xs, compiled=compiled)
        grads.append(tg.autograd.grad((ys * ys).sum(), [w, gain]) + (ys,))
    for compiled_value, tape_value in zip(*grads):
        np.testing.assert_allclose(compiled_value.data, tape_value.data, rtol=1e-10, atol=1e-12)


# -- the new ops under torch's dtype rules ------------------------------------------------------

@pytest.mark.parametrize("name", ["sqrt", "rsqrt", "sin", "cos", "erf"])
def test_float_functions_of_an_integer_tensor_are_float32_as_torchs(name):
    ours, theirs = getattr(tg, name)(tg.tensor([1, 4])), getattr(torch(), name)(torch().tensor([1, 4]))
    assert ours.dtype == np.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.bool_])
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_are_exact_in_integer_and_bool_dtypes(name, dtype):
    """minimum is -maximum(-a, -b) for floats only: -(-128) overflows int8, -0 - 1 wraps uint8."""
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    low, high = (False, True) if info is None else (info.min, info.max)
    a, b = np.array([low, high, low, high], dtype), np.array([high, low, low, high], dtype)
    assert_matches_torch(getattr(tg, name), getattr(torch(), name), [a, b])


def test_masked_fill_tril_and_add_with_alpha_keep_an_integer_or_bool_dtype_as_torchs():
    ints, bools = np.array([[1, 2], [3, 4]]), np.array([[True, True], [True, True]])
    mask = np.array([[True, False], [False, True]])
    assert_matches_torch(lambda x: x.masked_fill(Tensor(mask), 7), lambda x: x.masked_fill(torch().tensor(mask), 7),
                         [ints])
    assert_matches_torch(lambda x: x.tril(), lambda x: x.tril(), [bools])
    assert_matches_torch(lambda x, y: x.add(y, alpha=3), lambda x, y: x.add(y, alpha=3), [ints, ints])
    assert_matches_torch(lambda x: x.sub(2, alpha=3), lambda x: x.sub(2, alpha=3), [ints])


def test_pow_gradients_at_a_zero_exponent_are_torchs_and_the_second_order_is_the_true_one():
    """torch gives d/dbase = 0 wherever the exponent is 0 (so also at a base of 0 or NaN, where
    the formula would be 0 * inf or 0 * NaN). Its mixed second derivative there is then 0; the
    true one, 1 / base, is what finite differences find, and what this library gives."""
    assert_matches_torch(lambda b, e: b ** e, lambda b, e: b ** e,
                         [np.array([0.0, nan, 2.0, -0.0, inf]), np.zeros(5)])
    base, exponent = Tensor(np.array([2.0, 0.5]), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)
    assert tg.gradgradcheck(lambda b, e: b ** e, [base, exponent])
