"""MultiheadAttention, with torch.nn.MultiheadAttention's arguments, masks and parameter names.

Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + mask) V, for each of
``num_heads`` heads of size ``d = embed_dim / num_heads`` (Vaswani et al.,
2017). The parameters carry PyTorch's names (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), so weights move
to and from ``torch.nn.MultiheadAttention`` by state dict.
"""

from __future__ import annotations

import math

import numpy as np

from .. import arguments
from .. import functional as F
from ..tensor import Tensor
from . import init
from .layers import Linear
from .module import Module, Parameter


class MultiheadAttention(Module):
    """Multi-head attention of ``query`` over ``key`` and ``value``.

    ``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None,
    batch_first=False, dtype=float32)``. With ``kdim`` and ``vdim`` equal to
    ``embed_dim`` (the default) the three input projections are stacked in one
    ``in_proj_weight`` ``(3 E, E)``; otherwise they are ``q_proj_weight``
    ``(E, E)``, ``k_proj_weight`` ``(E, kdim)`` and ``v_proj_weight``
    ``(E, vdim)``, as in PyTorch. ``dropout`` drops attention weights in
    training. ``add_bias_kv`` and ``add_zero_attn`` are not supported.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype=np.float32):
        super().__init__()
        arguments.integer("MultiheadAttention", "embed_dim", embed_dim, low=0)
        arguments.integer("MultiheadAttention", "num_heads", num_heads, low=1)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                             f"num_heads={num_heads}")
        arguments.probability("MultiheadAttention", "dropout", dropout)
        for name, flag in (("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn)):
            if arguments.boolean("MultiheadAttention", name, flag):
                raise NotImplementedError(f"MultiheadAttention: {name}=True is not supported")
        dtype = arguments.floating_dtype("MultiheadAttention", "dtype", dtype)
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        arguments.integer("MultiheadAttention", "kdim", self.kdim, low=0)
        arguments.integer("MultiheadAttention", "vdim", self.vdim, low=0)
        self.batch_first = arguments.boolean("MultiheadAttention", "batch_first", batch_first)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        if arguments.boolean("MultiheadAttention", "bias", bias):
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform input projections and zero biases, as PyTorch (``out_proj.weight`` keeps
        Linear's initialisation)."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projection_weights(self) -> tuple:
        """(W_q, W_k, W_v): the rows of ``in_proj_weight``, or the three separate weights."""
        if self._qkv_same_embed_dim:
            return self.in_proj_weight.chunk(3)
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``: returns ``(attn_output, attn_weights)``.

        Shapes (L target length, S source length, N batch, E ``embed_dim``):
        query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)``,
        ``(N, L, E)`` etc. with ``batch_first``, or ``(L, E)``, ``(S, kdim)``,
        ``(S, vdim)`` unbatched. attn_output has the query's shape.

        ``key_padding_mask`` ``(N, S)`` (``(S,)`` unbatched): True (bool) marks a
        key to ignore; a float mask is added to the scores. ``attn_mask``
        ``(L, S)`` or ``(N * num_heads, L, S)`` (``(num_heads, L, S)``
        unbatched): True forbids attending; a float mask is added. A query that
        may attend to no key at all gets NaN, as in PyTorch. ``is_causal`` is
        only a hint that ``attn_mask`` is the causal mask, which must be given.

        attn_weights (if ``need_weights``): ``(N, L, S)`` averaged over heads
        (``average_attn_weights``), else ``(N, num_heads, L, S)``; without the
        N for unbatched input; None when ``need_weights`` is False.
        """
        owner = "MultiheadAttention"
        for name, tensor in (("query", query), ("key", key), ("value", value)):
            arguments.instance(owner, name, tensor, Tensor)
        if arguments.boolean(owner, "is_causal", is_causal) and attn_mask is None:
            raise ValueError(f"{owner}: is_causal=True is a hint that attn_mask is the causal mask; "
                             "pass attn_mask too")
        batched = query.ndim == 3
        self._check_shapes(query, key, value)
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        (L, N, E), S = query.shape, key.shape[0]
        mask = self._additive_mask(attn_mask, key_padding_mask, batched, N, L, S, query.dtype)

        w_q, w_k, w_v = self._projection_weights()
        b_q, b_k, b_v = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        q, k, v = (self._heads(x, w, b) for x, w, b in ((query, w_q, b_q), (key, w_k, b_k), (value, w_v, b_v)))
        scores = (q * math.sqrt(1 / self.head_dim)) @ k.transpose(-2, -1)  # (N, H, L, S); q scaled as torch scales it
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        weights = F.dropout(weights, self.dropout, self.training)
        heads = weights @ v  # (N, H, L, head_dim)
        output = self.out_proj(heads.permute(2, 0, 1, 3).reshape(L, N, E))

        if not batched:
            output = output.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        if not arguments.boolean(owner, "need_weights", need_weights):
            return output, None
        if arguments.boolean(owner, "average_attn_weights", average_attn_weights):
            weights = weights.mean(1)
        return output, (weights if batched else weights.squeeze(0))

    def _heads(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """Project ``x`` ``(T, N, features)`` and split it into heads: ``(N, num_heads, T, head_dim)``."""
        steps, batch, features = x.shape
        projected = F.linear(x.reshape(steps * batch, features), weight, bias)  # one GEMM, forward and back
        return projected.reshape(steps, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor) -> None:
        owner = "MultiheadAttention"
        shapes = f"query {query.shape}, key {key.shape}, value {value.shape}"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{owner}: query, key and value must all be 3-D (batched) or all 2-D "
                             f"(unbatched), got {shapes}")
        for name, tensor, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                                   ("value", value, self.vdim)):
            if tensor.shape[-1] != size:
                raise ValueError(f"{owner}: {name} must end in {size} features, got {shapes}")
            if tensor.dtype != self.out_proj.weight.dtype:
                raise TypeError(f"{owner}: {name} dtype {tensor.dtype} differs from the weights' "
                                f"{self.out_proj.weight.dtype} ({shapes}); convert one with .to()")
        batch_dim = 0 if self.batch_first else 1
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{owner}: key and value must have the same length and batch, got {shapes}")
        if query.ndim == 3 and key.shape[batch_dim] != query.shape[batch_dim]:
            raise ValueError(f"{owner}: query and key must have the same batch size (dim {batch_dim}, "
                             f"batch_first={self.batch_first}), got {shapes}")

    def _additive_mask(self, attn_mask, key_padding_mask, batched, N, L, S, dtype):
        """Both masks as one float term to add to the scores, broadcasting to ``(N, H, L, S)``; or None."""
        owner, H = "MultiheadAttention", self.num_heads
        masks = []
        if key_padding_mask is not None:
            expected = (N, S) if batched else (S,)
            mask = _as_additive(owner, "key_padding_mask", key_padding_mask, dtype)
            if mask.shape != expected:
                raise ValueError(f"{owner}: key_padding_mask must have shape {expected} (N, S), got {mask.shape}")
            masks.append(mask.reshape(N, 1, 1, S))
        if attn_mask is not None:
            mask = _as_additive(owner, "attn_mask", attn_mask, dtype)
            per_head = (N * H, L, S) if batched else (H, L, S)
            if mask.shape == (L, S):
                masks.append(mask)
            elif mask.shape == per_head:
                masks.append(mask.reshape(N, H, L, S))
            else:
                raise ValueError(f"{owner}: attn_mask must have shape {(L, S)} (L, S) or {per_head} "
                                 f"({'N * num_heads' if batched else 'num_heads'}, L, S), got {mask.shape}")
        if not masks:
            return None
        return masks[0] if len(masks) == 1 else masks[0] + masks[1]

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _as_additive(owner: str, name: str, mask, dtype) -> Tensor:
    """A bool mask (True: masked) as 0 / -inf in ``dtype``; a float mask as a tensor of ``dtype``."""
    if isinstance(mask, Tensor):
        if mask.dtype.kind == "f":
            return mask.to(dtype)  # a float mask tensor keeps its graph
        mask = mask.data
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return Tensor(np.where(mask, -np.inf, 0).astype(dtype))
    if mask.dtype.kind == "f":
        return Tensor(mask.astype(dtype))
    raise TypeError(f"{owner}: {name} must be bool (True: masked) or float (added), got dtype {mask.dtype}")
