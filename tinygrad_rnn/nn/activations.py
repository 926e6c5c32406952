"""Activation modules, and the shape-only Identity and Flatten, with PyTorch's names.

Each module holds no weights; ``forward`` is one call to the matching tensor
method or function, so gradients come from the primitives' own rules.
"""

from __future__ import annotations

import warnings

from .. import arguments
from .. import functional as F
from ..tensor import Tensor
from .module import Module


class Identity(Module):
    """Returns its input unchanged; any arguments to the constructor are ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merges dims ``start_dim`` to ``end_dim``: ``(N, C, H, W)`` -> ``(N, C*H*W)`` by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = arguments.integer("Flatten", "start_dim", start_dim)
        self.end_dim = arguments.integer("Flatten", "end_dim", end_dim)

    def forward(self, x: Tensor) -> Tensor:
        arguments.instance("Flatten", "input", x, Tensor)
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    """max(x, 0), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """tanh(x), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise, without overflow; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class GELU(Module):
    """The Gaussian error linear unit x * Phi(x), elementwise, Phi the standard normal CDF.

    ``approximate='none'``: Phi(x) = (1 + erf(x / sqrt 2)) / 2, exactly.
    ``approximate='tanh'``: Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = arguments.choice("GELU", "approximate", approximate, F.GELU_APPROXIMATIONS)

    def forward(self, x: Tensor) -> Tensor:
        arguments.floating_point("GELU", "input", arguments.instance("GELU", "input", x, Tensor))
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _AlongDim(Module):
    """A normalisation along ``dim``: ``function(x, dim)``, one of F's."""

    function = None

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim if dim is None else arguments.integer(type(self).__name__, "dim", dim)

    def forward(self, x: Tensor) -> Tensor:
        arguments.instance(type(self).__name__, "input", x, Tensor)
        return self.function(x, self._dim_for(x.ndim))

    def _dim_for(self, ndim: int) -> int:
        """``dim``, or, when it is None, the dim PyTorch's legacy rule picks (with its warning)."""
        if self.dim is not None:
            return self.dim
        legacy = 0 if ndim in (0, 1, 3) else 1
        warnings.warn(f"{type(self).__name__}: implicit dimension choice is deprecated; pass dim= "
                      f"(for a {ndim}-d input, dim={legacy} is used)", UserWarning, stacklevel=3)
        return legacy

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``: each slice along it is a probability distribution."""

    function = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    """x - logsumexp(x) along ``dim``, computed stably (no log of a softmax that underflowed)."""

    function = staticmethod(F.log_softmax)
