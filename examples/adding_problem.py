"""The adding problem: why a plain RNN forgets, and how gates and clipping help.

Each sequence has T steps and two input channels: a value drawn from U[0, 1],
and a marker that is 1 at exactly two steps, one in each half of the sequence,
0 elsewhere. The target is the sum of the two marked values. A model that
always predicts 1 (the mean target) scores MSE = Var(a + b) = 2/12 = 1/6, and
it needs no memory at all, so 0.167 is the bar: a model below it has learned
to carry a value across up to T steps.

Three experiments, each with a plot in --out:

1. Training (adding_loss.png). A tanh RNN, an LSTM, a GRU and an IRNN (a relu
   RNN whose recurrent weights start as the identity, Le et al. 2015), each
   read at its last step by a linear layer. Adam 1e-3, batch 50, hidden 64,
   gradient norm clipped at 1; the same batches for every model. Expect the
   LSTM to sit on the 0.167 plateau for a couple of thousand steps before it
   drops, the GRU to drop sooner, and the tanh RNN never to leave it.

2. Vanishing gradients (adding_gradients.png). Backpropagation through time
   multiplies the gradient by one Jacobian per step:
       dL/dh_t = dL/dh_T * J_T * J_{T-1} * ... * J_{t+1},   J_k = dh_k/dh_{k-1}.
   For the tanh RNN, J_k = diag(1 - h_k^2) W_hh. Both factors usually shrink
   vectors, so the product decays geometrically: after 50 steps nothing of
   the loss reaches the first marker, and the weights never learn to keep it.
   The LSTM's cell state has a path c_{k-1} -> c_k whose Jacobian is just the
   forget gate, elementwise. At initialisation that gate sits near 0.5, so
   the LSTM's gradient vanishes too (hence its long plateau); once training
   opens the gate, the gradient crosses the whole sequence. We unroll a cell
   by hand with the layer's own weights, keep every h_t's gradient with
   retain_grad(), and plot ||dL/dh_t|| against t, at initialisation and
   after training (in float64, so the tiny values do not underflow).

3. Exploding gradients (adding_exploding.png). Scale the recurrent weights up
   (orthogonal times a gain > 1) and the product of Jacobians can grow instead.
   Unclipped, one large gradient makes a large SGD step, the recurrent
   weights grow, the next gradient is larger still: within a few dozen steps
   the gradient norm passes 1e18 and the loss overflows. clip_grad_norm_
   rescales the whole gradient to a maximum norm, keeping its direction, and
   the same run stays finite. Plain SGD shows this most clearly: Adam divides
   each step by a running gradient scale, which already limits how far one
   bad batch can move the weights.

The five cells with no hand-written kernel (peephole, CIFG and LayerNorm
LSTMs, IndRNN, minGRU) run compiled by tg.scan; name them to train them too:
--models peephole,cifg,indrnn,mingru,lnlstm.

Run:  OPENBLAS_NUM_THREADS=1 python examples/adding_problem.py   (the full experiment, ~9 min on 2 cores)
      python examples/adding_problem.py --quick                  (a smoke run in seconds)
The matrices here are small: numpy's multithreaded BLAS spends more time
synchronising threads than multiplying, and one thread is several times faster.
"""

from __future__ import annotations

import argparse
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

BASELINE_MSE = 1 / 6  # always predicting 1: Var(a + b) for a, b ~ U[0, 1]
GOAL_MSE = 0.01
MODELS = ("tanh", "lstm", "gru", "irnn")
# the cells with no hand-written kernel, compiled by tg.scan (not run unless named in --models)
NEW_CELLS = {"peephole": nn.PeepholeLSTM, "cifg": nn.CIFGLSTM, "indrnn": nn.IndRNN, "mingru": nn.MinGRU,
             "lnlstm": nn.LayerNormLSTM}
LABELS = {"tanh": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "irnn": "IRNN (relu, identity init)",
          "peephole": "peephole LSTM", "cifg": "CIFG LSTM", "indrnn": "IndRNN", "mingru": "minGRU",
          "lnlstm": "LayerNorm LSTM"}


# -- data --------------------------------------------------------------------------

def adding_problem(batch: int, steps: int, rng: np.random.Generator):
    """A batch of the adding problem: inputs (batch, steps, 2) and targets (batch, 1), float32.

    Channel 0 holds values from U[0, 1]; channel 1 marks one step in the first
    half and one in the second; the target is the sum of the two marked values.
    """
    values = rng.uniform(0.0, 1.0, (batch, steps))
    markers = np.zeros((batch, steps))
    rows = np.arange(batch)
    markers[rows, rng.integers(0, steps // 2, batch)] = 1.0
    markers[rows, rng.integers(steps // 2, steps, batch)] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    targets = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return inputs, targets


# -- models ------------------------------------------------------------------------

class Regressor(nn.Module):
    """A recurrent layer read at its last step by a linear layer: (N, T, 2) -> (N, 1)."""

    def __init__(self, kind: str, hidden: int):
        super().__init__()
        if kind == "lstm":
            self.rnn = nn.LSTM(2, hidden, batch_first=True)
        elif kind == "gru":
            self.rnn = nn.GRU(2, hidden, batch_first=True)
        elif kind == "tanh":
            self.rnn = nn.RNN(2, hidden, batch_first=True)
        elif kind in NEW_CELLS:
            self.rnn = NEW_CELLS[kind](2, hidden, batch_first=True)
        elif kind == "irnn":  # Le, Jaitly and Hinton (2015): identity recurrence, zero biases, tiny inputs
            self.rnn = nn.RNN(2, hidden, nonlinearity="relu", batch_first=True)
            nn.init.eye_(self.rnn.weight_hh_l0)
            nn.init.normal_(self.rnn.weight_ih_l0, std=0.001)
            nn.init.zeros_(self.rnn.bias_ih_l0)
            nn.init.zeros_(self.rnn.bias_hh_l0)
        else:
            raise ValueError(f"unknown model {kind!r}; choose from {', '.join(MODELS + tuple(NEW_CELLS))}")
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def test_mse(model: Regressor, inputs: np.ndarray, targets: np.ndarray) -> float:
    with tg.no_grad():
        return F.mse_loss(model(tg.Tensor(inputs)), tg.Tensor(targets)).item()


def train(kind: str, args, test_set) -> dict:
    """Train one model; returns its test-MSE curve, training losses and timing."""
    tg.manual_seed(args.seed)
    model = Regressor(kind, args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    batches = np.random.default_rng(args.seed + 1)  # the same batches for every model
    history = {"model": kind, "evaluated_at": [], "test_mse": [], "train_loss": []}
    start = time.perf_counter()
    progress = tqdm(range(1, args.steps + 1), desc=f"{kind:>5}", mininterval=1.0)
    for step in progress:
        inputs, targets = adding_problem(args.batch, args.seq_len, batches)
        loss = F.mse_loss(model(tg.Tensor(inputs)), tg.Tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        history["train_loss"].append(loss.item())
        if step % args.eval_every == 0 or step == args.steps:
            mse = test_mse(model, *test_set)
            history["evaluated_at"].append(step)
            history["test_mse"].append(mse)
            progress.set_postfix(test_mse=f"{mse:.4f}")
            if step % (10 * args.eval_every) == 0:
                tqdm.write(f"  {kind} step {step}: test MSE {mse:.4f}")
    history["seconds"] = time.perf_counter() - start
    history["model_object"] = model
    return history


# -- vanishing gradients: ||dL/dh_t|| by unrolling a cell ------------------------------

def cell_like(layer) -> nn.Module:
    """A cell holding the weights of a one-layer nn.RNN/LSTM/GRU (names without '_l0')."""
    if isinstance(layer, nn.LSTM):
        cell = nn.LSTMCell(layer.input_size, layer.hidden_size)
    elif isinstance(layer, nn.GRU):
        cell = nn.GRUCell(layer.input_size, layer.hidden_size)
    else:
        nonlinearity = "relu" if layer.recurrence.name == "rnn_relu" else "tanh"
        cell = nn.RNNCell(layer.input_size, layer.hidden_size, nonlinearity=nonlinearity)
    cell.load_state_dict({name.removesuffix("_l0"): value for name, value in layer.state_dict().items()})
    return cell


def state_gradient_norms(model: Regressor, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """||dL/dh_t|| for t = 1..T, L the MSE of the prediction read from the last state.

    The norm is taken over the whole batch of states h_t (N, H).
    """
    cell = cell_like(model.rnn).double()  # float64: the vanished gradients would underflow float32
    head = nn.Linear(model.head.in_features, 1).double()
    head.load_state_dict(model.head.state_dict())
    is_lstm = isinstance(cell, nn.LSTMCell)
    x = tg.Tensor(inputs.astype(np.float64))
    state, hidden_states = None, []
    for t in range(inputs.shape[1]):
        state = cell(x[:, t], state)
        h = state[0] if is_lstm else state
        hidden_states.append(h.retain_grad())
    F.mse_loss(head(hidden_states[-1]), tg.Tensor(targets.astype(np.float64))).backward()
    return np.array([np.linalg.norm(h.grad) for h in hidden_states])


# -- exploding gradients: a tanh RNN with large recurrent weights ------------------------

def exploding_run(args, clip: float | None) -> dict:
    """Plain SGD on a tanh RNN whose W_hh is orthogonal * gain; gradient norms and losses per step."""
    tg.manual_seed(args.seed)
    model = Regressor("tanh", args.hidden)
    nn.init.orthogonal_(model.rnn.weight_hh_l0, gain=args.explode_gain)
    optimizer = optim.SGD(model.parameters(), lr=args.explode_lr)
    batches = np.random.default_rng(args.seed + 2)
    norms, losses = [], []
    label = "clipped" if clip else "unclipped"
    for _ in tqdm(range(args.explode_steps), desc=f"explode {label}", mininterval=1.0):
        inputs, targets = adding_problem(args.batch, args.seq_len, batches)
        with np.errstate(over="ignore", invalid="ignore"):  # unclipped, the weights overflow: that is the point
            loss = F.mse_loss(model(tg.Tensor(inputs)), tg.Tensor(targets))
            losses.append(loss.item())
            if not np.isfinite(losses[-1]):
                break  # the weights are already inf or nan: nothing more to learn
            optimizer.zero_grad()
            loss.backward()
            # clip_grad_norm_ returns the norm before clipping; with max_norm=inf it only measures
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), clip or float("inf")).item())
            optimizer.step()
    return {"norms": np.array(norms), "losses": np.array(losses)}


# -- plots -------------------------------------------------------------------------

def plot_training(histories: list[dict], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for h in histories:
        ax.plot(h["evaluated_at"], h["test_mse"], label=LABELS[h["model"]])
    ax.axhline(BASELINE_MSE, color="k", linestyle="--", label="always predict 1 (MSE 1/6)")
    ax.axhline(GOAL_MSE, color="gray", linestyle=":", label=f"goal {GOAL_MSE}")
    ax.set(xlabel="training step (batch 50)", ylabel="test MSE", yscale="log",
           title=f"Adding problem, T = {histories[0]['seq_len']}")
    ax.legend()
    fig.tight_layout()
    path = out / "adding_loss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_gradients(norms: dict, out: Path) -> Path:
    """norms[(stage, kind)] = ||dL/dh_t|| per step."""
    stages = sorted({stage for stage, _ in norms}, key=["at initialisation", "after training"].index)
    fig, axes = plt.subplots(1, len(stages), figsize=(6 * len(stages), 4.2), squeeze=False, sharey=True)
    for ax, stage in zip(axes[0], stages):
        for (s, kind), values in norms.items():
            if s == stage:
                ax.semilogy(np.arange(1, len(values) + 1), values, label=LABELS[kind])
        ax.set(xlabel="time step t", title=stage)
        ax.legend()
    axes[0][0].set_ylabel("||dL/dh_t||  (loss read at the last step)")
    fig.tight_layout()
    path = out / "adding_gradients.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_exploding(runs: dict, args, out: Path) -> Path:
    fig, (ax_norm, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, run in runs.items():
        ax_norm.semilogy(np.arange(1, len(run["norms"]) + 1), run["norms"], label=label)
        losses = np.where(np.isfinite(run["losses"]), run["losses"], np.nan)
        ax_loss.semilogy(np.arange(1, len(losses) + 1), losses, label=label)
        if not np.isfinite(run["losses"][-1]):
            ax_loss.axvline(len(run["losses"]), color="r", linestyle=":", label=f"{label}: loss overflows")
    ax_norm.set(xlabel="SGD step", ylabel="gradient norm before clipping",
                title=f"tanh RNN, W_hh = orthogonal x {args.explode_gain}, SGD lr {args.explode_lr}")
    ax_loss.axhline(BASELINE_MSE, color="k", linestyle="--", label="always predict 1")
    ax_loss.set(xlabel="SGD step", ylabel="training MSE", title="the same runs: loss")
    ax_norm.legend()
    ax_loss.legend()
    fig.tight_layout()
    path = out / "adding_exploding.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the experiment ----------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="training steps per model")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, from {', '.join(MODELS + tuple(NEW_CELLS))}")
    parser.add_argument("--seq-len", type=int, default=100, help="T, the sequence length")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm in training")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--explode-steps", type=int, default=300)
    parser.add_argument("--explode-gain", type=float, default=1.5, help="W_hh = orthogonal x gain")
    parser.add_argument("--explode-lr", type=float, default=0.1, help="SGD learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="folder for the PNGs")
    parser.add_argument("--quick", action="store_true", help="a smoke test in seconds: short sequences, few steps")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.steps, args.seq_len, args.test_size, args.eval_every = 20, 16, 200, 10
        args.explode_steps = 25
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.models:
        if m not in MODELS and m not in NEW_CELLS:
            parser.error(f"unknown model {m!r}; choose from {', '.join(MODELS + tuple(NEW_CELLS))}")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    test_set = adding_problem(args.test_size, args.seq_len, np.random.default_rng(12345))
    baseline = float(np.mean((1.0 - test_set[1]) ** 2))
    print(f"adding problem, T = {args.seq_len}: baseline (always predict 1) test MSE {baseline:.4f} "
          f"(theory 1/6 = {BASELINE_MSE:.4f})")

    # 1. training
    histories = []
    for kind in args.models:
        history = train(kind, args, test_set)
        history["seq_len"] = args.seq_len
        histories.append(history)
        below = [s for s, m in zip(history["evaluated_at"], history["test_mse"]) if m < GOAL_MSE]
        print(f"result {kind}: test MSE {history['test_mse'][-1]:.4f} after {args.steps} steps "
              f"(best {min(history['test_mse']):.4f}; first below {GOAL_MSE}: "
              f"{'step ' + str(below[0]) if below else 'never'}; baseline {baseline:.4f}; "
              f"{history['seconds'] / args.steps * 1000:.0f} ms/step, {history['seconds'] / 60:.1f} min)")
    paths = [plot_training(histories, out)] if histories else []

    # 2. vanishing gradients: the same fresh batch through each model, at init and after training
    probe = adding_problem(args.batch, args.seq_len, np.random.default_rng(7))
    norms = {}
    for kind in ("tanh", "lstm"):
        tg.manual_seed(args.seed)
        norms[("at initialisation", kind)] = state_gradient_norms(Regressor(kind, args.hidden), *probe)
    for history in histories:
        if history["model"] in ("tanh", "lstm"):
            norms[("after training", history["model"])] = state_gradient_norms(history["model_object"], *probe)
    for (stage, kind), values in norms.items():
        print(f"gradient {kind} {stage}: ||dL/dh_1|| / ||dL/dh_T|| = {values[0] / values[-1]:.2e}")
    paths.append(plot_gradients(norms, out))

    # 3. exploding gradients, with and without clipping
    runs = {"unclipped": exploding_run(args, clip=None), f"clip_grad_norm_({args.clip})": exploding_run(args, args.clip)}
    for label, run in runs.items():
        losses = run["losses"]
        if np.isfinite(losses[-1]):
            outcome = f"training MSE over the last 10% of steps {np.mean(losses[-max(1, len(losses) // 10):]):.4g}"
        else:
            outcome = f"the loss overflowed to {losses[-1]} at step {len(losses)} (largest finite {np.nanmax(losses[np.isfinite(losses)]):.3g})"
        print(f"exploding {label}: gradient norm median {np.median(run['norms']):.3g}, max {np.max(run['norms']):.3g}; {outcome}")
    paths.append(plot_exploding(runs, args, out))

    for path in paths:
        print(f"wrote {path}")
    return {"baseline": baseline, "histories": histories, "gradient_norms": norms, "exploding": runs}


if __name__ == "__main__":
    main()
