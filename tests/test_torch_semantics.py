"""Where numpy and PyTorch disagree, PyTorch's answer: indexing, ties, empty means, pow, dims.

Values and gradients are compared with torch in float64 where it is installed, and the
gradients with central finite differences always.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

rng = np.random.default_rng(0)
IDX = np.array([0, 2, 1])
MASK = np.array([True, False, True, True, False])


def leaf(array) -> Tensor:
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def compare_with_torch(fn, *arrays, torch_fn=None):
    """fn's value and the gradient of its weighted sum, against torch's, to 1e-10."""
    torch = pytest.importorskip("torch")
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, expected = fn(*ours), (torch_fn or fn)(*theirs)
    weights = rng.standard_normal(out.shape)
    with np.errstate(invalid="ignore"):  # inf - inf in the weighted sum of an output holding both
        (out * Tensor(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- advanced indexing: integers select first, then arrays pick --------------------------------

INDEXES = {
    "int, slice, array": (2, 5, 6), "None, int, slice, array": (4, 5, 6), "int, ..., array": (4, 5, 6),
    "slice, int, slice, array": (4, 5, 6, 7), "int, array, slice, array": (4, 5, 6, 7),
    "array, slice, int": (4, 5, 6), "int, mask, array": (4, 5, 6), "int, slice, column": (4, 5, 6),
    "0-d int array, slice, array": (2, 5, 6), "arrays only": (4, 5, 6),
}


def make_index(name):
    return {
        "int, slice, array": (0, slice(None), IDX), "None, int, slice, array": (None, 0, slice(None), IDX),
        "int, ..., array": (0, Ellipsis, IDX), "slice, int, slice, array": (slice(None), 0, slice(None), IDX),
        "int, array, slice, array": (0, IDX, slice(None), IDX), "array, slice, int": (IDX, slice(None), 0),
        "int, mask, array": (0, MASK, IDX), "int, slice, column": (0, slice(None), IDX[:, None]),
        "0-d int array, slice, array": (np.array(1), slice(None), IDX), "arrays only": (IDX, slice(None), IDX),
    }[name]


def test_an_integer_and_an_array_separated_by_a_slice_place_the_picked_dim_as_torch_does():
    x = tg.zeros(2, 5, 6)
    assert x[0, :, tg.tensor([0, 1, 2])].shape == (5, 3)  # numpy's rule gives (3, 5)
    values = Tensor(np.arange(60.0).reshape(2, 5, 6))
    np.testing.assert_array_equal(values[1, :, IDX].data, values.data[1][:, IDX])


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_advanced_indexing_values_and_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    index = make_index(name)
    torch_index = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in index)
    x = rng.standard_normal(INDEXES[name])
    compare_with_torch(lambda t: t[index], x, torch_fn=lambda t: t[torch_index])


@st.composite
def mixed_indices(draw):
    """A shape and an index mixing ints, slices, integer arrays, None and at most one Ellipsis."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple))
    before, after = len(shape), 0  # the dims indexed before and after the Ellipsis, if any
    ellipsis = draw(st.booleans()) and len(shape) > 1
    if ellipsis:
        before = draw(st.integers(0, len(shape) - 1))
        after = draw(st.integers(0, len(shape) - 1 - before))

    def part(side):
        kind = draw(st.sampled_from(["int", "slice", "array", "none"]))
        if kind == "int":
            return [draw(st.integers(-side, side - 1))]
        if kind == "array":
            return [np.array(draw(st.lists(st.integers(0, side - 1), min_size=2, max_size=2)))]
        return [None] * (kind == "none") + [slice(draw(st.integers(0, side - 1)), None)]

    parts = [p for side in shape[:before] for p in part(side)]
    if ellipsis:
        parts += [Ellipsis] + [p for side in shape[len(shape) - after:] for p in part(side)]
    return shape, tuple(parts)


@settings(deadline=None)
@given(mixed_indices())
def test_any_mix_of_ints_slices_arrays_and_none_indexes_as_torch_does(case):
    torch = pytest.importorskip("torch")
    shape, index = case
    torch_index = tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in index)
    compare_with_torch(lambda t: t[index], rng.standard_normal(shape), torch_fn=lambda t: t[torch_index])


@pytest.mark.parametrize("name", ["int, slice, array", "None, int, slice, array", "int, mask, array"])
def test_advanced_indexing_gradients_match_finite_differences(name):
    index = make_index(name)
    x = leaf(rng.standard_normal(INDEXES[name]))
    assert tg.gradcheck(lambda t: t[index] ** 2, [x])


# -- max(dim) and min(dim): the gradient follows the index --------------------------------------

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [5.0, 5.0, 5.0]])


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_at_ties_the_gradient_of_max_and_min_over_a_dim_goes_to_the_returned_index(reduce, keepdim):
    x = leaf(TIES)
    values, indices = getattr(x, reduce)(dim=1, keepdim=keepdim)
    values.sum().backward()
    expected = np.zeros_like(TIES)
    first = (TIES.argmax if reduce == "max" else TIES.argmin)(axis=1)
    expected[np.arange(3), first] = 1
    np.testing.assert_array_equal(indices.data.reshape(-1), first)
    np.testing.assert_array_equal(x.grad, expected)
    assert values.shape == ((3, 1) if keepdim else (3,))


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_and_min_over_a_dim_match_torch_at_ties(reduce, dim):
    compare_with_torch(lambda t: getattr(t, reduce)(dim=dim)[0], TIES)


def test_amax_still_shares_the_gradient_of_ties_and_max_over_a_dim_passes_finite_differences():
    x = leaf(TIES)
    x.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad[0], [0, 0.5, 0.5])
    distinct = leaf(rng.standard_normal((3, 4)))
    assert tg.gradcheck(lambda t: t.max(dim=0)[0] * t.min(dim=1, keepdim=True)[0].sum(), [distinct])


def test_max_over_dim_0_of_a_0d_tensor_is_the_tensor():
    value, index = Tensor(np.float64(3.0)).max(0)
    assert value.item() == 3.0 and index.item() == 0


# -- mean over nothing, sum over dim=(), squeeze of a tuple, clamp of an int ----------------------


def test_the_mean_over_an_empty_dim_is_nan_as_in_torch():
    empty = leaf(np.zeros((2, 0)))
    out = empty.mean(dim=1)
    assert out.shape == (2,) and np.isnan(out.data).all() and np.isnan(Tensor(np.zeros(0)).mean().item())
    out.sum().backward()
    assert empty.grad.shape == (2, 0)
    compare_with_torch(lambda t: t.mean(dim=0), np.zeros((0, 3)))


def test_sum_and_mean_over_an_empty_tuple_of_dims_reduce_every_dim():
    x = rng.standard_normal((2, 3))
    assert Tensor(x).sum(dim=()).shape == () and np.isclose(Tensor(x).sum(dim=()).item(), x.sum())
    compare_with_torch(lambda t: t.sum(dim=()), x)
    compare_with_torch(lambda t: t.mean(dim=[]), x)


def test_squeeze_takes_a_tuple_of_dims_and_keeps_those_not_of_size_1():
    x = tg.zeros(1, 2, 1, 1)
    assert x.squeeze((0, 2)).shape == (2, 1) and x.squeeze((1, -1)).shape == (1, 2, 1)
    assert x.squeeze(()).shape == x.shape and x.squeeze(0).shape == (2, 1, 1)
    with pytest.raises(ValueError, match=r"squeeze: dim \(0, -4\) repeats a dim"):
        x.squeeze((0, -4))
    torch = pytest.importorskip("torch")
    for dims in [(0, 2), (1, -1), (), 3]:
        assert x.squeeze(dims).shape == tuple(torch.zeros(1, 2, 1, 1).squeeze(dims).shape)


def test_an_integer_tensor_clamped_by_a_float_bound_becomes_float32():
    x = tg.tensor([1, 2, 3])
    assert x.clamp(min=1.5).tolist() == [1.5, 2.0, 3.0] and x.clamp(min=1.5).dtype == np.float32
    assert x.clamp(max=2).tolist() == [1, 2, 2] and x.clamp(max=2).dtype == np.int64
    torch = pytest.importorskip("torch")
    assert torch.tensor([1, 2, 3]).clamp(min=1.5).dtype == torch.float32


# -- pow with a tensor exponent --------------------------------------------------------------------

EXPONENTS = np.array([2.0, 0.0, -1.5, 3.0, 0.5, -1.0])


@pytest.mark.parametrize("base", [-2.0, 0.0, 2.0, -0.5])
def test_a_number_to_a_tensor_power_matches_torch_at_negative_and_zero_bases(base):
    compare_with_torch(lambda e: base**e, EXPONENTS)


def test_a_tensor_to_a_tensor_power_matches_torch_at_negative_and_zero_bases():
    bases = np.array([-2.0, 0.0, 0.0, -2.0, 0.0, 3.0, 0.0])
    exponents = np.array([2.0, 0.0, -1.0, 0.5, 2.5, -0.5, 1.0])
    compare_with_torch(lambda b, e: b**e, bases, exponents)
    compare_with_torch(lambda b, e: b.pow(e), bases, exponents)


def test_the_values_and_gradients_pytorch_gives_at_zero_and_negative_bases_without_torch():
    exponent = leaf([2.0, 0.0, -1.5, 3.0])
    with np.errstate(invalid="raise", divide="raise"):  # the nan and inf are meant: no warning
        out = 0.0**exponent
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [0.0, 1.0, np.inf, 0.0])
    np.testing.assert_array_equal(exponent.grad, [0.0, 0.0, -np.inf, 0.0])
    exponent.grad = None
    out = (-2.0) ** exponent
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [4.0, 1.0, np.nan, -8.0])
    assert np.isnan(exponent.grad).all()  # d/de = (-2)^e log(-2): NaN, as PyTorch gives


def test_pow_with_a_tensor_exponent_passes_finite_differences_to_second_order():
    base, exponent = leaf(rng.uniform(0.5, 2, (2, 3))), leaf(rng.uniform(-2, 2, (3,)))
    assert tg.gradcheck(lambda b, e: b**e, [base, exponent])
    assert tg.gradgradcheck(lambda b, e: b**e, [base, exponent])
    assert tg.gradcheck(lambda e: 3.0**e, [exponent])
