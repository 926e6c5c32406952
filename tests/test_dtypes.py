"""Float dtypes: float16, float32 and float64 run everywhere; long double is refused at the boundary.

numba compiles no float16 and no long double, and no big-endian arrays. float16
(which PyTorch runs on the CPU) is computed in float32 inside the kernels and
rounded back; long double is refused where it would enter (Tensor, Parameter,
Tensor.to, Module.to, assigning .data) with a TypeError; another byte order is
converted to this machine's where it enters (Tensor, Module.to, tg.load).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn, optim

from layer_kinds import LAYER_CLASSES
BIG_ENDIAN = np.dtype(">f4") if np.little_endian else np.dtype("<f4")  # the other byte order


# -- float16 --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LAYER_CLASSES))
@pytest.mark.parametrize("fused", [True, False])
def test_float16_layers_run_forward_backward_and_a_step_close_to_float64(kind, fused):
    tg.manual_seed(0)
    half = LAYER_CLASSES[kind](3, 4, fused=fused)
    exact = LAYER_CLASSES[kind](3, 4, fused=fused)
    exact.load_state_dict(half.state_dict())
    half.to(np.float16)
    exact.double()
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float16)
    out, _ = half(Tensor(x))
    out.sum().backward()
    expected, _ = exact(Tensor(x.astype(np.float64)))
    expected.sum().backward()
    assert out.dtype == np.float16 and half.weight_hh_l0.grad.dtype == np.float16
    np.testing.assert_allclose(out.data, expected.data, atol=3e-3)
    np.testing.assert_allclose(half.weight_hh_l0.grad, exact.weight_hh_l0.grad, atol=3e-2, rtol=1e-2)
    optim.Adam(half.parameters(), lr=1e-2).step()
    assert all(p.dtype == np.float16 and np.isfinite(p.data).all() for p in half.parameters())


@pytest.mark.parametrize("op", [Tensor.sigmoid, F.logsigmoid, F.softplus])
def test_float16_pointwise_kernels_round_a_float32_result(op):
    x = Tensor(np.linspace(-20, 20, 41).astype(np.float16), requires_grad=True)
    y = op(x)
    y.sum().backward()
    expected = op(Tensor(x.data.astype(np.float32))).data.astype(np.float16)
    assert y.dtype == x.grad.dtype == np.float16
    np.testing.assert_array_equal(y.data, expected)


# -- long double ------------------------------------------------------------------------


@pytest.mark.skipif(np.dtype(np.longdouble) == np.float64, reason="long double is float64 here")
@pytest.mark.parametrize("enter", [
    lambda: Tensor(np.ones(2, np.longdouble)),
    lambda: Tensor([1.0, 2.0], dtype=np.longdouble),
    lambda: nn.Parameter(np.ones(2, np.longdouble)),
    lambda: tg.randn(2).to(np.longdouble),
    lambda: nn.Linear(2, 2).to(np.longdouble),
    lambda: setattr(tg.randn(2), "data", np.ones(2, np.longdouble)),
], ids=["Tensor", "Tensor(dtype=)", "Parameter", "Tensor.to", "Module.to", "assigning .data"])
def test_long_double_is_refused_where_it_would_enter(enter):
    with pytest.raises(TypeError, match=r"(Tensor|to|Linear\.to): cannot hold data of dtype float\d+.* float16, "
                                        r"float32, float64, integers and bool"):
        enter()


def test_load_state_dict_casts_a_long_double_state_into_the_modules_dtype():
    layer = nn.Linear(2, 3)
    layer.load_state_dict({k: v.astype(np.longdouble) + 1 for k, v in layer.state_dict().items()})
    assert layer.weight.dtype == np.float32


# -- byte order -------------------------------------------------------------------------


def test_the_other_byte_order_becomes_this_machines_where_it_enters():
    values = np.arange(4.0, dtype=BIG_ENDIAN)
    t = Tensor(values)
    assert t.dtype == np.float32 and t.dtype.isnative
    np.testing.assert_array_equal(t.data, values)
    assert nn.Linear(2, 2).to(np.dtype(">f8") if np.little_endian else "<f8").weight.dtype.isnative


@pytest.mark.parametrize("kind", sorted(LAYER_CLASSES))
@pytest.mark.parametrize("fused", [True, False])
def test_a_checkpoint_in_the_other_byte_order_loads_and_runs(tmp_path, kind, fused):
    layer = LAYER_CLASSES[kind](3, 4, fused=fused)
    other = {name: array.astype(BIG_ENDIAN) for name, array in layer.state_dict().items()}
    tg.save({"model": other}, tmp_path / "big_endian.npz")
    loaded = tg.load(tmp_path / "big_endian.npz")["model"]
    assert all(array.dtype == np.float32 and array.dtype.isnative for array in loaded.values())
    fresh = LAYER_CLASSES[kind](3, 4, fused=fused)
    fresh.load_state_dict(loaded)
    x = tg.randn(5, 2, 3)
    np.testing.assert_array_equal(fresh(x)[0].data, layer(x)[0].data)
    fresh.weight_ih_l0.data = loaded["weight_ih_l0"].astype(BIG_ENDIAN)  # assigned: converted too
    assert fresh.weight_ih_l0.dtype.isnative
    fresh(tg.randn(5, 2, 3))[0].sum().backward()
