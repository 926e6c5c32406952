"""torch.nn.functional's names for tinygrad_rnn: activations, padding, embeddings, dropout,
linear, layer normalisation, attention, losses.

Everything here is composed from primitives, so gradients come from the tape.
The classification losses pick the log-probability of each target class by
integer indexing (whose backward scatters into the picked entries), so a
loss over N targets and C classes costs one log-softmax and N lookups.
"""

from __future__ import annotations

import numpy as np

from . import arguments, creation, rng
from .ops import BinaryCrossEntropy, Embedding, Pad
from .ops.pointwise import LogSigmoid
from .tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")  # what a loss returns: their mean, their sum, or each
GELU_APPROXIMATIONS = ("none", "tanh")


# -- activations and layers -------------------------------------------------------


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)), finite for every finite x."""
    return LogSigmoid.apply(x)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as torch's.

    Computed as -logsigmoid(-beta x) / beta: finite for every finite x.
    """
    beta = arguments.number("softplus", "beta", beta, low=0, low_open=True)
    threshold = arguments.real("softplus", "threshold", threshold)
    scaled = x * beta if beta != 1 else x
    smooth = -LogSigmoid.apply(-scaled)
    smooth = smooth / beta if beta != 1 else smooth
    return creation.where(scaled.data > threshold, x, smooth)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt(2))), as torch's.

    ``approximate="tanh"``: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
    """
    if arguments.choice("gelu", "approximate", approximate, GELU_APPROXIMATIONS) == "tanh":
        inner = (x + x * x * x * 0.044715) * np.sqrt(2 / np.pi)
        return x * 0.5 * (1 + inner.tanh())
    return x * 0.5 * (1 + (x * (1 / np.sqrt(2))).erf())


def silu(x: Tensor) -> Tensor:
    """x sigmoid(x) (the swish)."""
    return x * x.sigmoid()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope x; the gradient at 0 is negative_slope, as torch's.

    Written relu(x) + negative_slope min(x, 0): one term is exactly 0 on each side, so
    the values are exact, and no mask is computed from the data (tg.scan compiles it).
    """
    slope = arguments.real("leaky_relu", "negative_slope", negative_slope)
    return x.relu() + x.clamp(max=0) * slope


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha (exp(x) - 1); the gradient at 0 is alpha, as torch's.

    Written relu(x) + alpha (exp(min(x, 0)) - 1), exact on each side. The exp reads x
    clamped to <= 0, so a large positive x cannot overflow it and send inf * 0 = NaN
    into the gradient.
    """
    alpha = arguments.real("elu", "alpha", alpha)
    return x.relu() + (x.clamp(max=0).exp() - 1) * alpha


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``input`` with a border of ``value`` (0 by default), as torch's constant mode.

    ``pad`` lists (before, after) widths from the last dim backwards:
    ``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two.
    A negative width removes entries instead.
    """
    fn = "pad"
    arguments.instance(fn, "input", input, Tensor)
    if mode != "constant":  # torch's other modes (reflect, replicate, circular) are not written
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad: pad must be a tuple of ints, got {type(pad).__name__}")
    widths = [arguments.integer(fn, "pad", w) for w in pad]
    if len(widths) % 2 or len(widths) // 2 > input.ndim:
        raise ValueError(f"pad: pad {tuple(widths)} must hold a (before, after) pair for each of at most "
                         f"{input.ndim} dims (input shape {input.shape})")
    pairs = [(0, 0)] * (input.ndim - len(widths) // 2) + [tuple(widths[i:i + 2]) for i in
                                                          reversed(range(0, len(widths), 2))]
    sides = [n + before + after for n, (before, after) in zip(input.shape, pairs)]
    if any(side < 0 for side in sides):
        raise ValueError(f"pad: pad {tuple(widths)} removes more than the input of shape {input.shape} holds")
    crop = tuple(slice(max(-before, 0), n - max(-after, 0)) for n, (before, after) in zip(input.shape, pairs))
    x = input[crop] if any(min(pair) < 0 for pair in pairs) else input
    grow = tuple((max(before, 0), max(after, 0)) for before, after in pairs)
    if not any(before or after for before, after in grow):
        return x
    fill = 0.0 if value is None else arguments.real(fn, "value", value)
    return Pad.apply(x, widths=grow, value=fill)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot vectors, as torch's: integer ids of shape S -> shape S + (num_classes,).

    ``num_classes=-1`` takes the largest id plus one.
    """
    ids = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if ids.size == 0:
        ids = ids.astype(np.int64)  # [] is float64 to numpy, and holds no id that is not an int
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot: ids must hold integers, got dtype {ids.dtype} (shape {ids.shape})")
    if num_classes == -1:
        if ids.size == 0:
            raise ValueError(f"one_hot: num_classes=-1 needs ids to take the largest of, got shape {ids.shape}")
        num_classes = int(ids.max()) + 1
    num_classes = arguments.integer("one_hot", "num_classes", num_classes, low=1)
    outside = ids[(ids < 0) | (ids >= num_classes)]
    if outside.size:
        raise IndexError(f"one_hot: id {outside[0]} is out of range for num_classes={num_classes} "
                         f"(ids shape {ids.shape})")
    return Tensor(np.eye(num_classes, dtype=np.int64)[ids])


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` ``(num_embeddings, dim)`` picked by integer ``input`` of shape S: shape S + (dim,).

    The ``padding_idx`` row (negative counts from the end) gets no gradient.
    """
    arguments.instance("embedding", "weight", weight, Tensor)
    if padding_idx is not None and weight.ndim == 2:
        padding_idx = arguments.integer("embedding", "padding_idx", padding_idx)
        if -weight.shape[0] <= padding_idx < 0:
            padding_idx += weight.shape[0]
    indices = input.data if isinstance(input, Tensor) else np.asarray(input)
    return Embedding.apply(weight, indices=indices, padding_idx=padding_idx)


def softmax(x: Tensor, dim: int) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return x.log_softmax(dim)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``: x ``(..., in)``, weight ``(out, in)``, bias ``(out,)`` -> ``(..., out)``."""
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape} "
            "(need input (..., in) and weight (out, in))"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    out = x @ weight.T
    return out if bias is None else out + bias


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    The keep mask comes from ``tinygrad_rnn.rng.generator()`` (seeded by
    ``manual_seed``) and enters as a constant factor, so the gradient is the
    Mul primitive's: it flows only through kept elements, scaled the same way.
    Identity when ``training`` is False or ``p == 0``; ``p == 1`` gives zeros.
    """
    arguments.floating_point("dropout", "input", arguments.instance("dropout", "input", x, Tensor))
    arguments.probability("dropout", "p", p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        mask = np.zeros(x.shape, x.dtype)
    else:
        keep = rng.generator().random(x.shape) < 1.0 - p
        mask = keep.astype(x.dtype) / np.asarray(1.0 - p, x.dtype)
    return x * Tensor(mask)



# -- normalisation and attention ---------------------------------------------------------


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last dims, as torch's.

    input ``(*, *normalized_shape)``; weight and bias ``normalized_shape`` (or None);
    output like input. The mean and the (biased: divided by the count) variance are
    taken over the last ``len(normalized_shape)`` dims of each element of ``*``.
    """
    fn = "layer_norm"
    arguments.instance(fn, "input", input, Tensor)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    for size in shape:
        arguments.integer(fn, "normalized_shape", size, low=1)
    if not shape or input.shape[max(input.ndim - len(shape), 0):] != shape or input.ndim < len(shape):
        raise ValueError(f"{fn}: input of shape {input.shape} does not end with normalized_shape {shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and arguments.instance(fn, name, param, Tensor).shape != shape:
            raise ValueError(f"{fn}: {name} must have shape normalized_shape {shape}, got {param.shape}")
    arguments.number(fn, "eps", eps, low=0)
    dims = tuple(range(-len(shape), 0))
    centred = input - input.mean(dims, keepdim=True)
    variance = (centred * centred).mean(dims, keepdim=True)
    out = centred * (variance + eps) ** -0.5
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, as torch's.

    query ``(*, L, E)``, key ``(*, S, E)``, value ``(*, S, Ev)`` -> ``(*, L, Ev)``; the
    batch dims ``*`` broadcast. ``attn_mask`` broadcasts to ``(*, L, S)``: bool (True
    where a query may attend to a key) or float (added to the scores, and differentiable
    if it is a tensor that requires grad). ``is_causal``: query i attends to keys
    j <= i (the mask ``tril(ones(L, S))``); not together with ``attn_mask``. ``scale``
    defaults to 1/sqrt(E). A query that may attend to no key (its scores all -inf)
    gets zeros and passes no gradient, as in torch. ``dropout_p`` drops attention
    weights (random numbers from the generator ``manual_seed`` seeds). ``enable_gqa``:
    key and value may have fewer heads (dim -3) than query, a divisor of its count,
    each shared by consecutive query heads.
    """
    fn = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        arguments.instance(fn, name, t, Tensor)
        if t.ndim < 2 or t.dtype.kind != "f":
            raise ValueError(f"{fn}: {name} must be a floating-point tensor (*, length, features), "
                             f"got shape {t.shape} and dtype {t.dtype}")
    if key.shape[-1] != query.shape[-1] or value.shape[-2] != key.shape[-2]:
        raise ValueError(f"{fn}: query {query.shape}, key {key.shape} and value {value.shape} do not fit: "
                         "need query (*, L, E), key (*, S, E), value (*, S, Ev)")
    if arguments.boolean(fn, "enable_gqa", enable_gqa) and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3] if query.ndim >= 3 else 1, key.shape[-3]
        if value.ndim < 3 or value.shape[-3] != kv_heads or heads % kv_heads:
            raise ValueError(f"{fn}: with enable_gqa, key {key.shape} and value {value.shape} need a number "
                             f"of heads (dim -3) that divides the query's {query.shape}")
        key, value = (t.repeat_interleave(heads // kv_heads, dim=-3) for t in (key, value))
    if scale is None:
        scale = 1 / np.sqrt(query.shape[-1])
    scores = (query @ key.transpose(-2, -1)) * arguments.real(fn, "scale", scale)
    length, source_length = query.shape[-2], key.shape[-2]
    if arguments.boolean(fn, "is_causal", is_causal):
        if attn_mask is not None:
            raise ValueError(f"{fn}: give attn_mask or is_causal=True, not both")
        attn_mask = np.tril(np.ones((length, source_length), bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        try:
            np.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            raise ValueError(f"{fn}: attn_mask of shape {mask.shape} does not broadcast to the scores' "
                             f"shape {scores.shape} (*, L, S)") from None
        if mask.dtype == bool:
            scores = creation.where(mask, scores, -np.inf)
        elif mask.dtype.kind == "f":
            scores = scores + (attn_mask if isinstance(attn_mask, Tensor) else Tensor(mask.astype(scores.dtype)))
        else:
            raise TypeError(f"{fn}: attn_mask must be bool or floating point, got dtype {mask.dtype}")
    nowhere = np.all(np.isneginf(scores.data), axis=-1, keepdims=True)  # queries with no key to attend to
    if nowhere.any():  # softmax would give 0/0 there: zeros instead, as torch's, and no gradient through them
        weights = scores.masked_fill(nowhere, 0).softmax(-1).masked_fill(nowhere, 0)
    else:
        weights = scores.softmax(-1)
    if arguments.probability(fn, "dropout_p", dropout_p) > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value

# -- argument checks shared by the losses -----------------------------------------------


def _check_input(loss: str, input) -> None:
    arguments.floating_point(loss, "input", arguments.instance(loss, "input", input, Tensor))


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def _as_array(loss: str, name: str, x, dtype=None) -> np.ndarray:
    """A constant argument (Tensor, ndarray or list) as an ndarray."""
    return arguments.array(loss, name, x.data if isinstance(x, Tensor) else x, dtype)


def _class_weight(loss: str, weight, num_classes: int, dtype) -> np.ndarray:
    weight = _as_array(loss, "weight", weight, dtype)
    if weight.shape != (num_classes,):
        raise ValueError(
            f"{loss}: weight must have shape ({num_classes},), one entry per class, got {weight.shape}"
        )
    return weight


# -- classification losses -------------------------------------------------------------


def _index_target_losses(loss, log_probs, target, class_dim, weight, ignore_index, label_smoothing):
    """Loss per integer target, and the sum of w[t] over the kept targets ('mean' divides by it).

    loss[n] = (1 - eps) w[t_n] (-log p[n, t_n]) + eps / C sum_c w[c] (-log p[n, c]),
    and 0 where t_n is ignored (PyTorch's definition, label smoothing included).
    """
    target = _as_array(loss, "target", target)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{loss}: class-index targets must be integers, got dtype {target.dtype} "
            f"(target shape {target.shape}, input shape {log_probs.shape}); class probabilities "
            "must have the input's shape"
        )
    expected = log_probs.shape[:class_dim] + log_probs.shape[class_dim + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"{loss}: target of shape {target.shape} does not fit input of shape {log_probs.shape} "
            f"(expected target shape {expected}: the input without its class dim {class_dim})"
        )
    num_classes, dtype = log_probs.shape[class_dim], log_probs.dtype
    kept = target != ignore_index
    if kept.any():
        low, high = target[kept].min(), target[kept].max()
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise IndexError(
                f"{loss}: target {bad} is out of range for C={num_classes} classes "
                f"(expected 0 to {num_classes - 1}, or ignore_index={ignore_index})"
            )
    w = np.ones(num_classes, dtype) if weight is None else _class_weight(loss, weight, num_classes, dtype)

    classes = np.where(kept, target, 0)  # ignored targets pick class 0, then get weight 0
    kept_weight = np.where(kept, w[classes], 0).astype(dtype)
    position = np.indices(target.shape, sparse=True)
    picked = log_probs[position[:class_dim] + (classes,) + position[class_dim:]]  # log p[n, t_n, d...]
    losses = picked * Tensor(-(1 - label_smoothing) * kept_weight)
    if label_smoothing:
        along_class_dim = [1] * log_probs.ndim
        along_class_dim[class_dim] = num_classes
        smoothing = Tensor((w * (label_smoothing / num_classes)).reshape(along_class_dim))
        losses = losses - (log_probs * smoothing).sum(dim=class_dim) * Tensor(kept.astype(dtype))
    return losses, kept_weight.sum()


def _mean_over_weight(total: Tensor, weight_sum: float) -> Tensor:
    """``total / weight_sum``; with nothing to average (weight_sum 0) the value is nan and
    the gradient zero, as in PyTorch, without a 0/0 in numpy."""
    if weight_sum == 0:
        return total * 0 + Tensor(np.asarray(np.nan, total.dtype))
    return total / weight_sum


def _cross_entropy_from_log_probs(loss, log_probs, target, class_dim, weight, ignore_index,
                                  reduction, label_smoothing) -> Tensor:
    losses, weight_sum = _index_target_losses(
        loss, log_probs, target, class_dim, weight, ignore_index, label_smoothing
    )
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else _mean_over_weight(total, float(weight_sum))


def _class_dim(loss: str, input: Tensor) -> int:
    if input.ndim == 0:
        raise ValueError(f"{loss}: input must have a class dim: (C,), (N, C) or (N, C, d1, ...), got shape ()")
    class_dim = 0 if input.ndim == 1 else 1
    if input.shape[class_dim] == 0:
        raise ValueError(f"{loss}: input of shape {input.shape} has no classes along dim {class_dim}")
    return class_dim


def cross_entropy(input: Tensor, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between the softmax of ``input`` over dim 1 and ``target``, as torch's.

    input: logits ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)`` unbatched.
    target: integer class indices ``(N, d1, ...)`` (``()`` unbatched), or class
    probabilities shaped like ``input``. weight: ``(C,)`` constant class weights.
    Targets equal to ``ignore_index`` contribute nothing. ``label_smoothing``
    eps mixes each target with the uniform distribution: (1 - eps) target + eps / C.
    reduction 'none' gives one loss per target ``(N, d1, ...)``; 'mean' divides
    the sum by the total weight of the kept targets (by N*d1*... for
    probability targets). If every target is ignored, 'mean' gives nan with a
    zero gradient, as in PyTorch.
    """
    loss = "cross_entropy"
    _check_input(loss, input)
    arguments.choice(loss, "reduction", reduction, REDUCTIONS)
    arguments.integer(loss, "ignore_index", ignore_index)
    arguments.probability(loss, "label_smoothing", label_smoothing)
    class_dim = _class_dim(loss, input)
    log_probs = input.log_softmax(class_dim)
    if not isinstance(target, Tensor):
        target = np.asarray(target)
    if target.dtype.kind == "f" and target.ndim == input.ndim:  # class probabilities
        return _cross_entropy_soft(loss, log_probs, target, class_dim, weight, reduction, label_smoothing)
    return _cross_entropy_from_log_probs(
        loss, log_probs, target, class_dim, weight, ignore_index, reduction, label_smoothing
    )


def _cross_entropy_soft(loss, log_probs, target, class_dim, weight, reduction, label_smoothing):
    """Cross entropy against class probabilities (a target that may itself need a gradient)."""
    if target.shape != log_probs.shape:
        raise ValueError(
            f"{loss}: probability target of shape {target.shape} must have the input's shape "
            f"{log_probs.shape} (integer class indices have the input's shape without dim {class_dim})"
        )
    q = target.to(log_probs.dtype) if isinstance(target, Tensor) else Tensor(target.astype(log_probs.dtype))
    num_classes = log_probs.shape[class_dim]
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / num_classes
    if weight is not None:
        along_class_dim = [1] * log_probs.ndim
        along_class_dim[class_dim] = num_classes
        q = q * Tensor(_class_weight(loss, weight, num_classes, log_probs.dtype).reshape(along_class_dim))
    return _reduce(-(log_probs * q).sum(dim=class_dim), reduction)


def nll_loss(input: Tensor, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer ``target`` under log-probabilities ``input``, as torch's.

    input: log-probabilities ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; target:
    class indices ``(N, d1, ...)``. Loss per target: -weight[t] * input[n, t].
    'mean' divides by the total weight of the kept targets (nan, with a zero
    gradient, if every target is ignored).
    """
    loss = "nll_loss"
    _check_input(loss, input)
    arguments.choice(loss, "reduction", reduction, REDUCTIONS)
    arguments.integer(loss, "ignore_index", ignore_index)
    class_dim = _class_dim(loss, input)
    return _cross_entropy_from_log_probs(loss, input, target, class_dim, weight, ignore_index, reduction, 0.0)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, pos_weight=None,
                                     reduction: str = "mean") -> Tensor:
    """-[pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], elementwise, as torch's.

    input: logits x, any shape; target y: probabilities of the same shape.
    weight: broadcasts to the input (rescales each element); pos_weight: the
    weight of positive examples, broadcasting along the last (class) dim.
    Computed as (1 - y) x - (1 + (pw - 1) y) log sigmoid(x), with a stable
    log sigmoid, so logits of any finite size give finite values and gradients.
    """
    loss = "binary_cross_entropy_with_logits"
    _check_input(loss, input)
    arguments.choice(loss, "reduction", reduction, REDUCTIONS)
    y = _same_shape_target(loss, target, input)
    if pos_weight is None:
        log_weight = 1
    else:
        pos_weight = _broadcastable(loss, "pos_weight", pos_weight, input)
        log_weight = 1 + (pos_weight - 1) * y
    out = (1 - y) * input - log_weight * LogSigmoid.apply(input)
    if weight is not None:
        out = out * _broadcastable(loss, "weight", weight, input)
    return _reduce(out, reduction)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """-[y log(x) + (1 - y) log(1 - x)] elementwise for probabilities x, as torch's.

    input x: probabilities in [0, 1], any shape; target y: the same shape. Each log
    is clamped to >= -100, so x = 0 or 1 gives a finite loss (100 per element at
    most) and a finite gradient (the BinaryCrossEntropy primitive). weight
    broadcasts to the input. For logits, binary_cross_entropy_with_logits is stabler.
    """
    loss = "binary_cross_entropy"
    _check_input(loss, input)
    arguments.choice(loss, "reduction", reduction, REDUCTIONS)
    y = _same_shape_target(loss, target, input)
    outside = (input.data < 0) | (input.data > 1)  # NaN is neither: it propagates
    if outside.any():
        raise ValueError(f"{loss}: input must hold probabilities in [0, 1], got {input.data[outside].flat[0]} "
                         f"(input shape {input.shape})")
    out = BinaryCrossEntropy.apply(input, y)
    if weight is not None:
        out = out * _broadcastable(loss, "weight", weight, input)
    return _reduce(out, reduction)


def _same_shape_target(loss: str, target, input: Tensor) -> Tensor:
    """``target`` as a tensor of the input's dtype; a target tensor keeps its graph."""
    if not isinstance(target, Tensor):
        target = Tensor(_as_array(loss, "target", target, input.dtype))
    target = target.to(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{loss}: target of shape {target.shape} must have the input's shape {input.shape}")
    return target


def _broadcastable(loss: str, name: str, value, input: Tensor) -> Tensor:
    """A constant that must broadcast to the input's shape without enlarging it."""
    array = _as_array(loss, name, value, input.dtype)
    try:
        fits = np.broadcast_shapes(array.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{loss}: {name} of shape {array.shape} does not broadcast to the input's shape {input.shape}"
        )
    return Tensor(array)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)**2, input and target of one shape."""
    loss = "mse_loss"
    _check_input(loss, input)
    arguments.choice(loss, "reduction", reduction, REDUCTIONS)
    diff = input - _same_shape_target(loss, target, input)
    return _reduce(diff * diff, reduction)
