"""LayerNorm: each sample normalised over its last dims, then scaled and shifted elementwise."""

from __future__ import annotations

import numpy as np

from .. import arguments
from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class LayerNorm(Module):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the last dims, as torch.nn.LayerNorm.

    ``normalized_shape``: an int or a tuple, the trailing shape of the input
    that is normalised; an input ``(*, *normalized_shape)`` gives an output
    of the same shape. The mean and the (biased) variance are taken over
    those trailing dims. With ``elementwise_affine``, ``weight`` (ones) and
    ``bias`` (zeros, absent if ``bias=False``) have shape ``normalized_shape``.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        for size in shape:
            arguments.integer("LayerNorm", "normalized_shape", size, low=1)
        self.normalized_shape = tuple(int(size) for size in shape)
        self.eps = arguments.number("LayerNorm", "eps", eps, low=0)
        self.elementwise_affine = arguments.boolean("LayerNorm", "elementwise_affine", elementwise_affine)
        dtype = arguments.floating_dtype("LayerNorm", "dtype", dtype)
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(np.empty(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        arguments.instance("LayerNorm", "input", x, Tensor)
        if self.weight is not None and x.dtype != self.weight.dtype:
            raise TypeError(f"LayerNorm: input dtype {x.dtype} differs from the weight's {self.weight.dtype} "
                            f"(input shape {x.shape}); convert one with .to()")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
