"""The basic layers: Linear, Embedding, Dropout, and Sequential to chain them."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import arguments, ops
from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ weight.T + bias`` for ``x`` of shape ``(*, in_features)`` -> ``(*, out_features)``.

    ``weight`` is ``(out_features, in_features)`` and ``bias`` ``(out_features,)``,
    both drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float32):
        super().__init__()
        arguments.integer("Linear", "in_features", in_features, low=0)
        arguments.integer("Linear", "out_features", out_features, low=0)
        dtype = arguments.floating_dtype("Linear", "dtype", dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a=sqrt(5) is how PyTorch writes U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        arguments.instance("Linear", "input", x, Tensor)
        if x.dtype != self.weight.dtype:
            raise TypeError(f"Linear: input dtype {x.dtype} differs from the weight's {self.weight.dtype} "
                            f"(input shape {x.shape}); convert one with .to()")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: input of shape {x.shape} does not end in in_features={self.in_features} "
                f"(weight shape {self.weight.shape})"
            )
        # One matrix product over all leading dims, so backward is one GEMM too.
        flat = x.reshape(math.prod(x.shape[:-1]), self.in_features) @ self.weight.T
        if self.bias is not None:
            flat = flat + self.bias
        return flat.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table: integer indices of any shape ``(*)`` -> rows, shape ``(*, embedding_dim)``.

    ``weight`` is ``(num_embeddings, embedding_dim)``, drawn from N(0, 1). The
    ``padding_idx`` row (negative counts from the end) starts at zero and never
    gets a gradient. Indices must be integers in ``[0, num_embeddings)``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=np.float32):
        super().__init__()
        arguments.integer("Embedding", "num_embeddings", num_embeddings, low=0)
        arguments.integer("Embedding", "embedding_dim", embedding_dim, low=0)
        dtype = arguments.floating_dtype("Embedding", "dtype", dtype)
        if padding_idx is not None:
            arguments.integer("Embedding", "padding_idx", padding_idx)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx={padding_idx} is out of range for "
                    f"num_embeddings={num_embeddings}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            self.weight._bump_version()

    def forward(self, indices) -> Tensor:
        """``indices``: an integer Tensor, ndarray or list (any shape)."""
        indices = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
        return ops.Embedding.apply(self.weight, indices=indices, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the rest by 1/(1-p); in eval, the identity. Any shape in, the same shape out.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = arguments.probability("Dropout", "p", p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order, each to the previous one's output; children named '0', '1', ...

    ``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module, ...))``.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def _index(self, index: int) -> int:
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"Sequential: index {index} is out of range for {length} modules")
        return index % length

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[self._index(index)][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for module in self:
            x = module(x)
        return x
