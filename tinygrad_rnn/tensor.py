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


class Tensor:
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

    def __invert__(self):
        """Bitwise not: ``~mask`` flips a bool tensor, as in PyTorch. No gradient."""
        if self.dtype.kind not in "biu":
            raise TypeError(f"invert: ~ needs a bool or integer tensor, got dtype {self.dtype} (shape {self.shape})")
        return Tensor(~self._data)

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

    def _compare(self, other, compare) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(compare(self._data, other))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

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
        return ops.Pow.apply(_float_operand(self), exponent=0.5)

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

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None) -> Tensor:
        """A ValueError: there is no GPU here (kept so that PyTorch code fails with a clear message)."""
        return self.to("cuda")

    def half(self) -> Tensor:
        return self.to(np.float16)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

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
        dim = ops.normalize_dim("max", dim, self.ndim)
        grid = list(np.ogrid[tuple(slice(n) for n in indices.shape)])
        grid[dim] = indices.data
        values = self[tuple(grid)]
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
        selection, picking = ops.split_index(ops.plain_index(index))
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


from . import arguments, autograd, ops  # noqa: E402  (they build on Tensor)
