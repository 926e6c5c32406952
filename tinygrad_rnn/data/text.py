"""Sequence data: vocabularies, tokenizers, windows, padded batches, and language-model helpers.

Text reaches a recurrent net as integer ids. ``Vocab`` maps tokens to ids with four
special tokens first: ``<pad>`` = 0 (filler for short sequences), ``<unk>`` = 1 (any
token the vocabulary does not know), ``<bos>`` = 2 and ``<eos>`` = 3 (where a sequence
begins and ends, so a model can learn to start and to stop).

Language-model protocol. ``sample`` and ``sequence_log_prob`` work with any model that has

    forward(ids, state=None) -> (logits, state)

where ``ids`` is an integer array or Tensor of shape (N, T), ``logits`` a Tensor of shape
(N, T, V) whose position t scores the token that follows ``ids[:, t]``, and ``state`` is
whatever the model needs to continue from where it stopped (None starts afresh).
An embedding -> LSTM -> Linear model satisfies it by returning the LSTM's ``(h_n, c_n)``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from .. import arguments, functional, nn, rng
from ..autograd import no_grad
from ..tensor import Tensor

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class Vocab:
    """A two-way map between tokens and integer ids; ids 0..3 are ``SPECIALS``.

    ``Vocab(itos)`` takes the full list of tokens by id (it must start with the
    specials); ``Vocab.build`` counts tokens in a corpus.
    """

    def __init__(self, itos):
        itos = list(itos)
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"Vocab: itos must start with {list(SPECIALS)}, got {itos[:len(SPECIALS)]}")
        if len(set(itos)) != len(itos):
            duplicates = sorted(token for token, count in Counter(itos).items() if count > 1)
            raise ValueError(f"Vocab: itos has duplicate tokens {duplicates[:5]}")
        self.itos = itos
        self.stoi = {token: index for index, token in enumerate(itos)}

    @classmethod
    def build(cls, sequences, min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Count the tokens of ``sequences`` (an iterable of token sequences; a string counts as
        a sequence of characters) and keep those seen at least ``min_freq`` times, most frequent
        first, ties in order of first appearance. ``max_size`` caps the number of ordinary
        tokens (the four specials are not counted). Specials found in the data are not repeated.
        """
        arguments.integer("Vocab.build", "min_freq", min_freq, low=1)
        if max_size is not None:
            arguments.integer("Vocab.build", "max_size", max_size, low=0)
        counts = Counter()  # insertion order = order of first appearance
        for sequence in sequences:
            counts.update(sequence)
        kept = [token for token, count in counts.items() if count >= min_freq and token not in SPECIALS]
        kept.sort(key=lambda token: -counts[token])  # stable sort keeps first appearance on ties
        if max_size is not None:
            kept = kept[:max_size]
        return cls(list(SPECIALS) + kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token) -> int:
        """The id of ``token``; ``unk_id`` if unknown."""
        return self.stoi.get(token, 1)

    def encode(self, tokens) -> list[int]:
        """Tokens -> ids, unknown tokens -> ``unk_id``."""
        return [self.stoi.get(token, 1) for token in tokens]

    def decode(self, ids) -> list[str]:
        """Ids -> tokens; an id outside [0, len) raises IndexError."""
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids).reshape(-1)
        bad = ids[(ids < 0) | (ids >= len(self.itos))]
        if bad.size:
            raise IndexError(f"Vocab.decode: id {bad[0]} is out of range for a vocabulary of {len(self)}")
        return [self.itos[index] for index in ids.tolist()]

    pad_id = property(lambda self: 0, doc="Id of ``<pad>`` (0).")
    unk_id = property(lambda self: 1, doc="Id of ``<unk>`` (1).")
    bos_id = property(lambda self: 2, doc="Id of ``<bos>`` (2).")
    eos_id = property(lambda self: 3, doc="Id of ``<eos>`` (3).")

    def save(self, path) -> None:
        """Write the vocabulary as JSON: ``{"itos": [...]}``."""
        Path(path).write_text(json.dumps({"itos": self.itos}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path) -> Vocab:
        """Read a vocabulary written by ``save``."""
        content = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(content, dict) or not isinstance(content.get("itos"), list):
            raise ValueError(f"Vocab.load: {path} does not hold a vocabulary (expected {{'itos': [...]}})")
        return cls(content["itos"])

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[len(SPECIALS):len(SPECIALS) + 5]})"


_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokenize_words(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into words; each punctuation mark is a token of its own.

    >>> tokenize_words("Hello, world! It's 2024.")
    ['hello', ',', 'world', '!', "it's", '2024', '.']
    """
    arguments.instance("tokenize_words", "text", text, str)
    return _WORD.findall(text.lower() if lower else text)


def tokenize_chars(text: str) -> list[str]:
    """Split ``text`` into characters (spaces and newlines included)."""
    arguments.instance("tokenize_chars", "text", text, str)
    return list(text)


def _int_array(name: str, argument: str, values) -> np.ndarray:
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: {argument} must hold integers, got dtype {array.dtype} (shape {array.shape})")
    return array.astype(np.int64, copy=False)


def one_hot(ids, num_classes: int, dtype=np.float32) -> Tensor:
    """One-hot vectors for a model's input: integer ``ids`` of any shape S -> Tensor of shape
    S + (num_classes,) in ``dtype``; ``functional.one_hot``'s, which are int64 as torch's."""
    return Tensor(functional.one_hot(ids, num_classes).data.astype(dtype, copy=False))


def windows(ids, size: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n-gram windows for next-token prediction.

    ``ids`` (L,) -> contexts (M, size) int64 and targets (M,) int64, where window m is
    ``ids[m*stride : m*stride + size]`` and its target the id right after it;
    M = number of such windows (0 when L <= size).
    """
    ids = _int_array("windows", "ids", ids)
    if ids.ndim != 1:
        raise ValueError(f"windows: ids must be 1-D, got shape {ids.shape}")
    arguments.integer("windows", "size", size, low=1)
    arguments.integer("windows", "stride", stride, low=1)
    starts = np.arange(0, max(len(ids) - size, 0), stride)
    contexts = ids[starts[:, None] + np.arange(size)]
    return contexts.reshape(len(starts), size), ids[starts + size]


def pad_batch(sequences, pad_id: int = 0, batch_first: bool = True):
    """Pad integer sequences of different lengths into one array.

    Returns ``(ids, lengths, mask)``: ids int64 (N, T) — or (T, N) if not ``batch_first`` —
    with T the longest length, lengths int64 (N,), and mask bool shaped like ids,
    True at real tokens and False at padding.
    """
    arguments.integer("pad_batch", "pad_id", pad_id)
    arguments.boolean("pad_batch", "batch_first", batch_first)
    sequences = [_int_array("pad_batch", "sequences", sequence) for sequence in sequences]
    if not sequences:
        raise ValueError("pad_batch: sequences is empty")
    for index, sequence in enumerate(sequences):
        if sequence.ndim != 1:
            raise ValueError(f"pad_batch: sequence {index} must be 1-D, got shape {sequence.shape}")
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    mask = np.arange(lengths.max()) < lengths[:, None]
    ids = np.full(mask.shape, pad_id, dtype=np.int64)
    ids[mask] = np.concatenate(sequences)
    if not batch_first:
        ids, mask = ids.T.copy(), mask.T.copy()
    return ids, lengths, mask


def _generator(name: str, seed) -> np.random.Generator:
    """A fresh generator for an explicit seed, else the library's (see ``tg.manual_seed``)."""
    if seed is None:
        return rng.generator()
    return np.random.default_rng(arguments.integer(name, "seed", seed, low=0))


def batches(*arrays, batch_size: int, shuffle: bool = True, seed: int | None = None, drop_last: bool = False):
    """Iterate over aligned mini-batches: yields tuples ``(a[rows], b[rows], ...)``.

    Every array must have the same first dimension N; each row appears in exactly one
    batch (the last may be smaller unless ``drop_last``). With ``shuffle`` the rows are
    permuted, reproducibly for a given ``seed``.
    """
    if not arrays:
        raise ValueError("batches: pass at least one array")
    arrays = [array if isinstance(array, Tensor) else np.asarray(array) for array in arrays]
    sizes = [len(array) for array in arrays]
    if len(set(sizes)) != 1:
        raise ValueError(f"batches: arrays must agree in their first dimension, got shapes {[a.shape for a in arrays]}")
    arguments.integer("batches", "batch_size", batch_size, low=1)
    count = sizes[0]
    order = _generator("batches", seed).permutation(count) if shuffle else np.arange(count)
    stop = count - count % batch_size if drop_last else count
    for start in range(0, stop, batch_size):
        rows = order[start:start + batch_size]
        yield tuple(array[rows] for array in arrays)


def _check_model(name: str, model) -> None:
    if not callable(getattr(model, "forward", None)):
        raise TypeError(f"{name}: model must have a forward(ids, state) method, got {type(model).__name__}")


class _evaluating:
    """Put a Module in eval mode (no dropout) and gradients off; restore both afterwards."""

    def __init__(self, model):
        self.model = model if isinstance(model, nn.Module) else None

    def __enter__(self):
        self.was_training = self.model is not None and self.model.training
        if self.model is not None:
            self.model.eval()
        self.no_grad = no_grad()
        self.no_grad.__enter__()

    def __exit__(self, *exc):
        self.no_grad.__exit__(*exc)
        if self.was_training:
            self.model.train()


def sample(model, start_ids, max_len: int, temperature: float = 1.0, top_k: int | None = None,
           stop_token: int | None = None, seed: int | None = None) -> list[int]:
    """Generate up to ``max_len`` ids from a language model, one at a time.

    ``start_ids`` (a non-empty sequence of ids, e.g. ``[bos_id]``) primes the model; then each
    new id is drawn from softmax(logits / temperature), restricted to the ``top_k`` most likely
    ids if given (``top_k=1`` is greedy decoding), and fed back in with the carried state.
    Returns the generated ids only (not ``start_ids``); generation stops after ``stop_token``,
    which is included. Lower temperature means safer, more repetitive samples.
    """
    start = _int_array("sample", "start_ids", start_ids).reshape(-1)
    if start.size == 0:
        raise ValueError("sample: start_ids is empty; pass at least one id, e.g. [vocab.bos_id]")
    arguments.number("sample", "temperature", temperature, low=0, high=math.inf, low_open=True, high_open=True)
    if top_k is not None:
        arguments.integer("sample", "top_k", top_k, low=1)
    arguments.integer("sample", "max_len", max_len, low=0)
    _check_model("sample", model)
    generator = _generator("sample", seed)
    generated, state, ids = [], None, start[None, :]
    with _evaluating(model):
        for step in range(max_len):
            logits, state = model.forward(ids, state)
            probs = _next_id_probabilities(np.asarray(logits.data[0, -1], dtype=np.float64), temperature, top_k, step)
            next_id = int(generator.choice(probs.size, p=probs))
            generated.append(next_id)
            if next_id == stop_token:
                break
            ids = np.array([[next_id]], dtype=np.int64)
    return generated


def _next_id_probabilities(logits: np.ndarray, temperature: float, top_k: int | None, step: int) -> np.ndarray:
    """softmax(logits / temperature) over the ``top_k`` largest logits.

    The logits are shifted by their max before the division, so no temperature
    overflows: the most likely id scores exp(0) = 1 and a tiny temperature tends to
    greedy decoding, as it should (dividing first, 1e-320 would make inf - inf).
    """
    if np.isnan(logits).any() or logits.max() == -np.inf:
        raise ValueError(f"sample: the model's logits at generated step {step} are NaN or all -inf, "
                         "so they give no distribution to draw from")
    if top_k is not None and top_k < logits.size:
        threshold = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= threshold, logits, -np.inf)
    top = logits.max()
    if top == np.inf:  # ids the model is certain of share the draw
        return (logits == top) / np.count_nonzero(logits == top)
    with np.errstate(over="ignore"):  # (logits - top) / a tiny temperature is -inf, and exp(-inf) is 0
        probs = np.exp((logits - top) / temperature)
    return probs / probs.sum()


def sequence_log_prob(model, ids, bos_id: int | None = None) -> float:
    """The natural log of the probability a language model gives to ``ids`` (a 1-D sequence).

    By the chain rule, log P(y1..yL) = log P(y1 | <bos>) + log P(y2 | <bos>, y1) + ...
    With ``bos_id`` the model is primed with it and every id is scored; without it the first
    id is taken as given and the sum starts at log P(y2 | y1).
    """
    ids = _int_array("sequence_log_prob", "ids", ids).reshape(-1)
    if bos_id is not None:
        arguments.integer("sequence_log_prob", "bos_id", bos_id, low=0)
        ids = np.concatenate([[bos_id], ids]).astype(np.int64)
    if ids.size < 2:
        raise ValueError(f"sequence_log_prob: need at least one id to score, got {ids.size - (bos_id is not None)}")
    _check_model("sequence_log_prob", model)
    with _evaluating(model):
        logits, _ = model.forward(ids[None, :-1], None)
        log_probs = logits.log_softmax(dim=-1).data[0]  # (L, V)
    return float(np.sum(log_probs[np.arange(ids.size - 1), ids[1:]], dtype=np.float64))
