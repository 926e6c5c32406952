"""nn.init: bounds, moments, orthogonality, identity, gains, errors and seeds."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.nn import init

N = 200_000  # samples for the moment checks: the standard error of a mean is ~0.2% of std


def big(dtype=np.float32, shape=(400, 500)):
    return nn.Parameter(np.full(shape, np.nan, dtype))


def test_uniform_bounds_and_moments():
    t = big()
    data = t.data
    assert init.uniform_(t, -2.0, 3.0) is t and t.data is data  # in place, same array
    assert t.dtype == np.float32 and t.data.min() >= -2.0 and t.data.max() <= 3.0
    assert abs(t.data.mean() - 0.5) < 0.01 and abs(t.data.std() - 5 / math.sqrt(12)) < 0.01
    with pytest.raises(ValueError, match="a=1.*b=0"):
        init.uniform_(t, 1.0, 0.0)


def test_normal_moments():
    t = init.normal_(big(np.float64), mean=3.0, std=0.5)
    assert t.dtype == np.float64
    assert abs(t.data.mean() - 3.0) < 0.005 and abs(t.data.std() - 0.5) < 0.005
    with pytest.raises(ValueError, match="std=-1"):
        init.normal_(t, std=-1)


def test_constants():
    t = nn.Parameter(np.full((2, 3), np.nan))
    assert np.all(init.zeros_(t).data == 0)
    assert np.all(init.ones_(t).data == 1)
    assert np.all(init.constant_(t, 0.25).data == 0.25)
    counts = Tensor(np.zeros(3, np.int64))
    assert np.all(init.constant_(counts, 4).data == 4)  # constants need not be float


def test_xavier_uniform_bound_and_std():
    t = init.xavier_uniform_(big(), gain=2.0)
    bound = 2.0 * math.sqrt(6 / (400 + 500))
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.999 * bound
    assert abs(t.data.std() - bound / math.sqrt(3)) < 0.01 * bound


def test_fans_count_the_trailing_dims():
    # (out=4, in=3, kernel 5x2): fan_in = 3*10, fan_out = 4*10
    t = init.xavier_uniform_(nn.Parameter(np.zeros((4, 3, 5, 2))))
    assert np.abs(t.data).max() <= math.sqrt(6 / 70)
    with pytest.raises(ValueError, match=r"xavier_uniform_.*\(5,\)"):
        init.xavier_uniform_(nn.Parameter(np.zeros(5)))


@pytest.mark.parametrize("mode, nonlinearity, a, fan", [
    ("fan_in", "leaky_relu", 0.0, 500),
    ("fan_out", "relu", 0.0, 400),
    ("fan_in", "leaky_relu", math.sqrt(5), 500),
    ("fan_in", "tanh", 0.0, 500),
])
def test_kaiming_uniform_bound(mode, nonlinearity, a, fan):
    t = init.kaiming_uniform_(big(), a=a, mode=mode, nonlinearity=nonlinearity)
    bound = init.calculate_gain(nonlinearity, a) * math.sqrt(3 / fan)
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.999 * bound


def test_kaiming_uniform_rejects_a_bad_mode():
    with pytest.raises(ValueError, match="fan_middle"):
        init.kaiming_uniform_(big(), mode="fan_middle")


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(TypeError, match="calculate_gain: negative_slope must be a number, got str"):
        init.calculate_gain("leaky_relu", "steep")


@given(rows=st.integers(1, 12), rest=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       gain=st.sampled_from([1.0, 0.5, 3.0]), seed=st.integers(0, 2**32 - 1))
def test_orthogonal_rows_or_columns_are_orthonormal(rows, rest, gain, seed):
    tg.manual_seed(seed)
    t = init.orthogonal_(nn.Parameter(np.zeros([rows] + rest)), gain=gain)
    q = t.data.reshape(rows, -1) / gain
    small = min(q.shape)
    gram = q @ q.T if rows <= q.shape[1] else q.T @ q
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_float32_and_sign_correction():
    t = init.orthogonal_(nn.Parameter(np.zeros((64, 64), np.float32)))
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.data.T @ t.data, np.eye(64), atol=1e-5)
    # Householder QR alone gives a sign-biased Q (its [0, 0] entry always has one
    # sign); with R's diagonal made positive Q is uniform over orthogonal matrices.
    tg.manual_seed(0)
    corners = [init.orthogonal_(nn.Parameter(np.zeros((4, 3)))).data[0, 0] for _ in range(400)]
    assert 150 < sum(c > 0 for c in corners) < 250
    with pytest.raises(ValueError, match=r"orthogonal_.*\(3,\)"):
        init.orthogonal_(nn.Parameter(np.zeros(3)))


def test_eye():
    assert np.array_equal(init.eye_(nn.Parameter(np.full((3, 3), 7.0))).data, np.eye(3))
    assert np.array_equal(init.eye_(nn.Parameter(np.zeros((2, 4)))).data, np.eye(2, 4))
    for shape in [(3,), (2, 2, 2)]:
        with pytest.raises(ValueError, match=rf"eye_.*{shape}".replace("(", r"\(").replace(")", r"\)")):
            init.eye_(nn.Parameter(np.zeros(shape)))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_,
                                init.kaiming_uniform_, init.orthogonal_])
def test_random_inits_want_a_float_tensor(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}.*int64"):
        fn(Tensor(np.zeros((2, 2), np.int64)))
    with pytest.raises(TypeError, match=rf"{fn.__name__}.*ndarray"):
        fn(np.zeros((2, 2)))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_,
                                init.kaiming_uniform_, init.orthogonal_])
def test_same_seed_same_bits(fn):
    def draw(seed):
        tg.manual_seed(seed)
        return fn(nn.Parameter(np.zeros((5, 7), np.float32))).data

    assert draw(3).tobytes() == draw(3).tobytes()
    assert draw(3).tobytes() != draw(4).tobytes()


def test_init_is_not_recorded():
    t = nn.Parameter(np.zeros((3, 3)))
    init.orthogonal_(t)
    assert t.is_leaf and t.requires_grad and t.grad is None


# -- PyTorch parity --------------------------------------------------------------------------


def test_gains_and_bounds_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    for shape in [(300, 200), (40, 30, 3, 2)]:
        ours = init.xavier_uniform_(nn.Parameter(np.zeros(shape)), gain=1.5).data
        theirs = torch.nn.init.xavier_uniform_(torch.zeros(shape, dtype=torch.float64), gain=1.5).numpy()
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)
        ours = init.kaiming_uniform_(nn.Parameter(np.zeros(shape)), a=math.sqrt(5)).data
        theirs = torch.nn.init.kaiming_uniform_(torch.zeros(shape, dtype=torch.float64), a=math.sqrt(5)).numpy()
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)


def test_orthogonal_matches_pytorch_shapes():
    torch = pytest.importorskip("torch")
    for shape in [(6, 4), (4, 6), (3, 2, 4)]:
        ours = init.orthogonal_(nn.Parameter(np.zeros(shape))).data.reshape(shape[0], -1)
        theirs = torch.nn.init.orthogonal_(torch.zeros(shape, dtype=torch.float64)).numpy().reshape(shape[0], -1)
        gram = (lambda q: q @ q.T) if shape[0] <= ours.shape[1] else (lambda q: q.T @ q)
        np.testing.assert_allclose(gram(ours), gram(theirs), atol=1e-12)
