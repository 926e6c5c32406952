"""tinygrad_rnn.arguments: each check's answer, and the messages every owner's errors share."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import arguments
from tinygrad_rnn.nn.utils.rnn import PackedSequence

nan = float("nan")


def test_arguments_imports_nothing_from_the_package():
    """So that every module, tensor.py included, may use it without an import cycle."""
    tree = ast.parse(Path(arguments.__file__).read_text())
    imported = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imported, "the test reads the imports of arguments.py"
    for node in imported:
        assert not (isinstance(node, ast.ImportFrom) and node.level), ast.unparse(node)
        names = [node.module] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
        assert not any(name.startswith("tinygrad_rnn") for name in names), ast.unparse(node)


def test_values_that_pass_come_back_in_their_plain_form():
    assert arguments.real("f", "x", np.float32(0.5)) == 0.5 and type(arguments.real("f", "x", 2)) is float
    assert arguments.integer("f", "n", np.int64(3), low=0) == 3 and type(arguments.integer("f", "n", np.int64(3))) is int
    assert arguments.probability("f", "p", 1) == 1.0
    assert arguments.choice("f", "mode", "max", ("min", "max")) == "max"
    assert arguments.floating_dtype("f", "dtype", "float64") == np.float64
    t = tg.ones(2)
    assert arguments.instance("f", "input", t, tg.Tensor) is t
    assert arguments.floating_point("f", "input", t) is t
    assert arguments.array("f", "weight", [1, 2], np.float32).dtype == np.float32


@pytest.mark.parametrize("check, error, message", [
    (lambda: arguments.real("f", "x", True), TypeError, "f: x must be a number, got bool True"),
    (lambda: arguments.number("f", "x", nan, 0, 1), ValueError, r"f: x must be a number in \[0, 1\], got nan"),
    (lambda: arguments.number("f", "x", 0, low=0, low_open=True), ValueError, r"f: x must be a number in \(0, inf\], got 0.0"),
    (lambda: arguments.integer("f", "n", 2.0), TypeError, "f: n must be an int, got float 2.0"),
    (lambda: arguments.integer("f", "n", 0, low=1), ValueError, "f: n must be an int >= 1, got 0"),
    (lambda: arguments.probability("f", "p", nan), ValueError, r"f: p must be a probability in \[0, 1\], got nan"),
    (lambda: arguments.probability("f", "p", "0.5"), TypeError, "f: p must be a number, got str '0.5'"),
    (lambda: arguments.boolean("f", "flag", 1), TypeError, "f: flag must be a bool, got int 1"),
    (lambda: arguments.choice("f", "mode", "avg", ("mean", "sum", "none")), ValueError,
     "f: mode must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: arguments.choice("f", "mode", ["min"], ("min",)), ValueError, r"f: mode must be 'min', got \['min'\]"),
    (lambda: arguments.instance("f", "input", np.ones(2), tg.Tensor), TypeError, "f: input must be a Tensor, got ndarray"),
    (lambda: arguments.instance("f", "input", None, (tg.Tensor, PackedSequence)), TypeError,
     "f: input must be a Tensor or PackedSequence, got NoneType"),
    (lambda: arguments.instance("f", "optimizer", [], tg.optim.Optimizer), TypeError,
     "f: optimizer must be an Optimizer, got list"),
    (lambda: arguments.floating_point("f", "input", tg.ones(2, dtype=np.int64)), TypeError,
     r"f: input must be floating point, got dtype int64 \(shape \(2,\)\)"),
    (lambda: arguments.floating_dtype("f", "dtype", np.int32), TypeError, "f: dtype must be floating point, got int32"),
    (lambda: arguments.floating_dtype("f", "dtype", "junk"), TypeError, "f: dtype must be a numpy dtype, got str 'junk'"),
    (lambda: arguments.array("f", "weight", ["a", None], np.float32), TypeError, "f: weight must be an array of numbers, got list"),
])
def test_a_refused_value_names_the_owner_the_argument_and_what_was_expected(check, error, message):
    with pytest.raises(error, match=message):
        check()


def test_nan_is_out_of_every_range():
    for check in (lambda: arguments.number("f", "x", nan), lambda: arguments.probability("f", "x", nan)):
        with pytest.raises(ValueError, match="got nan"):
            check()
    assert math.isnan(arguments.real("f", "x", nan))  # real() is a type check only
