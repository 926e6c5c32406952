"""Tensor: an ndarray that remembers how it was made.

The arithmetic lives in ops/ (one Function per primitive); this class only
holds the data, the gradient and the node that produced it, and turns Python
operators and methods into calls of those primitives.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple

import numpy as np

DEFAULT_FLOAT = np.float32
# What a tensor can hold, in native byte order: bool, every integer, float16, float32 and float64.
# Not long double: numba's kernels (and BLAS) have none, and computing it in float64 would
# silently drop the precision it was chosen for.
DTYPES = frozenset(np.dtype(code) for code in "?bBhHiIlLqQefd")

MaxResult = namedtuple("MaxResult", ["values", "indices"])
SortResult = namedtuple("SortResult", ["values", "indices"])  # what sort and topk return, as torch's

# The tape's clock: how many writes the library has made to any tensor's data. A node
# notes it in forward; backward finds it unchanged in the common case and checks no further.
_writes = [0]
# The version counter of a tensor never written: [writes, the clock at the last one]. Most
# tensors never are, so they share this one; the first write gives a tensor its own list.
_UNWRITTEN = (0, 0)


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    try:
        if dtype is not None:
            array = np.asarray(data, dtype=dtype)
        elif isinstance(data, (np.ndarray, np.generic)):
            array = np.asarray(data)  # a float ndarray keeps its dtype
        else:
            array = np.asarray(data)
            if array.dtype.kind in "iuf":  # Python numbers become float32
                array = array.astype(DEFAULT_FLOAT)
    except (TypeError, ValueError, OverflowError) as err:  # ragged lists, unknown dtypes, values that do not fit
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"Tensor: cannot make an array of dtype {dtype} from the {type(data).__name__} "
                   f"given: {err}") from None
    if array.dtype not in DTYPES:
        array = array.astype(supported_dtype("Tensor", array.dtype, array.shape))
    return array


def supported_dtype(owner: str, dtype, shape: tuple | None = None) -> np.dtype:
    """``dtype`` in native byte order if a tensor can hold it (``DTYPES``); else TypeError naming ``owner``.

    A big-endian ``>f4`` (as numpy reads from some files) is float32 here: same values, the
    byte order the kernels need.
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{owner}: {dtype!r} is not a dtype ({err})") from None
    native = dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype
    if native not in DTYPES:
        of = "" if shape is None else f" (shape {shape})"
        raise TypeError(f"{owner}: cannot hold data of dtype {dtype}{of}; tensors hold float16, float32, "
                        "float64, integers and bool")
    return native


# Device names PyTorch code may pass to .to(): the CPU is this library's only one.
_DEVICES = frozenset(["cpu", "cuda", "mps", "xpu", "xla", "hip", "meta", "vulkan", "ipu", "hpu", "mtia"])


def on_cpu(owner: str, device) -> bool:
    """Whether ``device`` names the CPU (``"cpu"``, ``"cpu:0"``, a ``torch.device`` of it); False
    when it names no device (a dtype). Another device is a ValueError: everything here runs on
    numpy, on the CPU."""
    if type(device).__name__ == "device":  # a torch.device, without importing torch
        device = str(device)
    if not isinstance(device, str) or device.split(":")[0] not in _DEVICES:
        return False
    if device.split(":")[0] != "cpu":
        raise ValueError(f"{owner}: tinygrad_rnn runs on the CPU only (numpy and numba), so there is no "
                         f"{device!r} device; drop the .to({device!r}) or .cuda() call, or pass 'cpu'")
    return True


# -- type promotion -------------------------------------------------------------------
# PyTorch's rules, not numpy's: float32 with an integer stays float32 (numpy says float64),
# and a Python number or a 0-d tensor changes a dimensioned tensor's dtype only when it is
# of a higher category (bool < integer < float): int64 * 2.5 is float32, float32 * 2.0 stays
# float32, int32 + 7 stays int32.


def _promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype holding both; a float beats any integer, as in torch.promote_types."""
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def _number_dtype(number) -> np.dtype:
    """The dtype PyTorch gives a Python number on its own: bool, int64, or the default float."""
    if isinstance(number, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(number, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(number, (float, np.floating)):
        return np.dtype(DEFAULT_FLOAT)
    raise TypeError(f"result_type: expected Tensors and Python numbers, got {type(number).__name__} {number!r}")


def _over_categories(higher, lower):
    """Combine the dtypes of two priority levels: the lower one counts only when it is of a
    higher category (a float number with an int tensor; any integer with a bool tensor)."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "b" or (higher.kind != "f" and lower.kind == "f"):
        return _promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op's result on ``operands`` (Tensors and Python numbers),
    by PyTorch's type promotion (``torch.result_type``).

    Dimensioned tensors decide among themselves (``torch.promote_types``); a 0-d tensor, then a
    Python number, counts only if of a higher category (bool < integer < float), and then as
    the smallest dtype of that category holding it (a Python float is the default float32).
    """
    levels = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for operand in operands:
        if isinstance(operand, Tensor):
            level, dtype = (0 if operand.ndim else 1), operand.dtype
        else:
            level, dtype = 2, _number_dtype(operand)
        levels[level] = dtype if levels[level] is None else _promote_types(levels[level], dtype)
    return _over_categories(levels[0], _over_categories(levels[1], levels[2]))


def _as_operand(value, dtype: np.dtype, owner: str) -> Tensor:
    """A Tensor of ``dtype`` from a Tensor (cast, recorded) or a number (checked to fit)."""
    if isinstance(value, Tensor):
        return value if value.dtype == dtype else ops.Cast.apply(value, dtype=dtype)
    try:
        return Tensor(np.asarray(value.item() if isinstance(value, np.generic) else value, dtype=dtype))
    except OverflowError:  # numpy 2 refuses -1 for uint8, 300 for int8, ...
        raise ValueError(f"{owner}: the number {value!r} does not fit the dtype {dtype}") from None


def _promoted(owner: str, *operands) -> tuple:
    """``operands`` as Tensors of their result dtype (arrays and lists first become Tensors)."""
    operands = [x if isinstance(x, (Tensor, bool, int, float, np.number)) else Tensor(x) for x in operands]
    dtype = result_type(*operands)
    return tuple(_as_operand(x, dtype, owner) for x in operands)


def _where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` (a bool tensor or array) holds, else ``b``; all broadcast and promoted."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be bool, got dtype {condition.dtype} (shape {condition.shape})")
    return ops.Where.apply(*_promoted("where", a, b), condition=condition)


def _float_operand(x: Tensor) -> Tensor:
    """``x``, or ``x`` as the default float if it is bool or integer (``torch.exp(int_tensor)`` is float32)."""
    return x if x.dtype.kind == "f" else ops.Cast.apply(x, dtype=np.dtype(DEFAULT_FLOAT))


def _comparison(compare):
    """The Tensor method ``self <op> other`` for a numpy comparison ufunc, as a bool tensor."""

    def method(self, other) -> Tensor:
        return Tensor(compare(self._data, other.data if isinstance(other, Tensor) else other))

    return method


class Conversions:
    """PyTorch's shorthands for ``to(dtype)``, the same on a Tensor and on an nn.Module."""

    __slots__ = ()

    def cpu(self):
        return self

    def cuda(self, device=None):
        """A ValueError: there is no GPU here (kept so that PyTorch code fails with a clear message)."""
        return self.to("cuda")

    def half(self):
        return self.to(np.float16)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)


class Tensor(Conversions):
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python numbers and
    lists become float32, as with ``torch.Tensor`` (``tg.tensor`` infers
    int64 and bool from them, as ``torch.tensor`` does); an ndarray keeps its
    dtype (float64 stays float64, integer arrays stay integer and cannot
    require grad). Operations promote dtypes as PyTorch does
    (``result_type``). ``.data`` is the ndarray, ``.grad`` the accumulated
    gradient (an ndarray of the same shape) after ``backward()``, kept for
    leaves and for tensors that called ``retain_grad()``.

    ``._version`` counts the writes the library makes to the tensor's data
    (optimizer steps, ``load_state_dict``, ``nn.init``, ``Module.to``,
    assigning ``.data``, in-place arithmetic such as ``x += y``); views made
    by reshape, permute, expand and indexing share their base's count. backward() compares it with the
    count each op saw in forward, so a gradient is never computed from
    values that changed in between. Writes straight into the ndarray
    (``t.data[...] = v``) are not counted.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "_node", "_retains_grad", "_version_counter", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if type(data) is not np.ndarray or dtype is not None or data.dtype not in DTYPES:
            data = _to_array(data, dtype)  # converts, or raises naming the shape and dtype
        self._data = data
        self._version_counter = _UNWRITTEN
        self._grad = None
        self._requires_grad = False
        self._node = None  # the Function that produced this tensor, if recorded
        self._retains_grad = False
        if requires_grad is not False:  # anything but False goes through the setter's checks
            self.requires_grad = requires_grad

    # -- data and its version --------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The ndarray. Assigning a new one counts as a write (see ``_version``)."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        value = value if type(value) is np.ndarray and value.dtype in DTYPES else _to_array(value)
        if self._requires_grad and value.dtype.kind != "f":
            raise TypeError(f"Tensor: the data of a tensor that requires grad must be floating point, "
                            f"got dtype {value.dtype} (shape {value.shape})")
        self._data = value
        self._bump_version()

    @property
    def _version(self) -> int:
        """How many times the library has written this tensor's data (PyTorch's name)."""
        return self._version_counter[0]

    def _bump_version(self) -> None:
        """Record a write into ``.data``: a graph that saved the old values can no longer backward."""
        _writes[0] += 1
        counter = self._shared_version_counter()
        counter[0] += 1
        counter[1] = _writes[0]

    def _shared_version_counter(self) -> list:
        """This tensor's own version counter, made on first use, for a write or for a view to share."""
        if self._version_counter is _UNWRITTEN:
            self._version_counter = [0, 0]
        return self._version_counter

    # -- autograd state ----------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"Tensor: requires_grad must be a bool, got {type(value).__name__} {value!r}")
        if value and self._data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point tensors can require grad, "
                f"got dtype {self._data.dtype} (shape {self.shape})"
            )
        if not value and self._node is not None:
            raise RuntimeError(
                "Tensor: requires_grad can only be switched off on a leaf; use .detach()"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        """The gradient accumulated by backward() (an ndarray of this shape), or None.

        Kept for leaves and for tensors that called ``retain_grad()``; reading it on any
        other tensor warns, as PyTorch does, since backward() never fills it.
        """
        if self._grad is None and self._node is not None and not self._retains_grad:
            warnings.warn(
                f"Tensor.grad: this tensor (shape {self.shape}, made by {self.grad_fn}) is not a leaf, so "
                "backward() does not fill its .grad. Call .retain_grad() on it before backward() to keep "
                "its gradient, or read .grad of the leaf tensor you meant.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self) -> str | None:
        """Name of the op that produced this tensor (None for a leaf)."""
        return None if self._node is None else self._node.name

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward()."""
        if not self.requires_grad:
            raise RuntimeError(f"retain_grad: tensor of shape {self.shape} does not require grad")
        self._retains_grad = True
        return self

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf behind self.

        ``gradient`` (same shape as self) is required unless self has one
        element. ``inputs``: accumulate into these tensors' ``.grad`` only.
        The graph is freed afterwards unless ``retain_graph`` (default:
        ``create_graph``). ``create_graph=True`` records the backward pass
        itself; ``.grad`` still holds plain ndarrays, so for gradients with
        a graph use ``tg.autograd.grad(..., create_graph=True)``.
        """
        autograd.backward(self, None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """The same data (and the same version count), cut from the graph."""
        detached = Tensor(self._data)
        detached._version_counter = self._shared_version_counter()
        return detached

    # -- array facts ---------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return self._data.size

    def numpy(self) -> np.ndarray:
        return self._data

    def item(self):
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.dtype}" if self.dtype != DEFAULT_FLOAT else ""
        if self._node is not None:
            extra += f", grad_fn={self._node.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # -- arithmetic ----------------------------------------------------------------

    def _binary(self, op, other, reflected: bool = False, owner: str | None = None,
                floating: bool = False) -> Tensor:
        """``op`` applied to self and other in their promoted dtype (``result_type``), or to
        other and self if ``reflected``; in the default float if ``floating`` and that dtype is not."""
        dtype = self._data.dtype
        if isinstance(other, Tensor) and other._data.dtype == dtype and (dtype.kind == "f" or not floating):
            a, b = self, other  # the common case: no promotion to work out
        elif type(other) in (int, float) and dtype.kind == "f":
            a, b = self, Tensor(np.asarray(other, dtype))  # a number never changes a float tensor's dtype
        else:
            a, b = _promoted(owner or op.name, self, other)
            if floating and a.dtype.kind != "f":
                a, b = _float_operand(a), _float_operand(b)
        return op.apply(b, a) if reflected else op.apply(a, b)

    def _refuse_bool_subtraction(self, other) -> None:
        if self.dtype == bool or isinstance(other, (bool, np.bool_)) or (
                isinstance(other, Tensor) and other.dtype == bool):
            raise TypeError(f"sub: subtraction with a bool operand (shapes {self.shape} and "
                            f"{getattr(other, 'shape', type(other).__name__)}) is not supported, as in "
                            "PyTorch; to invert a mask use ~mask, or convert it first with .long() or .float()")

    def __add__(self, other):
        return self._binary(ops.Add, other)

    def __radd__(self, other):
        return self._binary(ops.Add, other, reflected=True)

    def __sub__(self, other):
        self._refuse_bool_subtraction(other)
        return self._binary(ops.Sub, other)

    def __rsub__(self, other):
        self._refuse_bool_subtraction(other)
        return self._binary(ops.Sub, other, reflected=True)

    def __mul__(self, other):
        return self._binary(ops.Mul, other)

    def __rmul__(self, other):
        return self._binary(ops.Mul, other, reflected=True)

    def __truediv__(self, other):
        return self._binary(ops.Div, other, floating=True)  # true division: int / int is float32

    def __rtruediv__(self, other):
        return self._binary(ops.Div, other, reflected=True, floating=True)

    def __neg__(self):
        if self.dtype == bool:
            raise TypeError(f"neg: negation of a bool tensor (shape {self.shape}) is not supported, as in "
                            "PyTorch; to invert a mask use ~mask")
        return ops.Neg.apply(self)

    def __pow__(self, exponent):
        return self.pow(exponent)

    def __rpow__(self, base):
        """``base ** self`` for a Python number ``base`` (negative and 0 included, as in PyTorch)."""
        return self._binary(ops.PowTensor, base, reflected=True, owner="pow")

    # In-place arithmetic, as PyTorch's: the tensor's own data changes (views of it see the
    # change), and a graph that saved its old values refuses to backward. Without these Python
    # would quietly rebind ``w -= lr * g`` to a new tensor and leave the parameter as it was.

    def _in_place(self, operator, other, symbol: str) -> Tensor:
        """``self = operator(self, other)``, written into self's own array."""
        other_needs_grad = isinstance(other, Tensor) and other._requires_grad
        if autograd.is_grad_enabled() and (self._requires_grad or other_needs_grad):
            if self._node is None and self._requires_grad:
                raise RuntimeError(
                    f"Tensor {symbol}: a leaf tensor that requires grad (shape {self.shape}, such as a "
                    f"Parameter) cannot be changed in place while the tape records. To update weights, "
                    f"write `with tg.no_grad(): w {symbol} lr * w.grad`, or `w.data {symbol} lr * w.grad`")
            raise RuntimeError(
                f"Tensor {symbol}: in-place arithmetic that the tape would record (shape {self.shape}) "
                f"is not supported; write `x = x {symbol[0]} y`, which records a new tensor")
        result = operator(self, other)
        if result.dtype != self.dtype and not np.can_cast(result.dtype, self.dtype):
            raise TypeError(f"Tensor {symbol}: the result's dtype {result.dtype} cannot be stored in place "
                            f"in this tensor's dtype {self.dtype} (shape {self.shape})")
        if result.shape != self.shape:
            raise ValueError(f"Tensor {symbol}: the result's shape {result.shape} (broadcast with "
                             f"{other.shape if isinstance(other, Tensor) else 'a number'}) does not fit "
                             f"in place in shape {self.shape}")
        self._data[...] = result._data
        self._bump_version()
        return self

    def __iadd__(self, other):
        return self._in_place(Tensor.__add__, other, "+=")

    def __isub__(self, other):
        return self._in_place(Tensor.__sub__, other, "-=")

    def __imul__(self, other):
        return self._in_place(Tensor.__mul__, other, "*=")

    def __itruediv__(self, other):
        return self._in_place(Tensor.__truediv__, other, "/=")

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return Tensor(other).matmul(self)

    # Comparisons give bool tensors and record nothing: they have no gradient.
    __lt__, __le__ = _comparison(np.less), _comparison(np.less_equal)
    __gt__, __ge__ = _comparison(np.greater), _comparison(np.greater_equal)
    __eq__, __ne__ = _comparison(np.equal), _comparison(np.not_equal)

    def pow(self, exponent) -> Tensor:
        """``self ** exponent``, for a number or a tensor exponent (broadcast).

        The dtype is PyTorch's: an int tensor to an int power stays int, to a float power is float32.
        """
        if isinstance(exponent, Tensor):
            return self._binary(ops.PowTensor, exponent, owner="pow")
        if isinstance(exponent, (bool, np.bool_)) or not isinstance(exponent, (int, float, np.number)):
            raise TypeError(f"pow: the exponent must be a number or a Tensor, got {type(exponent).__name__}")
        base = self if self.dtype.kind == "f" else _as_operand(self, result_type(self, exponent), "pow")
        exponent = exponent.item() if isinstance(exponent, np.number) else exponent
        return ops.Pow.apply(base, exponent=exponent if base.dtype.kind != "f" else float(exponent))

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(_float_operand(self))

    def matmul(self, other) -> Tensor:
        """Matrix product with numpy's rules: batched, broadcast, 1-D operands; dtypes promoted as
        for ``*`` (PyTorch would refuse two dtypes)."""
        if not isinstance(other, Tensor):
            other = Tensor(other)
        if self.ndim and other.ndim and self.shape[-1] != other.shape[-min(other.ndim, 2)]:
            # checked here so the message names the shapes given, not the reshaped 1-D ones
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} do not fit: "
                             "need (..., n, k) @ (..., k, m), where either side may be a (k,) vector")
        a, b = (self, other) if self.dtype == other.dtype else _promoted("matmul", self, other)
        a = a.reshape(1, -1) if a.ndim == 1 else a
        b = b.reshape(-1, 1) if b.ndim == 1 else b
        out = ops.Matmul.apply(a, b)
        if self.ndim == 1:
            out = out.squeeze(-2)
        if other.ndim == 1:
            out = out.squeeze(-1)
        return out

    # a bool or integer tensor becomes float32 first, as in PyTorch (numpy would give float64)

    def exp(self):
        return ops.Exp.apply(_float_operand(self))

    def log(self):
        return ops.Log.apply(_float_operand(self))

    def tanh(self):
        return ops.Tanh.apply(_float_operand(self))

    def sigmoid(self):
        return ops.Sigmoid.apply(_float_operand(self))

    def relu(self):
        return ops.Relu.apply(self)

    def clamp(self, min=None, max=None) -> Tensor:
        """Each element limited to [min, max] (either may be None, or infinite); NaN stays NaN.

        A NaN bound is an error: it would make every element NaN.
        """
        bounds = {name: bound for name, bound in (("min", min), ("max", max)) if bound is not None}
        for name, bound in bounds.items():
            if math.isnan(arguments.real("clamp", name, bound)):
                raise ValueError(f"clamp: {name} is NaN; give a number, or None for no bound")
        x = _as_operand(self, result_type(self, *bounds.values()), "clamp")  # int clamped by 1.5: float32
        return ops.Clamp.apply(x, low=min, high=max)

    clip = clamp

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` (a bool tensor or array) holds, else ``other``; all broadcast."""
        return _where(condition, self, other)

    # -- dtype conversions: each a Cast, so a float result passes the gradient back ----------

    def to(self, dtype) -> Tensor:
        """This tensor in another dtype (one of ``DTYPES``; itself if it has that dtype already).

        The gradient flows back in this tensor's dtype. ``to("cpu")`` is the tensor itself: this
        library runs on the CPU only.
        """
        if on_cpu("to", dtype):
            return self
        if isinstance(dtype, Tensor):  # x.to(other): other's dtype
            dtype = dtype.dtype
        dtype = supported_dtype("to", dtype)
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype)

    def type(self, dtype) -> Tensor:
        """``to(dtype)``, under PyTorch's other name for it."""
        return self.to(dtype)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    # -- reductions ----------------------------------------------------------------

    def sum(self, dim=None, keepdim: bool = False) -> Tensor:
        """Sum over ``dim`` (an int, a tuple, or None or ``()`` for every dim); bool and integer
        tensors sum to int64, as in PyTorch."""
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False) -> Tensor:
        """Mean over ``dim`` (as ``sum``); NaN over an empty dim. Floating-point tensors only, as in
        PyTorch: write ``x.float().mean()`` for a bool or integer one."""
        if self.dtype.kind != "f":
            raise TypeError(f"mean: input dtype must be floating point, got {self.dtype} (shape {self.shape}); "
                            "convert it first, e.g. x.float().mean()")
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim``; tied maxima share the gradient equally."""
        return ops.Max.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=None, keepdim: bool = False) -> Tensor:
        """Smallest values over ``dim``; tied minima share the gradient equally."""
        return ops.Min.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False):
        """``max()`` is the largest element; ``max(dim)`` is (values, indices) as in PyTorch,
        and the gradient of the values goes to the elements the indices name (the first of
        tied maxima), as PyTorch's does."""
        if dim is None:
            return self.amax()
        return self._pick(self.argmax(dim, keepdim=True), dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False):
        """``min()`` is the smallest element; ``min(dim)`` is (values, indices), as ``max``."""
        if dim is None:
            return self.amin()
        return self._pick(self.argmin(dim, keepdim=True), dim, keepdim)

    def _pick(self, indices: Tensor, dim: int, keepdim: bool) -> MaxResult:
        """(values, indices): the elements ``indices`` (kept dim) name along ``dim``, as a selection,
        so that their gradient goes to those elements only."""
        if self.ndim == 0:
            return MaxResult(self, indices)
        values = self.gather(dim, indices)
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return MaxResult(values, indices)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        dim = None if dim is None else ops.normalize_dim("argmax", dim, self.ndim)
        return Tensor(np.argmax(self._data, axis=dim, keepdims=keepdim))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        dim = None if dim is None else ops.normalize_dim("argmin", dim, self.ndim)
        return Tensor(np.argmin(self._data, axis=dim, keepdims=keepdim))

    def logsumexp(self, dim, keepdim: bool = False) -> Tensor:
        return ops.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def softmax(self, dim: int) -> Tensor:
        return ops.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int) -> Tensor:
        return ops.LogSoftmax.apply(self, dim=dim)

    # -- movement ------------------------------------------------------------------

    def reshape(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape == self.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (ops.normalize_dim("flatten", d, self.ndim) for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})"
            )
        shape = self.shape
        return self.reshape(shape[:start] + (-1,) + shape[end + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        dim = ops.normalize_dim("unsqueeze", dim, self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None) -> Tensor:
        """Without the dims of size 1 among ``dim`` (an int or a tuple of ints; every dim if None).

        A named dim whose size is not 1 stays, as in PyTorch.
        """
        if dim is None:
            dims = range(self.ndim)
        else:  # not normalize_dims: there () means every dim, here none
            dims = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = {ops.normalize_dim("squeeze", d, self.ndim) for d in dims}
            if len(dims) != len(dim if isinstance(dim, (tuple, list)) else (dim,)):
                raise ValueError(f"squeeze: dim {dim} repeats a dim (shape {self.shape})")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def permute(self, *dims) -> Tensor:
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return ops.Permute.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        dims = list(range(self.ndim))
        dim0 = ops.normalize_dim("transpose", dim0, self.ndim)
        dim1 = ops.normalize_dim("transpose", dim1, self.ndim)
        if self.ndim == 0:  # as PyTorch: dims 0 and -1 of a 0-d tensor name the tensor itself
            return self
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(dims)

    @property
    def T(self) -> Tensor:
        return self.permute(tuple(reversed(range(self.ndim))))

    def expand(self, *shape) -> Tensor:
        """Broadcast to ``shape`` (-1 keeps a dim), without copying."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        lead = len(shape) - self.ndim
        shape = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        return ops.Expand.apply(self, shape=shape)

    def __getitem__(self, index) -> Tensor:
        """Indexing as PyTorch's: integers select first, then integer arrays and masks pick.

        numpy differs when integers and arrays are separated by a slice: ``x[0, :, idx]`` of a
        (2, 5, 6) tensor is (5, 3) here and in PyTorch, (3, 5) in numpy.
        """
        selection, picking = ops.split_index(_plain_index(index))
        out = ops.GetItem.apply(self, index=selection)
        return out if picking is None else ops.GetItem.apply(out, index=picking)

    def _require_dims(self, op: str) -> None:
        if self.ndim == 0:
            raise ValueError(f"{op}: expects a tensor of at least 1 dimension, got a 0-d tensor")

    def split(self, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along ``dim``: of equal size (the last may be smaller), or of the sizes listed.

        Each piece is a slice, so its gradient is the getitem primitive's.
        """
        self._require_dims("split")
        dim = ops.normalize_dim("split", dim, self.ndim)
        length = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
            sizes = [min(split_size_or_sections, length - start)
                     for start in range(0, length, split_size_or_sections)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != length or any(s < 0 for s in sizes):
                raise ValueError(
                    f"split: sections {sizes} do not add up to {length}, "
                    f"the size of dim {dim} of shape {self.shape}"
                )
        starts = np.cumsum([0] + sizes[:-1])
        lead = (slice(None),) * dim
        return tuple(self[lead + (slice(int(s), int(s) + n),)] for s, n in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if arguments.integer("chunk", "chunks", chunks) <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        self._require_dims("chunk")
        length = self.shape[ops.normalize_dim("chunk", dim, self.ndim)]
        return self.split(max(1, -(-length // chunks)), dim)

    # -- ops for sequence models (issue 15): masks, indexing, statistics -----------------

    def masked_fill(self, mask, value) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast to self's shape) is True, self elsewhere.

        ``value``: a number or a 0-d tensor (whose gradient is the sum over the filled places).
        """
        mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if mask.dtype != bool:
            raise TypeError(f"masked_fill: mask must be bool, got dtype {mask.dtype} (shape {mask.shape})")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        try:
            fits = np.broadcast_shapes(mask.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        value = _as_operand(value, self.dtype, "masked_fill")  # the tensor's dtype, as torch's
        return ops.Where.apply(value, self, condition=mask)

    def index_select(self, dim: int, index) -> Tensor:
        """The entries at the 1-D integer ``index`` along ``dim`` (repeats allowed; their gradients add)."""
        picks = _int_array("index_select", "index", index)
        dim = ops.normalize_dim("index_select", dim, self.ndim)
        if self.ndim == 0:  # as torch: a 0-d tensor is its own one entry
            return self.reshape(1).index_select(0, picks).reshape(())
        side = self.shape[dim]
        if picks.ndim > 1 or (picks.size and (picks.min() < 0 or picks.max() >= side)):
            raise IndexError(f"index_select: index {picks.tolist()} must be 1-D, each entry in [0, {side}) "
                             f"for dim {dim} of shape {self.shape}")
        return self[(slice(None),) * dim + (picks.reshape(-1),)]

    def repeat_interleave(self, repeats, dim: int | None = None) -> Tensor:
        """Each entry repeated ``repeats`` times along ``dim`` (the flattened tensor when None).

        ``repeats``: an int, or one int per entry along ``dim``.
        """
        if dim is None:
            return self.flatten().repeat_interleave(repeats, 0)
        dim = ops.normalize_dim("repeat_interleave", dim, self.ndim)
        if self.ndim == 0:
            return self.reshape(1).repeat_interleave(repeats, 0)
        if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, bool):
            count = arguments.integer("repeat_interleave", "repeats", repeats, low=0)
            shape = self.shape
            copies = self.unsqueeze(dim + 1).expand(shape[: dim + 1] + (count,) + shape[dim + 1 :])
            return copies.reshape(shape[:dim] + (shape[dim] * count,) + shape[dim + 1 :])
        counts = _int_array("repeat_interleave", "repeats", repeats).reshape(-1)
        if counts.shape not in ((1,), (self.shape[dim],)) or (counts < 0).any():
            raise ValueError(f"repeat_interleave: repeats must be non-negative, one per entry of dim {dim} "
                             f"(size {self.shape[dim]}) or a single one, got {counts.tolist()}")
        picks = np.repeat(np.arange(self.shape[dim]), np.broadcast_to(counts, self.shape[dim]))
        return self.index_select(dim, picks)

    def gather(self, dim: int, index) -> Tensor:
        """Entries picked along ``dim``: ``out[i, j] = self[index[i, j], j]`` for dim 0, and so on.

        ``index``: integers in [0, size of dim), with self's number of dims, no larger
        than self in the other dims; the result has its shape. An entry picked twice
        gets both gradients.
        """
        dim, index = self._checked_index("gather", dim, index)
        return self[_along(dim, index)]

    def scatter_add(self, dim: int, index, src: Tensor) -> Tensor:
        """A copy of self with ``src[i, j]`` added at ``[index[i, j], j]`` (for dim 0; and so on).

        ``index`` as in ``gather``; ``src`` at least as large as ``index`` in every dim
        (its first entries are used). Entries that several indices point to add up.
        """
        dim, index = self._checked_index("scatter_add", dim, index)
        values = self._scatter_source("scatter_add", index, src)
        return self + ops.IndexPut.apply(values, shape=self.shape, index=_along(dim, index), unique=False)

    def scatter(self, dim: int, index, src=None, *, value=None) -> Tensor:
        """A copy of self with ``[index[i, j], j]`` set to ``src[i, j]`` (dim 0; and so on), or to ``value``.

        Where several indices point to one entry, the last written wins (PyTorch leaves
        it undefined); each entry's gradient reaches every ``src`` entry aimed at it, as torch's.
        """
        if (src is None) == (value is None):
            raise TypeError("scatter: give src (a tensor) or value (a number), not both")
        dim, index = self._checked_index("scatter", dim, index)
        if src is None:
            src = Tensor(np.full(index.shape, arguments.real("scatter", "value", value), self.dtype))
        values = self._scatter_source("scatter", index, src)
        written = np.zeros(self.shape, bool)
        written[_along(dim, index)] = True
        # IndexPut with unique=True does target[index] += values on zeros: numpy's buffered
        # += assigns each repeated target in order, so the last write wins
        placed = ops.IndexPut.apply(values, shape=self.shape, index=_along(dim, index), unique=True)
        return ops.Where.apply(placed, self, condition=written)

    def _checked_index(self, op: str, dim: int, index) -> tuple[int, np.ndarray]:
        """``dim`` as an axis and ``index`` as an int64 array that fits self, as gather and scatter need."""
        index = _int_array(op, "index", index)
        if self.ndim == 0 or index.ndim != self.ndim:
            raise ValueError(f"{op}: index of shape {index.shape} must have as many dims as the tensor of "
                             f"shape {self.shape} (at least 1)")
        dim = ops.normalize_dim(op, dim, self.ndim)
        if any(n > side for d, (n, side) in enumerate(zip(index.shape, self.shape)) if d != dim):
            raise ValueError(f"{op}: index of shape {index.shape} is larger than the tensor of shape "
                             f"{self.shape} outside dim {dim}")
        if index.size and (index.min() < 0 or index.max() >= self.shape[dim]):
            bad = index.min() if index.min() < 0 else index.max()
            raise IndexError(f"{op}: index {bad} is out of range for dim {dim} of shape {self.shape} "
                             f"(expected 0 to {self.shape[dim] - 1})")
        return dim, index

    def _scatter_source(self, op: str, index: np.ndarray, src) -> Tensor:
        """The first ``index.shape`` entries of ``src``, which must have self's dtype."""
        arguments.instance(op, "src", src, Tensor)
        if src.ndim != index.ndim or any(n > side for n, side in zip(index.shape, src.shape)):
            raise ValueError(f"{op}: src of shape {src.shape} must have the dims of index {index.shape}, "
                             "each at least as large")
        if src.dtype != self.dtype:
            raise TypeError(f"{op}: src has dtype {src.dtype} but the tensor has dtype {self.dtype}")
        return src[tuple(slice(0, n) for n in index.shape)]

    def flip(self, *dims) -> Tensor:
        """The order of entries reversed along each of ``dims``."""
        axes = ops.normalize_dims("flip", dims[0] if len(dims) == 1 else dims, self.ndim)
        return self[tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(self.ndim))]

    def roll(self, shifts, dims=None) -> Tensor:
        """Entries shifted by ``shifts`` along ``dims``, those pushed off one end coming back at the other.

        ``shifts`` and ``dims``: ints, or tuples of one length; without ``dims`` the
        flattened tensor is rolled and given back its shape.
        """
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        out = self
        for shift, dim in zip(shifts, dims):
            dim = ops.normalize_dim("roll", dim, self.ndim)
            side = self.shape[dim] if self.ndim else 1
            if side == 0 or arguments.integer("roll", "shifts", shift) % side == 0:
                continue
            cut = side - shift % side  # the entries from cut on come first
            lead = (slice(None),) * dim
            out = ops.Cat.apply(out[lead + (slice(cut, None),)], out[lead + (slice(0, cut),)], dim=dim)
        return out

    def cumsum(self, dim: int) -> Tensor:
        """Running sums along ``dim``; integers and bools sum in int64, as in torch."""
        return ops.Cumsum.apply(self, dim=dim)

    def repeat(self, *sizes) -> Tensor:
        """Self tiled ``sizes[d]`` times along each dim d; more sizes than dims adds leading dims.

        (1, 2) repeated (2, 3) is (2, 6): the whole tensor, copied as blocks; see
        repeat_interleave for copies of each entry in turn.
        """
        sizes = _sizes("repeat", sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: got {len(sizes)} sizes {sizes} for a tensor of {self.ndim} dims "
                             f"(shape {self.shape}); give at least one per dim")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        # (n0, n1) -> (1, n0, 1, n1) -> broadcast to (r0, n0, r1, n1) -> (r0 * n0, r1 * n1)
        spread = self.reshape(tuple(x for n in shape for x in (1, n)))
        copies = spread.expand(tuple(x for r, n in zip(sizes, shape) for x in (r, n)))
        return copies.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tile(self, *dims) -> Tensor:
        """``repeat`` where fewer sizes than dims count from the last dim (the missing ones are 1)."""
        dims = _sizes("tile", dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
        """The variance over ``dim``: sum((x - mean)^2) / (N - correction), correction 1 by default.

        ``unbiased=False`` is ``correction=0``. Where N - correction <= 0, as in torch,
        the result is inf or NaN.
        """
        if unbiased is not None and correction is not None:
            raise ValueError("var: give unbiased or correction, not both")
        if correction is None:
            correction = 1 if unbiased is None or arguments.boolean("var", "unbiased", unbiased) else 0
        correction = arguments.real("var", "correction", correction)
        count = math.prod(self.shape[a] for a in ops.normalize_dims("var", dim, self.ndim))
        centred = self - self.mean(dim, keepdim=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # N - correction <= 0: inf or NaN, as torch's
            return (centred * centred).sum(dim, keepdim) / max(count - correction, 0)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
        """The square root of ``var`` (same arguments); the gradient is 0 where it is 0, as torch's."""
        return _root(self.var(dim, unbiased, keepdim, correction=correction), 2)

    def norm(self, p="fro", dim=None, keepdim: bool = False) -> Tensor:
        """The p-norm over ``dim``: (sum |x|^p)^(1/p); ``"fro"`` is 2, ``inf`` the max of |x|, ``-inf`` the min.

        The gradient is 0 where the norm is 0, as torch's.
        """
        if p == "fro":
            p = 2
        if isinstance(p, str) or not (arguments.real("norm", "p", p) > 0 or p == -math.inf):
            raise ValueError(f"norm: p must be a positive number, inf, -inf or 'fro', got {p!r}")
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        if p == -math.inf:
            return self.abs().amin(dim, keepdim)
        if p == 1:
            return self.abs().sum(dim, keepdim)
        return _root(self.abs().pow(p).sum(dim, keepdim), p)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> SortResult:
        """(values, indices) sorted along ``dim``; NaN counts as the largest, as in torch.

        Ties keep their order (the sort is always stable); indices are int64, and the
        values pass their gradients back to the entries they came from.
        """
        order = Tensor(self._sort_order("sort", dim, descending, stable))
        return SortResult(self.gather(dim, order) if self.ndim else self, order)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The int64 indices that sort self along ``dim`` (see ``sort``)."""
        return Tensor(self._sort_order("argsort", dim, descending, stable))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> SortResult:
        """The ``k`` largest (or smallest) entries along ``dim``, in order, and their int64 indices.

        Tied entries come in the order they stand in self.
        """
        side = self.shape[ops.normalize_dim("topk", dim, self.ndim)] if self.ndim else 1
        if not 0 <= arguments.integer("topk", "k", k) <= side:
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of shape {self.shape} (0 to {side})")
        arguments.boolean("topk", "sorted", sorted)  # the result is always sorted, which torch allows
        order = self._sort_order("topk", dim, arguments.boolean("topk", "largest", largest), stable=True)
        if self.ndim:
            order = np.take(order, np.arange(k), axis=dim)
        return SortResult(self.gather(dim, order) if self.ndim else self, Tensor(order))

    def _sort_order(self, op: str, dim: int, descending: bool, stable: bool) -> np.ndarray:
        """The int64 positions that sort self along ``dim``, stably: ties keep their order."""
        arguments.boolean(op, "stable", stable)
        arguments.boolean(op, "descending", descending)
        dim = ops.normalize_dim(op, dim, self.ndim)
        if self.ndim == 0:
            return np.zeros((), np.int64)
        if not descending:
            return np.argsort(self._data, axis=dim, kind="stable").astype(np.int64)
        # descending and stable: sort the reversed entries ascending, reverse, and map positions
        # back; ties then keep their order, and NaN (last ascending) comes first
        reversed_order = np.argsort(np.flip(self._data, dim), axis=dim, kind="stable")
        return (self.shape[dim] - 1 - np.flip(reversed_order, dim)).astype(np.int64)

    def __invert__(self) -> Tensor:
        """``~mask``: logical not of a bool tensor (bitwise not of an integer one), as torch's."""
        self._require_bits("invert", self._data)
        return Tensor(~self._data)

    def __and__(self, other) -> Tensor:
        return self._bitwise("and", np.bitwise_and, other)

    def __or__(self, other) -> Tensor:
        return self._bitwise("or", np.bitwise_or, other)

    def __xor__(self, other) -> Tensor:
        return self._bitwise("xor", np.bitwise_xor, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def _bitwise(self, op: str, ufunc, other) -> Tensor:
        """``mask & other`` and the like, for bool (logical) and integer (bitwise) tensors; no gradient."""
        other = other.data if isinstance(other, Tensor) else np.asarray(other)
        for data in (self._data, other):
            self._require_bits(op, data)
        return Tensor(ufunc(self._data, other))

    @staticmethod
    def _require_bits(op: str, data: np.ndarray) -> None:
        if data.dtype.kind not in "biu":
            raise TypeError(f"{op}: needs bool or integer tensors, got dtype {data.dtype} (shape {data.shape})")

    def isnan(self) -> Tensor:
        return Tensor(np.isnan(self._data))

    def isinf(self) -> Tensor:
        return Tensor(np.isinf(self._data))

    def isfinite(self) -> Tensor:
        return Tensor(np.isfinite(self._data))

    def any(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether any entry over ``dim`` is nonzero (True): a bool tensor."""
        return Tensor(np.any(self._data, axis=ops.normalize_dims("any", dim, self.ndim), keepdims=keepdim))

    def all(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether every entry over ``dim`` is nonzero (True): a bool tensor."""
        return Tensor(np.all(self._data, axis=ops.normalize_dims("all", dim, self.ndim), keepdims=keepdim))

    # -- elementwise math, copies and views under torch's names ------------------------------

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    __abs__ = abs

    def sign(self) -> Tensor:
        """-1, 0 or 1 (0 for NaN), with a zero gradient."""
        return ops.Sign.apply(self)

    def square(self) -> Tensor:
        return self * self

    def rsqrt(self) -> Tensor:
        """1 / sqrt(self)."""
        return ops.Rsqrt.apply(_float_operand(self))

    def sin(self) -> Tensor:
        return ops.Sin.apply(_float_operand(self))

    def cos(self) -> Tensor:
        return ops.Cos.apply(_float_operand(self))

    def erf(self) -> Tensor:
        return ops.Erf.apply(_float_operand(self))

    def maximum(self, other) -> Tensor:
        """The larger of self and ``other`` elementwise (broadcast); ties share the gradient, NaN wins."""
        return self._binary(ops.Maximum, other)

    def minimum(self, other) -> Tensor:
        """The smaller of self and ``other`` elementwise (broadcast); ties share the gradient, NaN wins.

        For floats -maximum(-self, -other), exactly. Integers and bools carry no gradient, and
        negating them would overflow (int8's -128, any uint) or mean nothing (bool): numpy's
        minimum there.
        """
        a, b = _promoted("minimum", self, other)
        if a.dtype.kind != "f":
            return Tensor(np.minimum(a.data, b.data))
        return -ops.Maximum.apply(-a, -b)

    def add(self, other, *, alpha=1) -> Tensor:
        """``self + alpha * other``."""
        return self + (other if alpha == 1 else _promoted("add", self, other)[1] * alpha)

    def sub(self, other, *, alpha=1) -> Tensor:
        """``self - alpha * other``."""
        return self - (other if alpha == 1 else _promoted("sub", self, other)[1] * alpha)

    def mul(self, other) -> Tensor:
        return self * other

    def div(self, other) -> Tensor:
        return self / other

    def neg(self) -> Tensor:
        return -self

    def clone(self) -> Tensor:
        """A copy in memory of its own; the gradient passes through."""
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        """Self if its data is C-contiguous, else a contiguous copy (``clone``)."""
        return self if self._data.flags.c_contiguous else self.clone()

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (j <= i + diagonal) kept, zeros above."""
        return self._keep_triangle("tril", np.tril, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (j >= i + diagonal) kept, zeros below."""
        return self._keep_triangle("triu", np.triu, diagonal)

    def _keep_triangle(self, op: str, triangle, diagonal: int) -> Tensor:
        if self.ndim < 2:
            raise ValueError(f"{op}: expects a tensor of at least 2 dims, got shape {self.shape}")
        keep = triangle(np.ones(self.shape[-2:], bool), arguments.integer(op, "diagonal", diagonal))
        zero = Tensor(np.zeros((), self.dtype))
        return ops.Where.apply(self, zero, condition=keep)  # a mask, not a product: inf * 0 is NaN

    def t(self) -> Tensor:
        """The transpose of a matrix; a 0-d or 1-D tensor as it is."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {self.shape}; use transpose")
        return self.T

    def mm(self, other) -> Tensor:
        """The product of two matrices (both 2-D); see matmul for batches and vectors."""
        if self.ndim != 2 or not isinstance(other, Tensor) or other.ndim != 2:
            raise ValueError(f"mm: expects two matrices, got shapes {self.shape} and "
                             f"{getattr(other, 'shape', type(other).__name__)}")
        return self.matmul(other)

    def bmm(self, other) -> Tensor:
        """Batches of matrix products: ``(B, n, k) @ (B, k, m) -> (B, n, m)``, no broadcasting."""
        if (self.ndim != 3 or not isinstance(other, Tensor) or other.ndim != 3 or other.shape[0] != self.shape[0]
                or other.shape[1] != self.shape[2]):
            raise ValueError(f"bmm: expects (B, n, k) and (B, k, m), got shapes {self.shape} and "
                             f"{getattr(other, 'shape', type(other).__name__)}")
        return self.matmul(other)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    def movedim(self, source, destination) -> Tensor:
        """Dims ``source`` (an int or a tuple) moved to positions ``destination``; the rest keep their order."""
        source = source if isinstance(source, (tuple, list)) else (source,)
        destination = destination if isinstance(destination, (tuple, list)) else (destination,)
        source = [ops.normalize_dim("movedim", d, self.ndim) for d in source]
        destination = [ops.normalize_dim("movedim", d, self.ndim) for d in destination]
        if len(source) != len(destination) or len(set(source)) < len(source) or len(set(destination)) < len(source):
            raise ValueError(f"movedim: source {source} and destination {destination} must be dims of shape "
                             f"{self.shape}, as many of each, none repeated")
        if self.ndim == 0:
            return self
        order = [d for d in range(self.ndim) if d not in source]
        for dest, src in sorted(zip(destination, source)):  # filling the lowest positions first
            order.insert(dest, src)
        return self.permute(order)

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes) -> Tensor:
        """Dim ``dim`` split into dims of ``sizes`` (one of them may be -1)."""
        self._require_dims("unflatten")
        dim = ops.normalize_dim("unflatten", dim, self.ndim)
        sizes = _sizes("unflatten", (sizes,), allow_minus_one=True)
        known = math.prod(n for n in sizes if n != -1)
        side = self.shape[dim]
        fits = side == known if -1 not in sizes else sizes.count(-1) == 1 and known and side % known == 0
        if not sizes or not fits:
            raise ValueError(f"unflatten: sizes {sizes} do not make the {side} entries of dim {dim} "
                             f"(shape {self.shape})")
        return self.reshape(self.shape[:dim] + sizes + self.shape[dim + 1 :])


def _int_array(op: str, name: str, values) -> np.ndarray:
    """An integer index argument (a Tensor, an ndarray, a list or an int) as an int64 ndarray."""
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.size == 0 and array.dtype.kind == "f":  # np.asarray([]) is float64
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integers, got dtype {array.dtype} (shape {array.shape})")
    return array.astype(np.int64, copy=False)


def _plain_index(index):
    """An index for ndarray.__getitem__: tensors inside it become their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _along(dim: int, index: np.ndarray) -> tuple:
    """The numpy index that picks ``index[i, j, ...]`` along ``dim`` at position (i, j, ...)."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _sizes(op: str, sizes: tuple, allow_minus_one: bool = False) -> tuple:
    """Sizes given as ints or as one tuple or list, each an int >= 0 (or -1 where allowed)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
    for n in sizes:
        if not (allow_minus_one and n == -1):
            arguments.integer(op, "sizes", n, low=0)
    return tuple(int(n) for n in sizes)


def _root(total: Tensor, p: float) -> Tensor:
    """``total ** (1/p)`` for a sum of non-negative terms, with gradient 0 where it is 0, as torch's
    norms and std: a root has an infinite slope at 0, and 0 * inf would be NaN."""
    zero = total.data == 0
    if not zero.any():
        return total.pow(1 / p)
    return total.masked_fill(zero, 1).pow(1 / p).masked_fill(zero, 0)


from . import arguments, autograd, ops  # noqa: E402  (they build on Tensor)
