"""Argument errors of the tensor and its ops: each names the op, the argument and the shapes.

What this file protects: a wrong call on a Tensor (shapes that do not broadcast,
a dim out of range, an index past the end, a dtype that cannot hold the result,
a factory given a bad size) raises ValueError, TypeError, IndexError or
RuntimeError with a message that starts with the op's name and shows the shapes
or values given; misuse of the tape (backward without a seed, a freed graph,
in-place writes the tape would miss) is refused the same way.

Where a new test goes: a new wrong call of a Tensor method, a function of
``tg`` or a factory is one row of ``BAD_CALLS`` (name: call, error, pattern).
Errors of modules, losses, optimizers and data are in test_errors_layers.py;
random bad input (the no-crash property) is in test_fuzz.py; NaN and inf
*values*, which propagate instead of raising, are in test_special_values.py.
"""

import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def t(*shape, requires_grad=False):
    return Tensor(np.ones(shape), requires_grad=requires_grad)


# (what to run, the error, a pattern the message must match)
BAD_CALLS = {
    # elementwise shapes that do not broadcast
    "add": (lambda: t(2, 3) + t(4), ValueError, r"add: .*\(2, 3\), \(4,\)"),
    "sub": (lambda: t(2, 3) - t(3, 2), ValueError, r"sub: .*\(2, 3\), \(3, 2\)"),
    "mul": (lambda: t(3) * t(2), ValueError, r"mul: .*\(3,\), \(2,\)"),
    "div": (lambda: t(5, 1) / t(4, 2), ValueError, r"div: .*\(5, 1\), \(4, 2\)"),
    "where": (lambda: tg.where(np.ones(3, bool), t(2), t(2)), ValueError, r"where: .*\(3,\)"),
    # matmul
    "matmul 2-D": (lambda: t(2, 3) @ t(4, 5), ValueError, r"matmul: shapes \(2, 3\) and \(4, 5\)"),
    "matmul 1-D": (lambda: t(3) @ t(4), ValueError, r"matmul: shapes \(3,\) and \(4,\)"),
    "matmul vector right": (lambda: t(2, 3) @ t(4), ValueError, r"matmul: shapes \(2, 3\) and \(4,\)"),
    "matmul batch": (lambda: t(2, 2, 3) @ t(3, 3, 5), ValueError, r"matmul: .*\(2, 2, 3\), \(3, 3, 5\)"),
    "matmul 0-d": (lambda: t() @ t(3), ValueError, r"matmul: .*\(\)"),
    # joining
    "cat shapes": (lambda: tg.cat([t(2, 3), t(2, 4)]), ValueError,
                   r"cat: .*tensor 0 has shape \(2, 3\) but tensor 1 has shape \(2, 4\)"),
    "cat ranks": (lambda: tg.cat([t(2, 3), t(2)], dim=1), ValueError, r"cat: .*\(2, 3\).*\(2,\)"),
    "stack shapes": (lambda: tg.stack([t(2, 3), t(3, 2)]), ValueError,
                     r"stack: .*tensor 0 has shape \(2, 3\) but tensor 1 has shape \(3, 2\)"),
    "cat nothing": (lambda: tg.cat([]), ValueError, r"cat: .*non-empty"),
    # dims out of range
    "sum dim": (lambda: t(2, 3).sum(2), IndexError, r"sum: dim 2 is out of range .* 2 dims"),
    "sum dims": (lambda: t(2, 3).sum((0, -3)), IndexError, r"sum: dim -3 is out of range"),
    "mean dim": (lambda: t(2, 3).mean(5), IndexError, r"mean: dim 5 is out of range"),
    "max dim": (lambda: t(2, 3).amax(-3), IndexError, r"max: dim -3 is out of range"),
    "logsumexp dim": (lambda: t(4).logsumexp(1), IndexError, r"logsumexp: dim 1 is out of range"),
    "softmax dim": (lambda: t(2, 3).softmax(2), IndexError, r"softmax: dim 2 is out of range .* 2 dims"),
    "log_softmax dim": (lambda: t(2).log_softmax(-2), IndexError, r"logsoftmax: dim -2 is out of range"),
    "cat dim": (lambda: tg.cat([t(2, 3), t(2, 3)], dim=2), IndexError, r"cat: dim 2 is out of range"),
    "stack dim": (lambda: tg.stack([t(2), t(2)], dim=3), IndexError, r"stack: dim 3 is out of range"),
    "transpose dim": (lambda: t(2, 3).transpose(0, 2), IndexError, r"transpose: dim 2 is out of range"),
    "unsqueeze dim": (lambda: t(2, 3).unsqueeze(3), IndexError, r"unsqueeze: dim 3 is out of range .* 3 dims"),
    "squeeze dim": (lambda: t(2, 1).squeeze(2), IndexError, r"squeeze: dim 2 is out of range"),
    "split dim": (lambda: t(4).split(2, dim=1), IndexError, r"split: dim 1 is out of range"),
    "chunk dim": (lambda: t(4).chunk(2, dim=-2), IndexError, r"chunk: dim -2 is out of range"),
    "float dim": (lambda: t(2, 3).sum(1.0), TypeError, r"sum: dim must be an int, got float"),
    "repeated dim": (lambda: t(2, 3).sum((1, -1)), ValueError, r"sum: dim \(1, -1\) repeats"),
    # movement
    "permute twice": (lambda: t(2, 3).permute(0, 0), ValueError,
                      r"permute: dims \(0, 0\) are not a permutation .* \(2, 3\)"),
    "permute short": (lambda: t(2, 3, 4).permute(1, 0), ValueError, r"permute: .*\(2, 3, 4\)"),
    "reshape": (lambda: t(2, 3).reshape(4, 2), ValueError, r"reshape: .*\(2, 3\)"),
    "expand": (lambda: t(3).expand(2, 4), ValueError, r"expand: .*\(3,\)"),
    "getitem": (lambda: t(3)[5], IndexError, r"getitem: index 5 .* \(3,\)"),
    "getitem mask": (lambda: t(3)[np.array([True, False])], IndexError, r"getitem: .*\(3,\)"),
    "split sections": (lambda: t(4, 2).split([1, 2]), ValueError,
                       r"split: sections \[1, 2\] do not add up to 4.*\(4, 2\)"),
    "split size": (lambda: t(4).split(0), ValueError, r"split: split_size must be positive, got 0"),
    "chunk count": (lambda: t(4).chunk(0), ValueError, r"chunk: chunks must be positive, got 0"),
    # pointwise arguments
    "pow string exponent": (lambda: t(2) ** "2", TypeError, r"pow: the exponent must be a number or a Tensor, got str"),
    "pow int to negative int": (lambda: tg.tensor([2, 3]) ** -1, ValueError,
                                r"pow: Integers to negative integer powers"),
    "pow tensor exponent": (lambda: t(2) ** t(3), ValueError, r"powtensor: .*\(2,\), \(3,\)"),
    "maximum": (lambda: t(2).maximum(t(3)), ValueError, r"maximum: .*\(2,\), \(3,\)"),
    "masked_fill mask dtype": (lambda: t(2).masked_fill(np.ones(2), 0.0), TypeError,
                               r"masked_fill: mask must be bool, got dtype float64 \(shape \(2,\)\)"),
    "masked_fill mask shape": (lambda: t(2).masked_fill(np.ones((3, 2), bool), 0.0), ValueError,
                               r"masked_fill: mask of shape \(3, 2\) does not broadcast to the tensor's shape \(2,\)"),
    "norm p": (lambda: t(2).norm(0), ValueError, r"norm: p must be a positive number, inf, -inf or 'fro', got 0"),
    "var twice": (lambda: t(2).var(unbiased=True, correction=0), ValueError, r"var: give unbiased or correction"),
    "mm vector": (lambda: t(2, 3).mm(t(3)), ValueError, r"mm: expects two matrices, got shapes \(2, 3\) and \(3,\)"),
    "t 3-D": (lambda: t(2, 3, 4).t(), ValueError, r"t: expects a tensor of at most 2 dims, got shape \(2, 3, 4\)"),
    # selection, sorting, tiling
    "gather index range": (lambda: t(3, 2).gather(0, np.array([[5, 0]])), IndexError,
                           r"gather: index 5 is out of range for dim 0 of shape \(3, 2\) \(expected 0 to 2\)"),
    "gather index dims": (lambda: t(3, 2).gather(0, np.array([0])), ValueError,
                          r"gather: index of shape \(1,\) must have as many dims as the tensor of shape \(3, 2\)"),
    "gather index size": (lambda: t(3, 2).gather(0, np.zeros((1, 3), np.int64)), ValueError,
                          r"gather: index of shape \(1, 3\) is larger than the tensor of shape \(3, 2\) outside dim 0"),
    "gather float index": (lambda: t(3).gather(0, np.array([0.5])), TypeError,
                           r"gather: index must hold integers, got dtype float64"),
    "scatter src dtype": (lambda: t(3).scatter(0, np.array([0]), Tensor(np.ones(1, np.float32))), TypeError,
                          r"scatter: src has dtype float32 but the tensor has dtype float64"),
    "scatter src size": (lambda: t(3).scatter_add(0, np.array([0, 1]), t(1)), ValueError,
                         r"scatter_add: src of shape \(1,\) must have the dims of index \(2,\)"),
    "scatter src and value": (lambda: t(3).scatter(0, np.array([0]), t(1), value=1.0), TypeError,
                              r"scatter: give src \(a tensor\) or value \(a number\), not both"),
    "index_select range": (lambda: t(2, 3).index_select(1, [3]), IndexError,
                           r"index_select: index \[3\] must be 1-D, each entry in \[0, 3\) for dim 1 of shape "
                           r"\(2, 3\)"),
    "topk k": (lambda: t(2, 3).topk(4), ValueError,
               r"topk: k=4 is out of range for dim -1 of shape \(2, 3\) \(0 to 3\)"),
    "sort dim": (lambda: t(2, 3).sort(2), IndexError, r"sort: dim 2 is out of range"),
    "argsort dim": (lambda: t(2, 3).argsort(-3), IndexError, r"argsort: dim -3 is out of range"),
    "repeat sizes": (lambda: t(2, 3).repeat(2), ValueError,
                     r"repeat: got 1 sizes \(2,\) for a tensor of 2 dims \(shape \(2, 3\)\)"),
    "repeat_interleave repeats": (lambda: t(2, 3).repeat_interleave([1, 2, 3], dim=0), ValueError,
                                  r"repeat_interleave: repeats must be non-negative, one per entry of dim 0 "
                                  r"\(size 2\)"),
    "roll lengths": (lambda: t(2, 3).roll((1, 2), 0), ValueError, r"roll: shifts \(1, 2\) and dims \(0,\)"),
    "tril 1-D": (lambda: t(3).tril(), ValueError, r"tril: expects a tensor of at least 2 dims, got shape \(3,\)"),
    "unflatten sizes": (lambda: t(2, 6).unflatten(1, (4, -1)), ValueError,
                        r"unflatten: sizes \(4, -1\) do not make the 6 entries of dim 1 \(shape \(2, 6\)\)"),
    "movedim repeats": (lambda: t(2, 3).movedim((0, 0), (0, 1)), ValueError, r"movedim: source \[0, 0\]"),
    "cumsum dim": (lambda: t(2, 3).cumsum(2), IndexError, r"cumsum: dim 2 is out of range"),
    "clamp without bounds": (lambda: t(2).clamp(), ValueError, r"clamp: give at least one of min and max"),
    "mean of integers": (lambda: tg.tensor([1, 2]).mean(), TypeError,
                         r"mean: input dtype must be floating point, got int64 \(shape \(2,\)\)"),
    # construction and grad
    "int requires grad": (lambda: Tensor(np.arange(3), requires_grad=True), TypeError,
                          r"only floating-point tensors can require grad, got dtype int64 \(shape \(3,\)\)"),
    "bool requires grad": (lambda: Tensor(np.ones(2, bool)).requires_grad_(), TypeError, r"dtype bool"),
    "complex data": (lambda: Tensor(np.ones(2, complex)), TypeError, r"dtype complex128 \(shape \(2,\)\)"),
    "retain_grad": (lambda: t(2).retain_grad(), RuntimeError, r"retain_grad: .*\(2,\) does not require grad"),
    # construction and factories
    "Tensor ragged list": (lambda: Tensor([[1, 2], [3]]), ValueError, r"Tensor: cannot make an array .* list"),
    "Tensor unknown dtype": (lambda: Tensor([1.0], dtype="foo"), TypeError, r"Tensor: .*dtype foo"),
    "Tensor requires_grad str": (lambda: Tensor([1.0], requires_grad="yes"), TypeError,
                                 r"Tensor: requires_grad must be a bool, got str 'yes'"),
    "zeros negative": (lambda: tg.zeros(2, -1), ValueError, r"zeros: size must be an int >= 0, got -1"),
    "randn float size": (lambda: tg.randn(2.5), TypeError, r"randn: size must be an int, got float 2.5"),
    "full bad shape": (lambda: tg.full((2, "a"), 1.0), TypeError, r"full: size must be an int, got str"),
    "arange zero step": (lambda: tg.arange(0, 5, 0), ValueError, r"arange: step must be nonzero"),
    # arguments of the wrong type or rank
    "cat a tensor": (lambda: tg.cat(t(2, 3)), TypeError, r"cat: tensors must be a list or tuple of Tensors, got Tensor"),
    "cat an array": (lambda: tg.cat([t(2), np.ones(2)]), TypeError, r"cat: tensors\[1\] must be a Tensor, got ndarray"),
    "stack None": (lambda: tg.stack([None]), TypeError, r"stack: tensors\[0\] must be a Tensor, got NoneType"),
    "where int condition": (lambda: tg.where(np.array([1, 0]), t(2), t(2)), TypeError,
                            r"where: condition must be bool, got dtype int64"),
    "clamp str": (lambda: t(2).clamp("a"), TypeError, r"clamp: min must be a number, got str"),
    "flatten dim": (lambda: t(2, 3).flatten(5), IndexError, r"flatten: dim 5 is out of range"),
    "flatten order": (lambda: t(2, 3, 4).flatten(2, 1), ValueError, r"flatten: start_dim 2 comes after end_dim 1"),
    "argmax dim": (lambda: t(2, 3).argmax(2), IndexError, r"argmax: dim 2 is out of range"),
    "chunk str": (lambda: t(4).chunk("2"), TypeError, r"chunk: chunks must be an int, got str"),
    "chunk 0-d": (lambda: tg.tensor(3.0).chunk(2), ValueError, r"chunk: expects a tensor of at least 1 dimension"),
    "split 0-d": (lambda: tg.tensor(3.0).split(1), ValueError, r"split: expects a tensor of at least 1 dimension"),
    # the generator, and more factories
    "manual_seed negative": (lambda: tg.manual_seed(-1), ValueError, r"manual_seed: seed must be an int >= 0, got -1"),
    "manual_seed None": (lambda: tg.manual_seed(None), TypeError, r"manual_seed: seed must be an int, got NoneType"),
    "manual_seed float": (lambda: tg.manual_seed(1.5), TypeError, r"manual_seed: seed must be an int, got float"),
    "full_like value": (lambda: tg.full_like(tg.zeros(2), "a"), TypeError, r"full_like: fill_value must be a number, got str 'a'"),
    "zeros_like dtype": (lambda: tg.zeros_like(tg.zeros(2), dtype="foo"), TypeError, r"full_like: 'foo' is not a dtype"),
    "eye dtype": (lambda: tg.eye(2, dtype=complex), TypeError, r"eye: cannot hold data of dtype complex128"),
    "eye n": (lambda: tg.eye(-1), ValueError, r"eye: n must be an int >= 0, got -1"),
    "linspace steps": (lambda: tg.linspace(0, 1, -2), ValueError, r"linspace: steps must be an int >= 0, got -2"),
    "linspace end": (lambda: tg.linspace(0, "1", 2), TypeError, r"linspace: end must be a number"),
    "randint dtype": (lambda: tg.randint(0, 3, (2,), dtype="foo"), TypeError, r"randint: 'foo' is not a dtype"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_names_the_op_and_shapes(name):
    call, error, pattern = BAD_CALLS[name]
    with pytest.raises(error, match=pattern):
        call()


# -- the tape: seeds, freed graphs, leaves ------------------------------------------------------


def test_backward_of_a_non_scalar_needs_a_gradient():
    y = t(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward: a gradient can be left out only .*shape \(3,\)"):
        y.backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = t(3, requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"backward: the gradient has shape \(2,\) but the output has shape \(3,\)"):
        y.backward(np.ones(2))


def test_backward_of_a_tensor_without_graph():
    with pytest.raises(RuntimeError, match=r"backward: .*shape \(2,\) does not require grad"):
        t(2).backward(np.ones(2))


def test_backward_through_a_freed_graph_names_the_op():
    x = t(2, requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"freed.*retain_graph=True"):
        y.backward()


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    y = t(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"only be switched off on a leaf.*detach"):
        y.requires_grad = False


def test_an_error_in_forward_keeps_the_original_as_its_cause():
    with pytest.raises(ValueError) as info:
        t(2, 3) + t(4)
    assert isinstance(info.value.__cause__, ValueError)


# -- in-place writes --------------------------------------------------------------------------------


def test_an_in_place_update_of_a_parameter_outside_no_grad_points_to_no_grad_and_data():
    w = tg.nn.Parameter(np.ones(3, np.float32))
    w.grad = np.full(3, 2.0, np.float32)
    with pytest.raises(RuntimeError, match=r"Tensor -=: a leaf tensor that requires grad \(shape \(3,\), such as a "
                                           r"Parameter\).*`with tg.no_grad\(\): w -= lr \* w.grad`, or "
                                           r"`w.data -= lr \* w.grad`"):
        w -= 0.1 * w.grad
    np.testing.assert_array_equal(w.data, 1.0)  # not half-updated
    same = w
    with tg.no_grad():
        w -= 0.1 * w.grad
    assert w is same and w._version == 1  # changed in place, and counted as a write
    np.testing.assert_allclose(w.data, 0.8)


def test_in_place_arithmetic_writes_the_tensor_and_its_views_as_in_torch():
    x = tg.zeros(2, 3)
    row = x[0]
    x += 1
    x *= tg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(row.data, [1.0, 2.0, 3.0])
    ints = tg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"Tensor \+=: the result's dtype float32 cannot be stored in place in this "
                                        r"tensor's dtype int64"):
        ints += 0.5
    with pytest.raises(TypeError, match=r"Tensor /=: the result's dtype float32 cannot be stored in place"):
        ints /= 2
    with pytest.raises(TypeError, match=r"sub: subtraction with a bool operand"):
        mask = tg.tensor([True])
        mask -= True
    y = tg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"Tensor \*=: in-place arithmetic that the tape would record .* "
                                           r"write `x = x \* y`"):
        y *= 2
    assert ints.tolist() == [1, 2] and y.tolist() == [2.0, 2.0]  # each refused before writing


def test_a_graph_that_saved_a_tensor_written_in_place_refuses_to_backward():
    w = tg.nn.Parameter(np.ones(2, np.float32))
    x = tg.ones(2)
    y = (w * x).sum()
    x += 1
    with pytest.raises(RuntimeError, match="mul"):
        y.backward()


def test_reading_grad_of_a_non_leaf_warns_as_torch_does():
    x = tg.ones(2, requires_grad=True)
    y = x * 2
    with pytest.warns(UserWarning, match=r"Tensor.grad: this tensor \(shape \(2,\), made by mul\) is not a leaf.*"
                                         r"retain_grad\(\)"):
        assert y.grad is None
    kept = x * 3
    kept.retain_grad()
    kept.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None and kept.grad is not None  # a leaf, and a retained non-leaf: no warning


# -- devices ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("move", [lambda m: m.to("cuda"), lambda m: m.cuda(), lambda m: m.to("mps"),
                                  lambda m: m.weight.to("cuda:0"), lambda m: m.weight.cuda()],
                         ids=["Module.to", "Module.cuda", "mps", "Tensor.to", "Tensor.cuda"])
def test_moving_to_a_gpu_says_the_library_runs_on_the_cpu(move):
    layer = tg.nn.Linear(2, 3)
    with pytest.raises(ValueError, match=r"(Linear\.)?to: tinygrad_rnn runs on the CPU only .* there is no "
                                         r"'(cuda|mps)(:0)?' device"):
        move(layer)
    assert layer.to("cpu") is layer and layer.cpu() is layer and layer.weight.to("cpu") is layer.weight


def test_moving_to_a_torch_device_is_understood_without_importing_torch_here():
    torch = pytest.importorskip("torch")
    layer = tg.nn.Linear(2, 3)
    assert layer.to(torch.device("cpu")) is layer
    with pytest.raises(ValueError, match=r"Linear\.to: tinygrad_rnn runs on the CPU only"):
        layer.to(torch.device("cuda"))
