"""Embedding lookup: rows of a table picked by integer indices."""

import numpy as np

from ..autograd import Function
from . import xp
from .movement import selection_grad

__all__ = ["Embedding"]


class Embedding(Function):
    """``weight[indices]`` for a ``(num_embeddings, dim)`` table; output ``(*indices.shape, dim)``.

    ``indices`` is a constant integer array. In backward, rows picked several
    times sum their gradients, and the ``padding_idx`` row gets none.
    """

    reads_inputs = reads_output = False

    def forward(self, weight, indices, padding_idx=None):
        if weight.ndim != 2:
            raise ValueError(
                f"embedding: weight must be 2-D (num_embeddings, dim), got shape {weight.shape}"
            )
        indices, num = np.asarray(indices), weight.shape[0]
        if indices.dtype.kind not in "iu":
            raise TypeError(
                f"embedding: indices must be integers, "
                f"got dtype {indices.dtype} (shape {indices.shape})"
            )
        if indices.size and (indices.min() < 0 or indices.max() >= num):
            bad = indices.min() if indices.min() < 0 else indices.max()
            raise IndexError(
                f"embedding: index {bad} is out of range for num_embeddings={num} "
                f"(indices shape {indices.shape}, valid 0 to {num - 1})"
            )
        if padding_idx is not None and not 0 <= padding_idx < num:
            raise IndexError(
                f"embedding: padding_idx={padding_idx} is out of range for num_embeddings={num}"
            )
        self.indices, self.weight_shape = indices.ravel(), weight.shape
        self.padding_idx = padding_idx
        return weight[indices]

    def backward(self, grad):
        rows = grad.reshape(self.indices.size, self.weight_shape[1])
        if self.padding_idx is not None:
            rows = xp.where((self.indices == self.padding_idx)[:, None], 0, rows)
        return selection_grad(rows, self.weight_shape, self.indices, unique=False)  # rows picked twice add up
