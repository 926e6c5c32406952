"""tinygrad_rnn: automatic differentiation on numpy, and recurrent nets built on it."""

from .tensor import Tensor
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .creation import (arange, cat, eye, full, full_like, linspace, ones, ones_like, rand, randint, randn, stack,
                       tensor, where, zeros, zeros_like)
from .functions import *  # noqa: F403  (tg.exp(x), tg.sum(x, 1), ...: the Tensor methods as functions)
from . import functions
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .io import load, save
from .rng import manual_seed
from .scan import scan
from . import functional, nn, optim, viz  # noqa: E402  (they build on the names above)

float32, float64, int64 = "float32", "float64", "int64"

__all__ = [
    "AnomalyError", "Function", "GradcheckError", "Tensor", "autograd", "functional", "nn", "optim", "arange", "cat",
    "detect_anomaly", "enable_grad", "float32", "float64", "full", "gradcheck", "gradgradcheck", "int64", "is_anomaly_enabled",
    "is_grad_enabled", "load", "manual_seed", "no_grad", "ones", "ones_like", "rand", "randn", "save", "scan",
    "set_detect_anomaly", "stack", "tensor", "viz", "where", "zeros", "zeros_like", "eye", "full_like", "linspace",
    "randint", *functions.__all__,
]
