"""Train, checkpoint, resume: the same numbers as an uninterrupted run.

A small LSTM classifier learns whether a sequence of numbers sums to a
positive value. The script trains for --steps steps in one go, then trains
again but stops halfway, saves model + optimizer + step with tg.save, builds
a fresh model and optimizer, loads the checkpoint with tg.load and finishes.
The two runs print identical losses, bit for bit.

Run: python examples/checkpoint_resume.py [--steps 60] [--out out/]    (a few seconds)
     python examples/checkpoint_resume.py --quick                      (12 steps; a smoke test)
"""

import argparse
import os

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim


class SumSign(nn.Module):
    """LSTM over the sequence, then a linear layer on the last state: 2 logits."""

    def __init__(self, hidden_size: int = 16):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 2)

    def forward(self, x):  # x (N, T, 1) -> logits (N, 2)
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


def batch(step: int, size: int = 32, steps: int = 12):
    """The batch of a given step: the same whichever run asks for it."""
    data = np.random.default_rng(1000 + step)
    x = data.standard_normal((size, steps, 1)).astype(np.float32)
    return tg.Tensor(x), (x.sum(axis=(1, 2)) > 0).astype(np.int64)


def build(seed: int = 0):
    tg.manual_seed(seed)
    model = SumSign()
    return model, optim.Adam(model.parameters(), lr=1e-2)


def train(model, optimizer, first: int, last: int, losses: list) -> None:
    loss_fn = nn.CrossEntropyLoss()
    for step in range(first, last):
        x, target = batch(step)
        loss = loss_fn(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())


def run(steps: int = 60, out: str = "out") -> bool:
    """Train straight through, and again with a save and a load halfway; whether the losses agree."""
    model, optimizer = build()
    straight = []
    train(model, optimizer, 0, steps, straight)

    model, optimizer = build()
    resumed = []
    train(model, optimizer, 0, steps // 2, resumed)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "checkpoint.npz")
    tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "step": steps // 2}, path)

    model, optimizer = build(seed=123)  # different initial weights: all state comes from the file
    checkpoint = tg.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    train(model, optimizer, int(checkpoint["step"]), steps, resumed)

    for step in range(0, steps, max(1, steps // 6)):
        print(f"step {step:3d}  loss {straight[step]:.6f}  resumed run {resumed[step]:.6f}")
    same = straight == resumed
    print(f"final loss {straight[-1]:.4f} (first {straight[0]:.4f}); "
          f"resumed run identical to the uninterrupted one: {same}")
    return same


def main(argv=None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", default="out", help="folder for checkpoint.npz")
    parser.add_argument("--quick", action="store_true", help="12 steps: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 12
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
    return run(args.steps, args.out)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
