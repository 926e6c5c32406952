"""Dtypes as PyTorch makes them: inferred by tg.tensor, promoted by operations, converted by casts.

Each rule is checked on its own (these tests always run) and, where torch is installed,
against torch over a table of operand dtypes.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]


def torch_dtype(torch, dtype):
    return torch.from_numpy(np.zeros(1, dtype)).dtype


def numpy_dtype(torch, dtype):
    return torch.zeros(1, dtype=dtype).numpy().dtype


# -- tg.tensor infers, tg.Tensor makes float32 ----------------------------------------------

INFERRED = [([0, 1, 2], np.int64), ([True, False], np.bool_), ([1.5, 2], np.float32), (3, np.int64),
            (2.5, np.float32), (True, np.bool_), ([[1, 2], [3, 4]], np.int64), ([], np.float32),
            (np.arange(3, dtype=np.int32), np.int32), (np.ones(2), np.float64), (np.float64(2.0), np.float64)]


@pytest.mark.parametrize("data, dtype", INFERRED, ids=[repr(d) for d, _ in INFERRED])
def test_tensor_infers_the_dtype_torch_tensor_infers(data, dtype):
    assert tg.tensor(data).dtype == dtype
    np.testing.assert_array_equal(tg.tensor(data).data, np.asarray(data))


@pytest.mark.parametrize("data, dtype", INFERRED, ids=[repr(d) for d, _ in INFERRED])
def test_tensor_infers_as_torch_does(data, dtype):
    torch = pytest.importorskip("torch")
    assert numpy_dtype(torch, torch.tensor(data).dtype) == tg.tensor(data).dtype


def test_the_Tensor_class_makes_python_numbers_float32_as_torch_Tensor_does():
    assert Tensor([0, 1, 2]).dtype == Tensor(3).dtype == np.float32
    assert tg.tensor([0, 1, 2], dtype=np.float64).dtype == np.float64


def test_integer_class_targets_from_a_python_list_go_into_cross_entropy():
    logits = tg.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(logits, tg.tensor([0, 1, 3]))
    loss.backward()
    assert logits.grad.shape == (3, 4)
    embedding = nn.Embedding(5, 2)
    assert embedding(tg.tensor([[0, 4]])).shape == (1, 2, 2)


# -- promotion ------------------------------------------------------------------------------

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def operand(kind, dtype, module):
    """A dimensioned or 0-d tensor of ``dtype`` holding small positive values, or a Python number."""
    values = {"tensor": np.array([1, 2, 3]), "0-d": np.array(2)}[kind].astype(dtype)
    return Tensor(values) if module is tg else module.from_numpy(values)


@pytest.mark.parametrize("symbol", sorted(OPS))
def test_promotion_matches_torch_for_every_pair_of_dtypes_and_ranks(symbol):
    torch = pytest.importorskip("torch")
    op = OPS[symbol]
    for (a_dtype, b_dtype), (a_kind, b_kind) in itertools.product(
            itertools.product(DTYPES, DTYPES), [("tensor", "tensor"), ("tensor", "0-d"), ("0-d", "tensor")]):
        if symbol == "-" and bool in (np.dtype(a_dtype), np.dtype(b_dtype)):
            continue  # both refuse subtraction with a bool (test_subtraction_with_a_bool_is_refused)
        ours = op(operand(a_kind, a_dtype, tg), operand(b_kind, b_dtype, tg))
        theirs = op(operand(a_kind, a_dtype, torch), operand(b_kind, b_dtype, torch))
        where = f"{np.dtype(a_dtype)} {a_kind} {symbol} {np.dtype(b_dtype)} {b_kind}"
        assert ours.dtype == numpy_dtype(torch, theirs.dtype), where
        np.testing.assert_allclose(ours.data.astype(np.float64), theirs.numpy().astype(np.float64),
                                   rtol=1e-3, err_msg=where)


@pytest.mark.parametrize("number", [True, 2, 2.5, -1.5])
@pytest.mark.parametrize("symbol", sorted(OPS))
def test_python_numbers_promote_as_in_torch(symbol, number):
    torch = pytest.importorskip("torch")
    for dtype in DTYPES:
        if (symbol == "-" and (dtype == np.bool_ or isinstance(number, bool))) or (dtype == np.uint8 and number < 0):
            continue  # subtraction with a bool is refused; a negative number does not fit uint8 (refused here)
        for reflected in (False, True):
            a, b = operand("tensor", dtype, tg), operand("tensor", dtype, torch)
            ours = OPS[symbol](number, a) if reflected else OPS[symbol](a, number)
            theirs = OPS[symbol](number, b) if reflected else OPS[symbol](b, number)
            assert ours.dtype == numpy_dtype(torch, theirs.dtype), (np.dtype(dtype), symbol, number, reflected)


def test_promotion_rules_without_torch():
    ints, floats = tg.tensor([1, 2, 3]), tg.randn(3)
    assert (floats * ints).dtype == (ints * 2.5).dtype == (ints / 2).dtype == np.float32
    assert (floats * tg.tensor(2.0, dtype=np.float64)).dtype == np.float32  # a 0-d float64 does not widen
    assert (ints.to(np.int32) + 7).dtype == np.int32 and (tg.tensor([True]) + 1).dtype == np.int64
    assert (ints**2).dtype == np.int64 and (ints**2).tolist() == [1, 4, 9]
    assert (ints**0.5).dtype == np.float32 and (2 ** ints).dtype == np.int64
    assert tg.full((2,), 4).dtype == np.int64 and tg.full((2,), 4.0).dtype == np.float32
    assert tg.full((2,), True).dtype == np.bool_ and tg.full((2,), 4, dtype=np.float64).dtype == np.float64
    condition = tg.tensor([True, False])
    assert tg.where(condition, 4, 2).dtype == np.int64 and tg.where(condition, 4.0, 2).dtype == np.float32
    assert tg.where(condition, tg.ones(2), 2).dtype == np.float32
    assert tg.arange(3).dtype == np.int64 and tg.arange(0.5, 2).dtype == np.float32
    assert ints.exp().dtype == ints.sigmoid().dtype == ints.sqrt().dtype == np.float32
    assert ints.clamp(min=1.5).dtype == np.float32 and ints.clamp(min=2).dtype == np.int64
    assert tg.tensor([True, True]).sum().dtype == tg.tensor([1, 2], dtype=np.uint8).sum().dtype == np.int64
    assert tg.tensor([200, 100], dtype=np.uint8).sum().item() == 300


def test_where_full_arange_and_unary_ops_match_torch():
    torch = pytest.importorskip("torch")
    condition = np.array([True, False, True])
    for a, b in [(4, 2), (4.0, 2), (True, 2), (4, 2.5)]:
        theirs = torch.where(torch.from_numpy(condition), a, b)
        assert tg.where(condition, a, b).dtype == numpy_dtype(torch, theirs.dtype)
        assert tg.full((2,), a).dtype == numpy_dtype(torch, torch.full((2,), a).dtype)
    ints = np.array([1, 2, 3])
    for name in ["exp", "log", "tanh", "sigmoid", "sqrt"]:
        ours, theirs = getattr(tg.tensor(ints), name)(), getattr(torch.tensor(ints), name)()
        assert ours.dtype == numpy_dtype(torch, theirs.dtype)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_a_promoted_operand_gets_its_gradient_in_its_own_dtype():
    x = tg.randn(3, requires_grad=True)  # float32
    scale = tg.tensor(2.0, dtype=np.float64, requires_grad=True)
    y = x * scale
    y.sum().backward()
    assert y.dtype == np.float32 and scale.grad.dtype == np.float64
    np.testing.assert_allclose(scale.grad, x.data.sum(), rtol=1e-6)
    counts = tg.tensor([1, 2, 3])
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    assert tg.gradcheck(lambda w: (w * counts + counts / w).sum(), [w])


@pytest.mark.parametrize("subtract", [lambda mask: mask - 1, lambda mask: 1 - mask, lambda mask: mask - mask,
                                      lambda mask: tg.ones(2) - mask, lambda mask: tg.ones(2) - True,
                                      lambda mask: -mask])
def test_subtraction_with_a_bool_is_refused_as_in_torch(subtract):
    mask = tg.tensor([True, False])
    with pytest.raises(TypeError, match=r"(sub|neg): .*bool.* not supported, as in PyTorch; "
                                        r"to invert a mask use ~mask"):
        subtract(mask)
    assert (~mask).tolist() == [False, True]


def test_a_number_that_does_not_fit_the_dtype_is_refused():
    with pytest.raises(ValueError, match=r"add: the number -1 does not fit the dtype uint8"):
        tg.tensor([1, 2], dtype=np.uint8) + -1


# -- conversions -----------------------------------------------------------------------------

CASTS = {"half": np.float16, "float": np.float32, "double": np.float64, "int": np.int32, "long": np.int64,
         "bool": np.bool_}


@pytest.mark.parametrize("name", sorted(CASTS))
def test_cast_methods_give_torchs_dtypes(name):
    x = tg.tensor([0.0, 1.5, -2.0])
    assert getattr(x, name)().dtype == CASTS[name] == x.type(CASTS[name]).dtype
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.tensor([0.0, 1.5, -2.0]), name)()
    assert numpy_dtype(torch, theirs.dtype) == CASTS[name]
    np.testing.assert_array_equal(getattr(x, name)().data, theirs.numpy())


def test_a_float_cast_passes_the_gradient_back_and_an_integer_cast_cuts_it():
    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert tg.gradcheck(lambda x: (x.float().double() * x).sum(), [x], eps=1e-3, atol=1e-4)
    assert not x.long().requires_grad and not x.bool().requires_grad
    assert x.to("cpu") is x and x.double() is x


# -- exact integer min and max -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64, np.bool_])
def test_integer_and_bool_min_and_max_are_exact(dtype):
    if dtype == np.bool_:
        values = np.array([[True, False], [True, True]])
    else:
        info = np.iinfo(dtype)
        values = np.array([[info.max, 3], [info.min, 0]], dtype)
    x = Tensor(values)
    assert x.min().item() == values.min() and x.amin().item() == values.min()
    assert x.max().item() == values.max() and x.min().dtype == dtype
    smallest, where = x.min(dim=1)
    np.testing.assert_array_equal(smallest.data, values.min(axis=1))
    np.testing.assert_array_equal(where.data, values.argmin(axis=1))
    np.testing.assert_array_equal(x.amin(0).data, values.min(axis=0))


def test_result_type_and_pytorchs_dtype_names():
    ints, floats = tg.tensor([1, 2]), tg.randn(2)
    assert tg.result_type(ints, 2.5) == tg.result_type(floats, ints) == np.float32
    assert tg.result_type(ints.to(tg.int32), tg.tensor(5)) == np.int32  # a 0-d int does not widen an int tensor
    assert tg.result_type(ints, tg.tensor(2.0, dtype=tg.float64)) == np.float64  # a 0-d float of a higher category
    assert floats.to(tg.long).dtype == np.int64 and floats.type(tg.bool).dtype == np.bool_
    assert floats.to(tg.half).dtype == np.float16 and floats.to(ints).dtype == np.int64
    torch = pytest.importorskip("torch")
    assert tg.result_type(ints.to(tg.int32), tg.tensor(5)) == numpy_dtype(
        torch, torch.result_type(torch.tensor([1, 2], dtype=torch.int32), torch.tensor(5)))
    assert tg.result_type(ints, tg.tensor(2.0, dtype=tg.float64)) == numpy_dtype(
        torch, torch.result_type(torch.tensor([1, 2]), torch.tensor(2.0, dtype=torch.float64)))
