"""The tape: accumulation, grad modes, graph retention and release, deep graphs, dtypes."""

import gc
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.testing import arrays, shapes


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# -- accumulation ----------------------------------------------------------------------


@given(arrays(shapes(max_dims=3)))
def test_a_tensor_used_twice_gets_both_gradients(values):
    x = Tensor(values, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * values)


def test_diamond_sums_both_paths():
    a = leaf([1.0, -2.0, 3.0])
    b = a * 2.0  # a -> b -> d and a -> c -> d
    c = a.exp()
    d = (b * c).sum()
    d.backward()
    expected = 2 * np.exp(a.data) + 2 * a.data * np.exp(a.data)  # d/da of 2a * e^a
    np.testing.assert_allclose(a.grad, expected)


def test_intermediate_used_by_many_ops_sums_every_gradient():
    a = leaf([0.5, 1.5])
    b = a * 3.0
    total = b.sum() + (b * b).sum() + b[np.array([0, 0])].sum()
    total.backward()
    db = 1 + 2 * b.data + np.array([2.0, 0.0])
    np.testing.assert_allclose(a.grad, 3 * db)


def test_two_backward_calls_accumulate_into_leaves():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data)


def test_leaf_grads_never_alias_each_other():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).backward(np.ones(2))
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad += 1  # must not change b.grad
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_leaf_grad_does_not_alias_the_gradient_passed_in():
    x = leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    x.backward(seed)
    x.grad += 1
    np.testing.assert_array_equal(seed, [1.0, 1.0])


# -- grad modes ------------------------------------------------------------------------


def test_no_grad_context_records_nothing():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        y = (x * 2.0).exp().sum()
    assert y.grad_fn is None and not y.requires_grad and y.is_leaf
    assert tg.is_grad_enabled()


def test_no_grad_decorator_records_nothing():
    @tg.no_grad()
    def double(t):
        return t * 2.0

    x = leaf([1.0, 2.0])
    y = double(x)
    assert y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled()
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = (x * x).sum()
        z = x * 2.0
        assert not tg.is_grad_enabled()
    assert y.grad_fn == "sum" and z.grad_fn is None
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


# -- retaining and freeing the graph ------------------------------------------------------


def test_retain_graph_allows_a_second_backward_and_grads_add_up():
    x = leaf([1.0, -1.0])
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(first, 3 * x.data**2)
    np.testing.assert_allclose(x.grad, 2 * first)


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_a_freed_shared_subgraph_raises_from_a_second_root():
    x = leaf([1.0, 2.0])
    shared = x.tanh()
    first, second = shared.sum(), (shared * 3.0).sum()
    first.backward()
    with pytest.raises(RuntimeError, match=r"tanh.*retain_graph"):
        second.backward()


def test_backward_releases_intermediate_tensors_and_saved_arrays():
    x = leaf(np.ones(3))
    hidden = x * 2.0
    root = (hidden * hidden).sum()
    mul = root._node.parents[0]._node  # the Mul node, holding what it saved for backward
    refs = [weakref.ref(hidden), weakref.ref(mul.inputs[0]), weakref.ref(mul)]
    del hidden, mul
    gc.collect()
    assert all(ref() is not None for ref in refs)  # the graph holds them until backward
    root.backward()
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    np.testing.assert_allclose(x.grad, 8 * np.ones(3))


def test_retain_grad_keeps_the_gradient_of_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    other = x * 2.0
    (h * other).sum().backward()
    np.testing.assert_allclose(h.grad, other.data)
    with pytest.warns(UserWarning, match="is not a leaf"):  # as PyTorch warns
        assert other.grad is None  # non-leaves without retain_grad keep no gradient
    np.testing.assert_allclose(x.grad, 12 * x.data)


def test_retain_grad_on_a_root():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.retain_grad()
    y.backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(y.grad, [1.0, -1.0])


def test_a_200000_op_chain_runs_backward_without_recursion():
    steps, factor = 200_000, 1 + 1e-6
    x = leaf(0.5)
    y = x
    for _ in range(steps):
        y = y * factor
    y.backward()
    np.testing.assert_allclose(x.grad, factor**steps, rtol=1e-9)  # e^0.2, about 1.2214
    np.testing.assert_allclose(y.item(), 0.5 * factor**steps, rtol=1e-9)


def test_a_deep_graph_can_be_dropped_without_backward():
    x = leaf(0.5)
    y = x
    for _ in range(200_000):
        y = y + 1.0
    del y  # freeing 200,000 nested nodes must not overflow the C stack
    gc.collect()


# -- dtypes ----------------------------------------------------------------------------


def test_float32_leaf_gets_a_float32_grad_next_to_float64_constants():
    x = leaf([1.0, 2.0], np.float32)
    constant = Tensor(np.array([3.0, 4.0]))  # float64
    y = (x * constant).sum()
    assert y.dtype == np.float64  # numpy's promotion in the forward
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_python_numbers_keep_float32_graphs_float32():
    x = leaf([1.0, 2.0], np.float32)
    y = ((x * 2.5 + 1) / 3 - 0.5) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        Tensor(np.arange(3), requires_grad=True)
    t = Tensor(np.arange(3))
    with pytest.raises(TypeError, match="only floating-point"):
        t.requires_grad_()


def test_integer_constant_in_a_float_graph_gets_no_gradient():
    x = leaf([1.0, 2.0])
    counts = Tensor(np.array([2, 3]))
    (x * counts).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])
    assert counts.grad is None


@pytest.mark.parametrize("make", [
    lambda x: x ** 0.7,  # pow's backward multiplies by the Python float 0.7: in float32 if grad were float32
    lambda x: x.mean(),  # mean's backward divides by an int: 1/3 in float32 if grad were float32
], ids=["pow", "mean"])
def test_the_gradient_crosses_a_cast_back_into_the_inputs_dtype(make):
    x = leaf([0.3, 1.7, 2.9])
    make(x).to(np.float32).sum().backward()  # float64 ops upstream of a cast to float32
    expected = leaf(x.data)
    make(expected).sum().backward()  # the same in float64 throughout
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, expected.grad, rtol=1e-15)  # not float32's 6e-8


def test_a_slice_gradient_is_added_into_a_buffer_backward_owns():
    x = leaf([1.0, 2.0, 3.0])
    w = x * 3
    t = w * 2
    ((t + w).sum() + t[0]).backward()  # t's first gradient is a read-only broadcast shared with w
    np.testing.assert_array_equal(x.grad, [15.0, 9.0, 9.0])


def test_backward_of_a_leaf_fills_its_own_grad():
    x = leaf([1.0, 2.0])
    x.backward(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(x.grad, [0.5, 0.5])


# -- writes between forward and backward ------------------------------------------------

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"


def linear_loss(layer):
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)  # its gradient reads the weight
    return (layer(x) ** 2).sum()


def sgd_step(layer):
    for p in layer.parameters():
        p.grad = np.ones_like(p.data)
    tg.optim.SGD(layer.parameters(), lr=0.1).step()


@pytest.mark.parametrize("write", [
    sgd_step,
    lambda layer: layer.load_state_dict(layer.state_dict()),
    lambda layer: layer.to(np.float32),
    lambda layer: tg.nn.init.zeros_(layer.weight),
    lambda layer: setattr(layer.weight, "data", layer.weight.data * 2),
], ids=["optimizer.step", "load_state_dict", "Module.to", "nn.init", "assigning .data"])
def test_a_write_between_forward_and_backward_raises_naming_the_op(write):
    layer = tg.nn.Linear(3, 4).double()
    loss = linear_loss(layer)
    write(layer)
    # the weight reaches matmul through weight.T, a view that shares its version count
    with pytest.raises(RuntimeError, match=rf"backward: {MODIFIED}: input 1 of 'matmul' \(shape \(3, 4\), "
                                           r"dtype float\d+\) was written after the forward that saved it"):
        loss.backward()


def test_assigning_data_checks_what_a_tensor_can_hold():
    w = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="Tensor: the data of a tensor that requires grad must be floating point"):
        w.data = np.array([1, 2])
    w.data = [3.0, 4.0]  # converted as Tensor(...) converts it
    assert w.dtype == np.float32 and w._version == 1


def test_augmented_assignment_to_data_counts_as_a_write():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data += 1  # numpy adds in place; Python then assigns .data
    assert w._version == 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


@pytest.mark.parametrize("fused", [True, False])
def test_a_recurrent_layer_refuses_backward_after_an_optimizer_step(fused):
    lstm = tg.nn.LSTM(3, 4, fused=fused)
    out, _ = lstm(tg.randn(5, 2, 3))
    sgd_step(lstm)
    with pytest.raises(RuntimeError, match=MODIFIED):
        out.sum().backward()


def test_writes_that_backward_does_not_read_are_allowed_as_in_pytorch():
    w, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    loss = (w + b).sum() * 2  # add and sum read nothing back; mul by a constant reads only the constant
    b.data = b.data * 10
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])
    layer = tg.nn.Linear(3, 4).double()
    loss = (layer(tg.Tensor(np.ones((2, 3)))) ** 2).sum()  # the weight's gradient reads x, not the weight
    expected = tg.autograd.grad(loss, [layer.weight], retain_graph=True)[0].data
    layer.weight.data = layer.weight.data + 1
    np.testing.assert_array_equal(tg.autograd.grad(loss, [layer.weight])[0].data, expected)


def test_the_output_of_an_op_written_before_backward_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()  # exp's backward reads its output
    y.data = np.zeros(2)
    with pytest.raises(RuntimeError, match=rf"{MODIFIED}: the output of 'exp'"):
        y.sum().backward()


def test_a_recorded_backward_checks_versions_too():
    w = leaf([1.0, 2.0])
    loss = (w * w * w).sum()
    w.data = w.data + 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        tg.autograd.grad(loss, [w], create_graph=True)


def test_backward_twice_without_writes_in_between_is_fine():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])


def test_torch_raises_in_the_same_place():
    torch = pytest.importorskip("torch")
    w = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    loss = (x @ w.T).pow(2).sum()
    with torch.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


# -- modes are per thread ------------------------------------------------------------


def in_another_thread(block, *, while_running):
    """Run ``while_running()`` here while another thread sits inside ``with block():``."""
    inside, done = threading.Event(), threading.Event()

    def hold():
        with block():
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert inside.wait(10)
        return while_running()
    finally:
        done.set()
        thread.join()


def test_no_grad_in_another_thread_does_not_stop_recording_here():
    x = leaf([1.0])

    def record():
        (x * 3 + x * 2).sum().backward()
        return tg.is_grad_enabled()

    assert in_another_thread(tg.no_grad, while_running=record)
    np.testing.assert_array_equal(x.grad, [5.0])  # not 3: the x * 2 was recorded too


def test_a_new_thread_records_even_when_its_parent_is_inside_no_grad():
    x, found = leaf([1.0]), {}

    def record():
        found["grad_fn"] = (x * 2).grad_fn

    with tg.no_grad():
        thread = threading.Thread(target=record)
        thread.start()
        thread.join()
    assert found["grad_fn"] == "mul"


def test_a_switch_restores_its_value_on_exit_from_a_block_a_decorator_or_an_exception():
    from tinygrad_rnn.switch import Switch

    switch = Switch("default")
    with switch.to("a"):
        with switch.to("b"):
            assert switch.value == "b"
        assert switch.value == "a"
    assert switch.value == "default"

    @switch.to("inside")
    def read(fail: bool):
        if fail:
            raise KeyError("boom")
        return switch.value

    assert read(False) == "inside" and switch.value == "default"
    with pytest.raises(KeyError):
        read(True)
    assert switch.value == "default"


def test_tags_nest_and_the_innermost_label_wins():
    from tinygrad_rnn import autograd

    x = leaf([1.0])
    with autograd.tag(layer=0):
        with autograd.tag(step=1):
            inner = x * 2
        with autograd.tag(step=2, layer=5):
            overridden = x * 2
        outer = x * 2
    assert inner._node.tags == {"layer": 0, "step": 1}
    assert overridden._node.tags == {"layer": 5, "step": 2}
    assert outer._node.tags == {"layer": 0} and (x * 2)._node.tags == {}


def test_anomaly_mode_and_the_viz_step_belong_to_the_thread_that_set_them():
    x = leaf([0.0])

    def unchecked_and_untagged():
        with np.errstate(divide="ignore"):
            y = x.log()  # -inf: an anomaly only where anomaly mode is on
        return tg.is_anomaly_enabled(), y._node.tags.get("step")

    assert in_another_thread(tg.detect_anomaly, while_running=unchecked_and_untagged) == (False, None)
    assert in_another_thread(lambda: tg.viz.step(4), while_running=unchecked_and_untagged) == (False, None)
