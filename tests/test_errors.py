"""Bad input raises an error that names the op and the shapes or values involved."""

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
    "pow int to negative int": (lambda: tg.tensor([2, 3]) ** -1, ValueError, r"pow: Integers to negative integer powers"),
    "clamp without bounds": (lambda: t(2).clamp(), ValueError, r"clamp: give at least one of min and max"),
    "mean of integers": (lambda: tg.tensor([1, 2]).mean(), TypeError,
                         r"mean: input dtype must be floating point, got int64 \(shape \(2,\)\)"),
    # construction and grad
    "int requires grad": (lambda: Tensor(np.arange(3), requires_grad=True), TypeError,
                          r"only floating-point tensors can require grad, got dtype int64 \(shape \(3,\)\)"),
    "bool requires grad": (lambda: Tensor(np.ones(2, bool)).requires_grad_(), TypeError, r"dtype bool"),
    "complex data": (lambda: Tensor(np.ones(2, complex)), TypeError, r"dtype complex128 \(shape \(2,\)\)"),
    "retain_grad": (lambda: t(2).retain_grad(), RuntimeError, r"retain_grad: .*\(2,\) does not require grad"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_names_the_op_and_shapes(name):
    call, error, pattern = BAD_CALLS[name]
    with pytest.raises(error, match=pattern):
        call()


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
