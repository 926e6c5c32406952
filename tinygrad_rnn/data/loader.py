"""Dataset, TensorDataset and DataLoader, with torch.utils.data's names and semantics.

A dataset is anything with ``__getitem__(index)`` and ``__len__()``. A
DataLoader draws the indices in order, or in a random order with
``shuffle=True``, cuts them into batches of ``batch_size``, reads each sample
and joins a batch's samples with ``collate_fn``: by default
``default_collate``, which stacks them as torch's does. ``pad_collate`` pads
variable-length sequences instead and returns their lengths, ready for
``nn.utils.rnn.pack_padded_sequence``.

Randomness: torch's ``generator`` is a ``torch.Generator``; here it is a
``numpy.random.Generator``. Without one, the order comes from the library's
generator (``tinygrad_rnn.rng``, seeded by ``tg.manual_seed``), read when
iteration starts, as torch reads its global generator. Either way each
epoch (each ``iter(loader)``) draws a new permutation, and the sequence of
epochs is the same for the same seed. Samples load in the calling process:
there are no worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import arguments, rng
from ..creation import stack
from ..nn.utils.rnn import pad_sequence
from ..tensor import Tensor


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: __getitem__() is not defined")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: __len__() is not defined")


class TensorDataset(Dataset):
    """Sample ``i`` is ``(tensors[0][i], tensors[1][i], ...)``: tensors (or arrays) of one first dim N."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: pass at least one tensor")
        for index, t in enumerate(tensors):
            if not isinstance(t, (Tensor, np.ndarray)) or t.ndim == 0:
                got = f"shape {t.shape}" if isinstance(t, (Tensor, np.ndarray)) else type(t).__name__
                raise TypeError(f"TensorDataset: tensors[{index}] must be a Tensor or ndarray with a first "
                                f"dim, got {got}")
        if len({len(t) for t in tensors}) != 1:
            raise ValueError(f"TensorDataset: the tensors must have the same first dim (one row per sample), "
                             f"got shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


def default_collate(batch):
    """Join a list of samples into a batch, as torch.utils.data.default_collate does.

    Tensors and ndarrays are stacked along a new first dim into a Tensor (N, *)
    with their dtype; Python floats give a float64 Tensor (N,), ints an int64
    one, bools a bool one; strings stay a list. A sample that is a dict gives a
    dict of batches, one per key; a tuple or list gives a list of batches, one
    per position (a namedtuple stays one). Samples must agree in structure
    and shape: for sequences of different lengths, use ``pad_collate``.
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise ValueError(f"default_collate: batch must be a non-empty list of samples, got {batch!r:.80}")
    first = batch[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return _stack(batch)
    if isinstance(first, (bool, int, float)):
        if not all(isinstance(x, (bool, int, float)) for x in batch):
            raise TypeError(f"default_collate: a batch mixes numbers with {_types(batch)}")
        if any(isinstance(x, float) for x in batch):
            dtype = np.float64  # an int among floats is a float here, never a float truncated to an int
        else:
            dtype = bool if all(isinstance(x, bool) for x in batch) else np.int64
        return Tensor(np.array(batch, dtype=dtype))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        keys = list(first)
        for sample in batch:
            if not isinstance(sample, Mapping) or list(sample) != keys:
                raise ValueError(f"default_collate: every sample must be a dict with the keys {keys}, got "
                                 f"{list(sample) if isinstance(sample, Mapping) else type(sample).__name__}")
        return {key: default_collate([sample[key] for sample in batch]) for key in keys}
    if isinstance(first, (tuple, list)):
        sizes = {len(sample) if isinstance(sample, (tuple, list)) else None for sample in batch}
        if len(sizes) != 1:
            raise ValueError(f"default_collate: each element in the batch should be a list or tuple of equal "
                             f"size, got sizes {sorted(sizes, key=str)}")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # a namedtuple keeps its type
    raise TypeError(f"default_collate: a batch must hold Tensors, ndarrays, numbers, strings, dicts, tuples "
                    f"or lists; got {type(first).__name__}")


def _types(batch) -> str:
    return ", ".join(sorted({type(x).__name__ for x in batch}))


def _stack(batch) -> Tensor:
    """Tensors, ndarrays or numpy scalars of one shape, stacked into a Tensor (N, *)."""
    if not all(isinstance(x, (Tensor, np.ndarray, np.generic)) for x in batch):
        raise TypeError(f"default_collate: a batch mixes arrays with {_types(batch)}")
    shapes = {np.shape(x.data if isinstance(x, Tensor) else x) for x in batch}
    if len(shapes) != 1:
        raise ValueError(f"default_collate: cannot stack samples of shapes {sorted(shapes)}; for sequences of "
                         "different lengths, pass collate_fn=tg.data.pad_collate")
    if all(isinstance(x, Tensor) for x in batch):
        return stack(batch)  # a sample that requires grad keeps its graph
    return Tensor(np.stack([x.data if isinstance(x, Tensor) else np.asarray(x) for x in batch]))


def pad_collate(batch, batch_first: bool = False, padding_value: float = 0):
    """Pad variable-length sequences into one batch and return their lengths.

    Each sample is a sequence ``(L_i, *)`` (a Tensor, an ndarray or a list),
    or a tuple ``(sequence, *rest)``. Returns ``(padded, lengths)`` or
    ``(padded, lengths, *rest)``: padded ``(max L, N, *)`` (``(N, max L, *)``
    with ``batch_first``), filled with ``padding_value``; lengths an int64
    Tensor ``(N,)``; each field of ``rest`` joined by ``default_collate``.
    The samples keep their order, so pack with
    ``pack_padded_sequence(padded, lengths, batch_first, enforce_sorted=False)``.
    Pass options with ``functools.partial(pad_collate, batch_first=True)``.
    """
    arguments.boolean("pad_collate", "batch_first", batch_first)
    arguments.real("pad_collate", "padding_value", padding_value)
    if not isinstance(batch, (list, tuple)) or not batch:
        raise ValueError(f"pad_collate: batch must be a non-empty list of samples, got {batch!r:.80}")
    with_rest = isinstance(batch[0], tuple)
    if any(isinstance(sample, tuple) != with_rest for sample in batch):
        raise TypeError("pad_collate: either every sample is a tuple (sequence, *rest), or none is")
    sequences = [_sequence(index, sample[0] if with_rest else sample) for index, sample in enumerate(batch)]
    padded = pad_sequence(sequences, batch_first=batch_first, padding_value=padding_value)
    lengths = Tensor(np.array([len(s) for s in sequences], dtype=np.int64))
    if not with_rest:
        return padded, lengths
    return (padded, lengths, *default_collate([sample[1:] for sample in batch]))


def _sequence(index: int, sequence) -> Tensor:
    if not isinstance(sequence, Tensor):
        sequence = np.asarray(sequence)
        if sequence.dtype.kind not in "iufb":
            raise TypeError(f"pad_collate: sample {index} is not a sequence of numbers (dtype {sequence.dtype})")
        sequence = Tensor(sequence)
    if sequence.ndim == 0 or len(sequence) == 0:
        raise ValueError(f"pad_collate: sample {index} must be a sequence (L, *) with L >= 1, got shape "
                         f"{sequence.shape}")
    return sequence


class DataLoader:
    """Iterate over ``dataset`` in batches: ``for batch in DataLoader(dataset, batch_size=32, shuffle=True)``.

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, generator=None)``.
    Each batch is ``collate_fn`` (default: ``default_collate``) of a list of
    ``batch_size`` samples; the last may be smaller, unless ``drop_last``.
    ``shuffle`` draws a new order each epoch from ``generator`` (a
    ``numpy.random.Generator``), or from the library's generator when it is
    None (``tg.manual_seed`` makes it reproducible). ``len(loader)`` is the
    number of batches. ``num_workers`` must be 0: samples load in this process.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn=None, generator: np.random.Generator | None = None, num_workers: int = 0):
        owner = "DataLoader"
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"{owner}: dataset must have __getitem__ and __len__, got {type(dataset).__name__}")
        if batch_size is None:
            raise ValueError(f"{owner}: batch_size=None (samples without batching) is not supported")
        self.batch_size = arguments.integer(owner, "batch_size", batch_size, low=1)
        self.shuffle = arguments.boolean(owner, "shuffle", shuffle)
        self.drop_last = arguments.boolean(owner, "drop_last", drop_last)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"{owner}: collate_fn must be callable, got {type(collate_fn).__name__}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"{owner}: generator must be a numpy.random.Generator (np.random.default_rng(seed)) "
                            f"or None, got {type(generator).__name__}")
        if arguments.integer(owner, "num_workers", num_workers, low=0) > 0:
            raise ValueError(f"{owner}: num_workers={num_workers} is not supported; samples load in this "
                             "process (num_workers=0)")
        self.dataset = dataset
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = generator
        self.num_workers = 0

    def _order(self) -> np.ndarray:
        count = len(self.dataset)
        if not self.shuffle:
            return np.arange(count)
        generator = rng.generator() if self.generator is None else self.generator
        return generator.permutation(count)

    def __iter__(self):
        order = self._order()
        for batch in range(len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield self.collate_fn([self.dataset[int(index)] for index in indices])

    def __len__(self) -> int:
        count = len(self.dataset)
        return count // self.batch_size if self.drop_last else math.ceil(count / self.batch_size)
