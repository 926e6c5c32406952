"""examples/curvature.py: power iteration against the full Hessian, and the --quick run."""

import re

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd.functional import hessian, hvp

from example_loader import load_example


@pytest.fixture(scope="module")
def curvature():
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    return load_example("curvature")


def tiny_loss(curvature, kind: str, seed: int):
    """A float64 composed Regressor with hidden size 3 on 6 sequences of 5 steps: (loss(*params), params)."""
    tg.manual_seed(seed)
    model = curvature.float64_copy(curvature.adding.Regressor(kind, 3), kind, composed=True)
    inputs, targets = curvature.adding.adding_problem(6, 5, np.random.default_rng(seed))
    probe = (tg.Tensor(inputs.astype(np.float64)), tg.Tensor(targets.astype(np.float64)))
    return curvature.loss_of_parameters(model, *probe), tuple(model.parameters())


def full_hessian(func, params) -> np.ndarray:
    """The Hessian over all parameters, flattened into one vector, from autograd.functional.hessian."""
    ends = np.cumsum([p.numel() for p in params])
    starts = ends - [p.numel() for p in params]

    def flat_loss(flat):
        return func(*(flat[int(a):int(b)].reshape(p.shape) for a, b, p in zip(starts, ends, params)))

    flat = tg.Tensor(np.concatenate([p.data.ravel() for p in params]))
    return hessian(flat_loss, flat).data


@pytest.mark.parametrize("kind, seed", [("tanh", 0), ("lstm", 1)])
def test_power_iteration_finds_the_top_eigenvalue_of_the_full_hessian(curvature, kind, seed):
    func, params = tiny_loss(curvature, kind, seed)
    matrix = full_hessian(func, params)
    n = matrix.shape[0]
    assert n == sum(p.numel() for p in params) and n > 20
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-12)
    # the same matrix, column by column, from Hessian-vector products of unit vectors
    ends = np.cumsum([p.numel() for p in params])
    for column in (0, n // 2, n - 1):
        unit = np.zeros(n)
        unit[column] = 1.0
        pieces = tuple(tg.Tensor(part.reshape(p.shape)) for part, p in zip(np.split(unit, ends[:-1]), params))
        _, product = hvp(func, params, pieces)
        np.testing.assert_allclose(np.concatenate([h.data.ravel() for h in product]), matrix[:, column],
                                   rtol=1e-10, atol=1e-12)

    eigenvalues = np.linalg.eigvalsh(matrix)  # ascending
    largest_magnitude = eigenvalues[np.argmax(np.abs(eigenvalues))]
    top = curvature.top_eigenvalue(func, params, max_iterations=2000, tol=1e-12)
    assert top["converged"]
    assert top["eigenvalue"] == pytest.approx(largest_magnitude, rel=1e-6)
    vector = np.concatenate([a.ravel() for a in top["vector"]])
    np.testing.assert_allclose(matrix @ vector, largest_magnitude * vector, atol=1e-4 * abs(largest_magnitude))
    # shifted by the smallest eigenvalue, power iteration finds the largest (positive) one
    shifted = curvature.top_eigenvalue(func, params, max_iterations=2000, tol=1e-12, shift=-eigenvalues[0])
    assert shifted["eigenvalue"] == pytest.approx(eigenvalues[-1], rel=1e-6)
    # the default settings of the example (20 products, 1e-3 relative) are within a few percent
    assert curvature.top_eigenvalue(func, params)["eigenvalue"] == pytest.approx(largest_magnitude, rel=0.05)


def test_loss_of_parameters_puts_the_weights_back(curvature):
    tg.manual_seed(2)
    model = curvature.adding.Regressor("lstm", 3)
    inputs, targets = curvature.adding.adding_problem(6, 5, np.random.default_rng(2))
    func = curvature.loss_of_parameters(model, tg.Tensor(inputs), tg.Tensor(targets))
    params = list(model.parameters())
    model_loss = func(*params).item()
    moved = tuple(tg.Tensor(p.data + 0.1) for p in params)
    assert func(*moved).item() != pytest.approx(model_loss)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(type(p) is tg.nn.Parameter for p in model.parameters())
    assert func(*params).item() == model_loss


def test_the_fused_copy_computes_the_same_loss(curvature):
    tg.manual_seed(4)
    model = curvature.adding.Regressor("lstm", 5)
    inputs, targets = curvature.adding.adding_problem(4, 7, np.random.default_rng(4))
    probe = (tg.Tensor(inputs.astype(np.float64)), tg.Tensor(targets.astype(np.float64)))
    composed = curvature.float64_copy(model, "lstm", composed=True)
    fused = curvature.float64_copy(model, "lstm", composed=False)
    assert not composed.rnn.fused and fused.rnn.fused and not model.rnn.weight_hh_l0.dtype == np.float64
    losses = [curvature.loss_of_parameters(m, *probe)(*m.parameters()).item() for m in (composed, fused)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-10)


def test_curvature_quick_run(curvature, tmp_path, capsys):
    results = curvature.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "--quick: a smoke test" in out  # the numbers are labelled as such
    for kind in ("tanh", "lstm"):
        assert re.search(rf"^result {kind}: lambda_max \S+ at step 0 -> \S+ at step 30 ", out, re.M), out
        assert re.search(rf"^stability {kind}: lambda_max ", out, re.M), out
    for name in ("curvature.png", "curvature_stability.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    for history in results["histories"]:
        points = history["checkpoints"]
        assert [p["step"] for p in points] == [0, 10, 20, 30]
        for key in ("eigenvalue", "largest", "loss", "grad_norm", "hh_share"):
            assert all(np.isfinite(p[key]) for p in points), key
        assert all(0 <= p["hh_share"] <= 1 for p in points)
        assert len(history["step_grad_norms"]) == 30
    for kind, (lam, runs) in results["descents"].items():
        assert lam > 0
        assert runs[0.5][-1] < runs[0.5][0], kind  # below 2 / lambda_max the loss goes down
        assert np.nanmax(runs[2.0]) > runs[2.0][0], kind  # at twice the bound it goes up
    sweep = results["gain_sweep"]
    assert set(sweep) == {0.5, 1.5}
    assert abs(sweep[1.5]["eigenvalue"]) > abs(sweep[0.5]["eigenvalue"])
    assert np.isfinite(results["seconds"])
