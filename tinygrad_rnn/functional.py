"""torch.nn.functional's names for tinygrad_rnn: activations, dropout, linear, losses.

Everything here is composed from primitives, so gradients come from the tape.
"""

from __future__ import annotations

import numpy as np

from . import rng
from .tensor import Tensor


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    The keep mask comes from ``tinygrad_rnn.rng.generator()`` (seeded by
    ``manual_seed``) and enters as a constant factor, so the gradient is the
    Mul primitive's: it flows only through kept elements, scaled the same way.
    Identity when ``training`` is False or ``p == 0``; ``p == 1`` gives zeros.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got p={p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        mask = np.zeros(x.shape, x.dtype)
    else:
        keep = rng.generator().random(x.shape) < 1.0 - p
        mask = keep.astype(x.dtype) / np.asarray(1.0 - p, x.dtype)
    return x * Tensor(mask)
