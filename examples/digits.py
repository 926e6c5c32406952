"""Row-by-row digits: an image read as a sequence, classified from the last state.

scikit-learn's 8x8 handwritten digits (1,797 images from the UCI optical
recognition data set, shipped inside scikit-learn under its BSD licence) are
split 1,437 train / 360 test, stratified by class with a fixed seed. Each image
becomes a sequence of 8 rows, each row 8 pixel intensities: the recurrent
layer reads the rows top to bottom, and a linear layer maps its last hidden
state to 10 class scores (many-to-one). A tanh RNN, an LSTM and a GRU are
trained with Adam on cross-entropy for a fixed number of epochs, and their
test accuracy after the last epoch is printed next to the standard baseline
for this data: logistic regression on the 64 pixels (scikit-learn's
LogisticRegression), which sees the whole image at once.

Run:  python examples/digits.py            (the full run, about a minute)
      python examples/digits.py --quick    (a smoke run in seconds)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402

MODELS = ("rnn", "lstm", "gru")
LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def load_split(seed: int):
    """Images as (N, 8 rows, 8 pixels) float32 in [0, 1], labels (N,) int; 1,437 train / 360 test."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # pixel intensities are 0..16
    return train_test_split(images, digits.target, test_size=360, stratify=digits.target, random_state=seed)


class RowClassifier(nn.Module):
    """Rows in, class scores out: (N, 8, 8) -> (N, 10), read from the last hidden state."""

    def __init__(self, kind: str, hidden: int):
        super().__init__()
        self.rnn = LAYERS[kind](8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, rows):
        output, _ = self.rnn(rows)
        return self.head(output[:, -1])


def accuracy(model: RowClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    with tg.no_grad():
        return float(np.mean(model(tg.Tensor(images)).data.argmax(axis=1) == labels))


def train(kind: str, args, data) -> dict:
    x_train, x_test, y_train, y_test = data
    tg.manual_seed(args.seed)
    model = RowClassifier(kind, args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    order = np.random.default_rng(args.seed)
    history = {"model": kind, "train_loss": [], "test_accuracy": []}
    start = time.perf_counter()
    for _ in tqdm(range(args.epochs), desc=f"{kind:>4}", mininterval=1.0):
        model.train()
        permutation = order.permutation(len(x_train))
        losses = []
        for begin in range(0, len(x_train), args.batch):
            batch = permutation[begin:begin + args.batch]
            loss = F.cross_entropy(model(tg.Tensor(x_train[batch])), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        history["train_loss"].append(float(np.mean(losses)))
        history["test_accuracy"].append(accuracy(model, x_test, y_test))
    history["seconds"] = time.perf_counter() - start
    return history


def plot(histories: list[dict], baseline: float, out: Path) -> Path:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for h in histories:
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        ax_loss.plot(epochs, h["train_loss"], label=LABELS[h["model"]])
        ax_acc.plot(epochs, 100 * np.array(h["test_accuracy"]), label=LABELS[h["model"]])
    ax_acc.axhline(100 * baseline, color="k", linestyle="--", label="logistic regression")
    ax_loss.set(xlabel="epoch", ylabel="training cross-entropy", yscale="log", title="8x8 digits read row by row")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(80, 100), title="360 held-out images")
    ax_loss.legend()
    ax_acc.legend(loc="lower right")
    fig.tight_layout()
    path = out / "digits.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="the split, initialisation and batch order")
    parser.add_argument("--out", default="out", help="folder for the PNG")
    parser.add_argument("--quick", action="store_true", help="a smoke test in seconds: 2 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.epochs = 2
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_split(args.seed)
    x_train, x_test, y_train, y_test = data
    print(f"digits: {len(x_train)} train / {len(x_test)} test images, each 8 rows of 8 pixels")

    logistic = LogisticRegression(max_iter=5000).fit(x_train.reshape(len(x_train), -1), y_train)
    baseline = float(logistic.score(x_test.reshape(len(x_test), -1), y_test))
    print(f"baseline logistic regression on the 64 pixels: test accuracy {100 * baseline:.1f}%")

    histories = []
    for kind in args.models:
        history = train(kind, args, data)
        histories.append(history)
        print(f"result {kind}: test accuracy {100 * history['test_accuracy'][-1]:.1f}% after {args.epochs} epochs "
              f"(logistic regression {100 * baseline:.1f}%; {history['seconds']:.0f} s)")
    path = plot(histories, baseline, out)
    print(f"wrote {path}")
    return {"baseline": baseline, "histories": histories}


if __name__ == "__main__":
    main()
