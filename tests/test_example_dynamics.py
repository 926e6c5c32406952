"""The dynamics examples (adding problem, digits, sunspots): their data, their pieces, and --quick runs."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg

from example_loader import load_example


@pytest.fixture(scope="module")
def adding():
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    return load_example("adding_problem")


# -- the adding problem ------------------------------------------------------------

@pytest.mark.parametrize("steps", [2, 3, 7, 100])
def test_adding_problem_has_one_marker_per_half_and_sums_the_marked_values(adding, steps):
    inputs, targets = adding.adding_problem(500, steps, np.random.default_rng(steps))
    assert inputs.shape == (500, steps, 2) and targets.shape == (500, 1)
    assert inputs.dtype == np.float32 and targets.dtype == np.float32
    values, markers = inputs[..., 0], inputs[..., 1]
    assert values.min() >= 0 and values.max() <= 1
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = steps // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1)
    first, second = markers[:, :half].argmax(axis=1), half + markers[:, half:].argmax(axis=1)
    rows = np.arange(500)
    np.testing.assert_allclose(targets[:, 0], values[rows, first] + values[rows, second], rtol=1e-6)


def test_predicting_one_always_scores_one_sixth(adding):
    _, targets = adding.adding_problem(200_000, 10, np.random.default_rng(0))
    # the standard error of this estimate is about 0.0005
    assert abs(np.mean((1.0 - targets) ** 2) - 1 / 6) < 0.003
    assert adding.BASELINE_MSE == pytest.approx(1 / 6)


def test_adding_problem_same_generator_state_gives_same_batch(adding):
    a = adding.adding_problem(8, 20, np.random.default_rng(3))
    b = adding.adding_problem(8, 20, np.random.default_rng(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["tanh", "lstm", "gru", "irnn"])
def test_cell_like_reproduces_the_layer(adding, kind):
    """The unrolled cell that measures ||dL/dh_t|| computes exactly what the trained layer computes."""
    tg.manual_seed(1)
    model = adding.Regressor(kind, 6)
    inputs, _ = adding.adding_problem(4, 9, np.random.default_rng(0))
    with tg.no_grad():
        output, _ = model.rnn(tg.Tensor(inputs))
        cell, state = adding.cell_like(model.rnn), None
        for t in range(9):
            state = cell(tg.Tensor(inputs[:, t]), state)
    last = state[0] if kind == "lstm" else state
    np.testing.assert_allclose(last.data, output.data[:, -1], rtol=1e-5, atol=1e-6)


def test_irnn_starts_from_the_identity(adding):
    model = adding.Regressor("irnn", 5)
    np.testing.assert_array_equal(model.rnn.weight_hh_l0.data, np.eye(5))
    assert model.rnn.recurrence.name == "rnn_relu"
    assert not model.rnn.bias_hh_l0.data.any()


def test_state_gradient_norms_last_step_matches_autograd_of_the_layer(adding):
    """||dL/dh_T|| from the unrolled cell equals the gradient the layer's own graph gives its last output."""
    tg.manual_seed(2)
    model = adding.Regressor("lstm", 5)
    inputs, targets = adding.adding_problem(3, 6, np.random.default_rng(1))
    norms = adding.state_gradient_norms(model, inputs, targets)
    assert norms.shape == (6,) and np.all(np.isfinite(norms))
    output, _ = model.rnn(tg.Tensor(inputs))
    last = output[:, -1]
    last.retain_grad()
    tg.functional.mse_loss(model.head(last), tg.Tensor(targets)).backward()
    assert norms[-1] == pytest.approx(np.linalg.norm(last.grad), rel=1e-4)


def test_adding_problem_quick_run(adding, tmp_path, capsys):
    results = adding.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "--quick: a smoke test" in out  # the numbers are labelled as such
    for kind in ("tanh", "lstm", "gru", "irnn"):
        assert re.search(rf"^result {kind}: test MSE \d+\.\d+ after 20 steps", out, re.M), out
    assert "baseline (always predict 1) test MSE" in out
    for name in ("adding_loss.png", "adding_gradients.png", "adding_exploding.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    # vanishing: at initialisation almost nothing of the loss reaches the first step of a tanh RNN
    tanh = results["gradient_norms"][("at initialisation", "tanh")]
    assert tanh[0] < 1e-2 * tanh[-1]
    # exploding: the unclipped gradient norm runs orders of magnitude past anything the clipped run sees
    unclipped, clipped = results["exploding"]["unclipped"], results["exploding"]["clip_grad_norm_(1.0)"]
    assert np.max(unclipped["norms"]) > 1e3 * np.max(clipped["norms"])
    assert np.all(np.isfinite(clipped["losses"]))


# -- digits ------------------------------------------------------------------------

def test_digits_quick_run(tmp_path, capsys):
    pytest.importorskip("sklearn")
    digits = load_example("digits")
    x_train, x_test, y_train, y_test = digits.load_split(0)
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert 0 <= x_train.min() and x_train.max() <= 1
    assert np.bincount(y_test).min() >= 35  # stratified: every digit is in the test set ~36 times

    results = digits.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "--quick: a smoke test" in out  # the numbers are labelled as such
    assert results["baseline"] > 0.9
    for kind in ("rnn", "lstm", "gru"):
        match = re.search(rf"^result {kind}: test accuracy (\d+\.\d)% after 2 epochs", out, re.M)
        assert match, out
        assert float(match.group(1)) > 30  # far above the 10% of guessing, even after 2 epochs
    assert (tmp_path / "digits.png").stat().st_size > 10_000


# -- sunspots ----------------------------------------------------------------------

def test_sunspot_windows_pair_each_target_with_the_years_before_it():
    pytest.importorskip("statsmodels")
    sunspots = load_example("sunspots")
    series = np.arange(10.0)
    inputs, targets = sunspots.windows(series, range(3, 10), 3)
    assert inputs.shape == (7, 3, 1) and targets.shape == (7, 1)
    np.testing.assert_array_equal(inputs[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(targets[:, 0], np.arange(3, 10))


def test_sunspots_quick_run(tmp_path, capsys):
    pytest.importorskip("statsmodels")
    sunspots = load_example("sunspots")
    years, series = sunspots.load_series()
    assert (years[0], years[-1], len(series)) == (1700, 2008, 309)

    results = sunspots.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "--quick: a smoke test" in out  # the numbers are labelled as such
    # the published reference values for the last 40 years: persistence ~30, AR(9) ~17
    assert results["persistence"] == pytest.approx(29.9, abs=0.1)
    assert results["ar9"] == pytest.approx(17.4, abs=0.3)
    assert re.search(r"^result LSTM ensemble of 2: test RMSE \d+\.\d", out, re.M), out
    assert len(results["lstm_per_seed"]) == 2 and all(np.isfinite(results["lstm_per_seed"]))
    assert (tmp_path / "sunspots.png").stat().st_size > 10_000
