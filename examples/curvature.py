"""Curvature of the loss: the top Hessian eigenvalue of a tanh RNN and an LSTM on the adding problem.

The gradient says which way the loss goes down; the Hessian H (the matrix of
second derivatives over all parameters) says how fast that direction bends.
Its largest eigenvalue, lambda_max, is the curvature along the sharpest
direction v. Near a point, the loss along v is a parabola,
    L(theta + e v) ~ L(theta) + e g.v + lambda_max e^2 / 2,
and a gradient-descent step with learning rate lr multiplies the distance to
the bottom of that parabola by (1 - lr lambda_max). The step shrinks it only
when |1 - lr lambda_max| < 1, that is when
    lr < 2 / lambda_max;
above that, every step overshoots further than the last and the loss climbs.
Sharp curvature therefore caps the step size plain gradient descent can take.

H has one row per parameter (1,185 for the tanh RNN here, 4,641 for the
LSTM), but we never form it. A Hessian-vector product H v costs one forward
and two backward passes (tinygrad_rnn.autograd.functional.hvp: the gradient
is computed with its graph kept, then differentiated again in the direction
v). Power iteration needs nothing else: start from a random unit vector v,
repeat v <- Hv / |Hv|, and the Rayleigh quotient v.Hv converges to the
eigenvalue of largest *magnitude*, which may be negative (away from a
minimum the loss can curve downwards more steeply than upwards). It
converges fast when the top eigenvalue stands apart from the next one and
slowly when two are close in magnitude; we stop when the estimate changes by
less than 1e-3 relative, or after 20 products, and say which. When the
largest in magnitude is negative, power iteration on H + |lambda| I finds
the largest positive one, which is what the step-size bound is about.

Pascanu, Mikolov and Bengio (2013, "On the difficulty of training recurrent
neural networks") describe exploding gradients as cliffs in the loss surface:
walls of very high curvature, produced by the recurrent weights, where the
gradient is huge and a step of ordinary size throws the weights far away.
Clipping the gradient is their remedy. Curvature is how that shows up in H.

Three experiments, plots in --out:

1. Training (curvature.png). A tanh RNN and an LSTM, hidden 32, read at the
   last step (Regressor from adding_problem.py), trained on the adding
   problem with T = 50 as adding_problem.py trains them: Adam 1e-3, batch 50,
   gradient norm clipped at 1, the same batches for both. Every 100 steps we
   estimate lambda_max of the MSE on a fixed batch of 200 sequences, with its
   loss and gradient norm. Expect the tanh RNN to stay between about 10 and
   40 while it learns next to nothing, and the LSTM's lambda_max to jump some
   200-fold, from about 12 to about 3,000, as it leaves the plateau (around
   step 2,800) and starts to carry the first value across the sequence.
   From then on most of its training gradients exceed the clipping norm.
   Adam keeps training although lambda_max is above 2 / lr = 2,000: its step
   is lr m / sqrt(v), each coordinate rescaled, so its stability depends on
   the Hessian rescaled the same way, not on H itself (Cohen et al. 2022,
   "Adaptive gradient methods at the edge of stability").
2. The step-size bound (curvature_stability.png, left). From each model's
   final weights, plain full-batch gradient descent on the same 200
   sequences with lr = 0.5, 0.9, 1.1 and 2 times 2 / lambda_max. Below the
   bound the loss goes down; at twice the bound it jumps up within a few
   steps (here it then falls back: the weights are thrown to a flatter
   region, where the same lr is stable). The bound is local: curvature
   changes as the weights move. For the tanh RNN at 0.9 x the bound, the
   loss falls for 17 steps while lambda_max grows from 23 to over 60,
   past 2 / lr (measured separately), and then spikes.
3. Cliffs (curvature_stability.png, right). A fresh tanh RNN whose recurrent
   weights are orthogonal times a gain, as in adding_problem.py's exploding
   experiment: lambda and the gradient norm grow by orders of magnitude with
   the gain, and the largest stable SGD step falls far below the lr 0.1 that
   made the unclipped run there overflow.

Double backward runs only through the composed recurrent layers (fused=False);
the fused ones train faster. So the models train fused in float32, and every
measurement is made on a float64 composed copy of the current weights.

Run:  OPENBLAS_NUM_THREADS=1 python examples/curvature.py   (the full run, ~1 min on 2 cores)
      python examples/curvature.py --quick                  (a smoke run in seconds)
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402
from tinygrad_rnn.autograd.functional import hvp  # noqa: E402


def _sibling(name: str):
    """Load examples/<name>.py (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


adding = _sibling("adding_problem")  # the data generator and the Regressor model
KINDS = ("tanh", "lstm")
LR_MULTIPLES = (0.5, 0.9, 1.1, 2.0)


# -- the loss as a function of the parameters ----------------------------------------

def loss_of_parameters(model: nn.Module, inputs: tg.Tensor, targets: tg.Tensor):
    """``loss(*params)``: the MSE of ``model`` on a batch, with ``params`` in place of its weights.

    hvp and hessian call ``func(*inputs)`` with fresh leaf tensors that hold
    the parameters' values, and differentiate with respect to those leaves,
    so the loss must be computed with them, not with the model's own
    Parameters. This puts them into the modules' parameter registries for
    one forward pass and puts the Parameters back afterwards (what PyTorch's
    torch.func.functional_call does). The order is ``model.parameters()``'s.
    """
    slots = [(module, name) for module in model.modules() for name, p in module._parameters.items() if p is not None]

    def loss(*params):
        saved = [module._parameters[name] for module, name in slots]
        try:
            for (module, name), p in zip(slots, params):
                module._parameters[name] = p
            return F.mse_loss(model(inputs), targets)
        finally:
            for (module, name), p in zip(slots, saved):
                module._parameters[name] = p

    return loss


def float64_copy(model: adding.Regressor, kind: str, composed: bool) -> adding.Regressor:
    """A float64 copy of ``model``; with ``composed``, its recurrent layer is the fused=False one."""
    copy = adding.Regressor(kind, model.head.in_features)
    copy.load_state_dict(model.state_dict())
    copy.rnn.fused = not composed  # Regressor builds the default fused layer; forward reads the flag
    return copy.double()


# -- power iteration -------------------------------------------------------------------

def _unit(vectors: list) -> list:
    norm = np.sqrt(sum(float((a * a).sum()) for a in vectors))
    return [a / norm for a in vectors]


def top_eigenvalue(func, params: tuple, max_iterations: int = 20, tol: float = 1e-3, shift: float = 0.0,
                   seed: int = 0) -> dict:
    """The eigenvalue of largest magnitude of H + shift I, minus shift; H the Hessian of ``func`` at ``params``.

    Power iteration with Hessian-vector products: v a random unit vector over
    all parameters; repeat lambda = v.Hv, v = Hv / |Hv| until lambda changes by
    less than ``tol`` relative. Returns the eigenvalue, the unit vector (one
    array per parameter), the estimates and whether they converged.
    """
    rng = np.random.default_rng(seed)
    v = _unit([rng.standard_normal(p.shape).astype(p.dtype) for p in params])
    estimates = []
    for _ in range(max_iterations):
        _, hv = hvp(func, params, tuple(tg.Tensor(a) for a in v))
        hv = [h.data + shift * a for h, a in zip(hv, v)]
        estimates.append(sum(float((a * b).sum()) for a, b in zip(v, hv)) - shift)  # v.Hv, |v| = 1
        v = _unit(hv)
        if len(estimates) > 1 and abs(estimates[-1] - estimates[-2]) < tol * abs(estimates[-1]):
            break
    converged = len(estimates) > 1 and abs(estimates[-1] - estimates[-2]) < tol * abs(estimates[-1])
    return {"eigenvalue": estimates[-1], "vector": v, "estimates": estimates, "converged": converged}


def measure(model: adding.Regressor, kind: str, probe: tuple, args) -> dict:
    """Loss, gradient norm and top Hessian eigenvalue(s) of ``model`` on the probe batch, in float64.

    ``eigenvalue`` is the largest in magnitude; ``largest`` the largest
    positive one (found with a shift when the first is negative), the one
    the bound lr < 2 / lambda_max is about. ``hh_share`` is the fraction of
    the top eigenvector that lies on the recurrent weights W_hh.
    """
    copy = float64_copy(model, kind, composed=True)
    params = tuple(copy.parameters())
    func = loss_of_parameters(copy, *probe)
    loss = func(*params)
    grads = tg.autograd.grad(loss, params)
    top = top_eigenvalue(func, params, args.iterations, args.tol, seed=args.seed)
    names = [name for name, _ in copy.named_parameters()]
    result = {"loss": loss.item(), "grad_norm": float(np.sqrt(sum((g.data ** 2).sum() for g in grads))),
              "eigenvalue": top["eigenvalue"], "iterations": len(top["estimates"]), "converged": top["converged"],
              "hh_share": float(sum((a ** 2).sum() for name, a in zip(names, top["vector"]) if "weight_hh" in name)),
              "largest": top["eigenvalue"], "largest_converged": top["converged"]}
    if top["eigenvalue"] < 0:
        shifted = top_eigenvalue(func, params, 5 * args.iterations, args.tol, shift=-top["eigenvalue"], seed=args.seed)
        result["largest"], result["largest_converged"] = shifted["eigenvalue"], shifted["converged"]
    return result


# -- 1. training, with a curvature estimate every few steps ------------------------------

def train(kind: str, args, probe: tuple) -> dict:
    tg.manual_seed(args.seed)
    model = adding.Regressor(kind, args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    batches = np.random.default_rng(args.seed + 1)  # the same batches for both models
    history = {"model": kind, "checkpoints": [], "step_grad_norms": []}
    start = time.perf_counter()
    progress = tqdm(range(args.steps + 1), desc=f"{kind:>5}", mininterval=1.0)
    for step in progress:
        if step % args.every == 0 or step == args.steps:
            point = measure(model, kind, probe, args)
            history["checkpoints"].append({"step": step, **point})
            progress.set_postfix(loss=f"{point['loss']:.4f}", lam=f"{point['eigenvalue']:.3g}")
        if step == args.steps:
            continue  # the last pass only measures
        inputs, targets = adding.adding_problem(args.batch, args.seq_len, batches)
        loss = F.mse_loss(model(tg.Tensor(inputs)), tg.Tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        history["step_grad_norms"].append(nn.utils.clip_grad_norm_(model.parameters(), args.clip).item())
        optimizer.step()
    history["seconds"] = time.perf_counter() - start
    history["model_object"] = model
    return history


# -- 2. the step-size bound: full-batch gradient descent at multiples of 2 / lambda_max --------

def descend(model: adding.Regressor, kind: str, probe: tuple, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent on the probe batch from ``model``'s weights (a copy): the loss before each step."""
    copy = float64_copy(model, kind, composed=False)
    sgd = optim.SGD(copy.parameters(), lr=lr)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):  # above the bound the loss may overflow
        for _ in range(steps):
            loss = F.mse_loss(copy(probe[0]), probe[1])
            losses.append(loss.item())
            if not np.isfinite(losses[-1]):
                break
            sgd.zero_grad()
            loss.backward()
            sgd.step()
    return np.array(losses)


# -- 3. cliffs: a tanh RNN whose recurrent weights are scaled up ---------------------------

def gain_sweep(args, probe: tuple) -> dict:
    results = {}
    for gain in tqdm(args.gains, desc="gains", mininterval=1.0):
        tg.manual_seed(args.seed)
        model = adding.Regressor("tanh", args.hidden)
        nn.init.orthogonal_(model.rnn.weight_hh_l0, gain=gain)
        results[gain] = measure(model, "tanh", probe, args)
    return results


# -- plots -------------------------------------------------------------------------------

def save(fig, path: Path) -> Path:
    for ax in fig.axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_training(histories: list[dict], baseline: float, args, out: Path) -> Path:
    fig, (ax_lam, ax_loss, ax_grad) = plt.subplots(1, 3, figsize=(15, 4.3))
    for h in histories:
        points = h["checkpoints"]
        steps = [p["step"] for p in points]
        lams = np.array([p["eigenvalue"] for p in points])
        (line,) = ax_lam.semilogy(steps, np.abs(lams), marker=".", label=adding.LABELS[h["model"]])
        negative = lams < 0
        if negative.any():
            ax_lam.semilogy(np.array(steps)[negative], -lams[negative], "o", mfc="none", color=line.get_color(),
                            label=f"{adding.LABELS[h['model']]}: negative")
        ax_loss.semilogy(steps, [p["loss"] for p in points], color=line.get_color(), label=adding.LABELS[h["model"]])
        ax_grad.semilogy(np.arange(1, len(h["step_grad_norms"]) + 1), h["step_grad_norms"], lw=0.5, alpha=0.7,
                         color=line.get_color(), label=adding.LABELS[h["model"]])
    ax_lam.axhline(2 / args.lr, color="gray", linestyle=":", label=f"2 / {args.lr:g}: plain GD at lr {args.lr:g} unstable above")
    ax_lam.set(xlabel="training step", ylabel="|lambda_max| of the Hessian (log)",
               title="top Hessian eigenvalue, power iteration")
    ax_loss.axhline(baseline, color="k", linestyle="--", label="always predict 1")
    ax_loss.set(xlabel="training step", ylabel="MSE on the probe batch", title=f"adding problem, T = {args.seq_len}")
    ax_grad.axhline(args.clip, color="k", linestyle="--", label=f"clipped to {args.clip:g}")
    ax_grad.set(xlabel="training step", ylabel="gradient norm before clipping", title="each training batch")
    return save(fig, out / "curvature.png")


def plot_stability(descents: dict, sweep: dict, args, out: Path) -> Path:
    fig, axes = plt.subplots(1, len(descents) + 1, figsize=(5 * (len(descents) + 1), 4.3), squeeze=False)
    axes = axes[0]
    for ax, (kind, (lam, runs)) in zip(axes, descents.items()):
        for multiple, losses in runs.items():
            ax.semilogy(np.arange(len(losses)), np.where(np.isfinite(losses), losses, np.nan),
                        label=f"lr = {multiple:g} x 2/lambda_max")
        ax.set(xlabel="full-batch gradient-descent step", ylabel="MSE on the probe batch",
               title=f"{adding.LABELS[kind]}, final weights: lambda_max {lam:.3g}")
    ax = axes[-1]
    gains = list(sweep)
    ax.semilogy(gains, [abs(p["eigenvalue"]) for p in sweep.values()], "o-", label="|lambda| largest in magnitude")
    ax.semilogy(gains, [p["largest"] for p in sweep.values()], "s--", label="largest positive lambda")
    ax.semilogy(gains, [p["grad_norm"] for p in sweep.values()], "^:", label="gradient norm")
    ax.axhline(2 / args.sgd_lr, color="r", linestyle=":", label=f"2 / {args.sgd_lr:g}: SGD lr {args.sgd_lr:g} unstable above")
    ax.set(xlabel="gain of W_hh (orthogonal x gain)", title="tanh RNN at initialisation: cliffs")
    return save(fig, out / "curvature_stability.png")


# -- the experiment ----------------------------------------------------------------------

def summary(history: dict, args) -> str:
    """One line on a training run: lambda_max, loss, gradient, clipping and power iteration, first to last."""
    points = history["checkpoints"]
    first, last = points[0], points[-1]
    peak = max(points, key=lambda p: abs(p["eigenvalue"]))
    unconverged = [p["step"] for p in points if not p["converged"]]
    norms = np.array(history["step_grad_norms"])
    clipped = "no steps"
    if len(norms):
        last_quarter = norms[-max(1, len(norms) // 4):]
        clipped = f"{np.mean(norms > args.clip):.0%} of steps ({np.mean(last_quarter > args.clip):.0%} of the last quarter)"
    return (f"lambda_max {first['eigenvalue']:.4g} at step 0 -> {last['eigenvalue']:.4g} at step {last['step']} "
            f"(largest |lambda| {abs(peak['eigenvalue']):.4g} at step {peak['step']}); "
            f"probe MSE {first['loss']:.4f} -> {last['loss']:.4f}; "
            f"gradient norm {first['grad_norm']:.3g} -> {last['grad_norm']:.3g}; "
            f"W_hh share of the top eigenvector {first['hh_share']:.2f} -> {last['hh_share']:.2f}; "
            f"gradient clipped at {clipped}; "
            f"power iteration converged at {len(points) - len(unconverged)}/{len(points)} checkpoints"
            f"{f' (not at steps {unconverged})' if unconverged else ''}, "
            f"median {np.median([p['iterations'] for p in points]):.0f} products; {history['seconds']:.0f} s")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq-len", type=int, default=50, help="T, the sequence length")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5000, help="training steps per model")
    parser.add_argument("--every", type=int, default=100, help="training steps between curvature estimates")
    parser.add_argument("--probe-size", type=int, default=200, help="sequences in the fixed batch the Hessian is of")
    parser.add_argument("--batch", type=int, default=50, help="training batch")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm in training")
    parser.add_argument("--iterations", type=int, default=20, help="most Hessian-vector products per estimate")
    parser.add_argument("--tol", type=float, default=1e-3, help="relative change that stops power iteration")
    parser.add_argument("--descent-steps", type=int, default=30, help="full-batch GD steps in experiment 2")
    parser.add_argument("--gains", default="0.5,0.75,1,1.25,1.5,1.75,2", help="W_hh gains in experiment 3")
    parser.add_argument("--sgd-lr", type=float, default=0.1, help="reference SGD lr (adding_problem's exploding run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="folder for the PNGs")
    parser.add_argument("--quick", action="store_true", help="a smoke test in seconds: short sequences, few steps")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.steps, args.seq_len, args.hidden, args.every, args.probe_size = 30, 10, 8, 10, 20
        args.descent_steps, args.gains = 5, "0.5,1.5"
    args.gains = [float(g) for g in args.gains.split(",") if g.strip()]
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    inputs, targets = adding.adding_problem(args.probe_size, args.seq_len, np.random.default_rng(12345))
    probe = (tg.Tensor(inputs.astype(np.float64)), tg.Tensor(targets.astype(np.float64)))
    baseline = float(np.mean((1.0 - targets) ** 2))
    print(f"adding problem, T = {args.seq_len}, hidden {args.hidden}; probe batch of {args.probe_size}: "
          f"always predicting 1 scores MSE {baseline:.4f}")

    # 1. training
    histories = []
    for kind in KINDS:
        history = train(kind, args, probe)
        histories.append(history)
        print(f"result {kind}: {summary(history, args)}")
    paths = [plot_training(histories, baseline, args, out)]

    # 2. the step-size bound, from the final weights
    descents = {}
    for history in histories:
        kind, lam = history["model"], history["checkpoints"][-1]["largest"]
        if lam <= 0:
            print(f"stability {kind}: no positive curvature found (lambda {lam:.4g}): the bound does not apply")
            continue
        model = history["model_object"]
        runs = {m: descend(model, kind, probe, m * 2 / lam, args.descent_steps) for m in LR_MULTIPLES}
        descents[kind] = (lam, runs)
        outcome = "; ".join(f"{m:g}x: {r[0]:.3g} -> {r[-1]:.3g} (max {np.nanmax(r):.3g})" for m, r in runs.items())
        print(f"stability {kind}: lambda_max {lam:.4g}, 2/lambda_max {2 / lam:.3g}; "
              f"{args.descent_steps} GD steps at lr = multiple x 2/lambda_max, MSE first -> last: {outcome}")

    # 3. cliffs
    sweep = gain_sweep(args, probe)
    for gain, p in sweep.items():
        note = "" if p["converged"] else f" (not converged after {p['iterations']} products)"
        note_largest = "" if p["largest_converged"] else " (not converged)"
        bound = 2 / p["largest"] if p["largest"] > 0 else np.inf
        print(f"cliff gain {gain:g}: lambda {p['eigenvalue']:.4g}{note}, largest positive {p['largest']:.4g}"
              f"{note_largest} (2/lambda {bound:.2g}); gradient norm {p['grad_norm']:.3g}; W_hh share {p['hh_share']:.2f}")
    paths.append(plot_stability(descents, sweep, args, out))

    seconds = time.perf_counter() - start
    for path in paths:
        print(f"wrote {path}")
    print(f"total {seconds / 60:.1f} min")
    return {"baseline": baseline, "histories": histories, "descents": descents, "gain_sweep": sweep,
            "seconds": seconds}


if __name__ == "__main__":
    main()
