"""Whole-sequence recurrences: forward and backward through time on plain ndarrays, by hand.

The benchmark for the kernels tg.scan generates (ops/recurrent.py says why they stay).

A sequence arrives packed, as the layers hold it: ``x`` (rows, in) with step
t in rows ``offsets[t] : offsets[t] + batch_sizes[t]``, longest sequences
first, so the sequences still running at a step are a prefix of the batch.
``reverse`` walks the steps from the last; each sequence then starts at its
own last step, from its initial state.

The work, per layer and direction:

- one GEMM projects the inputs of all steps at once (``x W_ih^T``);
- each step does one GEMM with the recurrent weights, into a preallocated
  buffer, then one numba kernel does all the gate arithmetic (biases
  included) in one pass over the step's rows, with the vectorizing
  sigmoid and tanh of activations.py;
- backward walks the steps in reverse with one kernel and one GEMM per step,
  keeping the gate gradients of every step, so the weight gradients are a
  single GEMM each over all steps after the loop.

The output is ONE array: the outputs h_t of every step (rows, H) followed by
the final h_n (N, H) (and c_n for the LSTM). Those last rows double as the
running state during the loop: each step updates the prefix of the batch
still running, so a finished sequence keeps its state untouched.

The time loops are numba too, calling BLAS directly (blas.py), so no Python
runs between steps; numba reaches BLAS from ``np.dot`` only through SciPy,
which is not a dependency. Where blas.py cannot find numpy's BLAS, the same
loops run as Python, each step one ``np.matmul`` and one kernel call (about
3 us of interpreter per step, docs/performance.md, "Recurrent layers").
The forward GEMM multiplies by a contiguous copy of W_hh^T, made once per
call: OpenBLAS runs (N, H) @ (H, G*H) up to 1.8x faster that way than with
the transposed view.

Nothing here allocates inside the time loop. ``save=False`` (no_grad) skips
every store that only backward needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import VECTORIZED
from .activations import sigmoid, tanh
from .blas import AVAILABLE as _BLAS_REACHABLE
from .blas import matmul_into

# -- step kernels ---------------------------------------------------------------------
# Names: ``pre`` holds the input projection x W_ih^T of every row and is overwritten
# with the activated gates; ``hh`` (N, G*H) is this step's h_{t-1} W_hh^T; ``bias``
# (G*H,) is b_ih + b_hh (for the GRU without b_hn); ``h``/``c`` (N, H) are the running
# states; the step's rows are ``row .. row + size``.
# For LLVM to vectorize, every inner loop runs k from 0 over 1-D views, one per gate
# (an index like H + k could be negative as far as it knows, and negative indices wrap),
# with no branch inside; the stores only backward needs are skipped when ``save`` is False.


@njit(**VECTORIZED)
def _sigmoid_into(gates, hh, bias):
    """gates = sigmoid(gates + hh + bias), 1-D."""
    for k in range(gates.shape[0]):
        gates[k] = sigmoid(gates[k] + hh[k] + bias[k])


@njit(**VECTORIZED)
def _tanh_into(gates, hh, bias):
    """gates = tanh(gates + hh + bias), 1-D."""
    for k in range(gates.shape[0]):
        gates[k] = tanh(gates[k] + hh[k] + bias[k])


@njit(**VECTORIZED)
def _cell_update(c, f, i, g):
    """c = f * c + i * g, 1-D."""
    for k in range(c.shape[0]):
        c[k] = f[k] * c[k] + i[k] * g[k]


@njit(**VECTORIZED)
def _tanh_and_gate(h, tanh_c, c, o):
    """tanh_c = tanh(c); h = o * tanh_c, 1-D."""
    for k in range(c.shape[0]):
        t = tanh(c[k])
        tanh_c[k] = t
        h[k] = o[k] * t


@njit(**VECTORIZED)
def _rnn_step(pre, hh, bias, h, out, hprev, row, size, relu, save):
    for j in range(size):
        r = row + j
        if save:
            hprev[r] = h[j]
        y, p = pre[r], hh[j]
        if relu:
            for k in range(y.shape[0]):
                v = y[k] + p[k] + bias[k]
                y[k] = 0.0 if v <= 0 else v  # NaN stays NaN, as relu(nan) is nan
        else:
            _tanh_into(y, p, bias)
        out[r] = h[j] = y


@njit(**VECTORIZED)
def _rnn_backward_step(out, grad, dh, dpre, row, size, relu):
    """dpre = (dh + grad of the output) * act'(pre); dh is left for the recurrent GEMM."""
    for j in range(size):
        r = row + j
        y, g, d, dp = out[r], grad[r], dh[j], dpre[r]
        if relu:
            for k in range(y.shape[0]):
                dp[k] = 0.0 if y[k] <= 0 else d[k] + g[k]  # passes at NaN, as the Relu primitive
        else:
            for k in range(y.shape[0]):
                dp[k] = (d[k] + g[k]) * (1.0 - y[k] * y[k])


@njit(**VECTORIZED)
def _lstm_step(pre, hh, bias, h, c, out, hprev, cprev, tanh_c, row, size, save):
    H = h.shape[1]
    for j in range(size):
        r = row + j
        if save:
            hprev[r], cprev[r] = h[j], c[j]
        gates, hh_j = pre[r], hh[j]
        _sigmoid_into(gates[: 2 * H], hh_j[: 2 * H], bias[: 2 * H])  # i, f
        _tanh_into(gates[2 * H : 3 * H], hh_j[2 * H : 3 * H], bias[2 * H : 3 * H])  # g
        _sigmoid_into(gates[3 * H :], hh_j[3 * H :], bias[3 * H :])  # o
        i, f, g, o = gates[:H], gates[H : 2 * H], gates[2 * H : 3 * H], gates[3 * H :]
        c_j, y = c[j], out[r]
        tc = tanh_c[r] if save else hh_j[:H]  # hh_j is spent: scratch
        _cell_update(c_j, f, i, g)
        _tanh_and_gate(y, tc, c_j, o)
        h[j] = y


@njit(**VECTORIZED)
def _lstm_backward_step(gates, cprev, tanh_c, grad, dh, dc, dpre, row, size):
    """Gate gradients of one step; dc becomes dc_{t-1}, dh is left for the recurrent GEMM."""
    H = dh.shape[1]
    for j in range(size):
        r = row + j
        g_r, d = gates[r], dpre[r]
        i, f, g, o = g_r[:H], g_r[H : 2 * H], g_r[2 * H : 3 * H], g_r[3 * H :]
        di, df, dg, do = d[:H], d[H : 2 * H], d[2 * H : 3 * H], d[3 * H :]
        c_prev, tc, out_grad, dh_j, dc_j = cprev[r], tanh_c[r], grad[r], dh[j], dc[j]
        for k in range(H):
            dh_t = dh_j[k] + out_grad[k]
            dc_t = dc_j[k] + dh_t * o[k] * (1.0 - tc[k] * tc[k])
            di[k] = dc_t * g[k] * i[k] * (1.0 - i[k])
            df[k] = dc_t * c_prev[k] * f[k] * (1.0 - f[k])
            dg[k] = dc_t * i[k] * (1.0 - g[k] * g[k])
            do[k] = dh_t * tc[k] * o[k] * (1.0 - o[k])
            dc_j[k] = dc_t * f[k]


@njit(**VECTORIZED)
def _gru_step(pre, hh, bias, b_hn, h, out, hprev, hn_saved, row, size, save):
    """r, z from x and h; n = tanh(x_n + r * (h W_hn^T + b_hn)); h_t = (1 - z) n + z h."""
    H = h.shape[1]
    for j in range(size):
        r = row + j
        gates, hh_j, h_j, y = pre[r], hh[j], h[j], out[r]
        if save:
            hprev[r] = h_j
        _sigmoid_into(gates[: 2 * H], hh_j[: 2 * H], bias[: 2 * H])  # r, z
        reset, z, n, b_in = gates[:H], gates[H : 2 * H], gates[2 * H :], bias[2 * H :]
        hn = hn_saved[r] if save else hh_j[:H]  # the start of hh_j is spent: scratch
        hh_n = hh_j[2 * H :]
        for k in range(H):
            hn[k] = hh_n[k] + b_hn[k]
            n[k] = tanh(n[k] + b_in[k] + reset[k] * hn[k])
            y[k] = (1.0 - z[k]) * n[k] + z[k] * h_j[k]
        h[j] = y


@njit(**VECTORIZED)
def _gru_backward_step(gates, hprev, hn, grad, dh, through_w_hh, pending, dpre_x, dpre_h, row, size):
    """Gradients of the input-side and hidden-side pre-activations (they differ in the
    n block, where the hidden side is scaled by r); dh becomes the direct part z * dh_t.

    dh_{t-1} has a second part, dpre_h W_hh, that the caller's GEMM puts in
    ``through_w_hh``; it is added here, at the start of the next step (rows < ``pending``).
    """
    H = dh.shape[1]
    for j in range(pending):
        d, t = dh[j], through_w_hh[j]
        for k in range(H):
            d[k] += t[k]
    for j in range(size):
        r = row + j
        g_r, dx, dhh = gates[r], dpre_x[r], dpre_h[r]
        reset, z, n = g_r[:H], g_r[H : 2 * H], g_r[2 * H :]
        dx_r, dx_z, dx_n, dh_n = dx[:H], dx[H : 2 * H], dx[2 * H :], dhh[2 * H :]
        h_prev, hn_r, out_grad, dh_j = hprev[r], hn[r], grad[r], dh[j]
        for k in range(H):
            dh_t = dh_j[k] + out_grad[k]
            dn = dh_t * (1.0 - z[k]) * (1.0 - n[k] * n[k])
            dx_z[k] = dh_t * (h_prev[k] - n[k]) * z[k] * (1.0 - z[k])
            dx_r[k] = dn * hn_r[k] * reset[k] * (1.0 - reset[k])
            dx_n[k] = dn
            dh_n[k] = dn * reset[k]
            dh_j[k] = dh_t * z[k]
        dhh[: 2 * H] = dx[: 2 * H]  # r and z: the same on both sides


# -- shared pieces ----------------------------------------------------------------------


def steps(batch_sizes: np.ndarray, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """(first rows, row counts) of the steps, in the order the recurrence walks them."""
    sizes = np.array(batch_sizes, np.int64)
    starts = np.cumsum(sizes) - sizes
    return (np.ascontiguousarray(starts[::-1]), np.ascontiguousarray(sizes[::-1])) if reverse else (starts, sizes)


# The time loops: compiled when numba can reach BLAS, plain Python (the same code) otherwise.
_time_loop = njit(**VECTORIZED) if _BLAS_REACHABLE else (lambda loop: loop)


def _bias(b_ih, b_hh, rows: int, dtype, hidden_side: slice = slice(None)) -> np.ndarray:
    """b_ih + b_hh[hidden_side] (zeros without biases): the step kernels add it, which
    spares a pass over the whole input projection."""
    if b_ih is None:
        return np.zeros(rows, dtype)
    bias = b_ih.copy()
    bias[hidden_side] += b_hh[hidden_side]
    return bias


def _output(rows: int, states: tuple) -> np.ndarray:
    """The result array (rows + k*N, H) with the initial states copied into its last rows."""
    batch, hidden = states[0].shape
    y = np.empty((rows + len(states) * batch, hidden), states[0].dtype)
    for k, s in enumerate(states):
        y[rows + k * batch : rows + (k + 1) * batch] = s
    return y


def _saved(save: bool, rows: int, hidden: int, dtype, count: int) -> list:
    """``count`` (rows, H) arrays for backward, or empty stand-ins when nothing is saved."""
    shape = (rows, hidden) if save else (0, hidden)
    return [np.empty(shape, dtype) for _ in range(count)]


def _weight_grads(needs, x, hprev, dpre_x, dpre_h, w_ih, has_bias: bool) -> tuple:
    """(dx, dW_ih, dW_hh, db_ih, db_hh): one GEMM or one sum each over all steps.

    ``needs`` says which of the five are wanted (x, w_ih, w_hh, b_ih, b_hh).
    """
    needs_x, needs_w_ih, needs_w_hh, needs_b_ih, needs_b_hh = needs
    dx = dpre_x @ w_ih if needs_x else None
    dw_ih = dpre_x.T @ x if needs_w_ih else None
    dw_hh = dpre_h.T @ hprev if needs_w_hh else None
    db_ih = dpre_x.sum(0) if has_bias and needs_b_ih else None
    if not (has_bias and needs_b_hh):
        db_hh = None
    elif dpre_h is dpre_x and db_ih is not None:  # RNN and LSTM: both biases add to the same sum
        db_hh = db_ih.copy()
    else:
        db_hh = dpre_h.sum(0)
    return dx, dw_ih, dw_hh, db_ih, db_hh


# -- RNN --------------------------------------------------------------------------------


@_time_loop
def _rnn_forward_loop(pre, w_hh_t, bias, h, y, hprev, hh, starts, sizes, relu, save):
    for t in range(starts.shape[0]):
        row, size = starts[t], sizes[t]
        matmul_into(h[:size], w_hh_t, hh[:size])
        _rnn_step(pre, hh, bias, h, y, hprev, row, size, relu, save)


@_time_loop
def _rnn_backward_loop(y, grad, dh, dpre, w_hh, starts, sizes, relu):
    for t in range(starts.shape[0] - 1, -1, -1):
        row, size = starts[t], sizes[t]
        _rnn_backward_step(y, grad, dh, dpre, row, size, relu)
        matmul_into(dpre[row : row + size], w_hh, dh[:size])


def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False, save=True, relu=False):
    """Elman RNN over packed ``x``; returns (y, saved), y = [outputs (rows, H); h_n (N, H)]."""
    rows = x.shape[0]
    pre, bias = x @ w_ih.T, _bias(b_ih, b_hh, w_ih.shape[0], x.dtype)
    y = _output(rows, (h0,))
    h = y[rows:]
    (hprev,) = _saved(save, rows, h.shape[1], y.dtype, 1)
    hh = np.empty_like(h)
    _rnn_forward_loop(pre, np.ascontiguousarray(w_hh.T), bias, h, y, hprev, hh,
                      *steps(batch_sizes, reverse), relu, save)
    return y, (hprev,)


def rnn_backward(grad, y, saved, x, w_ih, w_hh, has_bias, batch_sizes, reverse, needs, relu=False):
    """Gradients (dx, dh0, dW_ih, dW_hh, db_ih, db_hh) given ``grad`` of y.

    ``needs`` (x, w_ih, w_hh, b_ih, b_hh) says which are wanted; the others are None.
    dh0 is always computed: it is what the backward loop carries.
    """
    (hprev,) = saved
    rows = x.shape[0]
    grad = np.ascontiguousarray(grad)
    dh = grad[rows:].copy()
    dpre = np.empty((rows, w_hh.shape[0]), y.dtype)
    _rnn_backward_loop(y, grad, dh, dpre, np.ascontiguousarray(w_hh), *steps(batch_sizes, reverse), relu)
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(needs, x, hprev, dpre, dpre, w_ih, has_bias)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


# -- LSTM -------------------------------------------------------------------------------


@_time_loop
def _lstm_forward_loop(pre, w_hh_t, bias, h, c, y, hprev, cprev, tanh_c, hh, starts, sizes, save):
    for t in range(starts.shape[0]):
        row, size = starts[t], sizes[t]
        matmul_into(h[:size], w_hh_t, hh[:size])
        _lstm_step(pre, hh, bias, h, c, y, hprev, cprev, tanh_c, row, size, save)


@_time_loop
def _lstm_backward_loop(gates, cprev, tanh_c, grad, dh, dc, dpre, w_hh, starts, sizes):
    for t in range(starts.shape[0] - 1, -1, -1):
        row, size = starts[t], sizes[t]
        _lstm_backward_step(gates, cprev, tanh_c, grad, dh, dc, dpre, row, size)
        matmul_into(dpre[row : row + size], w_hh, dh[:size])


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False, save=True):
    """LSTM over packed ``x``; returns (y, saved), y = [outputs; h_n; c_n]."""
    rows, batch = x.shape[0], h0.shape[0]
    pre, bias = x @ w_ih.T, _bias(b_ih, b_hh, w_ih.shape[0], x.dtype)
    y = _output(rows, (h0, c0))
    h, c = y[rows : rows + batch], y[rows + batch :]
    hprev, cprev, tanh_c = _saved(save, rows, h.shape[1], y.dtype, 3)
    hh = np.empty((batch, w_hh.shape[0]), y.dtype)
    _lstm_forward_loop(pre, np.ascontiguousarray(w_hh.T), bias, h, c, y, hprev, cprev, tanh_c, hh,
                       *steps(batch_sizes, reverse), save)
    return y, (pre, hprev, cprev, tanh_c)


def lstm_backward(grad, y, saved, x, w_ih, w_hh, has_bias, batch_sizes, reverse, needs):
    """Gradients (dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh); None where not needed."""
    gates, hprev, cprev, tanh_c = saved
    rows = x.shape[0]
    batch = (y.shape[0] - rows) // 2
    grad = np.ascontiguousarray(grad)
    dh, dc = grad[rows : rows + batch].copy(), grad[rows + batch :].copy()
    dpre = np.empty_like(gates)
    _lstm_backward_loop(gates, cprev, tanh_c, grad, dh, dc, dpre, np.ascontiguousarray(w_hh),
                        *steps(batch_sizes, reverse))
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(needs, x, hprev, dpre, dpre, w_ih, has_bias)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


# -- GRU --------------------------------------------------------------------------------


@_time_loop
def _gru_forward_loop(pre, w_hh_t, bias, b_hn, h, y, hprev, hn, hh, starts, sizes, save):
    for t in range(starts.shape[0]):
        row, size = starts[t], sizes[t]
        matmul_into(h[:size], w_hh_t, hh[:size])
        _gru_step(pre, hh, bias, b_hn, h, y, hprev, hn, row, size, save)


@_time_loop
def _gru_backward_loop(gates, hprev, hn, grad, dh, through_w_hh, dpre_x, dpre_h, w_hh, starts, sizes):
    pending = 0
    for t in range(starts.shape[0] - 1, -1, -1):
        row, size = starts[t], sizes[t]
        _gru_backward_step(gates, hprev, hn, grad, dh, through_w_hh, pending, dpre_x, dpre_h, row, size)
        matmul_into(dpre_h[row : row + size], w_hh, through_w_hh[:size])
        pending = size
    dh[:pending] += through_w_hh[:pending]


def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reverse=False, save=True):
    """GRU over packed ``x``; returns (y, saved), y = [outputs; h_n].

    b_hr and b_hz join b_ih; b_hn stays apart because r scales it.
    """
    rows, hidden = x.shape[0], h0.shape[1]
    pre, bias = x @ w_ih.T, _bias(b_ih, b_hh, w_ih.shape[0], x.dtype, slice(0, 2 * hidden))
    b_hn = np.zeros(hidden, x.dtype) if b_hh is None else b_hh[2 * hidden :]
    y = _output(rows, (h0,))
    h = y[rows:]
    hprev, hn = _saved(save, rows, hidden, y.dtype, 2)
    hh = np.empty((h.shape[0], w_hh.shape[0]), y.dtype)
    _gru_forward_loop(pre, np.ascontiguousarray(w_hh.T), bias, b_hn, h, y, hprev, hn, hh,
                      *steps(batch_sizes, reverse), save)
    return y, (pre, hprev, hn)


def gru_backward(grad, y, saved, x, w_ih, w_hh, has_bias, batch_sizes, reverse, needs):
    """Gradients (dx, dh0, dW_ih, dW_hh, db_ih, db_hh); None where not needed."""
    gates, hprev, hn = saved
    rows = x.shape[0]
    grad = np.ascontiguousarray(grad)
    dh = grad[rows:].copy()
    dpre_x, dpre_h = np.empty_like(gates), np.empty_like(gates)
    _gru_backward_loop(gates, hprev, hn, grad, dh, np.empty_like(dh), dpre_x, dpre_h,
                       np.ascontiguousarray(w_hh), *steps(batch_sizes, reverse))
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(needs, x, hprev, dpre_x, dpre_h, w_ih, has_bias)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh
