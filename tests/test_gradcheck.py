"""tg.gradcheck passes correct gradients and catches wrong ones, and says where; and the
hypothesis strategies tinygrad_rnn.testing offers users do what they promise."""

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Function, Tensor
from tinygrad_rnn.testing import (GradcheckError, arrays, broadcast_pairs, broadcastable_shapes,
                                  gradcheck, non_contiguous, shapes)

BAD_ELEMENT = (1, 2)


def leaf(shape, seed=0, dtype=np.float64):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return Tensor(values, requires_grad=True)


def cube_with_one_wrong_gradient():
    """A throwaway primitive x**3 whose backward is wrong at BAD_ELEMENT only."""

    class WrongCube(Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad):
            dx = 3 * self.x**2 * grad
            dx[BAD_ELEMENT] *= 2
            return dx

    return WrongCube


def _numbers_in(message):
    analytical, numerical = re.search(r"analytical (?:np\.float64\()?([-\d.e+]+)\)? vs numerical ([-\d.e+]+)",
                                      message).groups()
    return float(analytical), float(numerical)


@given(broadcast_pairs(max_dims=3, max_side=4))
def test_passes_correct_gradients(pair):
    a, b = (Tensor(x, requires_grad=True) for x in pair)
    assert gradcheck(lambda a, b: (a * b).tanh() + (a - b).sigmoid() * a, [a, b])
    assert gradcheck(lambda a, b: (a * b).tanh() + (a - b).sigmoid() * a, [a, b], fast_mode=True)


def test_catches_a_wrong_backward_and_names_input_element_and_values():
    WrongCube = cube_with_one_wrong_gradient()
    x, y = leaf((3,), seed=1), leaf((2, 4), seed=2)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: x.sum() * WrongCube.apply(y), [x, y])
    message = str(info.value)
    assert f"input 1 (shape (2, 4)), element {BAD_ELEMENT}" in message
    analytical, numerical = _numbers_in(message)
    np.testing.assert_allclose(analytical, 2 * numerical, rtol=1e-6)  # the doubled entry


def test_fast_mode_catches_a_wrong_backward_too():
    WrongCube = cube_with_one_wrong_gradient()
    x, y = leaf((3,), seed=1), leaf((2, 4), seed=2)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2, 4\)\), random direction: "
                                             r"analytical .* vs numerical"):
        gradcheck(lambda x, y: x.sum() * WrongCube.apply(y), [x, y], fast_mode=True)
    assert gradcheck(lambda x: x.exp(), [x], fast_mode=True)


def test_a_gradient_missing_from_one_input_is_caught():
    class ForgetsSecondInput(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, grad):
            return grad, None  # wrong twice: a's gradient is b, and b gets none

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(ForgetsSecondInput.apply, [leaf(3, seed=1), leaf(3, seed=2)])


def test_float32_inputs_are_checked_in_float64():
    x = leaf((4,), dtype=np.float32)
    original = x.data.copy()
    seen = []

    def cube(t):
        seen.append(t.dtype)
        return t**3  # eps = 1e-6 finite differences of this fail in float32

    assert gradcheck(cube, [x])
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x.data, original)  # the user's tensor is untouched
    assert x.grad is None and x.dtype == np.float32


def test_float64_leaves_are_used_as_given_and_keep_their_grad():
    weight = leaf((3, 2))
    weight.grad = np.full((3, 2), 7.0)
    before = weight.data.copy()
    x = leaf((4, 3), seed=1)
    assert gradcheck(lambda x, w: (x @ weight).tanh(), [x, weight])  # fn closes over weight
    np.testing.assert_array_equal(weight.data, before)
    np.testing.assert_array_equal(weight.grad, np.full((3, 2), 7.0))


def test_non_tensor_inputs_pass_through():
    x = leaf((2, 3))
    received = []

    def scaled_softmax(t, scale, dim):
        received.append((scale, dim))
        return (t * scale).softmax(dim)

    assert gradcheck(scaled_softmax, [x, 2.5, -1])
    assert set(received) == {(2.5, -1)}


def test_inputs_without_requires_grad_are_constants():
    x, c = leaf((3,)), Tensor(np.array([1.0, 2.0, 3.0]))
    assert gradcheck(lambda x, c: x * c, [x, c])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        gradcheck(lambda c: c * 2, [c])


def test_functions_returning_tuples_of_tensors():
    x = leaf((5, 2))
    assert gradcheck(lambda t: t.split(2), [x])
    assert gradcheck(lambda t: (t.exp(), [t.sum(0), t[1:3]]), [x])
    assert gradcheck(lambda t: t.max(dim=1), [x])  # (values, integer indices without grad)


def test_a_single_tensor_as_inputs():
    assert gradcheck(lambda t: t.log_softmax(0), leaf(4))


def test_non_tensor_result_is_a_type_error():
    with pytest.raises(TypeError, match="gradcheck: fn returned float"):
        gradcheck(lambda t: 1.0, [leaf(2)])


@given(arrays(shapes(max_dims=3, max_side=4), away_from=(0.0,)))
def test_users_can_property_test_their_own_functions(x):
    """The README's example: |x| as sqrt(x * x), away from its kink at 0."""
    assert gradcheck(lambda t: (t * t).sqrt(), [Tensor(x, requires_grad=True)])


# -- tinygrad_rnn.testing ---------------------------------------------------------------


def test_the_module_exports_the_strategies_and_gradcheck():
    import tinygrad_rnn.testing as testing

    assert testing.gradcheck is tg.gradcheck
    for name in ("shapes", "arrays", "broadcastable_shapes", "broadcast_pairs", "non_contiguous"):
        assert callable(getattr(testing, name))


def test_importing_the_package_never_imports_hypothesis():
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['hypothesis'] = None  # any import of it now fails\n"
        "import tinygrad_rnn\n"
        "for m in pkgutil.walk_packages(tinygrad_rnn.__path__, 'tinygrad_rnn.'):\n"
        "    if m.name != 'tinygrad_rnn.testing':\n"
        "        importlib.import_module(m.name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@given(shapes(max_dims=3, max_side=4))
def test_shapes_stay_in_bounds(shape):
    assert len(shape) <= 3 and all(1 <= n <= 4 for n in shape)


def test_shapes_include_scalars_and_size_one_dims():
    assert find(shapes(), lambda s: s == ()) == ()  # find raises if none turns up
    assert 1 in find(shapes(min_dims=2), lambda s: 1 in s)


@given(arrays(shapes(), away_from=(0.0, 1.0), margin=0.25))
def test_arrays_keep_away_from_the_points_given(x):
    assert x.dtype == np.float64 and np.all(np.isfinite(x))
    assert np.all(np.abs(x) >= 0.25) and np.all(np.abs(x - 1.0) >= 0.25)


@given(arrays((3, 4), dtype=np.float32, distinct=True))
def test_distinct_arrays_have_no_near_ties(x):
    assert x.shape == (3, 4) and x.dtype == np.float32
    assert np.min(np.diff(np.sort(x, axis=None))) >= 0.1 - 1e-6


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shape_triple):
    assert len(shape_triple) == 3
    np.broadcast_shapes(*shape_triple)


@given(broadcast_pairs(away_from=(0.0,)))
def test_broadcast_pairs_broadcast(pair):
    a, b = pair
    assert np.broadcast(a, b).shape == np.broadcast_shapes(a.shape, b.shape)
    assert np.all(np.abs(b) >= 0.1)


@given(st.data())
def test_non_contiguous_views_hold_the_same_values(data):
    x = data.draw(arrays(shapes(min_dims=1)), label="x")
    view = data.draw(non_contiguous(st.just(x)), label="view")
    np.testing.assert_array_equal(view, x)
    if x.size > 1:
        assert not view.flags.c_contiguous
