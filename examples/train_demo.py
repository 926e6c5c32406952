"""Fit y = sin(x) with a one-hidden-layer tanh network, written with raw tensors.

The smallest complete use of the tape: forward, loss, backward, update by hand.
Run: python examples/train_demo.py            (300 steps, about a second)
     python examples/train_demo.py --quick    (60 steps; a smoke test)
"""

import argparse

import numpy as np

import tinygrad_rnn as tg


def train(steps: int = 300, hidden: int = 32, lr: float = 0.1, seed: int = 0) -> list[float]:
    """Plain gradient descent on the mean squared error; returns the loss of every step."""
    data = np.random.default_rng(seed)
    x = tg.Tensor(np.linspace(-3, 3, 128, dtype=np.float32).reshape(-1, 1))
    y = tg.Tensor(np.sin(x.data))

    w1 = tg.Tensor(data.normal(0, 1, (1, hidden)).astype(np.float32), requires_grad=True)
    b1 = tg.zeros(hidden, requires_grad=True)
    w2 = tg.Tensor(data.normal(0, hidden**-0.5, (hidden, 1)).astype(np.float32), requires_grad=True)
    b2 = tg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    losses = []
    for step in range(steps):
        prediction = (x @ w1 + b1).tanh() @ w2 + b2
        loss = ((prediction - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    return losses


def main(argv=None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="60 steps: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 60
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
    losses = train(args.steps, args.hidden, args.lr, args.seed)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} after {len(losses)} steps")
    return losses


if __name__ == "__main__":
    main()
