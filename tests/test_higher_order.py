"""Derivatives of derivatives: autograd.grad, backward(create_graph=True), the functional API
(vjp, jvp, vhp, hvp, jacobian, hessian), Hessian-vector products through the composed recurrent
layers, third derivatives, a 10,000-op graph differentiated twice, gradgradcheck, anomaly mode.

Values are checked in float64 against closed forms and central finite differences, and against
PyTorch where it is installed (those tests skip without it)."""

import sys

import numpy as np
import pytest
from hypothesis import given

import tinygrad_rnn as tg
from tinygrad_rnn import Function, GradcheckError, Tensor, nn
from tinygrad_rnn import functional as F
from tinygrad_rnn.autograd import functional as AF
from tinygrad_rnn.testing import arrays

from layer_kinds import LAYER_CLASSES

grad = tg.autograd.grad


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def random_array(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def random_leaf(shape, seed=0):
    return Tensor(random_array(shape, seed), requires_grad=True)


def flat(result) -> list:
    """The tensors of a (nested tuple) result as a flat list of arrays, in order."""
    if isinstance(result, (tuple, list)):
        return [a for item in result for a in flat(item)]
    return [np.asarray(result.detach().numpy() if hasattr(result, "detach") else result)]


def structure(result):
    """A result's nesting with each tensor replaced by its shape: tuple, list or single tensor."""
    if isinstance(result, (tuple, list)):
        return type(result)(structure(item) for item in result)
    return ("tensor", tuple(result.shape))


def numerical_jacobian(func, points, eps=1e-6) -> list:
    """d(output i)/d(input j) by central differences: blocks[i][j] of shape out_i.shape + in_j.shape.

    func runs on fresh leaves that require grad, so it may itself take a gradient."""

    def evaluate(xs):
        outs = func(*[Tensor(x, requires_grad=True) for x in xs])
        return [o.data for o in (outs if isinstance(outs, (tuple, list)) else (outs,))]

    base = evaluate(points)
    blocks = [[np.zeros(o.shape + a.shape) for a in points] for o in base]
    for j, a in enumerate(points):
        for index in np.ndindex(*a.shape):
            plus, minus = [x.copy() for x in points], [x.copy() for x in points]
            plus[j][index] += eps
            minus[j][index] -= eps
            for i, (p, m) in enumerate(zip(evaluate(plus), evaluate(minus))):
                blocks[i][j][(Ellipsis, *index)] = (p - m) / (2 * eps)
    return blocks


def gradient_of(func):
    """x -> d func / d x as a tuple of tensors (a function finite differences can differentiate)."""
    return lambda *xs: grad(func(*xs), xs, create_graph=True)


# -- autograd.grad -------------------------------------------------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_returns_a_tuple_of_tensors_shaped_and_typed_like_the_inputs(create_graph):
    a = random_leaf((2, 3))
    b = Tensor(random_array(4, seed=1).astype(np.float32), requires_grad=True)
    c = random_leaf((3, 1), seed=2)  # broadcast against (3, 4) below
    loss = (a * a).sum() + (b.double() ** 2).sum() + (c * Tensor(np.ones((3, 4)))).sum()
    result = grad(loss, [a, b, c], create_graph=create_graph)
    assert isinstance(result, tuple) and len(result) == 3
    assert all(isinstance(g, Tensor) for g in result)
    assert [g.shape for g in result] == [(2, 3), (4,), (3, 1)]
    assert [g.dtype for g in result] == [np.float64, np.float32, np.float64]
    np.testing.assert_allclose(result[0].data, 2 * a.data)
    np.testing.assert_allclose(result[1].data, 2 * b.data, rtol=1e-6)
    np.testing.assert_allclose(result[2].data, np.full((3, 1), 4.0))
    # c enters linearly: its gradient is a constant, with no graph, as in PyTorch
    assert [g.requires_grad for g in result] == [create_graph, create_graph, False]


def test_grad_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    x.grad = np.array([7.0, 7.0])
    grad((x * y).sum(), [x, y], create_graph=True)
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])
    assert y.grad is None


def test_grad_with_respect_to_a_non_leaf():
    a = leaf([1.0, -2.0])
    h = a * 3.0
    g_h, g_a = grad((h**2).sum(), [h, a])
    np.testing.assert_allclose(g_h.data, 2 * h.data)
    np.testing.assert_allclose(g_a.data, 18 * a.data)


def test_the_same_input_twice_gets_its_gradient_twice():
    x = leaf([2.0, -1.0])
    g1, g2 = grad((x**3).sum(), [x, x], create_graph=True)
    np.testing.assert_allclose(g1.data, 3 * x.data**2)
    np.testing.assert_allclose(g2.data, 3 * x.data**2)
    (second,) = grad((g1 * g2).sum(), x)  # d/dx (3x^2)^2 = 36 x^3
    np.testing.assert_allclose(second.data, 36 * x.data**3)


def test_several_outputs_are_weighted_by_their_grad_outputs():
    x, y = random_leaf(3, seed=1), random_leaf(3, seed=2)
    u, w = random_array(3, seed=3), random_array(3, seed=4)
    g_x, g_y = grad([x * y, x.exp()], [x, y], grad_outputs=[Tensor(u), w])
    np.testing.assert_allclose(g_x.data, u * y.data + w * np.exp(x.data))
    np.testing.assert_allclose(g_y.data, u * x.data)


def test_the_same_output_twice_gets_both_grad_outputs():
    x = leaf([1.0, 2.0])
    y = x**2
    (g,) = grad([y, y], x, [np.array([1.0, 1.0]), np.array([2.0, 2.0])])
    np.testing.assert_allclose(g.data, 3 * 2 * x.data)


def test_an_unused_input_raises_naming_its_index_and_shape():
    a, unused = leaf([1.0, 2.0]), random_leaf((4, 1))
    with pytest.raises(RuntimeError, match=r"inputs\[1\] \(shape \(4, 1\)\) was not used.*allow_unused=True"):
        grad((a * 2.0).sum(), [a, unused])


def test_allow_unused_gives_none_and_materialize_grads_gives_zeros():
    a, unused = leaf([1.0, 2.0]), random_leaf((4, 1))
    g_a, g_unused = grad((a * 2.0).sum(), [a, unused], allow_unused=True)
    np.testing.assert_array_equal(g_a.data, [2.0, 2.0])
    assert g_unused is None
    g_a, g_unused = grad((a * 2.0).sum(), [a, unused], materialize_grads=True)
    assert g_unused.shape == (4, 1) and g_unused.dtype == np.float64
    np.testing.assert_array_equal(g_unused.data, np.zeros((4, 1)))
    with pytest.raises(ValueError, match="materialize_grads"):
        grad((a * 2.0).sum(), [a, unused], allow_unused=False, materialize_grads=True)


def test_an_input_that_does_not_require_grad_raises():
    a, constant = leaf([1.0, 2.0]), Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"inputs\[1\] \(shape \(3,\)\) does not require grad"):
        grad((a * 2.0).sum(), [a, constant])


def test_create_graph_gives_gradients_that_differentiate_again():
    x = leaf([0.5, -1.0, 2.0])
    (first,) = grad((x**3).sum(), x, create_graph=True)
    assert first.requires_grad and not first.is_leaf
    (second,) = grad(first.sum(), x, create_graph=True)
    (third,) = grad(second.sum(), x)
    np.testing.assert_allclose(first.data, 3 * x.data**2)
    np.testing.assert_allclose(second.data, 6 * x.data)
    np.testing.assert_allclose(third.data, [6.0, 6.0, 6.0])
    assert not third.requires_grad


def test_grad_outputs_that_require_grad_are_differentiated_too():
    """The double-vjp trick behind jvp: u^T J differentiated with respect to u."""
    x, u = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    (g,) = grad(x**2, x, grad_outputs=u, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * x.data * u.data)
    g_x, g_u = grad(g.sum(), [x, u])
    np.testing.assert_allclose(g_x.data, 2 * u.data)
    np.testing.assert_allclose(g_u.data, 2 * x.data)


def test_retain_graph_defaults_to_create_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).tanh().sum()
    grad(y, x)
    with pytest.raises(RuntimeError, match="already freed"):
        grad(y, x)

    y = (x * x).tanh().sum()
    grad(y, x, retain_graph=True)
    np.testing.assert_allclose(grad(y, x)[0].data, 2 * x.data / np.cosh(x.data**2) ** 2)

    y = (x * x).tanh().sum()
    first = grad(y, x, create_graph=True)[0]
    np.testing.assert_allclose(grad(y, x)[0].data, first.data)


# -- Tensor.backward(create_graph=True) ----------------------------------------------------


def test_backward_with_create_graph_leaves_plain_ndarrays_in_grad():
    x = leaf([0.5, -1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert type(x.grad) is np.ndarray
    np.testing.assert_allclose(x.grad, 3 * x.data**2)


def test_backward_inputs_accumulates_into_those_tensors_only():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_array_equal(a.grad, b.data)
    assert b.grad is None
    (a * b).sum().backward(inputs=[a], create_graph=True)
    np.testing.assert_array_equal(a.grad, 2 * b.data)  # accumulated
    assert b.grad is None


def _penalised_loss(w, x):
    """tanh(x W).sum() plus the squared norm of its gradient with respect to x."""
    with tg.enable_grad():  # gradcheck evaluates under no_grad; the penalty needs its graph
        out = (x @ w).tanh().sum()
        (g_x,) = grad(out, x, create_graph=True)
        return out + (g_x**2).sum()


def test_gradient_penalty_matches_finite_differences():
    w, x = random_leaf((3, 4)), random_leaf((5, 3), seed=1)
    assert tg.gradcheck(_penalised_loss, [w, x])


def test_gradient_penalty_backward_matches_torch(torch):
    w, x = random_leaf((3, 4)), random_leaf((5, 3), seed=1)
    _penalised_loss(w, x).backward()

    w_t, x_t = (torch.tensor(t.data, requires_grad=True) for t in (w, x))
    out = (x_t @ w_t).tanh().sum()
    (g_x,) = torch.autograd.grad(out, x_t, create_graph=True)
    (out + (g_x**2).sum()).backward()
    np.testing.assert_allclose(w.grad, w_t.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- the functional API: vjp, jvp, vhp, hvp, jacobian, hessian -----------------------------
# Each function works on tinygrad_rnn and torch tensors alike. A case is
# (api, func, inputs, v): inputs and v are an array (a single tensor) or a tuple of arrays.


def elementwise(x):  # (2, 3) -> (2,)
    return (x.tanh() * x).sum(1)


def two_inputs(x, y):  # (2, 3), (3,) -> (2, 3)
    return (x * y).sigmoid() + y.exp()


def two_outputs(x, y):  # (2, 3), (3,) -> ((3,), (3,))
    return x.sum() * y, (x * x).sum(0)


def scalar_one_input(x):  # (2, 3) -> ()
    return (x.tanh() ** 2).sum() + (x**3).sum()


def scalar_two_inputs(x, y):  # (2, 3), (3,) -> ()
    return (x * y).tanh().sum() * y.sum()


def scalar_log_softmax(x):  # (4,) -> ()
    return x.log_softmax(0)[1] * x[2]


X, Y, S = random_array((2, 3), seed=10), random_array(3, seed=11), random_array(4, seed=12)
VX, VY, VS = random_array((2, 3), seed=20), random_array(3, seed=21), random_array(4, seed=22)

FUNCTIONAL_CASES = {
    "vjp-single": ("vjp", elementwise, X, random_array(2, seed=23)),
    "vjp-tuple": ("vjp", two_inputs, (X, Y), VX),
    "vjp-two-outputs": ("vjp", two_outputs, (X, Y), (VY, random_array(3, seed=24))),
    "jvp-single": ("jvp", elementwise, X, VX),
    "jvp-tuple": ("jvp", two_inputs, (X, Y), (VX, VY)),
    "jvp-two-outputs": ("jvp", two_outputs, (X, Y), (VX, VY)),
    "vhp-single": ("vhp", scalar_one_input, X, VX),
    "vhp-tuple": ("vhp", scalar_two_inputs, (X, Y), (VX, VY)),
    "vhp-log-softmax": ("vhp", scalar_log_softmax, S, VS),
    "hvp-single": ("hvp", scalar_one_input, X, VX),
    "hvp-tuple": ("hvp", scalar_two_inputs, (X, Y), (VX, VY)),
    "hvp-log-softmax": ("hvp", scalar_log_softmax, S, VS),
    "jacobian-single": ("jacobian", elementwise, X, None),
    "jacobian-tuple": ("jacobian", two_inputs, (X, Y), None),
    "jacobian-two-outputs": ("jacobian", two_outputs, (X, Y), None),
    "jacobian-two-outputs-one-input": ("jacobian", lambda x: (x.sum() * x, x.exp()), Y, None),
    "hessian-single": ("hessian", scalar_one_input, X, None),
    "hessian-tuple": ("hessian", scalar_two_inputs, (X, Y), None),
    "hessian-log-softmax": ("hessian", scalar_log_softmax, S, None),
}


def as_tensors(values, make):
    """Arrays to tensors keeping the structure: a tuple stays a tuple, an array becomes one tensor."""
    if values is None:
        return None
    return tuple(make(a.copy()) for a in values) if isinstance(values, tuple) else make(values.copy())


def call(module, case, make, **kwargs):
    api, func, inputs, v = FUNCTIONAL_CASES[case]
    args = (func, as_tensors(inputs, make)) + (() if v is None else (as_tensors(v, make),))
    return getattr(module, api)(*args, **kwargs)


@pytest.mark.parametrize("case", FUNCTIONAL_CASES)
def test_functional_values_and_structure_match_torch(case, torch):
    ours = call(AF, case, Tensor)
    theirs = call(torch.autograd.functional, case, torch.from_numpy)
    assert structure(ours) == structure(theirs)
    for got, want in zip(flat(ours), flat(theirs)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _expected_by_finite_differences(case):
    """What the case's api returns (its second item for the products), from numerical Jacobians."""
    api, func, inputs, v = FUNCTIONAL_CASES[case]
    xs = inputs if isinstance(inputs, tuple) else (inputs,)
    vs = v if isinstance(v, tuple) else (v,)
    if api in ("vhp", "hvp", "hessian"):
        jacobian = numerical_jacobian(gradient_of(func), xs)  # the Hessian, symmetric
    else:
        jacobian = numerical_jacobian(func, xs)
    if api in ("jacobian", "hessian"):
        return [block for row in jacobian for block in row]
    if api == "jvp":
        return [sum(np.tensordot(row[j], vs[j], axes=vs[j].ndim) for j in range(len(xs))) for row in jacobian]
    return [sum(np.tensordot(vs[i], jacobian[i][j], axes=vs[i].ndim) for i in range(len(jacobian)))
            for j in range(len(xs))]  # vjp, vhp and hvp: v^T J


@pytest.mark.parametrize("case", FUNCTIONAL_CASES)
def test_functional_values_match_finite_differences(case):
    ours = call(AF, case, Tensor)
    api = FUNCTIONAL_CASES[case][0]
    result = ours if api in ("jacobian", "hessian") else ours[1]
    expected = _expected_by_finite_differences(case)
    got = flat(result)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_products_return_the_function_value_first_detached():
    x = random_leaf((2, 3))
    for api, func, v in (("vjp", elementwise, Tensor(np.ones(2))), ("jvp", elementwise, Tensor(VX)),
                         ("vhp", scalar_one_input, Tensor(VX)), ("hvp", scalar_one_input, Tensor(VX))):
        value, product = getattr(AF, api)(func, x, v)
        np.testing.assert_allclose(value.data, func(Tensor(x.data)).data, err_msg=api)
        assert not value.requires_grad and not product.requires_grad, api
    assert x.grad is None


def test_return_structure_follows_the_inputs_and_outputs():
    """PyTorch's nesting: a tuple of inputs gives a tuple, a single tensor a single tensor;
    jacobian and hessian nest the outputs outside, the inputs inside."""
    x, y = Tensor(X), Tensor(Y)

    def t(*shape):
        return ("tensor", shape)

    assert structure(AF.vjp(elementwise, x, Tensor(np.ones(2)))) == (t(2), t(2, 3))
    assert structure(AF.vjp(elementwise, (x,), Tensor(np.ones(2)))) == (t(2), (t(2, 3),))
    assert structure(AF.jvp(two_outputs, (x, y), (x, y))) == ((t(3), t(3)), (t(3), t(3)))
    assert structure(AF.hvp(scalar_two_inputs, (x, y), (x, y))) == (t(), (t(2, 3), t(3)))
    assert structure(AF.jacobian(elementwise, x)) == t(2, 2, 3)
    assert structure(AF.jacobian(two_inputs, (x, y))) == (t(2, 3, 2, 3), t(2, 3, 3))
    assert structure(AF.jacobian(lambda a: (a.sum() * a, a.exp()), y)) == (t(3, 3), t(3, 3))
    assert structure(AF.jacobian(two_outputs, (x, y))) == ((t(3, 2, 3), t(3, 3)), (t(3, 2, 3), t(3, 3)))
    assert structure(AF.hessian(scalar_one_input, x)) == t(2, 3, 2, 3)
    assert structure(AF.hessian(scalar_two_inputs, (x, y))) == ((t(2, 3, 2, 3), t(2, 3, 3)),
                                                                (t(3, 2, 3), t(3, 3)))


def test_closed_forms_of_a_cubic():
    """f(x) = x^T A x + sum x^3: gradient (A + A^T) x + 3x^2, Hessian A + A^T + diag(6x)."""
    a, x0, v0 = random_array((4, 4), seed=30), random_array(4, seed=31), random_array(4, seed=32)

    def f(x):
        return (x * (Tensor(a) @ x)).sum() + (x**3).sum()

    hessian = a + a.T + np.diag(6 * x0)
    _, hv = AF.hvp(f, Tensor(x0), Tensor(v0))
    _, vh = AF.vhp(f, Tensor(x0), Tensor(v0))
    _, g = AF.vjp(f, Tensor(x0))
    np.testing.assert_allclose(hv.data, hessian @ v0, rtol=1e-12)
    np.testing.assert_allclose(vh.data, v0 @ hessian, rtol=1e-12)
    np.testing.assert_allclose(g.data, (a + a.T) @ x0 + 3 * x0**2, rtol=1e-12)
    np.testing.assert_allclose(AF.hessian(f, Tensor(x0)).data, hessian, rtol=1e-12)
    np.testing.assert_allclose(AF.jacobian(lambda x: Tensor(a) @ x, Tensor(x0)).data, a)
    _, jv = AF.jvp(lambda x: (Tensor(a) @ x).tanh(), Tensor(x0), Tensor(v0))
    np.testing.assert_allclose(jv.data, (1 - np.tanh(a @ x0) ** 2) * (a @ v0), rtol=1e-12)


def mixed(x):  # (4,) -> (): many primitives, slices among them (IndexPut in the recorded backward)
    a = Tensor(np.array([[0.5, -1.0, 0.3, 0.8], [1.2, 0.1, -0.7, 0.4]]))
    return ((x.tanh() * x.sigmoid()).sum() + x.log_softmax(0)[0] * x.exp().mean()
            + (x[:2] * x[2:]).sum() ** 2 + (a @ x).sigmoid().sum() / (1 + x * x).sum())


@given(arrays((4,)), arrays((4,)))
def test_three_routes_to_a_hessian_vector_product_agree(x, v):
    """The Hessian is symmetric, hvp = H v, and jvp of the gradient (a third-order graph) = H v."""
    hessian = AF.hessian(mixed, Tensor(x)).data
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-10, atol=1e-12)
    _, hv = AF.hvp(mixed, Tensor(x), Tensor(v))
    np.testing.assert_allclose(hv.data, hessian @ v, rtol=1e-10, atol=1e-12)
    _, jv = AF.jvp(lambda t: grad(mixed(t), t, create_graph=True)[0], Tensor(x), Tensor(v))
    np.testing.assert_allclose(jv.data, hessian @ v, rtol=1e-10, atol=1e-12)


def cube_of_first(a, b):
    return (a**3).sum()


def cube_of_first_plus_second(a, b):
    return (a**3).sum() + b.sum()


STRICT_CASES = {  # name: (api, func of (a, b), v from (a, b)): something does not depend on b
    "vjp": ("vjp", lambda a, b: a * 2.0, lambda a, b: a),
    "jvp": ("jvp", lambda a, b: a * 2.0, lambda a, b: (a * 0.0, b)),  # so J v = J_b v_b
    "vhp": ("vhp", cube_of_first, lambda a, b: (a, b)),
    "hvp": ("hvp", cube_of_first, lambda a, b: (a, b)),
    "vhp-linear-in-b": ("vhp", cube_of_first_plus_second, lambda a, b: (a, b)),
    "jacobian": ("jacobian", lambda a, b: a * 2.0, None),
    "hessian": ("hessian", cube_of_first, None),
    "hessian-linear-in-b": ("hessian", cube_of_first_plus_second, None),
}


def strict_call(module, case, make, **kwargs):
    api, func, v = STRICT_CASES[case]
    inputs = (make(Y.copy()), make(np.ones(3)))
    args = (func, inputs) if v is None else (func, inputs, v(*inputs))
    return getattr(module, api)(*args, **kwargs)


@pytest.mark.parametrize("case", STRICT_CASES)
def test_strict_raises_on_an_output_independent_of_an_input(case):
    with pytest.raises(RuntimeError, match="strict=True"):
        strict_call(AF, case, Tensor, strict=True)
    last = flat(strict_call(AF, case, Tensor))[-1]  # not strict: zeros where b's part would be
    assert last.shape[-1] == 3 and not np.any(last)


@pytest.mark.parametrize("case", STRICT_CASES)
def test_strict_raises_where_torch_does(case, torch):
    with pytest.raises(RuntimeError):
        strict_call(torch.autograd.functional, case, torch.from_numpy, strict=True)


def test_a_constant_output_gives_zeros_unless_strict():
    constant = lambda x: Tensor(np.ones(3))  # noqa: E731
    _, product = AF.vjp(constant, Tensor(Y), Tensor(np.ones(3)))
    np.testing.assert_array_equal(product.data, np.zeros(3))
    _, product = AF.jvp(constant, Tensor(Y), Tensor(np.ones(3)))
    np.testing.assert_array_equal(product.data, np.zeros(3))
    np.testing.assert_array_equal(AF.jacobian(constant, Tensor(Y)).data, np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="strict=True"):
        AF.vjp(constant, Tensor(Y), Tensor(np.ones(3)), strict=True)


def test_create_graph_results_carry_a_graph_back_to_the_inputs():
    """x = (0.5, -1, 2): each result, summed, differentiated once more by hand."""
    x, v = leaf([0.5, -1.0, 2.0]), Tensor(np.array([1.0, 2.0, 3.0]))
    cases = [  # (result, closed form of d sum(result) / dx)
        (AF.vjp(lambda t: (t**3).sum(), x, create_graph=True)[1], 6 * x.data),
        (AF.jvp(lambda t: t**3, x, v, create_graph=True)[1], 6 * x.data * v.data),
        (AF.vhp(lambda t: (t**4).sum(), x, v, create_graph=True)[1], 24 * x.data * v.data),
        (AF.hvp(lambda t: (t**4).sum(), x, v, create_graph=True)[1], 24 * x.data * v.data),
        (AF.jacobian(lambda t: t**3, x, create_graph=True), 6 * x.data),
        (AF.hessian(lambda t: (t**4).sum(), x, create_graph=True), 24 * x.data),
    ]
    for i, (result, expected) in enumerate(cases):
        assert result.requires_grad, i
        np.testing.assert_allclose(grad(result.sum(), x)[0].data, expected, err_msg=str(i))


def test_without_create_graph_results_carry_no_graph_even_from_leaves_that_require_grad():
    x = leaf([0.5, -1.0, 2.0])
    assert not AF.vjp(lambda t: (t**3).sum(), x)[1].requires_grad
    assert not AF.jacobian(lambda t: t**3, x).requires_grad
    assert not AF.hessian(lambda t: (t**4).sum(), x).requires_grad
    assert x.grad is None


def test_create_graph_results_depend_on_v_too():
    x, v = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    for api, func, d_x, d_v in [
        ("vjp", lambda t: t**3, 6 * x.data * v.data, 3 * x.data**2),
        ("jvp", lambda t: t**3, 6 * x.data * v.data, 3 * x.data**2),
        ("hvp", lambda t: (t**3).sum(), 6 * v.data, 6 * x.data),
        ("vhp", lambda t: (t**3).sum(), 6 * v.data, 6 * x.data),
    ]:
        _, product = getattr(AF, api)(func, x, v, create_graph=True)
        g_x, g_v = grad(product.sum(), [x, v])
        np.testing.assert_allclose(g_x.data, d_x, err_msg=api)
        np.testing.assert_allclose(g_v.data, d_v, err_msg=api)


def test_the_functional_api_works_inside_no_grad():
    x, v = Tensor(np.array([1.0, 2.0])), Tensor(np.ones(2))
    with tg.no_grad():
        _, hv = AF.hvp(lambda t: (t**3).sum(), x, v)
        jacobian = AF.jacobian(lambda t: t**3, x)
        assert not tg.is_grad_enabled()
    np.testing.assert_allclose(hv.data, 6 * x.data)
    np.testing.assert_allclose(jacobian.data, np.diag(3 * x.data**2))


def test_float32_inputs_give_float32_results():
    x, v = Tensor(np.array([1.0, 2.0], np.float32)), Tensor(np.ones(2, np.float32))
    assert AF.hvp(lambda t: (t**3).sum(), x, v)[1].dtype == np.float32
    assert AF.jvp(lambda t: t**3, x, v)[1].dtype == np.float32
    assert AF.jacobian(lambda t: t**3, x).dtype == np.float32
    assert AF.hessian(lambda t: (t**3).sum(), x).dtype == np.float32


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_zero_dimensional_inputs(strategy):
    x = Tensor(np.array(3.0))
    jacobian = AF.jacobian(lambda t: t * t, x, strategy=strategy)
    assert jacobian.shape == () and jacobian.item() == 6.0
    hessian = AF.hessian(lambda t: t**3, x, outer_jacobian_strategy=strategy)
    assert hessian.shape == () and hessian.item() == 18.0


@pytest.mark.parametrize("case", ["jacobian-single", "jacobian-tuple", "jacobian-two-outputs",
                                  "jacobian-two-outputs-one-input"])
def test_forward_mode_jacobian_equals_reverse_mode(case):
    reverse = call(AF, case, Tensor)
    forward = call(AF, case, Tensor, strategy="forward-mode")
    assert structure(forward) == structure(reverse)
    for f, r in zip(flat(forward), flat(reverse)):
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-14)


def test_forward_mode_outer_jacobian_of_the_hessian_equals_reverse_mode():
    forward = AF.hessian(scalar_two_inputs, (Tensor(X), Tensor(Y)), outer_jacobian_strategy="forward-mode")
    reverse = AF.hessian(scalar_two_inputs, (Tensor(X), Tensor(Y)))
    for f, r in zip(flat(forward), flat(reverse)):
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-14)


def test_vectorize_is_accepted_and_changes_nothing():
    np.testing.assert_array_equal(AF.jacobian(elementwise, Tensor(X), vectorize=True).data,
                                  AF.jacobian(elementwise, Tensor(X)).data)
    np.testing.assert_array_equal(AF.hessian(scalar_one_input, Tensor(X), vectorize=True).data,
                                  AF.hessian(scalar_one_input, Tensor(X)).data)


def test_an_unknown_jacobian_strategy_raises():
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(elementwise, Tensor(X), strategy="sideways")


@pytest.mark.parametrize("api, func, inputs, v, message", [
    ("vjp", elementwise, Tensor(X), Tensor(np.ones(3)), r"v\[0\] has shape \(3,\) but output 0 has shape \(2,\)"),
    ("jvp", elementwise, Tensor(X), Tensor(np.ones(6)), r"v\[0\] has shape \(6,\) but input 0 has shape \(2, 3\)"),
    ("vhp", scalar_one_input, Tensor(X), Tensor(np.ones((3, 2))), r"v\[0\] has shape \(3, 2\)"),
    ("hvp", scalar_two_inputs, (Tensor(X), Tensor(Y)), Tensor(VX), "v has 1 tensors but the input has 2"),
    ("jvp", two_inputs, (Tensor(X), Tensor(Y)), (Tensor(VX),), "v has 1 tensors but the input has 2"),
])
def test_a_v_of_the_wrong_shape_or_count_raises(api, func, inputs, v, message):
    with pytest.raises(RuntimeError, match=message):
        getattr(AF, api)(func, inputs, v)


def test_v_may_be_left_out_only_for_single_elements():
    with pytest.raises(RuntimeError, match="single-element"):
        AF.vjp(elementwise, Tensor(X))
    with pytest.raises(RuntimeError, match="v can be left out only"):
        AF.hvp(scalar_one_input, Tensor(X))
    _, product = AF.jvp(lambda t: t.tanh(), Tensor(np.array(0.3)))
    np.testing.assert_allclose(product.data, 1 - np.tanh(0.3) ** 2)


def test_vhp_and_hessian_need_a_single_element_output():
    with pytest.raises(RuntimeError, match="single-element"):
        AF.vhp(elementwise, Tensor(X), Tensor(VX))
    with pytest.raises(RuntimeError, match="single-element"):
        AF.hessian(elementwise, Tensor(X))


# -- Hessian-vector products through the composed recurrent layers ------------------------
# The loss is a function of the input and of every weight: functional_call puts the weights
# into the layer for one call, so the layer's own forward (stacking, directions, packing) runs.

STEPS, BATCH, INPUT, HIDDEN = 5, 3, 4, 5
RECURRENT_LAYERS = {  # name: (class name in nn and torch.nn, keyword arguments, lengths if packed)
    "rnn-tanh": ("RNN", {}, None),
    "lstm-two-layers": ("LSTM", {"num_layers": 2}, None),
    "gru-bidirectional": ("GRU", {"bidirectional": True}, None),
    "lstm-packed-unsorted-bidirectional": ("LSTM", {"bidirectional": True}, [3, 5, 2]),
}


def functional_call(module, tensors_by_name: dict, *args):
    """module(*args) with its parameters replaced by the given tensors, which keep their graph.

    As torch.func.functional_call: a Parameter built from a tensor would copy its data and lose
    the graph, so the entries of the module's ``_parameters`` registry are swapped, then restored.
    """
    registry = module._parameters
    assert set(tensors_by_name) <= set(registry), "only the module's own (undotted) parameter names"
    saved = dict(registry)
    try:
        registry.update(tensors_by_name)
        return module(*args)
    finally:
        registry.update(saved)


def recurrent_loss(output, state):
    """A scalar of the outputs and the final state (the cell state c_n for an LSTM): any library."""
    final = state[1] if isinstance(state, tuple) else state
    return ((output - 0.3) ** 2).mean() + 0.5 * (final**2).sum()


def run_layer(call, x, lengths, pack):
    """call(x), or call(the packed x) with the packed output's rows as the output."""
    if lengths is None:
        return call(x)
    output, state = call(pack(x, lengths, enforce_sorted=False))
    return output.data, state


def recurrent_problem(name):
    """(loss of (x, *weights), names of the weights, the point: x and the weights, a direction)."""
    kind, kwargs, lengths = RECURRENT_LAYERS[name]
    tg.manual_seed(0)
    layer = getattr(nn, kind)(INPUT, HIDDEN, fused=False, **kwargs).double()
    names = [n for n, _ in layer.named_parameters()]

    def loss(x, *weights):
        def call(sequence):
            return functional_call(layer, dict(zip(names, weights)), sequence)

        return recurrent_loss(*run_layer(call, x, lengths, nn.utils.rnn.pack_padded_sequence))

    point = (random_array((STEPS, BATCH, INPUT), seed=1), *(p.data.copy() for p in layer.parameters()))
    direction = tuple(random_array(a.shape, seed=100 + i) for i, a in enumerate(point))
    return loss, names, point, direction


@pytest.mark.parametrize("name", RECURRENT_LAYERS)
def test_recurrent_hvp_matches_finite_differences_of_the_gradient(name):
    loss, names, point, direction = recurrent_problem(name)
    _, hv = AF.hvp(loss, tuple(Tensor(a) for a in point), tuple(Tensor(d) for d in direction))
    assert len(hv) == len(point) == 1 + len(names)

    def gradient(values):
        leaves = [Tensor(a, requires_grad=True) for a in values]
        return [g.data for g in grad(loss(*leaves), leaves)]

    eps = 1e-6
    plus = gradient([a + eps * d for a, d in zip(point, direction)])
    minus = gradient([a - eps * d for a, d in zip(point, direction)])
    numerical = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    scale = max(np.abs(n).max() for n in numerical)
    for what, got, want in zip(["x", *names], hv, numerical):
        assert got.shape == want.shape, what
        np.testing.assert_allclose(got.data, want, rtol=1e-6, atol=1e-8 * scale, err_msg=what)


@pytest.mark.parametrize("name", RECURRENT_LAYERS)
def test_recurrent_hvp_matches_torch(name, torch):
    loss, names, point, direction = recurrent_problem(name)
    value, hv = AF.hvp(loss, tuple(Tensor(a) for a in point), tuple(Tensor(d) for d in direction))

    kind, kwargs, lengths = RECURRENT_LAYERS[name]
    torch_layer = getattr(torch.nn, kind)(INPUT, HIDDEN, **kwargs).double()
    assert [n for n, _ in torch_layer.named_parameters()] == names

    def torch_loss(x, *weights):
        def call(sequence):
            return torch.func.functional_call(torch_layer, dict(zip(names, weights)), (sequence,))

        return recurrent_loss(*run_layer(call, x, lengths, torch.nn.utils.rnn.pack_padded_sequence))

    as_torch = lambda values: tuple(torch.from_numpy(a.copy()) for a in values)  # noqa: E731
    torch_value, torch_hv = torch.autograd.functional.hvp(torch_loss, as_torch(point), as_torch(direction))
    np.testing.assert_allclose(value.data, torch_value.numpy(), rtol=1e-12)
    scale = max(np.abs(t.numpy()).max() for t in torch_hv)
    for what, got, want in zip(["x", *names], hv, torch_hv):
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-9, atol=1e-12 * scale, err_msg=what)


def test_gradient_penalty_through_a_composed_lstm_matches_torch(torch):
    """A WGAN-GP style loss: score + (|d score / d x|^2 - 1)^2, backpropagated into the weights."""
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4, fused=False).double()
    x = random_leaf((4, 2, 3))

    def penalised(lstm, x, grad_fn):
        score = lstm(x)[0].tanh().sum()
        (g_x,) = grad_fn(score, x, create_graph=True)
        return score + ((g_x**2).sum() - 1) ** 2

    penalised(lstm, x, grad).backward()

    torch_lstm = torch.nn.LSTM(3, 4).double()
    torch_lstm.load_state_dict({n: torch.from_numpy(p.data.copy()) for n, p in lstm.named_parameters()})
    x_t = torch.tensor(x.data, requires_grad=True)
    penalised(torch_lstm, x_t, torch.autograd.grad).backward()
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=1e-10)
    for (name, p), p_t in zip(lstm.named_parameters(), torch_lstm.parameters()):
        np.testing.assert_allclose(p.grad, p_t.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


# -- the fused recurrent layers refuse second derivatives, by name ---------------------------

@pytest.mark.parametrize("kind", LAYER_CLASSES)
def test_fused_layers_refuse_a_hessian_vector_product_by_name(kind):
    tg.manual_seed(0)
    layer = LAYER_CLASSES[kind](INPUT, HIDDEN).double()  # fused=True by default
    names = [n for n, _ in layer.named_parameters()]
    x = Tensor(random_array((STEPS, BATCH, INPUT), seed=1))
    weights = tuple(Tensor(p.data.copy()) for p in layer.parameters())

    def loss(*ws):
        return recurrent_loss(*functional_call(layer, dict(zip(names, ws)), x))

    message = "not supported through a compiled scan; .*build it with fused=False"
    with pytest.raises(RuntimeError, match=message):
        AF.hvp(loss, weights, tuple(Tensor(np.ones(w.shape)) for w in weights))
    with pytest.raises(RuntimeError, match=message):
        recurrent_loss(*layer(x)).backward(create_graph=True)
    layer.zero_grad()
    recurrent_loss(*layer(x)).backward()  # first order still works
    assert all(p.grad is not None for p in layer.parameters())


# -- third derivatives ---------------------------------------------------------------------


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


SMOOTH = np.array([-1.3, -0.2, 0.4, 1.1])
POSITIVE = np.array([0.3, 0.9, 1.7, 2.5])
THIRD_DERIVATIVES = {  # name: (function, its third derivative, points)
    "tanh": (lambda x: x.tanh(), lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2), SMOOTH),
    "sigmoid": (lambda x: x.sigmoid(),
                lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 6 * sigmoid(x) + 6 * sigmoid(x) ** 2), SMOOTH),
    "logsigmoid": (F.logsigmoid, lambda x: -sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)), SMOOTH),
    "softplus": (F.softplus, lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)), SMOOTH),
    "exp": (lambda x: x.exp(), np.exp, SMOOTH),
    "pow-4": (lambda x: x**4, lambda x: 24 * x, SMOOTH),
    "log": (lambda x: x.log(), lambda x: 2 / x**3, POSITIVE),
    "sqrt": (lambda x: x.sqrt(), lambda x: 0.375 * x**-2.5, POSITIVE),
    "reciprocal": (lambda x: 1 / x, lambda x: -6 / x**4, POSITIVE),
}


@pytest.mark.parametrize("name", THIRD_DERIVATIVES)
def test_third_derivative_of_an_elementwise_function_matches_its_closed_form(name):
    f, third, points = THIRD_DERIVATIVES[name]
    x = Tensor(points.copy(), requires_grad=True)
    (d1,) = grad(f(x).sum(), x, create_graph=True)
    (d2,) = grad(d1.sum(), x, create_graph=True)
    (d3,) = grad(d2.sum(), x)
    np.testing.assert_allclose(d3.data, third(points), rtol=1e-10, atol=1e-12)


def third_derivative_tensor(f, x0):
    """T[i, j, l] = d3 f / dx_i dx_j dx_l of a scalar f, by three nested autograd.grad calls."""
    x = Tensor(x0.copy(), requires_grad=True)
    n = len(x0)
    (g,) = grad(f(x), x, create_graph=True)
    tensor = np.zeros((n, n, n))
    for i in range(n):
        (hessian_row,) = grad(g[i], x, create_graph=True, retain_graph=True)
        for j in range(n):
            tensor[i, j] = grad(hessian_row[j], x, retain_graph=True)[0].data
    return tensor


def third_cumulant(p):
    """d3 logsumexp / dx_i dx_j dx_l, p = softmax(x): the third cumulant of the distribution p,
    p_i d_ijl - p_i p_l d_ij - p_i p_j d_il - p_j p_i d_jl + 2 p_i p_j p_l."""
    n, eye = len(p), np.eye(len(p))
    diagonal = np.zeros((n, n, n))
    diagonal[np.arange(n), np.arange(n), np.arange(n)] = p
    return (diagonal - np.einsum("i,l,ij->ijl", p, p, eye) - np.einsum("i,j,il->ijl", p, p, eye)
            - np.einsum("i,j,jl->ijl", p, p, eye) + 2 * np.einsum("i,j,l->ijl", p, p, p))


def test_the_third_cumulant_is_the_derivative_of_the_softmax_covariance():
    """Checks the closed form itself: d/dx_l of diag(p) - p p^T, by finite differences."""
    x0, eps = np.array([0.3, -1.2, 0.8, 0.1]), 1e-6

    def covariance(x):
        p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
        return np.diag(p) - np.outer(p, p)

    numerical = np.stack([(covariance(x0 + eps * e) - covariance(x0 - eps * e)) / (2 * eps)
                          for e in np.eye(4)], axis=-1)
    p = np.exp(x0) / np.exp(x0).sum()
    np.testing.assert_allclose(third_cumulant(p), numerical, atol=1e-9)


@pytest.mark.parametrize("k", [0, 2])
def test_third_derivative_of_log_softmax_is_minus_the_third_cumulant(k):
    """log_softmax(x)[k] = x_k - logsumexp(x): the linear term drops out after one derivative."""
    x0 = np.array([0.3, -1.2, 0.8, 0.1])
    p = np.exp(x0) / np.exp(x0).sum()
    tensor = third_derivative_tensor(lambda x: x.log_softmax(0)[k], x0)
    np.testing.assert_allclose(tensor, -third_cumulant(p), rtol=1e-10, atol=1e-12)


def test_third_derivative_of_logsumexp_is_the_third_cumulant():
    x0 = np.array([0.3, -1.2, 0.8, 0.1])
    p = np.exp(x0) / np.exp(x0).sum()
    tensor = third_derivative_tensor(lambda x: x.logsumexp(0), x0)
    np.testing.assert_allclose(tensor, third_cumulant(p), rtol=1e-10, atol=1e-12)


def test_hessian_of_softmax_is_a_slice_of_the_third_cumulant():
    """softmax(x)_1 = d logsumexp / dx_1, so its Hessian is the cumulant's slice [1]."""
    x0 = np.array([0.3, -1.2, 0.8, 0.1])
    p = np.exp(x0) / np.exp(x0).sum()
    x = Tensor(x0.copy(), requires_grad=True)
    (d1,) = grad(x.softmax(0)[1], x, create_graph=True)
    hessian = np.stack([grad(d1[j], x, retain_graph=True)[0].data for j in range(4)])
    np.testing.assert_allclose(hessian, third_cumulant(p)[1], rtol=1e-10, atol=1e-12)


# -- a deep graph differentiated twice -----------------------------------------------------


def test_a_10000_op_chain_differentiates_twice_without_recursion():
    """y <- tanh(a y), 5,000 times (10,000 ops); its first and second derivatives by a float64
    forward recurrence: u' = t'(s) a u, w' = t''(s) (a u)^2 + t'(s) a w with s = a y."""
    a, repeats = 0.999, 5000
    x0 = np.array([0.5, 1.0, -2.0])

    def chain(x, n):
        for _ in range(n):
            x = (x * a).tanh()
        return x

    x = Tensor(x0.copy(), requires_grad=True)
    grad(grad(chain(x, 3).sum(), x, create_graph=True)[0].sum(), x)  # compile every kernel first
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        (first,) = grad(chain(x, repeats).sum(), x, create_graph=True)
        (second,) = grad(first.sum(), x)
    finally:
        sys.setrecursionlimit(limit)

    y, u, w = x0.copy(), np.ones(3), np.zeros(3)
    for _ in range(repeats):
        t = np.tanh(a * y)
        u, w = (1 - t * t) * a * u, -2 * t * (1 - t * t) * (a * u) ** 2 + (1 - t * t) * a * w
        y = t
    np.testing.assert_allclose(first.data, u, rtol=1e-10)
    np.testing.assert_allclose(second.data, w, rtol=1e-10)


# -- gradgradcheck ---------------------------------------------------------------------------


@pytest.fixture
def cubes():
    """Two throwaway primitives x**3.

    Cube's backward uses its inputs as given, so a recorded backward differentiates again.
    FlatCube's reads the values out with np.asarray: its first derivative is right, but with
    create_graph=True the 3x^2 factor is a constant and the second derivative is lost."""

    class Cube(Function):
        def forward(self, x):
            return x**3

        def backward(self, grad):
            (x,) = self.inputs
            return grad * 3 * x**2

    class FlatCube(Function):
        def forward(self, x):
            return x**3

        def backward(self, grad):
            (x,) = self.inputs
            return grad * 3 * np.asarray(getattr(x, "data", x)) ** 2

    return Cube, FlatCube


def test_gradgradcheck_passes_correct_second_derivatives(cubes):
    Cube, _ = cubes
    w, y = random_leaf((2, 3)), random_leaf(4, seed=1)
    assert tg.gradgradcheck(lambda w, y: w.sum() * Cube.apply(y), [w, y])
    assert tg.gradgradcheck(lambda w, y: (w @ Tensor(np.ones((3, 4))) * y).tanh().log_softmax(1), [w, y])
    assert tg.gradgradcheck(lambda w, y: (w.sigmoid().sum(0), (y * y).exp()), [w, y], fast_mode=True)


def test_gradgradcheck_passes_a_composed_recurrent_layer():
    tg.manual_seed(0)
    rnn = nn.GRU(2, 3, fused=False).double()
    x = random_leaf((2, 1, 2))
    assert tg.gradgradcheck(lambda x, *params: rnn(x)[0], [x, *rnn.parameters()], fast_mode=True)


def test_gradgradcheck_catches_a_backward_that_is_right_only_to_first_order(cubes):
    _, FlatCube = cubes
    w, y = random_leaf((2, 3)), random_leaf(4, seed=1)
    assert tg.gradcheck(lambda w, y: w.sum() * FlatCube.apply(y), [w, y])  # first order: right
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(4,\)\), element \(\d+,\): analytical"):
        tg.gradgradcheck(lambda w, y: w.sum() * FlatCube.apply(y), [w, y])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(4,\)\), random direction"):
        tg.gradgradcheck(lambda w, y: w.sum() * FlatCube.apply(y), [w, y], fast_mode=True)


def test_gradgradcheck_accepts_explicit_grad_outputs(cubes):
    Cube, FlatCube = cubes
    y = random_leaf(4, seed=1)
    v = Tensor(random_array(4, seed=2))
    assert tg.gradgradcheck(Cube.apply, [y], grad_outputs=[v])
    assert tg.gradgradcheck(lambda y: (Cube.apply(y), y.exp().sum()), [y], grad_outputs=[v, np.array(2.0)])
    with pytest.raises(GradcheckError, match="input 0"):
        tg.gradgradcheck(FlatCube.apply, [y], grad_outputs=[v])
    with pytest.raises(ValueError, match="grad_outputs have shapes"):
        tg.gradgradcheck(Cube.apply, [y], grad_outputs=[Tensor(np.ones(3))])


def test_gradgradcheck_accepts_a_single_array_as_grad_outputs(cubes):
    """As autograd.grad does: one ndarray stands for one output's v (not one v per element)."""
    Cube, _ = cubes
    y = random_leaf(4, seed=1)
    assert tg.gradgradcheck(Cube.apply, [y], grad_outputs=random_array(4, seed=2))


def test_gradgradcheck_leaves_the_grad_outputs_passed_as_they_were(cubes):
    Cube, _ = cubes
    y, v = random_leaf(4, seed=1), Tensor(random_array(4, seed=2))
    assert tg.gradgradcheck(Cube.apply, [y], grad_outputs=[v])
    assert not v.requires_grad and v.grad is None


def test_a_backward_calling_numpy_on_tensors_says_it_cannot_be_recorded():
    class NumpyExp(Function):
        def forward(self, x):
            return np.exp(x)

        def backward(self, grad):
            return grad * np.exp(self.inputs[0])

    x = leaf([0.5, 1.0])
    np.testing.assert_allclose(grad(NumpyExp.apply(x).sum(), x)[0].data, np.exp(x.data))
    with pytest.raises(TypeError, match="numpyexp: its backward calls a numpy function on a Tensor"):
        grad(NumpyExp.apply(x).sum(), x, create_graph=True)


# -- anomaly mode with create_graph=True ---------------------------------------------------


def test_anomaly_mode_reports_an_inf_made_while_recording_a_backward():
    """d sqrt(x) / dx = 1 / (2 sqrt(x)): with create_graph=True the division is a recorded op,
    which anomaly mode checks like any forward, blaming the line that asked for the gradient."""
    x = leaf([0.0, 1.0])
    with np.errstate(divide="ignore"), tg.detect_anomaly(), pytest.raises(tg.AnomalyError) as info:
        grad(x.sqrt().sum(), x, create_graph=True)
    assert (info.value.op, info.value.phase, info.value.kind) == ("div", "forward", "inf")
    assert info.value.created_at is not None and info.value.created_at[0] == __file__


@pytest.mark.parametrize("scale, kind", [(1.0, "inf"), (0.0, "nan")])
def test_anomaly_mode_reports_a_bad_value_in_the_backward_of_a_recorded_backward(scale, kind):
    """x^1.5 at 0: the gradient 1.5 x^0.5 is finite, the second derivative 0.75 x^-0.5 is inf
    (and 0 * inf = NaN once the function is scaled by 0)."""
    x = leaf([0.0, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"), tg.detect_anomaly():
        (first,) = grad((x**1.5 * scale).sum(), x, create_graph=True)
        np.testing.assert_allclose(first.data, [0.0, 1.5 * scale])
        with pytest.raises(tg.AnomalyError) as info:
            grad(first.sum(), x)
    assert (info.value.op, info.value.phase, info.value.kind) == ("pow", "backward", kind)


def test_anomaly_mode_leaves_finite_second_derivatives_as_they_are():
    x = leaf([0.5, 1.0, 4.0])
    with tg.detect_anomaly():
        (first,) = grad(x.sqrt().sum(), x, create_graph=True)
        (second,) = grad(first.sum(), x)
        _, hv = AF.hvp(lambda t: (t.tanh() ** 2).sum(), Tensor(x.data), Tensor(np.ones(3)))
    np.testing.assert_allclose(second.data, -0.25 * x.data**-1.5)
    t = np.tanh(x.data)
    np.testing.assert_allclose(hv.data, 2 * (1 - t**2) ** 2 - 4 * t**2 * (1 - t**2))
