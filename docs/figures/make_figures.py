"""Draw the figures of the docs into docs/figures/: tape graphs and gradient-norm plots.

    python docs/figures/make_figures.py

Needs the viz and examples extras (graphviz with Graphviz's dot program, and
matplotlib). The figures are committed, so building the docs needs neither.
Every number comes from tinygrad_rnn itself, seeded: running it again gives
the same pictures.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn, viz  # noqa: E402

HERE = Path(__file__).resolve().parent


def small_expression():
    """y = tanh(x * w + b).sum(), the running example of the autodiff page."""
    x = tg.Tensor(np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]]), requires_grad=True)
    w = tg.Tensor(np.array([0.3, -0.2, 0.1]), requires_grad=True)
    b = tg.Tensor(np.array(0.1), requires_grad=True)
    y = (x * w + b).tanh().sum()
    return y, {"x": x, "w": w, "b": b}


def draw_expressions():
    y, names = small_expression()
    viz.draw(y, HERE / "expression.svg", names=names)
    viz.retain_grads(y)
    y.backward(retain_graph=True)
    viz.draw(y, HERE / "expression_grad.svg", names=names)


def draw_gradient_graph():
    """The graph of dy/dw for y = tanh(x * w).sum(), recorded by create_graph=True."""
    x = tg.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = tg.Tensor(np.array(0.8), requires_grad=True)
    (dy_dw,) = tg.autograd.grad((x * w).tanh().sum(), w, create_graph=True)
    viz.draw(dy_dw, HERE / "gradient_graph.svg", names={"x": x, "w": w})


def draw_unrolled_rnn():
    """The worked example of the BPTT page: h_t = tanh(w h_{t-1} + u x_t), L = sum of squared errors."""
    w = tg.Tensor(np.array(0.8), requires_grad=True)
    u = tg.Tensor(np.array(0.6), requires_grad=True)
    h_0 = tg.Tensor(np.array(0.0))
    state, loss = h_0, 0
    for t, (x_t, y_t) in enumerate(zip([1.0, 0.5, -1.0], [0.5, 0.5, -0.5]), start=1):
        with viz.step(t):
            state = (w * state + u * x_t).tanh()
            loss = loss + (state - y_t) ** 2 / 2
    viz.retain_grads(loss)
    loss.backward(retain_graph=True)
    viz.draw(loss, HERE / "rnn_3_steps.svg", names={"w": w, "u": u, "h_0": h_0}, group_by_step=True)


def draw_lstm():
    """nn.LSTM, composed, over 3 steps; and over 100 steps with the middle folded."""
    tg.manual_seed(0)
    lstm = nn.LSTM(4, 8, fused=False)
    for steps, name, options in ((3, "lstm_3_steps.svg", {}), (100, "lstm_100_steps.svg", {"max_steps": 4})):
        x = tg.randn(steps, 2, 4).requires_grad_()
        output, _ = lstm(x)
        loss = output[-1].sum()
        viz.retain_grads(loss)
        loss.backward(retain_graph=True)
        names = {**dict(lstm.named_parameters()), "x": x}
        viz.draw(loss, HERE / name, names=names, group_by_step=True, **options)
        lstm.zero_grad()


def state_gradient_norms(cell, steps: int, seeds=range(5), positive: bool = False) -> np.ndarray:
    """Median over seeds of ||dL/dh_t|| for t = 1..steps, L = sum(h_steps), N(0, 1) inputs
    (their absolute values if ``positive``)."""
    norms = []
    for seed in seeds:
        x = np.random.default_rng(seed).standard_normal((steps, 1, cell.input_size))
        x = tg.Tensor(np.abs(x) if positive else x)
        state, hs = None, []
        for t in range(steps):
            state = cell(x[t], state)
            h = state[0] if isinstance(state, tuple) else state
            hs.append(h.retain_grad())
        hs[-1].sum().backward()
        norms.append([np.linalg.norm(h.grad) for h in hs])
        cell.zero_grad()
    return np.median(norms, axis=0)


def plot_gradient_norms():
    steps, hidden = 100, 32
    t = np.arange(1, steps + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)

    tg.manual_seed(0)
    open_forget_gate = nn.LSTMCell(8, hidden)
    open_forget_gate.bias_ih.data[hidden:2 * hidden] = 3.0  # f = sigmoid(3 + ...) ~ 0.95
    for label, cell in (("tanh RNN", nn.RNNCell(8, hidden)), ("GRU", nn.GRUCell(8, hidden)),
                        ("LSTM", nn.LSTMCell(8, hidden)), ("LSTM, forget bias 3", open_forget_gate)):
        left.semilogy(t, state_gradient_norms(cell.double(), steps), label=label)
    left.set(title="At initialisation (U(-1/sqrt(H), 1/sqrt(H)))", xlabel="time step t",
             ylabel="||dL/dh_t||,  L = sum(h_100)")

    for scale, style in ((0.9, "--"), (1.0, "-"), (1.1, ":")):
        tg.manual_seed(0)
        cell = nn.RNNCell(8, hidden, nonlinearity="relu").double()
        nn.init.eye_(cell.weight_hh)
        cell.weight_hh.data *= scale
        nn.init.zeros_(cell.bias_ih)
        nn.init.zeros_(cell.bias_hh)
        cell.weight_ih.data = np.abs(cell.weight_ih.data)  # with inputs >= 0, no unit switches off
        right.semilogy(t, state_gradient_norms(cell, steps, positive=True), style, label=f"W_hh = {scale} I")
    right.set(title="ReLU RNN, W_hh = a I, all units active", xlabel="time step t")

    for axis in (left, right):
        axis.grid(True, which="major", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(HERE / "gradient_norms.png", dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    draw_expressions()
    draw_gradient_graph()
    draw_unrolled_rnn()
    draw_lstm()
    plot_gradient_norms()
    print("figures written to", HERE)
