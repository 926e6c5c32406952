"""Tensor: an ndarray that remembers how it was made.

The arithmetic lives in ops/ (one Function per primitive); this class only
holds the data, the gradient and the node that produced it, and turns Python
operators and methods into calls of those primitives.
"""

from __future__ import annotations

import math
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


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python numbers and
    lists become float32; an ndarray keeps its dtype (float64 stays float64,
    integer arrays stay integer and cannot require grad). ``.data`` is the
    ndarray, ``.grad`` the accumulated gradient (an ndarray of the same shape)
    after ``backward()``, kept for leaves and for tensors that called
    ``retain_grad()``.

    ``._version`` counts the writes the library makes to the tensor's data
    (optimizer steps, ``load_state_dict``, ``nn.init``, ``Module.to``,
    assigning ``.data``); views made by reshape, permute, expand and
    indexing share their base's count. backward() compares it with the
    count each op saw in forward, so a gradient is never computed from
    values that changed in between. Writes straight into the ndarray
    (``t.data[...] = v``) are not counted.
    """

    __slots__ = ("_data", "grad", "_requires_grad", "_node", "_retains_grad", "_version_counter", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if type(data) is not np.ndarray or dtype is not None or data.dtype not in DTYPES:
            data = _to_array(data, dtype)  # converts, or raises naming the shape and dtype
        self._data = data
        self._version_counter = _UNWRITTEN
        self.grad = None
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

    def _lift(self, other) -> Tensor:
        """A Python number takes this tensor's dtype, so float32 stays float32."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float, np.number)):
            other = other.item() if isinstance(other, np.number) else other
            try:
                return Tensor(np.asarray(other, dtype=np.result_type(self._data, other)))
            except OverflowError:  # numpy 2 refuses -1 for uint8, 300 for int8, ...
                raise ValueError(f"Tensor: the number {other!r} does not fit the tensor's dtype {self.dtype} "
                                 f"(shape {self.shape})") from None
        return Tensor(other)

    def __add__(self, other):
        return ops.Add.apply(self, self._lift(other))

    def __radd__(self, other):
        return ops.Add.apply(self._lift(other), self)

    def __sub__(self, other):
        return ops.Sub.apply(self, self._lift(other))

    def __rsub__(self, other):
        return ops.Sub.apply(self._lift(other), self)

    def __mul__(self, other):
        return ops.Mul.apply(self, self._lift(other))

    def __rmul__(self, other):
        return ops.Mul.apply(self._lift(other), self)

    def __truediv__(self, other):
        return ops.Div.apply(self, self._lift(other))

    def __rtruediv__(self, other):
        return ops.Div.apply(self._lift(other), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pow__(self, exponent):
        return self.pow(exponent)

    def __rpow__(self, base):
        if not isinstance(base, (int, float)) or base <= 0:
            raise TypeError(f"pow: a tensor exponent needs a positive number base, got {base!r}")
        return (self * math.log(base)).exp()

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._lift(other).matmul(self)

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
        if isinstance(exponent, Tensor) or not isinstance(exponent, (int, float, np.number)):
            raise TypeError(
                f"pow: the exponent must be a Python number, got {type(exponent).__name__}"
            )
        return ops.Pow.apply(self, exponent=float(exponent))

    def sqrt(self) -> Tensor:
        return ops.Pow.apply(self, exponent=0.5)

    def matmul(self, other) -> Tensor:
        """Matrix product with numpy's rules: batched, broadcast, 1-D operands."""
        other = self._lift(other)
        if self.ndim and other.ndim and self.shape[-1] != other.shape[-min(other.ndim, 2)]:
            # checked here so the message names the shapes given, not the reshaped 1-D ones
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} do not fit: "
                             "need (..., n, k) @ (..., k, m), where either side may be a (k,) vector")
        a = self.reshape(1, -1) if self.ndim == 1 else self
        b = other.reshape(-1, 1) if other.ndim == 1 else other
        out = ops.Matmul.apply(a, b)
        if self.ndim == 1:
            out = out.squeeze(-2)
        if other.ndim == 1:
            out = out.squeeze(-1)
        return out

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def clamp(self, min=None, max=None) -> Tensor:
        """Each element limited to [min, max] (either may be None, or infinite); NaN stays NaN.

        A NaN bound is an error: it would make every element NaN.
        """
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and math.isnan(arguments.real("clamp", name, bound)):
                raise ValueError(f"clamp: {name} is NaN; give a number, or None for no bound")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def where(self, condition, other) -> Tensor:
        """``self`` where ``condition`` (a bool tensor or array) holds, else ``other``; all broadcast."""
        condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
        if condition.dtype != bool:
            raise TypeError(f"where: condition must be bool, got dtype {condition.dtype} (shape {condition.shape})")
        return ops.Where.apply(self, self._lift(other), condition=condition)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def to(self, dtype) -> Tensor:
        """A copy of another dtype (one of ``DTYPES``); the gradient flows back in this tensor's dtype."""
        dtype = supported_dtype("to", dtype)
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype)

    # -- reductions ----------------------------------------------------------------

    def sum(self, dim=None, keepdim: bool = False) -> Tensor:
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False) -> Tensor:
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim``; tied maxima share the gradient equally."""
        return ops.Max.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=None, keepdim: bool = False) -> Tensor:
        return -(-self).amax(dim, keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False):
        """``max()`` is the largest element; ``max(dim)`` is (values, indices) as in PyTorch."""
        if dim is None:
            return self.amax()
        return MaxResult(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim: int | None = None, keepdim: bool = False):
        if dim is None:
            return self.amin()
        return MaxResult(self.amin(dim, keepdim), self.argmin(dim, keepdim))

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

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = ops.normalize_dim("squeeze", dim, self.ndim)
        if self.ndim == 0 or self.shape[dim] != 1:  # as PyTorch: a 0-d tensor squeezes to itself
            return self
        return self.reshape(self.shape[:dim] + self.shape[dim + 1 :])

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
        return ops.GetItem.apply(self, index=ops.plain_index(index))

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
        value = value.to(self.dtype) if isinstance(value, Tensor) else self._lift(value)
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
        return self.index_select(dim, np.repeat(np.arange(self.shape[dim]), np.broadcast_to(counts, self.shape[dim])))


def _int_array(op: str, name: str, values) -> np.ndarray:
    """An integer index argument (a Tensor, an ndarray, a list or an int) as an int64 ndarray."""
    array = np.asarray(values.data if isinstance(values, Tensor) else values)
    if array.size == 0 and array.dtype.kind == "f":  # np.asarray([]) is float64
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integers, got dtype {array.dtype} (shape {array.shape})")
    return array.astype(np.int64, copy=False)


from . import arguments, autograd, ops  # noqa: E402  (they build on Tensor)
