"""The cell compiler behind ``tg.scan(..., compiled=True)``: a step function in, numba loops out.

Five stages, each printable with ``explain``:

1. trace (trace.py): run the step on placeholders; record its primitives.
2. differentiate (trace.py): run the tape's own backward rules on that graph
   with ``create_graph=True``; the recorded result is the step's BPTT.
3. schedule (schedule.py): hoist what does not depend on the carry out of
   the time loops; the input projection and the weight gradients become
   one GEMM each over the rows of all steps.
4. fuse (emit.py): runs of elementwise ops become single expressions.
5. emit (emit.py): Python source of a forward and a backward function, the
   time loop inside each, compiled by numba and cached on disk by the
   hash of the source.

A step is traced once per function, carry and input shapes and dtypes
(the batch size is symbolic); the result is kept in memory with the
tensors the step read. Like ``jax.jit``, a trace records the ops the step
ran, not its Python: a step that reads different tensors later (a global
or an attribute reassigned) must be a new function, or run with
``compiled=False``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass

import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaIRAssumptionWarning

from ..kernels import blas
from ..kernels import activations
from ..ops.scan import Scan
from ..step_contract import as_packed
from ..tensor import Tensor
from . import runtime
from .emit import emit
from .graph import listing
from .schedule import Schedule, schedule
from .trace import Trace, UnsupportedStep, trace

__all__ = ["Program", "UnsupportedStep", "compile_step", "compiled_scan", "explain"]

_CACHE_SIZE = 64
# numba's own pedantic self-check, set off by the inlined branchy activations in generated loops;
# it asks for a bug report about numba, not about the code, which compiles and runs correctly
warnings.filterwarnings("ignore", category=NumbaIRAssumptionWarning)


@dataclass
class Program:
    """A compiled step: every stage's result, and the two compiled functions."""

    trace: Trace
    schedule: Schedule
    source: str
    constants: list  # the arrays the generated functions take after the weights
    dims: np.ndarray  # the feature sizes the source names d0, d1, ...: one source serves other sizes
    forward: object
    backward: object
    record: bool = False  # forward and backward also return every step's carry, and its gradient

    def __str__(self) -> str:
        forward = listing(self.trace.forward_values)
        backward = listing([v for v in self.trace.values if v not in self.trace.forward_values])
        return (f"== trace: the step's primitives\n{forward}\n\n== differentiate: its backward, recorded from "
                f"the tape's rules\n{backward}\n\n== schedule\n{self.schedule}\n\n== fuse and emit: the "
                f"generated source\n{self.source}")


_programs: OrderedDict = OrderedDict()  # key -> (guards, Program), most recent last


def compile_step(step, carry: tuple, single: bool, x_features: tuple, x_dtype, wants_dx: bool = True,
                 record: bool = False) -> Program:
    """The Program for ``step`` at these shapes and dtypes, from the cache or compiled now.

    ``wants_dx``: whether its backward computes the gradient of the input rows.
    ``record``: whether forward and backward also return every step's carry and its gradient.
    """
    guards = _guards(step)
    key = (tuple(id(g) for g in guards), single, tuple((c.shape[1:], str(c.dtype)) for c in carry),
           tuple(x_features), str(np.dtype(x_dtype)), wants_dx, record)
    found = _programs.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], guards)):
        _programs.move_to_end(key)
        return found[1]
    traced = _widened(trace(step, carry, single, x_features, x_dtype, wants_dx))
    plan = schedule(traced)
    source, constants, dims = emit(plan, record)
    forward, backward = _load(source)
    program = Program(traced, plan, source, constants, dims, forward, backward, record)
    _programs[key] = (guards, program)  # the guards stay referenced, so their ids stay theirs
    if len(_programs) > _CACHE_SIZE:
        _programs.popitem(last=False)
    return program


def _widened(traced: Trace) -> Trace:
    """float16 computed in float32, as every kernel does (numba compiles no float16); Scan rounds back."""
    for value in traced.values:
        if value.dtype == np.float16:
            value.dtype = np.dtype(np.float32)
            if value.data is not None:
                value.data = value.data.astype(np.float32)
    return traced


def _guards(step) -> list:
    """The objects that decide what ``step`` computes: its code, and what it closes over or is bound to."""
    if isinstance(step, functools.partial):
        return [*_guards(step.func), *step.args, *step.keywords.values()]
    function = getattr(step, "__func__", step)
    found = [getattr(function, "__code__", function)]
    if hasattr(step, "__self__"):
        found.append(step.__self__)
    for cell in getattr(function, "__closure__", None) or ():
        contents = cell.cell_contents
        found.append(contents)
        if isinstance(contents, (tuple, list)):
            found.extend(contents)
    return found


def _fingerprint(*modules) -> str:
    """A hash of the source of the modules generated code calls into."""
    digest = hashlib.sha256()
    for module in modules:
        with open(module.__file__, "rb") as file:
            digest.update(file.read())
    return digest.hexdigest()


# numba's cache of a generated module is keyed on the module's own source, not on the code it
# calls; the module's name carries this, so that a change to the runtime compiles anew
_RUNTIME = _fingerprint(runtime, blas, activations)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load(source: str):
    """Compile ``source`` with numba, cached on disk by its hash; in memory where no folder is writable."""
    name = "tinygrad_rnn_scan_" + hashlib.sha256((_RUNTIME + source).encode()).hexdigest()[:20]
    namespace = None
    for folder in (os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_rnn"),
                   os.path.join(tempfile.gettempdir(), f"tinygrad_rnn-{os.getuid()}")):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not _private(folder):
                continue  # code found there is run: only in a folder nobody else can write
            path = os.path.join(folder, name + ".py")
            if not os.path.exists(path):
                with open(path + ".part", "w") as file:
                    file.write(source)
                os.replace(path + ".part", path)  # never a half-written module, even with two writers
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # numba's cache finds the functions' module by name
            spec.loader.exec_module(module)
            namespace, cache = vars(module), True
            break
        except OSError:
            continue
    if namespace is None:
        namespace, cache = {}, False
        exec(compile(source, name, "exec"), namespace)  # noqa: S102  (our own generated source)
    if not blas.AVAILABLE:  # numba cannot call a GEMM then: the loops run as Python
        return namespace["forward"], namespace["backward"]
    options = dict(cache=cache, error_model="numpy", fastmath={"contract"})  # as kernels/recurrent.py
    return njit(**options)(namespace["forward"]), njit(**options)(namespace["backward"])


def _private(folder: str) -> bool:
    """Whether ``folder`` is ours and nobody else may write into it."""
    status = os.stat(folder)
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def compiled_scan(step, carry: tuple, single: bool, xs: Tensor, batch_sizes: np.ndarray, reverse: bool,
                  record=None):
    """``scan`` on the compiled path: (final carry as a tuple, packed ys or None)."""
    for tensor in (xs, *carry):
        if tensor.dtype not in (np.float16, np.float32, np.float64):
            raise UnsupportedStep(f"scan: the compiler generates float code (float16 computed in float32), got "
                                  f"{tensor.dtype} (shape {tensor.shape}); use compiled=False")
    program = compile_step(step, carry, single, xs.shape[1:], xs.dtype, xs.requires_grad, record is not None)
    return Scan.run(program, carry, xs, batch_sizes, reverse, record)


def explain(step, init, xs, batch_sizes=None) -> str:
    """Every stage of compiling ``step`` for this carry and input, as text: print it to study it."""
    carry = (init,) if isinstance(init, Tensor) else tuple(init)
    xs, _, _ = as_packed(xs, batch_sizes, carry)
    return str(compile_step(step, carry, isinstance(init, Tensor), xs.shape[1:], xs.dtype, xs.requires_grad))
