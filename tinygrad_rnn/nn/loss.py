"""Losses as Modules: each holds its options and calls the function of the same name in F.

Class weights are buffers (not trained, but in the state dict), as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .. import arguments
from .. import functional as F
from ..tensor import Tensor
from .module import Module


def _constant(owner: str, name: str, value) -> Tensor | None:
    """An optional weight as a float tensor (a list becomes float32, an ndarray keeps its dtype)."""
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value if isinstance(value, np.ndarray) else arguments.array(owner, name, value, np.float32))


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = arguments.choice(type(self).__name__, "reduction", reduction, F.REDUCTIONS)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy``: logits ``(N, C)`` / ``(N, C, d1, ...)`` / ``(C,)`` and class
    indices ``(N, d1, ...)`` (or class probabilities shaped like the logits)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.register_buffer("weight", _constant(type(self).__name__, "weight", weight))
        self.ignore_index = arguments.integer(type(self).__name__, "ignore_index", ignore_index)
        self.label_smoothing = arguments.probability("CrossEntropyLoss", "label_smoothing", label_smoothing)

    def forward(self, input: Tensor, target) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """``F.nll_loss``: log-probabilities ``(N, C)`` / ``(N, C, d1, ...)`` and class indices."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _constant(type(self).__name__, "weight", weight))
        self.ignore_index = arguments.integer(type(self).__name__, "ignore_index", ignore_index)

    def forward(self, input: Tensor, target) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``F.binary_cross_entropy_with_logits``: logits and probabilities of one shape."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _constant(type(self).__name__, "weight", weight))
        self.register_buffer("pos_weight", _constant(type(self).__name__, "pos_weight", pos_weight))

    def forward(self, input: Tensor, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.pos_weight,
                                                  self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss``: the mean (or sum) of (input - target)**2 over tensors of one shape."""

    def forward(self, input: Tensor, target) -> Tensor:
        return F.mse_loss(input, target, self.reduction)
