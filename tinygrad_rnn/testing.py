"""Hypothesis strategies for property-testing code built on tinygrad_rnn.

The test suite checks every primitive with these; use them to check your own
functions and layers the same way::

    from hypothesis import given
    import tinygrad_rnn as tg
    from tinygrad_rnn.testing import arrays, gradcheck

    @given(arrays(away_from=(0.0,)))
    def test_my_abs_has_the_right_gradient(x):
        x = tg.Tensor(x, requires_grad=True)
        assert gradcheck(lambda t: (t * t).sqrt(), [x])

This module needs hypothesis (``pip install tinygrad_rnn[test]``); nothing
in the package imports it, so ``import tinygrad_rnn`` never does.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import GradcheckError, gradcheck

__all__ = [
    "GradcheckError", "arrays", "broadcast_pairs", "broadcastable_shapes", "gradcheck",
    "non_contiguous", "shapes",
]


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5):
    """Array shapes, from 0-d ``()`` up to ``max_dims`` dims of sides ``min_side..max_side``.

    Size-1 dims come up often (hypothesis shrinks towards them), so code that
    confuses a size-1 dim with a broadcast one gets caught.

    >>> shapes(max_dims=2, max_side=3).example()  # doctest: +SKIP
    (3, 1)
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _push_away(x: np.ndarray, points, margin: float) -> np.ndarray:
    """Move every element closer than ``margin`` to one of ``points`` out to that distance."""
    for point in points:
        offset = x - point
        near = np.abs(offset) < margin
        x = np.where(near, point + np.where(offset < 0, -margin, margin), x)
    return x


def _spread(x: np.ndarray, margin: float) -> np.ndarray:
    """Add ``margin`` times each element's rank: the order stays, every gap becomes >= margin."""
    ranks = np.argsort(np.argsort(x, axis=None, kind="stable"), kind="stable")
    return x + margin * ranks.reshape(x.shape)


def arrays(shape=None, dtype=np.float64, elements=None, away_from=(), margin: float = 0.1,
           distinct: bool = False):
    """Finite float arrays of ``shape`` (a tuple, a strategy of tuples, or None for ``shapes()``).

    ``elements``: a strategy of floats, default uniform-ish in [-2, 2].
    ``away_from``: points (kinks, poles, clamp bounds) no element comes within
    ``margin`` of, so finite differences never straddle them.
    ``distinct``: every two elements differ by at least ``margin`` (no ties
    for max, sort, ...); applied after ``away_from``.

    >>> arrays((2, 3), away_from=(0.0,)).example()  # doctest: +SKIP
    array([[ 1.5, -0.1,  0.1], [ 2. ,  0.1, -1.9]])
    """
    dtype = np.dtype(dtype)
    if elements is None:
        elements = st.floats(-2, 2, width=8 * dtype.itemsize)
    shape = shapes() if shape is None else shape
    base = hnp.arrays(np.float64, shape, elements=elements)

    def finish(x: np.ndarray) -> np.ndarray:
        x = _push_away(x, away_from, margin)
        if distinct:
            x = _spread(x, margin)
        return np.asarray(x, dtype=dtype)  # np.asarray keeps 0-d arrays as arrays

    return base.map(finish)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4,
                         max_side: int = 5):
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy rules, size-1 and missing dims).

    >>> broadcastable_shapes().example()  # doctest: +SKIP
    ((4, 1, 3), (2, 1))
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda drawn: drawn.input_shapes)


def broadcast_pairs(dtype=np.float64, elements=None, away_from=(), margin: float = 0.1,
                    max_dims: int = 4, max_side: int = 5):
    """Pairs of float arrays ``(a, b)`` whose shapes broadcast together; options as in ``arrays``.

    >>> a, b = broadcast_pairs().example()  # doctest: +SKIP
    >>> np.broadcast_shapes(a.shape, b.shape)  # doctest: +SKIP
    (4, 2, 3)
    """
    def pair(shape_pair):
        return st.tuples(*(arrays(s, dtype, elements, away_from, margin) for s in shape_pair))

    return broadcastable_shapes(2, max_dims=max_dims, max_side=max_side).flatmap(pair)


def _strided(x: np.ndarray) -> np.ndarray:
    """The values of ``x`` at every other position of a buffer twice as big.

    The gaps hold NaN (for floats): an op that reads memory as if it were
    contiguous meets them.
    """
    gap = np.nan if x.dtype.kind == "f" else 0
    buffer = np.full(tuple(2 * n for n in x.shape), gap, dtype=x.dtype)
    view = buffer[(slice(None, None, 2),) * x.ndim + (Ellipsis,)]  # a view even when 0-d
    view[...] = x
    return view


def _transposed(x: np.ndarray) -> np.ndarray:
    """The values of ``x`` stored in Fortran (column-major) order: the transpose of a C array."""
    return np.ascontiguousarray(x.T).T


def non_contiguous(array_strategy):
    """The arrays of ``array_strategy`` as non-contiguous views with the same values.

    Each is either a strided view (every other element of a larger NaN-filled
    buffer) or, with two dims longer than 1, a transposed one (column-major memory).
    A 0-d or one-element array has no other layout: it stays contiguous.

    >>> x = non_contiguous(arrays((3, 2))).example()  # doctest: +SKIP
    >>> x.flags.c_contiguous  # doctest: +SKIP
    False
    """
    def relayout(drawn):
        x, layout = drawn
        long_dims = sum(n > 1 for n in x.shape)  # with fewer, column-major memory is row-major too
        return layout(x) if long_dims >= 2 else _strided(x)

    return st.tuples(array_strategy, st.sampled_from([_strided, _transposed])).map(relayout)
