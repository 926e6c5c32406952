"""tinygrad_rnn: automatic differentiation on numpy, and recurrent nets built on it."""

import builtins as _builtins

from .tensor import Tensor, result_type
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .autograd import functional as _autograd_functional  # noqa: F401  (tg.autograd.functional, as in PyTorch)
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .creation import (arange, cat, eye, full, full_like, linspace, ones, ones_like, rand, randint, randn, stack,
                       tensor, where, zeros, zeros_like)
from .functions import *  # noqa: F403  (tg.exp(x), tg.sum(x, 1), ...: the Tensor methods as functions)
from . import functions
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .io import load, save
from .rng import manual_seed
from .scan import ScanRecord, recorded_scans, scan
from . import data, functional, nn, optim, viz  # noqa: E402  (they build on the names above)

# PyTorch's dtype names, as the numpy names that mean the same (``x.to(tg.long)``, ``dtype=tg.int32``).
# ``float`` and ``bool`` are attributes only: in __all__ they would shadow the builtins on ``import *``.
float16 = half = "float16"
float32 = float = "float32"  # noqa: A001
float64 = double = "float64"
uint8, int8, int16, int32 = "uint8", "int8", "int16", "int32"
int64 = long = "int64"
bool = "bool"  # noqa: A001

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "ScanRecord", "Tensor", "autograd", "data", "functional", "nn",
    "optim", "arange", "cat", "detect_anomaly", "double", "enable_grad", "eye", "float16", "float32", "float64",
    "full", "full_like", "gradcheck", "gradgradcheck", "half", "int8", "int16", "int32", "int64",
    "is_anomaly_enabled", "is_grad_enabled", "linspace", "load", "long", "manual_seed", "no_grad", "ones",
    "ones_like", "rand", "randint", "randn", "recorded_scans", "result_type", "save", "scan", "uint8",
    "set_detect_anomaly", "stack", "tensor", "viz", "where", "zeros", "zeros_like",
    # tg.sum, tg.max, tg.abs, ... are attributes only, as float and bool: they would shadow builtins
    *(name for name in functions.__all__ if not hasattr(_builtins, name)),
]
