"""torch's module-level functions: ``tg.exp(x)`` is ``x.exp()``, ``tg.max(x, 1)`` is ``x.max(1)``.

Each function here calls the Tensor method of its name, so the two spellings can
never disagree; the first argument must be a Tensor, as in torch. Joins and
factories (``tg.cat``, ``tg.stack``, ``tg.where``, ``tg.zeros``, ...) are in
creation.py.
"""

from __future__ import annotations

import inspect

from . import arguments
from .tensor import Tensor

# Tensor methods that torch also offers as torch.<name>(input, ...)
__all__ = [
    "abs", "add", "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "bmm", "chunk", "clamp", "clip", "clone",
    "cos", "cumsum", "div", "erf", "exp", "flatten", "flip", "gather", "index_select", "isfinite", "isinf", "isnan",
    "log", "log_softmax", "logsumexp", "masked_fill", "matmul", "max", "maximum", "mean", "min", "minimum", "mm",
    "movedim", "mul", "neg", "norm", "permute", "pow", "ravel", "relu", "repeat_interleave", "reshape", "roll",
    "rsqrt", "scatter", "scatter_add", "sigmoid", "sign", "sin", "softmax", "sort", "split", "sqrt", "square",
    "squeeze", "std", "sub", "sum", "swapaxes", "t", "tanh", "tile", "topk", "transpose", "tril", "triu",
    "unflatten", "unsqueeze", "var",
]


def _function_of(name: str):
    """``torch.<name>(input, ...)``: checks that input is a Tensor, then calls its method;
    the method's signature (self named input) and docstring, for help() and the docs."""
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        arguments.instance(name, "input", input, Tensor)
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    signature = inspect.signature(method)
    self_, *rest = signature.parameters.values()
    function.__signature__ = signature.replace(parameters=[self_.replace(name="input"), *rest])
    function.__doc__ = f"``input.{name}(...)``, as ``torch.{name}``."
    if method.__doc__:
        function.__doc__ += f"\n\n{method.__doc__}"
    return function


globals().update({name: _function_of(name) for name in __all__})
