"""nn.Linear, nn.Embedding, nn.Dropout, nn.Sequential: values, gradients, errors, seeds, PyTorch."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, ops

lead_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


# -- Linear ------------------------------------------------------------------------------------


@given(lead=lead_shapes, n_in=sizes, n_out=sizes, bias=st.booleans(), seed=seeds)
def test_linear_values_and_gradients(lead, n_in, n_out, bias, seed):
    tg.manual_seed(seed)
    layer = nn.Linear(n_in, n_out, bias=bias, dtype=np.float64)
    x = Tensor(np.random.default_rng(seed).standard_normal(lead + (n_in,)), requires_grad=True)
    out = layer(x)
    expected = x.data @ layer.weight.data.T + (layer.bias.data if bias else 0)
    assert out.shape == lead + (n_out,)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    # float64 leaves go to gradcheck as they are, so it checks the layer's own parameters
    tg.gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_linear_shapes_and_default_dtype():
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer(Tensor(np.ones((2, 4), np.float32))).dtype == np.float32
    assert nn.Linear(4, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["weight"]


def test_linear_rejects_a_wrong_last_dim():
    with pytest.raises(ValueError, match=r"Linear.*\(2, 5\).*in_features=4.*\(3, 4\)"):
        nn.Linear(4, 3)(Tensor(np.ones((2, 5), np.float32)))
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(4, 3)(Tensor(np.float32(1.0)))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 3)
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(2, 3, dtype=np.int64)


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for param in (layer.weight, layer.bias):
        assert np.abs(param.data).max() <= bound
    w = layer.weight.data
    assert np.abs(w).max() > 0.99 * bound
    # U(-b, b) has std b/sqrt(3); 120,000 draws pin it to well under 1%
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound / math.sqrt(3)
    assert abs(w.mean()) < 0.01 * bound


def test_linear_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(5, 3, dtype=np.float64)
    theirs = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x_np = np.random.default_rng(1).standard_normal((2, 4, 5))
    x, x_t = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, out_t = ours(x), theirs(x_t)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    grad = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(grad)
    out_t.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- Embedding -----------------------------------------------------------------------------


@given(index_shape=lead_shapes, num=st.integers(1, 6), dim=sizes, seed=seeds)
def test_embedding_values_and_gradients(index_shape, num, dim, seed):
    tg.manual_seed(seed)
    layer = nn.Embedding(num, dim, dtype=np.float64)
    indices = np.random.default_rng(seed).integers(0, num, index_shape)  # repeats are likely
    out = layer(indices)
    assert out.shape == index_shape + (dim,)
    assert np.array_equal(out.data, layer.weight.data[indices])
    tg.gradcheck(lambda weight: layer(indices), [layer.weight])


@given(index_shape=lead_shapes, num=st.integers(1, 6), dim=sizes, seed=seeds)
def test_embedding_primitive_gradcheck(index_shape, num, dim, seed):
    random = np.random.default_rng(seed)
    weight = Tensor(random.standard_normal((num, dim)), requires_grad=True)
    indices = random.integers(0, num, index_shape)
    tg.gradcheck(lambda w: ops.Embedding.apply(w, indices=indices), [weight])


def test_repeated_indices_accumulate():
    layer = nn.Embedding(4, 2, dtype=np.float64)
    layer(np.array([[1, 3, 1], [1, 0, 3]])).sum().backward()
    assert np.array_equal(layer.weight.grad, [[1, 1], [3, 3], [0, 0], [2, 2]])


@given(index_shape=lead_shapes, num=st.integers(2, 6), dim=sizes, seed=seeds)
def test_padding_row_starts_at_zero_and_gets_no_gradient(index_shape, num, dim, seed):
    random = np.random.default_rng(seed)
    padding_idx = int(random.integers(0, num))
    tg.manual_seed(seed)
    padded = nn.Embedding(num, dim, padding_idx=padding_idx, dtype=np.float64)
    assert np.all(padded.weight.data[padding_idx] == 0)
    padded.weight.data[padding_idx] = random.standard_normal(dim)  # the row is still read
    plain = nn.Embedding(num, dim, dtype=np.float64)
    plain.weight.data[...] = padded.weight.data
    indices = random.integers(0, num, index_shape + (3,))
    indices.flat[0] = padding_idx
    grad = random.standard_normal(indices.shape + (dim,))
    out = padded(indices)
    np.testing.assert_array_equal(out.data, plain(indices).data)
    out.backward(grad)
    plain(indices).backward(grad)
    expected = plain.weight.grad.copy()
    expected[padding_idx] = 0
    np.testing.assert_array_equal(padded.weight.grad, expected)


def test_negative_padding_idx_counts_from_the_end():
    layer = nn.Embedding(5, 2, padding_idx=-1)
    assert layer.padding_idx == 4 and np.all(layer.weight.data[4] == 0)
    with pytest.raises(ValueError, match="padding_idx=5.*num_embeddings=5"):
        nn.Embedding(5, 2, padding_idx=5)


def test_embedding_accepts_tensors_lists_and_scalars():
    layer = nn.Embedding(5, 3)
    expected = layer.weight.data[[2, 4]]
    assert np.array_equal(layer(Tensor(np.array([2, 4]))).data, expected)
    assert np.array_equal(layer([2, 4]).data, expected)
    assert layer(np.int64(1)).shape == (3,)
    empty = layer(np.zeros((0, 2), np.int64))
    assert empty.shape == (0, 2, 3)
    empty.sum().backward()
    assert np.all(layer.weight.grad == 0)


@pytest.mark.parametrize("bad, error, message", [
    (np.array([1, 5]), IndexError, r"mbedding.*index 5.*num_embeddings=5"),
    (np.array([[0, -1]]), IndexError, r"mbedding.*index -1.*num_embeddings=5"),
    (np.array([1.0, 2.0]), TypeError, r"mbedding.*integers.*float64"),
    (Tensor([1.0, 2.0]), TypeError, r"mbedding.*integers.*float32"),
    (np.array([True, False]), TypeError, r"mbedding.*integers.*bool"),
])
def test_embedding_rejects_bad_indices(bad, error, message):
    with pytest.raises(error, match=message):
        nn.Embedding(5, 3)(bad)


@pytest.mark.parametrize("padding_idx", [0, 2, -1, None])  # 0: a padding row that is falsy
def test_embedding_matches_pytorch(padding_idx):
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    indices = np.array([[2, 0, 5, 0], [1, 2, 0, 4]])
    out, out_t = ours(indices), theirs(torch.from_numpy(indices))
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())
    grad = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(grad)
    out_t.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- Dropout --------------------------------------------------------------------------------


@given(shape=lead_shapes, p=st.sampled_from([0.1, 0.5, 0.9]), seed=seeds)
def test_dropout_gradient_with_a_fixed_mask(shape, p, seed):
    drop = nn.Dropout(p)
    x = Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)

    def seeded(x):
        tg.manual_seed(seed)  # the same mask on every call gradcheck makes
        return drop(x)

    tg.gradcheck(seeded, [x])


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    tg.manual_seed(0)
    p, n = 0.3, 200_000
    x = Tensor(np.ones(n, np.float32), requires_grad=True)
    out = nn.Dropout(p)(x)
    kept = out.data != 0
    # the dropped fraction is binomial: 5 standard deviations is about 0.005 here
    assert abs((1 - kept.mean()) - p) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_array_equal(out.data[kept], np.float32(1 / (1 - p)))
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)


def test_dropout_is_the_identity_in_eval_and_for_p_zero():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    drop = nn.Dropout(0.5).eval()
    assert np.array_equal(drop(x).data, x.data)
    assert np.array_equal(nn.Dropout(0.0)(x).data, x.data)
    assert drop.train().training and not np.array_equal(drop(x).data, x.data)


def test_dropout_p_one_gives_zeros():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    out = nn.Dropout(1.0)(x)
    out.sum().backward()
    assert np.all(out.data == 0) and np.all(x.grad == 0)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=f"Dropout.*{p}"):
        nn.Dropout(p)


# -- Sequential -----------------------------------------------------------------------------


def test_sequential_chains_indexes_and_names():
    first, second = nn.Linear(3, 4, dtype=np.float64), nn.Linear(4, 2, dtype=np.float64)
    model = nn.Sequential(first, nn.Dropout(0.5), second).eval()
    assert len(model) == 3 and model[0] is first and model[-1] is second
    assert list(model) == [first, model[1], second]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    x = Tensor(np.ones((5, 3)))
    np.testing.assert_array_equal(model(x).data, second(first(x)).data)
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [model[1], second]
    assert [n for n, _ in tail.named_children()] == ["1", "2"]
    with pytest.raises(IndexError, match="Sequential.*3.*3 modules"):
        model[3]
    model.append(nn.Linear(2, 1))
    assert [n for n, _ in model.named_parameters()][-1] == "3.bias"
    with pytest.raises(TypeError, match="int"):
        nn.Sequential(first, 3)


# -- one seed, the same bits ------------------------------------------------------------------------


def test_manual_seed_reproduces_init_and_dropout_bit_for_bit():
    def build_and_run(seed):
        tg.manual_seed(seed)
        model = nn.Sequential(nn.Embedding(20, 8, padding_idx=0), nn.Dropout(0.5), nn.Linear(8, 4))
        out = model(np.array([[1, 2, 0], [3, 19, 5]]))
        return model.state_dict(), out.data

    (state_a, out_a), (state_b, out_b), (state_c, _) = build_and_run(7), build_and_run(7), build_and_run(8)
    assert list(state_a) == list(state_b)
    for name in state_a:
        assert state_a[name].tobytes() == state_b[name].tobytes(), name
        assert not np.array_equal(state_a[name], state_c[name]), name
    assert out_a.tobytes() == out_b.tobytes()
