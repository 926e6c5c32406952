"""Benchmarks, run as ``python -m tinygrad_rnn.bench <command>``.

``ops``: the cost of recording one small op on the tape, next to raw numpy
and PyTorch (when installed), and of a long chain forward and backward;
``--baseline DIR`` also times the chain with the tinygrad_rnn of another
checkout (an earlier commit), in alternating fresh processes.

``hvp``: a Hessian-vector product of a composed recurrent layer's loss with
respect to all its weights, against one training step of the same layer,
and against PyTorch's double backward when installed.

``rnn``: a float32 training step (forward, ``output.sum()``, backward) of
RNN, LSTM and GRU at the design notes' configurations: ours (the layers'
default, tg.scan's generated kernels), the hand-written kernels they
replaced, the composed path, PyTorch and JAX when installed; forward-only
times; each step's GEMM-bound limit (its matmul flops at numpy's GEMM rate,
measured in the same run) and the fraction of it reached; the first step in
a fresh process with cold and warm caches.

``cells``: the five cells with no hand-written kernel, compiled against
their composed path, and against the built-in cell closest in GEMM work.

``threads``: a fused training step with the one-BLAS-thread limit of small
time loops (kernels/threads.py) off and on; ``--busy`` keeps a process
spinning on one core meanwhile, as on a machine shared with other work.

Every candidate is timed with timeit, and the candidates are interleaved:
each round times all of them once, so a slow moment of a shared machine
hits them all alike. Reported figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import timeit
from dataclasses import dataclass, field

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import ops

GOAL_US = 10.0  # a recorded elementwise op should cost at most this (core engine issue)


@dataclass
class Candidate:
    """One thing to time: a statement, the names it uses, and a context it runs in."""

    stmt: str
    namespace: dict
    context: object = field(default=contextlib.nullcontext)  # a factory: no_grad, ...


def interleaved_rounds(candidates: dict, number: int, repeat: int, warmup: float = 0.0) -> dict:
    """Seconds per execution of each candidate's statement, one figure per round.

    Each of ``repeat`` rounds runs every candidate ``number`` times in a row,
    after running it untimed for ``warmup`` seconds: so it meets the caches and
    thread pools in its own state, not in the one the previous candidate left
    (idle OpenBLAS and OpenMP threads keep spinning for a while, and PyTorch
    timed right after numpy's GEMMs ran twice as slow).
    """
    timers = {name: timeit.Timer(c.stmt, globals=c.namespace) for name, c in candidates.items()}
    for name, candidate in candidates.items():  # warm up caches and lazy imports
        with candidate.context():
            timers[name].timeit(1)
    rounds = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, candidate in candidates.items():
            with candidate.context():
                until = time.perf_counter() + warmup
                while time.perf_counter() < until:
                    timers[name].timeit(1)
                rounds[name].append(timers[name].timeit(number) / number)
    return rounds


def _medians(rounds: dict) -> dict:
    return {name: statistics.median(times) for name, times in rounds.items()}


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as info:
            models = (line.split(":", 1)[1].strip()
                      for line in info if line.startswith("model name"))
            cpu = next(models, cpu)
    import numba

    facts = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
             "numpy": np.__version__, "numba": numba.__version__, "torch": None,
             "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    torch = _torch()
    if torch is not None:
        facts.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    return facts


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# -- ops -------------------------------------------------------------------------


def _op_candidates(op: str, arrays, torch) -> dict:
    """``a <op> b`` on 16x16 float32: recorded and under no_grad, by each library."""
    a, b = arrays
    ta, tb = tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)
    stmt = f"a {op} b"
    found = {
        ("recorded", "tinygrad_rnn"): Candidate(stmt, {"a": ta, "b": tb}),
        ("no_grad", "tinygrad_rnn"): Candidate(stmt, {"a": ta, "b": tb}, tg.no_grad),
        ("no tape", "numpy"): Candidate(stmt, {"a": a, "b": b}),
    }
    if torch is not None:
        pa = torch.from_numpy(a.copy()).requires_grad_()
        pb = torch.from_numpy(b.copy()).requires_grad_()
        found[("recorded", "torch")] = Candidate(stmt, {"a": pa, "b": pb})
        found[("no_grad", "torch")] = Candidate(stmt, {"a": pa, "b": pb}, torch.no_grad)
    return found


def _chain_fn(library, ops_count: int, rng, backward: bool):
    """A function running ``y = y * c + d`` for ops_count ops (then backward)."""
    c0 = rng.uniform(0.5, 0.9, (16, 16)).astype(np.float32)
    d0 = rng.standard_normal((16, 16)).astype(np.float32)
    y0 = rng.standard_normal((16, 16)).astype(np.float32)

    def make(x):
        x = x.copy()
        if library is tg:
            return tg.Tensor(x, requires_grad=True)
        return library.from_numpy(x).requires_grad_()

    c, d, y_start = make(c0), make(d0), make(y0)

    def chain():
        y = y_start
        for _ in range(ops_count // 2):
            y = y * c + d
        if backward:
            y.sum().backward()

    return chain


def _chain_candidates(ops_count: int, torch) -> dict:
    rng = np.random.default_rng(0)
    libraries = {"tinygrad_rnn": tg} if torch is None else {"tinygrad_rnn": tg, "torch": torch}
    return {
        (stage, name): Candidate("chain()", {"chain": _chain_fn(library, ops_count, rng, backward)})
        for stage, backward in (("forward", False), ("fwd+bwd", True))
        for name, library in libraries.items()
    }


def _breakdown_candidates(arrays) -> dict:
    """The pieces of one recorded ``a * b``, each timed on its own."""
    a, b = arrays
    ta, tb = tg.Tensor(a, requires_grad=True), tg.Tensor(b, requires_grad=True)
    names = {"a": a, "b": b, "ta": ta, "tb": tb,
             "Mul": ops.Mul, "node": ops.Mul(), "Tensor": tg.Tensor}
    return {
        "numpy a * b": Candidate("a * b", names),
        "Mul.forward(a, b)": Candidate("node.forward(a, b)", names),
        "Mul()": Candidate("Mul()", names),
        "Tensor(ndarray)": Candidate("Tensor(a)", names),
        "Mul.apply, no_grad": Candidate("Mul.apply(ta, tb)", names, tg.no_grad),
        "Mul.apply, recorded": Candidate("Mul.apply(ta, tb)", names),
        "ta * tb, recorded": Candidate("ta * tb", names),
    }


def _explain_breakdown(t: dict) -> list:
    """Medians turned into the increments that add up to one recorded op."""
    return [
        ("numpy multiply", t["numpy a * b"]),
        ("calling Mul.forward (a Python method)", t["Mul.forward(a, b)"] - t["numpy a * b"]),
        ("creating the Function instance", t["Mul()"]),
        ("wrapping the result in a Tensor", t["Tensor(ndarray)"]),
        ("the rest of apply (grad-mode check, inputs)",
         t["Mul.apply, no_grad"] - t["Mul.forward(a, b)"] - t["Mul()"] - t["Tensor(ndarray)"]),
        ("recording (parents, needs_input_grad, node)",
         t["Mul.apply, recorded"] - t["Mul.apply, no_grad"]),
        ("the * operator (type promotion, dispatch)",
         t["ta * tb, recorded"] - t["Mul.apply, recorded"]),
        ("total: ta * tb, recorded", t["ta * tb, recorded"]),
    ]


_CHAIN_IN_PROCESS = """
import sys, time
import numpy as np
import tinygrad_rnn as tg
ops_count, repeat = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
c, d, y0 = (tg.Tensor(rng.standard_normal((16, 16)).astype(np.float32), requires_grad=True) for _ in range(3))

def chain():
    y = y0
    for _ in range(ops_count // 2):
        y = y * c + d
    y.sum().backward()

chain()
times = []
for _ in range(repeat):
    start = time.perf_counter()
    chain()
    times.append(time.perf_counter() - start)
print(tg.__file__, sorted(times)[len(times) // 2])
"""


def chain_against_baseline(baseline: str, ops_count: int, rounds: int) -> dict:
    """Median seconds per forward+backward of the chain, here and in ``baseline``, per process.

    Each round starts one fresh process per tree (run in the tree, which
    puts it first on sys.path), alternating, so both meet the machine in
    the same moments.
    """
    import subprocess

    here = os.path.dirname(os.path.dirname(os.path.abspath(tg.__file__)))
    trees = {"this tree": here, "baseline": os.path.abspath(baseline)}
    found = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run([sys.executable, "-c", _CHAIN_IN_PROCESS, str(ops_count), "5"], cwd=tree,
                                 env=env, capture_output=True, text=True, check=True).stdout.split()
            if not out[0].startswith(tree):
                raise RuntimeError(f"bench: {name} imported tinygrad_rnn from {out[0]}, not from {tree}")
            found[name].append(float(out[1]))
    return {name: statistics.median(times) for name, times in found.items()}


def run_ops(args) -> dict:
    repeat, number, chain_ops = (3, 200, 1_000) if args.quick else (args.repeat, 2_000, 10_000)
    torch = _torch()
    rng = np.random.default_rng(0)
    arrays = tuple(rng.standard_normal((16, 16)).astype(np.float32) for _ in range(2))

    op_rounds = {label: interleaved_rounds(_op_candidates(op, arrays, torch), number, repeat)
                 for op, label in (("*", "mul"), ("@", "matmul"))}
    per_op = {}
    for label, rounds in op_rounds.items():
        for (mode, library), seconds in _medians(rounds).items():
            for row in ("recorded", "no_grad") if mode == "no tape" else (mode,):
                per_op.setdefault(f"{label}, {row}", {})[library] = seconds * 1e6
    chain = _medians(interleaved_rounds(_chain_candidates(chain_ops, torch), 1, repeat))
    for (stage, library), seconds in chain.items():
        per_op.setdefault(f"chain {stage} (per op)", {})[library] = seconds / chain_ops * 1e6
    pieces = interleaved_rounds(_breakdown_candidates(arrays), number, repeat)
    breakdown = _explain_breakdown(_medians(pieces))

    recorded = per_op["mul, recorded"]["tinygrad_rnn"]
    best_recorded = min(op_rounds["mul"][("recorded", "tinygrad_rnn")]) * 1e6
    results = {
        "command": "python -m tinygrad_rnn.bench " + " ".join(args.argv),
        "machine": machine(),
        "settings": {"shape": [16, 16], "dtype": "float32", "rounds": repeat, "number": number,
                     "chain_ops": chain_ops, "statistic": "median of rounds"},
        "per_op_us": per_op,
        "chain_total_ms": {
            library: {stage: s * 1e3 for (stage, lib), s in chain.items() if lib == library}
            for library in dict.fromkeys(lib for _, lib in chain)
        },
        "breakdown_us": {name: seconds * 1e6 for name, seconds in breakdown},
        "baseline": None,
        "goal": {"recorded_elementwise_us": recorded, "best_round_us": best_recorded,
                 "limit_us": GOAL_US, "met": recorded <= GOAL_US},
    }
    if args.baseline:
        seconds = chain_against_baseline(args.baseline, chain_ops, 3 if args.quick else 11)
        results["baseline"] = {"path": args.baseline, "chain_fwd_bwd_us_per_op":
                               {name: s / chain_ops * 1e6 for name, s in seconds.items()},
                               "ratio": seconds["this tree"] / seconds["baseline"]}
    _print_ops(results)
    return results


def _print_ops(results: dict) -> None:
    settings, facts = results["settings"], results["machine"]
    notes = [f"median of {settings['rounds']} interleaved rounds"]
    notes.append(f"torch {facts['torch']} ({facts['torch_threads']} threads, its default)"
                 if facts["torch"] else "torch not installed")
    if facts["load_average_1min"] is not None:
        notes.append(f"load average {facts['load_average_1min']:.2f}")
    print(f"ops on {settings['shape'][0]}x{settings['shape'][1]} float32, microseconds per op; "
          + "; ".join(notes))
    header = f"{'case':<28}{'tinygrad_rnn':>13}{'numpy':>9}{'torch':>9}"
    print(header + f"{'tg/numpy':>10}{'tg/torch':>10}")
    for case, by_library in results["per_op_us"].items():
        ours = by_library["tinygrad_rnn"]
        cells = [_cell(by_library.get(lib), "{:.2f}") for lib in ("numpy", "torch")]
        ratios = [_cell(ours / by_library[lib] if lib in by_library else None, "{:.1f}x")
                  for lib in ("numpy", "torch")]
        print(f"{case:<28}{ours:>13.2f}{cells[0]:>9}{cells[1]:>9}{ratios[0]:>10}{ratios[1]:>10}")
    print("numpy has no tape: its column is the bare array op.")
    totals = "; ".join(
        f"{library} " + ", ".join(f"{stage} {ms:.1f}" for stage, ms in stages.items())
        for library, stages in results["chain_total_ms"].items()
    )
    print(f"chain: {settings['chain_ops']:,} ops of y = y * c + d, whole chain in ms: {totals}")
    print("\nwhere a recorded a * b spends its time (us):")
    for name, us in results["breakdown_us"].items():
        print(f"  {name:<46}{us:>7.2f}")
    if results["baseline"]:
        base = results["baseline"]
        per_op = ", ".join(f"{name} {us:.2f} us" for name, us in base["chain_fwd_bwd_us_per_op"].items())
        print(f"chain fwd+bwd per op, fresh processes alternating with {base['path']}: {per_op}; "
              f"ratio {base['ratio']:.3f}")
    goal = results["goal"]
    verdict = "met" if goal["met"] else "NOT met"
    print(f"\ngoal: a recorded elementwise op costs <= {goal['limit_us']:g} us; measured "
          f"{goal['recorded_elementwise_us']:.2f} us, best round {goal['best_round_us']:.2f} us "
          f"({verdict})")


def _cell(value, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


# -- rnn -------------------------------------------------------------------------

# (batch, steps, input_size, hidden_size), from the design notes
RNN_CONFIGS = {"S": (16, 50, 32, 64), "M": (32, 100, 128, 256), "L": (64, 100, 512, 512),
               "B1": (1, 200, 64, 128)}
RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# goals of the cell-compiler issue: no slower than the faster of PyTorch and JAX (GRU and RNN:
# half PyTorch's time), unless the GEMMs alone forbid it; then at least this fraction of their limit
LIMIT_FRACTION, HALF_TORCH = 0.9, ("GRU", "RNN")
COMPOSED_CONFIGS = ("S", "M", "B1")
COLD_FIRST_STEP_S, WARM_FIRST_STEP_S = 10.0, 1.0
WARMUP_S = 0.3  # untimed runs of each candidate before each of its timed rounds

_FIRST_STEP = """
import sys, time
if "--without-scipy" in sys.argv:  # numba imports SciPy for its BLAS bindings when it is there
    sys.modules["scipy"] = None
start = time.perf_counter()
import numpy as np
import tinygrad_rnn as tg
imported = time.perf_counter()
layer = tg.nn.LSTM(32, 64)
output, _ = layer(tg.Tensor(np.ones((50, 16, 32), np.float32)))
output.sum().backward()
print(imported - start, time.perf_counter() - start)
"""


def _rnn_step(library, kind: str, config: str, fused: bool, train: bool):
    """A function running one forward (and, with ``train``, ``output.sum().backward()``), float32."""
    batch, steps, features, hidden = RNN_CONFIGS[config]
    x = np.random.default_rng(0).standard_normal((steps, batch, features)).astype(np.float32)
    if library is tg:
        layer, x = getattr(tg.nn, kind)(features, hidden, fused=fused), tg.Tensor(x)
        no_grad = tg.no_grad
    else:
        layer, x = getattr(library.nn, kind)(features, hidden), library.from_numpy(x)
        no_grad = library.no_grad

    def step():
        if train:
            output, _ = layer(x)
            output.sum().backward()
        else:
            with no_grad():
                layer(x)

    return step


def _hand_written_step(kind: str, config: str, train: bool):
    """``_rnn_step`` through the hand-written kernels (kernels/recurrent.py), kept to be measured against."""
    from .ops.recurrent import GRUSequence, LSTMSequence, RNNSequence

    op = {"LSTM": LSTMSequence, "GRU": GRUSequence, "RNN": RNNSequence}[kind]
    options = {"nonlinearity": "tanh"} if kind == "RNN" else {}
    batch, steps, features, hidden = RNN_CONFIGS[config]
    layer = getattr(tg.nn, kind)(features, hidden)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((steps * batch, features)).astype(np.float32))
    sizes = np.full(steps, batch)
    state = tuple(tg.zeros(batch, hidden) for _ in range(layer.recurrence.states))

    def step():
        with contextlib.nullcontext() if train else tg.no_grad():
            result = op.apply(x, *state, *layer.layer_weights(0, 0), batch_sizes=sizes, **options)
            if train:
                result[: steps * batch].sum().backward()

    return step


def _jax_step(kind: str, config: str, train: bool):
    """The same layer in JAX: jit of grad of the sum of ``lax.scan`` over the cell, float32.

    The input projection is one matmul before the scan, as a JAX user would write it.
    """
    import jax
    import jax.numpy as jnp

    batch, steps, features, hidden = RNN_CONFIGS[config]
    rows, rng = RNN_GATES[kind] * hidden, np.random.default_rng(0)
    bound = 1 / np.sqrt(hidden)
    weights = [jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))
               for shape in ((rows, features), (rows, hidden), (rows,), (rows,))]
    x = jnp.asarray(rng.standard_normal((steps, batch, features)).astype(np.float32))

    def cell(carry, projected, w_hh, b_hh):
        h = carry[0] if kind == "LSTM" else carry
        recurrent = h @ w_hh.T + b_hh
        if kind == "RNN":
            h = jnp.tanh(projected + recurrent)
            return h, h
        if kind == "GRU":
            (x_r, x_z, x_n), (h_r, h_z, h_n) = jnp.split(projected, 3, 1), jnp.split(recurrent, 3, 1)
            r_t, z_t = jax.nn.sigmoid(x_r + h_r), jax.nn.sigmoid(x_z + h_z)
            n_t = jnp.tanh(x_n + r_t * h_n)
            h = (1 - z_t) * n_t + z_t * h
            return h, h
        i_t, f_t, g_t, o_t = jnp.split(projected + recurrent, 4, 1)
        c = jax.nn.sigmoid(f_t) * carry[1] + jax.nn.sigmoid(i_t) * jnp.tanh(g_t)
        h = jax.nn.sigmoid(o_t) * jnp.tanh(c)
        return (h, c), h

    def loss(w_ih, w_hh, b_ih, b_hh):
        zeros = jnp.zeros((batch, hidden), jnp.float32)
        init = (zeros, zeros) if kind == "LSTM" else zeros
        _, hs = jax.lax.scan(lambda carry, p: cell(carry, p, w_hh, b_hh), init, x @ w_ih.T + b_ih)
        return hs.sum()

    run = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)) if train else loss)

    def step():
        jax.block_until_ready(run(*weights))

    return step


def _jax():
    try:
        import jax
    except ImportError:
        return None
    return jax


def _rnn_candidates(kind: str, config: str, train: bool, torch, jax) -> dict:
    found = {"ours": Candidate("step()", {"step": _rnn_step(tg, kind, config, True, train)}),
             "hand-written": Candidate("step()", {"step": _hand_written_step(kind, config, train)})}
    if config in COMPOSED_CONFIGS:
        found["composed"] = Candidate("step()", {"step": _rnn_step(tg, kind, config, False, train)})
    if torch is not None:
        found["torch"] = Candidate("step()", {"step": _rnn_step(torch, kind, config, True, train)})
    if jax is not None:
        found["jax"] = Candidate("step()", {"step": _jax_step(kind, config, train)})
    return found


def train_flops(kind: str, config: str) -> int:
    """GEMM flops of one training step when the input needs no gradient.

    Forward: the input projection and the recurrent product; backward: the
    recurrent product again and the two weight gradients: 2 R G H (2 in + 3 H).
    """
    batch, steps, features, hidden = RNN_CONFIGS[config]
    return 2 * batch * steps * RNN_GATES[kind] * hidden * (2 * features + 3 * hidden)


GEMM_SHAPE = (2048, 2048, 2048)  # float32 GEMM at numpy's best rate here: what the limits divide by


def gemm_gflops(repeat: int) -> float:
    """numpy's float32 GEMM rate here, GFLOP/s."""
    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    seconds = statistics.median(interleaved_rounds({"gemm": Candidate("a @ b", {"a": a, "b": b})}, 1, repeat)["gemm"])
    return 2 * m * k * n / seconds / 1e9


def first_step_seconds() -> dict:
    """import tinygrad_rnn + the first LSTM training step at S, in fresh processes.

    Cold: empty caches (numba's, and the compiler's generated source), so every
    kernel and the LSTM's generated step compile. Warm: the same caches again,
    also with SciPy hidden, as on an install of only numpy and numba: when SciPy
    is there, numba imports it on the first kernel call.
    """
    import subprocess
    import tempfile

    found = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(cache, "numba"), HOME=cache)
        for state, flags in (("cold cache", []), ("warm cache", []), ("warm cache, SciPy hidden", ["--without-scipy"])):
            run = subprocess.run([sys.executable, "-c", _FIRST_STEP, *flags], env=env,
                                 capture_output=True, text=True, check=True)
            import_s, total_s = map(float, run.stdout.split())
            found[state] = {"import_s": import_s, "import_and_first_step_s": total_s}
    return found


def run_rnn(args) -> dict:
    configs = args.configs or (["S", "B1"] if args.quick else list(RNN_CONFIGS))
    repeat = 3 if args.quick else args.repeat
    torch, jax = _torch(), _jax()
    train, forward = {}, {}
    rate = gemm_gflops(repeat)
    for kind in args.kinds or list(RNN_GATES):
        for config in configs:
            for table, is_train in ((train, True), (forward, False)):
                candidates = _rnn_candidates(kind, config, is_train, torch, jax)
                seconds = timeit.Timer("step()", globals=candidates["ours"].namespace).timeit(1)
                number = max(1, round(0.05 / seconds))  # rounds of about 50 ms of our work
                medians = _medians(interleaved_rounds(candidates, number, repeat, warmup=WARMUP_S))
                table.setdefault(kind, {})[config] = {name: s * 1e3 for name, s in medians.items()}
            print(f"  timed {kind} {config}", file=sys.stderr, flush=True)
    rate = (rate + gemm_gflops(repeat)) / 2  # before and after: the machine's state over the run
    limits = {kind: {c: train_flops(kind, c) / (rate * 1e9) * 1e3 for c in by} for kind, by in train.items()}
    results = {
        "command": "python -m tinygrad_rnn.bench " + " ".join(args.argv),
        "machine": machine(),
        "settings": {"configs": {c: RNN_CONFIGS[c] for c in configs}, "config_fields": "batch, steps, input, hidden",
                     "dtype": "float32", "rounds": repeat, "statistic": "median of interleaved rounds",
                     "train_step": "forward, output.sum(), backward; input needs no grad",
                     "limit": f"GEMM flops of the training step / numpy's float32 GEMM {GEMM_SHAPE} rate"},
        "train_ms": train,
        "forward_no_grad_ms": forward,
        "gemm_gflops": rate,
        "limit_ms": limits,
        "fraction_of_limit": {kind: {c: limits[kind][c] / ms["ours"] for c, ms in by.items()}
                              for kind, by in train.items()},
        "first_step_s": None if args.quick else first_step_seconds(),  # a cold compile takes a while
    }
    results["goals"] = _rnn_goals(results)
    results["machine"]["load_average_1min_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    _print_rnn(results)
    return results


def _rnn_goals(results: dict) -> list:
    """(goal, measured, met) for every goal of the cell-compiler issue this run measured.

    A speed goal's target is the time of the faster of PyTorch and JAX (GRU, RNN: half of
    PyTorch's), or the time of LIMIT_FRACTION of the GEMM-bound limit when that is slower.
    """
    goals = []
    for kind, by_config in results["train_ms"].items():
        for config, ms in by_config.items():
            floor = results["limit_ms"][kind][config] / LIMIT_FRACTION
            others = {name: ms[name] for name in ("torch", "jax") if name in ms}
            targets = []
            if others:
                fastest = min(others, key=others.get)
                targets.append((f"faster of torch and JAX ({fastest})", others[fastest]))
            if kind in HALF_TORCH and "torch" in ms:
                targets.append(("0.5x torch", ms["torch"] / 2))
            for label, target in targets:
                bound = f"{LIMIT_FRACTION:.0%} of the GEMM limit" if floor > target else label
                goals.append((f"{kind} {config}: ours <= {bound}, {max(target, floor):.2f} ms", round(ms["ours"], 3),
                              ms["ours"] <= max(target, floor)))
    if results["first_step_s"]:
        for state, limit in (("cold cache", COLD_FIRST_STEP_S), ("warm cache", WARM_FIRST_STEP_S)):
            seconds = results["first_step_s"][state]["import_and_first_step_s"]
            goals.append((f"{state}: import + first LSTM training step at S < {limit:g} s", round(seconds, 3),
                          seconds < limit))
    return [{"goal": goal, "measured": measured, "met": bool(met)} for goal, measured, met in goals]


def _print_rnn(results: dict) -> None:
    facts, settings = results["machine"], results["settings"]
    print(f"float32, ms, median of {settings['rounds']} interleaved rounds; {facts['cpu']}, "
          f"load average {facts['load_average_1min']:.1f}")
    names = ("ours", "hand-written", "composed", "torch", "jax")
    header = (f"{'layer':<6}{'cfg':<4}" + "".join(f"{n:>13}" for n in names)
              + f"{'limit':>9}{'of limit':>10}{'/torch':>8}{'/jax':>8}{'/hand':>8}")
    for title, table in (("training step (forward, output.sum(), backward)", results["train_ms"]),
                         ("forward only, no_grad", results["forward_no_grad_ms"])):
        print(f"\n{title}\n{header}")
        for kind, by_config in table.items():
            for config, ms in by_config.items():
                train = table is results["train_ms"]
                limit = results["limit_ms"][kind][config] if train else None
                print(f"{kind:<6}{config:<4}" + "".join(f"{_cell(ms.get(n), '{:.2f}'):>13}" for n in names)
                      + f"{_cell(limit, '{:.2f}'):>9}{_cell(limit and limit / ms['ours'], '{:.0%}'):>10}"
                      + "".join(f"{_cell(ms.get(n) and ms['ours'] / ms[n], '{:.2f}x'):>8}"
                                for n in ("torch", "jax", "hand-written")))
    print(f"\nnumpy float32 GEMM {'x'.join(map(str, GEMM_SHAPE))}: {results['gemm_gflops']:.1f} GFLOP/s "
          "(mean of before and after the layers)")
    for state, times in (results["first_step_s"] or {}).items():
        print(f"new process, {state}: import tinygrad_rnn {times['import_s']:.2f} s, "
              f"+ first LSTM training step at S: {times['import_and_first_step_s']:.2f} s")
    print("\ngoals:")
    for goal in results["goals"]:
        print(f"  {'met    ' if goal['met'] else 'NOT met'}  {goal['goal']}: {goal['measured']}")


# -- cells -----------------------------------------------------------------------

# each new cell, and the built-in cell whose GEMMs are closest to its own
NEW_CELLS = {"PeepholeLSTM": "LSTM", "LayerNormLSTM": "LSTM", "CIFGLSTM": "GRU", "IndRNN": "RNN", "MinGRU": "RNN"}
CELL_CONFIGS = ("S", "M", "B1")
COMPILED_OVER_COMPOSED, CELL_OVER_BUILT_IN = 5.0, 1.3  # goals of the cell-compiler issue


def run_cells(args) -> dict:
    configs = args.configs or (["S"] if args.quick else list(CELL_CONFIGS))
    repeat = 3 if args.quick else args.repeat
    train = {}
    for kind in args.kinds or list(NEW_CELLS):
        for config in configs:
            candidates = {"compiled": Candidate("step()", {"step": _rnn_step(tg, kind, config, True, True)}),
                          f"{NEW_CELLS[kind]} compiled": Candidate("step()", {"step": _rnn_step(
                              tg, NEW_CELLS[kind], config, True, True)})}
            if config != "M":  # the composed path at M takes seconds a step
                candidates["composed"] = Candidate("step()", {"step": _rnn_step(tg, kind, config, False, True)})
            medians = _medians(interleaved_rounds(candidates, 1, repeat, warmup=WARMUP_S))
            train.setdefault(kind, {})[config] = {name: seconds * 1e3 for name, seconds in medians.items()}
            print(f"  timed {kind} {config}", file=sys.stderr, flush=True)
    results = {"command": "python -m tinygrad_rnn.bench " + " ".join(args.argv), "machine": machine(),
               "settings": {"configs": {c: RNN_CONFIGS[c] for c in configs}, "dtype": "float32", "rounds": repeat,
                            "statistic": "median of interleaved rounds"},
               "train_ms": train}
    goals = []
    for kind, by_config in train.items():
        for config, ms in by_config.items():
            if "composed" in ms and config in ("S", "B1"):
                ratio = ms["composed"] / ms["compiled"]
                goals.append((f"{kind} {config}: composed / compiled >= {COMPILED_OVER_COMPOSED:g}", ratio,
                              ratio >= COMPILED_OVER_COMPOSED))
            if config == "M":
                ratio = ms["compiled"] / ms[f"{NEW_CELLS[kind]} compiled"]
                goals.append((f"{kind} M: compiled / {NEW_CELLS[kind]} compiled <= {CELL_OVER_BUILT_IN:g}", ratio,
                              ratio <= CELL_OVER_BUILT_IN))
    results["goals"] = [{"goal": g, "measured": round(m, 3), "met": bool(ok)} for g, m, ok in goals]
    print(f"training step, float32, ms, median of {repeat} interleaved rounds; {results['machine']['cpu']}")
    for kind, by_config in train.items():
        for config, ms in by_config.items():
            print(f"  {kind:<14}{config:<4}" + ", ".join(f"{name} {t:.2f}" for name, t in ms.items()))
    print("goals:")
    for goal in results["goals"]:
        print(f"  {'met    ' if goal['met'] else 'NOT met'}  {goal['goal']}: {goal['measured']}")
    return results


# -- hvp -------------------------------------------------------------------------

HVP_OVER_STEP = 4.0  # goal of the higher-order issue, for the composed LSTM at S


def _hvp_step(library, kind: str, config: str, hvp: bool):
    """One training step of a composed layer (float32), or one product H v with all its weights."""
    batch, steps, features, hidden = RNN_CONFIGS[config]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps, batch, features)).astype(np.float32)
    if library is tg:
        layer, x, wrap = getattr(tg.nn, kind)(features, hidden, fused=False), tg.Tensor(x), tg.Tensor
    else:
        layer, x, wrap = getattr(library.nn, kind)(features, hidden), library.from_numpy(x), library.from_numpy
    weights = list(layer.parameters())
    v = [wrap(rng.standard_normal(tuple(w.shape)).astype(np.float32)) for w in weights]

    def step():
        output, _ = layer(x)
        if not hvp:
            output.sum().backward()
            return
        grads = library.autograd.grad(output.sum(), weights, create_graph=True)
        library.autograd.grad(sum((g * u).sum() for g, u in zip(grads, v)), weights)

    return step


def run_hvp(args) -> dict:
    repeat = 3 if args.quick else args.repeat
    torch = _torch()
    libraries = {"tinygrad_rnn": tg} if torch is None else {"tinygrad_rnn": tg, "torch": torch}
    results = {"command": "python -m tinygrad_rnn.bench " + " ".join(args.argv), "machine": machine(),
               "settings": {"config": args.config, "shape (N, T, in, H)": RNN_CONFIGS[args.config],
                            "rounds": repeat, "dtype": "float32", "statistic": "median of rounds"},
               "ms": {}, "hvp_over_step": {}}
    for kind in args.kinds or list(RNN_GATES):
        candidates = {(name, stage): Candidate("step()", {"step": _hvp_step(library, kind, args.config, hvp)})
                      for name, library in libraries.items() for stage, hvp in (("step", False), ("hvp", True))}
        ms = {key: s * 1e3 for key, s in _medians(interleaved_rounds(candidates, 1, repeat, WARMUP_S)).items()}
        results["ms"][kind] = {f"{name} {stage}": t for (name, stage), t in ms.items()}
        results["hvp_over_step"][kind] = {name: ms[name, "hvp"] / ms[name, "step"] for name in libraries}
    lstm = results["hvp_over_step"].get("LSTM", {}).get("tinygrad_rnn")
    results["goal"] = {"goal": f"hvp of the composed LSTM at {args.config} <= {HVP_OVER_STEP:g}x its training step",
                       "measured": lstm, "met": lstm is not None and lstm <= HVP_OVER_STEP}
    _print_hvp(results)
    return results


def _measured(results: dict, what: str) -> None:
    """Print the first line of a result: what was measured, how often, on which machine, at what load."""
    facts, load = results["machine"], results["machine"]["load_average_1min"]
    print(f"{what}, float32, ms, median of {results['settings']['rounds']} rounds; {facts['cpu']}"
          + ("" if load is None else f"; load average {load:.2f}"))


def _print_hvp(results: dict) -> None:
    settings = results["settings"]
    _measured(results, f"Hessian-vector product with all weights vs one training step, {settings['config']} "
                       f"{settings['shape (N, T, in, H)']}")
    for kind, times in results["ms"].items():
        ratios = ", ".join(f"{name} {r:.2f}x" for name, r in results["hvp_over_step"][kind].items())
        print(f"  {kind}: " + ", ".join(f"{name} {t:.2f}" for name, t in times.items()) + f"; hvp/step: {ratios}")
    goal = results["goal"]
    if goal["measured"] is not None:
        print(f"goal: {goal['goal']}: {goal['measured']:.2f}x ({'met' if goal['met'] else 'NOT met'})")


# -- threads -------------------------------------------------------------------------


@contextlib.contextmanager
def _one_thread_below(limit: int):
    """kernels/threads.py's ONE_THREAD_BELOW set to ``limit`` for a block."""
    from .kernels import threads

    default, threads.ONE_THREAD_BELOW = threads.ONE_THREAD_BELOW, limit
    try:
        yield
    finally:
        threads.ONE_THREAD_BELOW = default


@contextlib.contextmanager
def _busy_core(busy: bool):
    """With ``busy``, another process spins on one core for the duration of the block."""
    if not busy:
        yield
        return
    import subprocess

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def run_threads(args) -> dict:
    from .kernels import threads

    repeat = 3 if args.quick else args.repeat
    configs = args.configs or (["S"] if args.quick else ["S", "M"])
    results = {"command": "python -m tinygrad_rnn.bench " + " ".join(args.argv), "machine": machine(),
               "settings": {"rounds": repeat, "dtype": "float32", "statistic": "median of rounds",
                            "openblas_threads": threads.num_threads(), "busy": args.busy,
                            "one_thread_below": threads.ONE_THREAD_BELOW},
               "ms": {}}
    with _busy_core(args.busy):
        for kind in args.kinds or ["LSTM", "GRU"]:
            for config in configs:
                step = _rnn_step(tg, kind, config, fused=True, train=True)
                candidates = {"limit off": Candidate("step()", {"step": step}, lambda: _one_thread_below(0)),
                              "limit on": Candidate("step()", {"step": step})}
                ms = {name: t * 1e3 for name, t in _medians(interleaved_rounds(candidates, 1, repeat, WARMUP_S)).items()}
                results["ms"][f"{kind} {config}"] = ms
    _print_threads(results)
    return results


def _print_threads(results: dict) -> None:
    settings = results["settings"]
    _measured(results, f"fused training step, OpenBLAS threads {settings['openblas_threads']}, "
                       f"{'one core kept busy' if settings['busy'] else 'no added load'}")
    for case, ms in results["ms"].items():
        shape = RNN_CONFIGS[case.split()[1]]
        print(f"  {case} {shape}: limit off {ms['limit off']:.2f}, on {ms['limit on']:.2f}, "
              f"off/on {ms['limit off'] / ms['limit on']:.2f}x")


# -- command line -------------------------------------------------------------------


def _command(commands, name: str, run, repeat: int, summary: str) -> argparse.ArgumentParser:
    """The subcommand ``name`` running ``run``, with the options every benchmark takes."""
    command = commands.add_parser(name, help=summary)
    command.add_argument("--repeat", type=int, default=repeat, help=f"interleaved rounds ({repeat})")
    command.add_argument("--quick", action="store_true", help="a few rounds: a smoke test")
    command.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    command.set_defaults(run=run)
    return command


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m tinygrad_rnn.bench",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ops = _command(commands, "ops", run_ops, 15, "cost of one recorded op; a 10,000-op chain")
    ops.add_argument("--baseline", metavar="DIR",
                     help="a checkout of another commit: time the chain with its tinygrad_rnn too")
    rnn = _command(commands, "rnn", run_rnn, 9, "RNN/LSTM/GRU training steps: fused, composed, torch")
    rnn.add_argument("--configs", nargs="+", choices=list(RNN_CONFIGS),
                     help="configurations (all; --quick: S B1, and no first-step timing)")
    rnn.add_argument("--kinds", nargs="+", choices=list(RNN_GATES), help="layers (all)")
    cells = _command(commands, "cells", run_cells, 7, "the new cells: compiled vs composed vs a built-in cell")
    cells.add_argument("--configs", nargs="+", choices=list(CELL_CONFIGS), help="configurations (S M B1)")
    cells.add_argument("--kinds", nargs="+", choices=list(NEW_CELLS), help="cells (all)")
    hvp = _command(commands, "hvp", run_hvp, 9, "Hessian-vector product vs training step, composed layers")
    hvp.add_argument("--config", choices=list(RNN_CONFIGS), default="S", help="configuration (S)")
    hvp.add_argument("--kinds", nargs="+", choices=list(RNN_GATES), help="layers (all)")
    threads = _command(commands, "threads", run_threads, 5, "fused training step, one-BLAS-thread limit off and on")
    threads.add_argument("--configs", nargs="+", choices=list(RNN_CONFIGS), help="configurations (S M)")
    threads.add_argument("--kinds", nargs="+", choices=list(RNN_GATES), help="layers (LSTM GRU)")
    threads.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    args = parser.parse_args(argv)
    args.argv = argv
    results = args.run(args)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
