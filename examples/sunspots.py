"""Yearly sunspots: many-to-one forecasting with an LSTM, next to AR(9) and persistence.

The data are the yearly mean sunspot numbers 1700-2008 shipped with
statsmodels (statsmodels.datasets.sunspots; public domain, from NOAA's
National Geophysical Data Center). The task is one step ahead: from the
sunspot numbers of the past `--window` years, predict the next year's. The
last 40 years (1969-2008) are the test span; the models learn only from the
years before it, and at test time each forecast reads the true past values,
as a forecaster would each new year.

Baselines, computed here with statsmodels:
- persistence: next year = this year;
- AR(9): a linear autoregression on the past 9 years (statsmodels AutoReg),
  refitted on all the years known before each forecast.

The LSTM reads the window year by year (one number per step) and a linear
layer maps its last hidden state to the forecast. The series is standardised
with the mean and spread of the training years. With only ~250 training
windows a single network is noisy from seed to seed, so the script trains
several seeds, prints each one's RMSE, and also averages their forecasts (an
ensemble). The settings (window 20, hidden 32, Adam 1e-2, 100 epochs) were
chosen on the last 40 training years (1929-1968), never on the test span.

Run:  python examples/sunspots.py            (the full run, about 15 s)
      python examples/sunspots.py --quick    (a smoke run in seconds)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from statsmodels.datasets import sunspots  # noqa: E402
from statsmodels.tsa.ar_model import AutoReg  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402

TEST_YEARS = 40


def load_series():
    """(years (309,) int, sunspot numbers (309,) float64), 1700-2008."""
    data = sunspots.load_pandas().data
    return data["YEAR"].to_numpy().astype(int), data["SUNACTIVITY"].to_numpy(dtype=np.float64)


def rmse(prediction: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((prediction - truth) ** 2)))


def autoregression_forecasts(series: np.ndarray, first: int, lags: int) -> np.ndarray:
    """One-step-ahead AR(lags) forecasts of series[first:], refitted on series[:t] for each t."""
    return np.array([AutoReg(series[:t], lags).fit().predict(start=t, end=t)[0]
                     for t in range(first, len(series))])


def windows(scaled: np.ndarray, targets: range, size: int):
    """For each target index t: the past `size` values (N, size, 1) and the value at t (N, 1)."""
    inputs = np.stack([scaled[t - size:t] for t in targets])[:, :, None]
    return inputs.astype(np.float32), scaled[list(targets)][:, None].astype(np.float32)


class Forecaster(nn.Module):
    """An LSTM over the window, read at its last step: (N, window, 1) -> (N, 1)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.head(output[:, -1])


def train_lstm(seed: int, args, train_set, test_inputs: np.ndarray) -> np.ndarray:
    """Train one LSTM from `seed`; returns its scaled test forecasts (N,)."""
    inputs, targets = train_set
    tg.manual_seed(seed)
    model = Forecaster(args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    order = np.random.default_rng(seed)
    for _ in tqdm(range(args.epochs), desc=f"LSTM seed {seed}", mininterval=1.0):
        permutation = order.permutation(len(inputs))
        for begin in range(0, len(inputs), args.batch):
            batch = permutation[begin:begin + args.batch]
            loss = F.mse_loss(model(tg.Tensor(inputs[batch])), tg.Tensor(targets[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with tg.no_grad():
        return model(tg.Tensor(test_inputs)).data[:, 0]


def plot(years, series, first, forecasts: dict, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4.5))
    start = first - 60  # some history before the test span
    ax.plot(years[start:], series[start:], color="k", linewidth=2, label="observed")
    for label, values in forecasts.items():
        ax.plot(years[first:], values, marker=".", label=f"{label}: RMSE {rmse(values, series[first:]):.1f}")
    ax.axvspan(years[first] - 0.5, years[-1] + 0.5, color="gray", alpha=0.12, label="test span")
    ax.set(xlabel="year", ylabel="yearly mean sunspot number", title="One-step-ahead forecasts")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    path = out / "sunspots.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=20, help="past years the LSTM reads")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    parser.add_argument("--seeds", type=int, default=5, help="LSTMs trained, one per seed")
    parser.add_argument("--out", default="out", help="folder for the PNG")
    parser.add_argument("--quick", action="store_true", help="a smoke test in seconds: 3 epochs, 2 seeds")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.epochs, args.seeds = 3, 2
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    years, series = load_series()
    first = len(series) - TEST_YEARS  # index of the first test year
    truth = series[first:]
    print(f"sunspots {years[0]}-{years[-1]}: train on {years[0]}-{years[first - 1]}, "
          f"forecast {years[first]}-{years[-1]} one year ahead")

    persistence = series[first - 1:-1]
    autoregression = autoregression_forecasts(series, first, lags=9)
    print(f"baseline persistence: test RMSE {rmse(persistence, truth):.1f}")
    print(f"baseline AR(9), refitted each year: test RMSE {rmse(autoregression, truth):.1f}")

    # standardise with the training years only, so nothing of the test span leaks in
    mean, std = series[:first].mean(), series[:first].std()
    scaled = (series - mean) / std
    train_set = windows(scaled, range(args.window, first), args.window)
    test_inputs, _ = windows(scaled, range(first, len(series)), args.window)

    start = time.perf_counter()
    runs = np.array([train_lstm(seed, args, train_set, test_inputs) * std + mean for seed in range(args.seeds)])
    seconds = time.perf_counter() - start
    per_seed = [rmse(run, truth) for run in runs]
    ensemble = runs.mean(axis=0)
    print(f"LSTM per seed: test RMSE {', '.join(f'{r:.1f}' for r in per_seed)} "
          f"(mean {np.mean(per_seed):.1f}, min {min(per_seed):.1f}, max {max(per_seed):.1f})")
    print(f"result LSTM ensemble of {args.seeds}: test RMSE {rmse(ensemble, truth):.1f} "
          f"(AR(9) {rmse(autoregression, truth):.1f}, persistence {rmse(persistence, truth):.1f}; {seconds:.0f} s)")

    path = plot(years, series, first, {"persistence": persistence, "AR(9)": autoregression,
                                       f"LSTM, {args.seeds} seeds averaged": ensemble}, out)
    print(f"wrote {path}")
    return {"persistence": rmse(persistence, truth), "ar9": rmse(autoregression, truth),
            "lstm_per_seed": per_seed, "lstm_ensemble": rmse(ensemble, truth)}


if __name__ == "__main__":
    main()
