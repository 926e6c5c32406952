"""Translate human-written dates into ISO dates with an encoder-decoder (many-to-many, different lengths).

"sunday 22 nov 2026", "22/11/26" and "Sunday, November 22nd, 2026" all mean 2026-11-22.
Input and output are character sequences of different lengths, so one recurrent net
reading and writing in step is not enough. An encoder LSTM (or GRU, ``--cell gru``) reads
the input characters and its final state summarises the whole date in one vector; a
decoder of the same kind starts from that state and writes the ISO date one character at
a time, each step fed the character before it.

Training uses teacher forcing: the decoder is fed the true previous character, so the
whole target is scored in one pass. At test time there is no true previous character:
decoding is greedy, each step feeds back the character the model just chose, until it
writes <eos>. One wrong character early on can derail the rest, which is why exact-match
accuracy on whole dates is the measure.

Data: the script writes its own examples with the datetime module and a seeded random
generator, in twelve formats (listed in FORMATS, each named by how it writes 2026-11-22).
Years run from 1970 to 2069, so a two-digit year is unambiguous (70-99 -> 19xx, 00-69 ->
20xx); day/month orders are all European, so "03/04/26" means 3 April. The test dates are
never seen in training, in any format: the model has to learn to translate, not to recall.

Baseline: nearest neighbour. Answer with the ISO date of the most similar training input
(cosine similarity of character-bigram counts). It shows what recalling similar-looking
examples achieves: it can never be exactly right on an unseen date, but it gets many
characters right.

Run: python examples/seq2seq.py            (under a minute on 2 cores)
     python examples/seq2seq.py --quick    (seconds; a smoke test)
"""

from __future__ import annotations

import os

# Our matrices are small: BLAS threads cost more than they save, badly so on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import Tensor, nn, optim  # noqa: E402
from tinygrad_rnn.data import Vocab, batches, pad_batch  # noqa: E402
from tinygrad_rnn.nn.utils.rnn import pack_padded_sequence  # noqa: E402

# English names written out, so the output never depends on the machine's locale.
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
FIRST_YEAR, LAST_YEAR = 1970, 2069


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 22 -> '22nd'."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _names(d: datetime.date) -> tuple[str, str]:
    return WEEKDAYS[d.weekday()], MONTHS[d.month - 1]


FORMATS = {
    "sunday 22 nov 2026": lambda d: f"{_names(d)[0]} {d.day} {_names(d)[1][:3]} {d.year}",
    "22/11/26": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "November 22, 2026": lambda d: f"{_names(d)[1].title()} {d.day}, {d.year}",
    "2026 nov 22nd": lambda d: f"{d.year} {_names(d)[1][:3]} {ordinal(d.day)}",
    "22.11.2026": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "Sun, 22 Nov 2026": lambda d: f"{_names(d)[0][:3].title()}, {d.day} {_names(d)[1][:3].title()} {d.year}",
    "the 22nd of november 2026": lambda d: f"the {ordinal(d.day)} of {_names(d)[1]} {d.year}",
    "22 NOVEMBER 2026": lambda d: f"{d.day} {_names(d)[1].upper()} {d.year}",
    "22-Nov-26": lambda d: f"{d.day:02d}-{_names(d)[1][:3].title()}-{d.year % 100:02d}",
    "Sunday, November 22nd, 2026": lambda d: (f"{_names(d)[0].title()}, {_names(d)[1].title()} "
                                                f"{ordinal(d.day)}, {d.year}"),
    "2026/11/22": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "nov 22 '26": lambda d: f"{_names(d)[1][:3]} {d.day} '{d.year % 100:02d}",
}


def make_examples(dates, rng: np.random.Generator) -> tuple[list[str], list[str], list[str]]:
    """One example per date, in a random format: (inputs, ISO targets, format names)."""
    names = list(FORMATS)
    chosen = rng.integers(len(names), size=len(dates))
    inputs = [FORMATS[names[k]](d) for d, k in zip(dates, chosen)]
    return inputs, [d.isoformat() for d in dates], [names[k] for k in chosen]


def split_dates(train_count: int, test_count: int, seed: int):
    """Disjoint random sets of dates between FIRST_YEAR and LAST_YEAR: (train, test).

    Training dates may repeat (in different formats); test dates never occur in training.
    """
    rng = np.random.default_rng(seed)
    first = datetime.date(FIRST_YEAR, 1, 1)
    days = (datetime.date(LAST_YEAR, 12, 31) - first).days + 1
    order = rng.permutation(days)
    test = [first + datetime.timedelta(days=int(k)) for k in order[:test_count]]
    pool = order[test_count:]
    train = [first + datetime.timedelta(days=int(k)) for k in rng.choice(pool, train_count)]
    return train, test


# ----------------------------------------------------------------------------- model

class DateTranslator(nn.Module):
    """An encoder-decoder over characters: source ids (N, S) -> target logits (N, T, V)."""

    def __init__(self, source_vocab: int, target_vocab: int, cell: str = "lstm",
                 embed: int = 32, hidden: int = 128):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.source_embed = nn.Embedding(source_vocab, embed, padding_idx=0)
        self.encoder = rnn(embed, hidden, batch_first=True)
        self.target_embed = nn.Embedding(target_vocab, embed, padding_idx=0)
        self.decoder = rnn(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, target_vocab)

    def encode(self, source: np.ndarray, lengths: np.ndarray):
        """The encoder's state after each input's last character (LSTM: (h_n, c_n))."""
        packed = pack_padded_sequence(self.source_embed(source), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, state = self.encoder(packed)
        return state

    def decode(self, previous: np.ndarray, state):
        """Previous target characters (N, T) and a state -> logits (N, T, V) and the new state."""
        output, state = self.decoder(self.target_embed(previous), state)
        return self.out(output), state

    def forward(self, source: np.ndarray, lengths: np.ndarray, previous: np.ndarray) -> Tensor:
        """Teacher forcing: ``previous`` is <bos> followed by the true target, shifted by one."""
        logits, _ = self.decode(previous, self.encode(source, lengths))
        return logits

    def translate(self, source: np.ndarray, lengths: np.ndarray, bos: int, max_len: int) -> np.ndarray:
        """Greedy decoding: (N, max_len) ids, each step fed the previous step's choice."""
        state = self.encode(source, lengths)
        token = np.full((len(source), 1), bos)
        chosen = []
        for _ in range(max_len):
            logits, state = self.decode(token, state)
            token = logits.numpy().argmax(axis=2)
            chosen.append(token)
        return np.concatenate(chosen, axis=1)


# ----------------------------------------------------------------------------- training

class Encoded:
    """Inputs and targets as character ids; a target is its characters followed by <eos>."""

    def __init__(self, inputs: list[str], targets: list[str], source: Vocab, target: Vocab):
        self.inputs, self.targets = inputs, targets
        self.source_ids = [source.encode(text) for text in inputs]
        self.target_ids = np.array([target.encode(text) + [target.eos_id] for text in targets])

    def __len__(self) -> int:
        return len(self.inputs)


def translate_all(model: DateTranslator, data: Encoded, target: Vocab,
                  batch_size: int = 500) -> list[str]:
    """Greedy translations of every input, cut at the first <eos>."""
    model.eval()
    outputs = []
    with tg.no_grad():
        for start in range(0, len(data), batch_size):
            source, lengths, _ = pad_batch(data.source_ids[start:start + batch_size])
            ids = model.translate(source, lengths, target.bos_id, data.target_ids.shape[1] + 2)
            for row in ids:
                characters = target.decode(row)
                end = characters.index("<eos>") if "<eos>" in characters else len(characters)
                outputs.append("".join(characters[:end]))
    model.train()
    return outputs


def exact_match(predicted: list[str], targets: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predicted, targets)]))


def character_accuracy(predicted: list[str], targets: list[str]) -> float:
    """The fraction of target characters right at their position (a short output misses the rest)."""
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predicted, targets))
    return right / sum(len(t) for t in targets)


def train(model: DateTranslator, train_data: Encoded, test_data: Encoded, target: Vocab, args):
    """Adam with teacher forcing; returns (loss per epoch, held-out translations after each epoch)."""
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    losses, translations = [], []
    for epoch in range(args.epochs):
        total = 0.0
        steps = list(batches(np.arange(len(train_data)), batch_size=args.batch_size,
                             seed=args.seed + epoch))
        for (rows,) in tqdm(steps, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
            source, lengths, _ = pad_batch([train_data.source_ids[i] for i in rows])
            wanted = train_data.target_ids[rows]  # (N, T): the date's characters, then <eos>
            previous = np.concatenate([np.full((len(rows), 1), target.bos_id), wanted[:, :-1]], axis=1)
            logits = model(source, lengths, previous)
            loss = F.cross_entropy(logits.permute(0, 2, 1), wanted)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(train_data))
        translations.append(translate_all(model, test_data, target))
        tqdm.write(f"epoch {epoch + 1:2d}  train loss {losses[-1]:.4f}  held-out exact match "
                   f"{exact_match(translations[-1], test_data.targets):.4f}")
    return losses, translations


# ----------------------------------------------------------------------------- baseline

def bigram_counts(texts: list[str], index: dict[str, int]) -> np.ndarray:
    """(len(texts), len(index)) counts of each known character bigram, rows scaled to unit length."""
    counts = np.zeros((len(texts), len(index)), np.float32)
    for row, text in enumerate(texts):
        for a, b in zip(text, text[1:]):
            column = index.get(a + b)
            if column is not None:
                counts[row, column] += 1
    return counts / np.maximum(np.linalg.norm(counts, axis=1, keepdims=True), 1e-12)


def nearest_neighbour(train_inputs, train_targets, test_inputs, chunk: int = 256) -> list[str]:
    """The target of the most similar training input, for each test input."""
    index = {}
    for text in train_inputs:
        for a, b in zip(text, text[1:]):
            index.setdefault(a + b, len(index))
    train_vectors = bigram_counts(train_inputs, index)
    answers = []
    for start in range(0, len(test_inputs), chunk):
        similarity = bigram_counts(test_inputs[start:start + chunk], index) @ train_vectors.T
        answers += [train_targets[k] for k in similarity.argmax(axis=1)]
    return answers


# ----------------------------------------------------------------------------- main

def plot(losses, accuracies, baseline: float, per_format: dict, cell: str, path: Path) -> None:
    """Left: held-out exact match and training loss by epoch. Right: exact match by input format."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    epochs = np.arange(1, len(losses) + 1)
    lines = left.plot(epochs, accuracies, "o-", label=f"{cell.upper()} encoder-decoder, greedy")
    lines.append(left.axhline(baseline, color="gray", ls="--", label="nearest neighbour"))
    left.set(title="held-out dates", xlabel="epoch", ylabel="exact match", ylim=(-0.02, 1.02))
    twin = left.twinx()
    lines += twin.plot(epochs, losses, "C1:", label="training loss (teacher forcing)")
    twin.set(ylabel="cross-entropy per character", yscale="log")
    left.legend(handles=lines, loc="center right")
    for name, curve in per_format.items():
        right.plot(epochs, curve, ".-", label=name)
    right.set(title="held-out exact match by input format", xlabel="epoch", ylim=(-0.02, 1.02))
    right.legend(fontsize=7, ncol=2, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run for a smoke test")
    parser.add_argument("--out", default="out", help="folder for the plot")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.test_size, args.epochs, args.hidden = 1000, 200, 2, 32

    train_dates, test_dates = split_dates(args.train_size, args.test_size, args.seed)
    rng = np.random.default_rng(args.seed)
    train_inputs, train_targets, _ = make_examples(train_dates, rng)
    test_inputs, test_targets, test_formats = make_examples(test_dates, rng)
    source = Vocab.build(train_inputs)  # a string is a sequence of characters
    target = Vocab.build(train_targets)
    train_data = Encoded(train_inputs, train_targets, source, target)
    test_data = Encoded(test_inputs, test_targets, source, target)
    print(f"{len(train_data)} training and {len(test_data)} held-out dates, {len(FORMATS)} formats; "
          f"{len(source)} input and {len(target)} output characters (with the 4 specials)")

    tg.manual_seed(args.seed)
    model = DateTranslator(len(source), len(target), args.cell, args.embed, args.hidden)
    started = time.time()
    losses, translations = train(model, train_data, test_data, target, args)
    seconds = time.time() - started
    predicted = translations[-1]
    baseline = nearest_neighbour(train_inputs, train_targets, test_inputs)

    def by_format(name: str, outputs: list[str]) -> float:
        rows = [k for k, f in enumerate(test_formats) if f == name]
        return exact_match([outputs[k] for k in rows], [test_targets[k] for k in rows])

    per_format = {name: [by_format(name, outputs) for outputs in translations] for name in FORMATS}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(losses, [exact_match(outputs, test_targets) for outputs in translations],
         exact_match(baseline, test_targets), per_format, args.cell, out / "seq2seq.png")

    print("\nsome held-out translations (input -> greedy output, [target if wrong]):")
    for k in range(0, len(test_inputs), max(1, len(test_inputs) // 10)):
        mark = "" if predicted[k] == test_targets[k] else f"   [wrong: {test_targets[k]}]"
        print(f"  {test_inputs[k]:>32} -> {predicted[k]}{mark}")
    print("exact match by format: " + ", ".join(f"{n!r} {a[-1]:.2f}" for n, a in per_format.items()))
    result = {"exact": exact_match(predicted, test_targets),
              "characters": character_accuracy(predicted, test_targets),
              "baseline_exact": exact_match(baseline, test_targets),
              "baseline_characters": character_accuracy(baseline, test_targets),
              "seconds": seconds}
    print(f"\nheld-out exact match: {args.cell.upper()} encoder-decoder {result['exact']:.4f} "
          f"(characters {result['characters']:.4f}), nearest neighbour {result['baseline_exact']:.4f} "
          f"(characters {result['baseline_characters']:.4f}); trained in {seconds:.0f} s")
    print(f"plot: {out / 'seq2seq.png'}")
    return result


if __name__ == "__main__":
    main()
