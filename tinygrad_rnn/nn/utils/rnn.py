"""Variable-length batches: padding, and packing sequences by time step.

A packed sequence stores the steps of a batch back to back, longest sequence
first: step t holds ``batch_sizes[t]`` rows, one for each sequence that is
still running. A recurrent layer then processes a shrinking prefix of the
batch at each step, so padded positions are never computed and contribute
nothing to any gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import arguments
from ...creation import cat
from ...tensor import Tensor


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: np.ndarray
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None


class PackedSequence(_PackedFields):
    """``data`` (sum(lengths), *) in time-major order; ``batch_sizes`` (T,) int64.

    ``sorted_indices[i]`` is the original batch position of the i-th longest
    sequence, ``unsorted_indices`` its inverse (both None when the batch came
    sorted). Given one of the two, the other is derived, as PyTorch derives
    ``unsorted_indices``; given both, they must be inverse permutations.
    Indices may be lists, ndarrays or tensors; they are kept as int64 arrays.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        sorted_indices, unsorted_indices = _orders("PackedSequence", sorted_indices, unsorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)


def _permutation(owner: str, name: str, indices) -> np.ndarray | None:
    """``indices`` as an int64 array holding each of 0 .. n-1 once, or None."""
    if indices is None:
        return None
    array = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise TypeError(f"{owner}: {name} must be a 1-D integer array, got {array!r}")
    array = array.astype(np.int64)
    if not np.array_equal(np.sort(array), np.arange(array.size)):
        raise ValueError(f"{owner}: {name} {array.tolist()} is not a permutation of 0 .. {array.size - 1}")
    return array


def _orders(owner: str, sorted_indices, unsorted_indices) -> tuple:
    """(sorted_indices, unsorted_indices), each checked, the missing one derived from the other."""
    sorted_indices = _permutation(owner, "sorted_indices", sorted_indices)
    unsorted_indices = _permutation(owner, "unsorted_indices", unsorted_indices)
    if unsorted_indices is None and sorted_indices is not None:
        unsorted_indices = np.argsort(sorted_indices)
    elif sorted_indices is None and unsorted_indices is not None:
        sorted_indices = np.argsort(unsorted_indices)
    elif sorted_indices is not None and not (
            sorted_indices.size == unsorted_indices.size
            and np.array_equal(sorted_indices[unsorted_indices], np.arange(sorted_indices.size))):
        raise ValueError(
            f"{owner}: unsorted_indices {unsorted_indices.tolist()} is not the inverse of "
            f"sorted_indices {sorted_indices.tolist()}; pass sorted_indices alone to have it derived"
        )
    return sorted_indices, unsorted_indices


def batch_sizes_of(owner: str, sequence: PackedSequence) -> np.ndarray:
    """The ``batch_sizes`` of a well-formed packed sequence: positive, non-increasing,
    adding up to the rows of ``data``, with orders (if any) that permute the batch_sizes[0]
    sequences; anything else raises."""
    arguments.instance(owner, "PackedSequence.data", sequence.data, Tensor)
    batch_sizes = np.asarray(sequence.batch_sizes)
    if batch_sizes.ndim != 1 or batch_sizes.dtype.kind not in "iu" or batch_sizes.size == 0:
        raise TypeError(f"{owner}: batch_sizes must be a non-empty 1-D integer array, got {batch_sizes!r}")
    rows = sequence.data.shape[0] if sequence.data.ndim else 0
    if (batch_sizes < 1).any() or (np.diff(batch_sizes) > 0).any() or batch_sizes.sum() != rows:
        raise ValueError(
            f"{owner}: batch_sizes {batch_sizes.tolist()} must be positive, non-increasing and add up to "
            f"the {rows} rows of data (shape {sequence.data.shape})"
        )
    if (sequence.sorted_indices is None) != (sequence.unsorted_indices is None):  # made by _replace or _make
        raise ValueError(f"{owner}: the PackedSequence has only one of sorted_indices and unsorted_indices; "
                         "build it with PackedSequence(...), which derives the other")
    sorted_indices, _ = _orders(owner, sequence.sorted_indices, sequence.unsorted_indices)
    if sorted_indices is not None and sorted_indices.size != batch_sizes[0]:
        raise ValueError(
            f"{owner}: sorted_indices has {sorted_indices.size} entries but the batch has "
            f"batch_sizes[0] = {batch_sizes[0]} sequences"
        )
    return batch_sizes


def _lengths_array(lengths, batch: int, steps: int, op: str) -> np.ndarray:
    values = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    if values.size == 0 and batch == 0:
        raise ValueError(f"{op}: the batch is empty (input has 0 sequences)")
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise TypeError(f"{op}: lengths must be a 1-D sequence of ints, got {values!r}")
    if len(values) != batch:
        raise ValueError(f"{op}: got {len(values)} lengths for a batch of {batch} sequences")
    bad = values[(values < 1) | (values > steps)]
    if bad.size:
        raise ValueError(
            f"{op}: every length must be between 1 and {steps} (the padded length), got {int(bad[0])}"
        )
    return values.astype(np.int64)


def _select_rows(rows: Tensor, row_index: np.ndarray, padding_value: float) -> Tensor:
    """``rows[row_index]`` where index -1 gives a row filled with ``padding_value``."""
    filler = Tensor(np.full((1,) + rows.shape[1:], padding_value, rows.dtype))
    return cat([rows, filler])[np.where(row_index < 0, len(rows), row_index)]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, N, *) (or (N, T, *) with ``batch_first``) given each length.

    With ``enforce_sorted`` the lengths must be in decreasing order; otherwise
    the batch is sorted here and the order recorded so it can be restored.
    """
    arguments.instance("pack_padded_sequence", "input", input, Tensor)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be at least 2-D, got shape {input.shape}")
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[:2]
    lengths = _lengths_array(lengths, batch, steps, "pack_padded_sequence")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(
                f"pack_padded_sequence: lengths {lengths.tolist()} are not in decreasing order; "
                "sort the batch or pass enforce_sorted=False"
            )
        sorted_indices = unsorted_indices = None
        order = np.arange(batch)
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices, unsorted_indices = order, np.argsort(order)
    sorted_lengths = lengths[order]
    batch_sizes = (sorted_lengths[None, :] > np.arange(sorted_lengths[0])[:, None]).sum(1)
    time_index = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    batch_index = np.concatenate([order[:n] for n in batch_sizes])
    return PackedSequence(input[time_index, batch_index], batch_sizes, sorted_indices,
                          unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Undo packing: returns ``(padded, lengths)``, padded (T, N, *) in the original order."""
    arguments.instance("pad_packed_sequence", "sequence", sequence, PackedSequence)
    batch_sizes = batch_sizes_of("pad_packed_sequence", sequence)
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if arguments.integer("pad_packed_sequence", "total_length", total_length) < steps:
            raise ValueError(
                f"pad_packed_sequence: total_length {total_length} is shorter than "
                f"the longest sequence ({steps} steps)"
            )
        steps = total_length
    # row_index[t, i]: the row of data holding step t of the i-th longest sequence, or -1
    row_index = np.full((steps, batch), -1)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    for t, (start, size) in enumerate(zip(starts, batch_sizes)):
        row_index[t, :size] = np.arange(start, start + size)
    lengths = (row_index >= 0).sum(0)
    if sequence.unsorted_indices is not None:
        row_index = row_index[:, sequence.unsorted_indices]
        lengths = lengths[sequence.unsorted_indices]
    padded = _select_rows(sequence.data, row_index, padding_value)
    return (padded.transpose(0, 1) if batch_first else padded), Tensor(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack tensors of shapes (L_i, *) into (max L, N, *) (or (N, max L, *)), padding the ends."""
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    for i, s in enumerate(sequences):
        arguments.instance("pad_sequence", f"sequences[{i}]", s, Tensor)
    tail = sequences[0].shape[1:]
    for i, s in enumerate(sequences):
        if s.ndim < 1 or s.shape[1:] != tail:
            raise ValueError(
                f"pad_sequence: sequence {i} has shape {s.shape}; all must be (L, *{tail})"
            )
    lengths = np.array([len(s) for s in sequences])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(lengths.max())[:, None]
    row_index = np.where(steps < lengths, starts + steps, -1)
    padded = _select_rows(cat(sequences), row_index, padding_value)
    return padded.transpose(0, 1) if batch_first else padded


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors of shapes (L_i, *) directly."""
    sequences = list(sequences)
    return pack_padded_sequence(pad_sequence(sequences), [len(s) for s in sequences],
                                enforce_sorted=enforce_sorted)


__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence"]
