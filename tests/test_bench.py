"""Smoke test of `python -m tinygrad_rnn.bench`: it runs and reports numbers.

Speed itself is never asserted here: timings belong to the benchmark's
report (docs/performance.md), not to pass/fail on a shared machine.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn import bench


def _positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def run_bench(tmp_path, command: str, *options: str):
    """``python -m tinygrad_rnn.bench <command> --quick <options> --json <file>``: its stdout and the JSON it wrote."""
    out = tmp_path / f"{command}.json"
    run = subprocess.run([sys.executable, "-m", "tinygrad_rnn.bench", command, "--quick", *options, "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run.stdout, json.loads(out.read_text())


def test_ops_quick_prints_a_table_and_writes_json(tmp_path):
    stdout, results = run_bench(tmp_path, "ops")
    assert "mul, recorded" in stdout and "goal: a recorded elementwise op" in stdout

    assert results["command"] == "python -m tinygrad_rnn.bench ops --quick --json " + str(tmp_path / "ops.json")
    assert results["settings"]["chain_ops"] == 1_000
    has_torch = importlib.util.find_spec("torch") is not None
    assert (results["machine"]["torch"] is not None) == has_torch
    expected_cases = {"mul, recorded", "mul, no_grad", "matmul, recorded", "matmul, no_grad",
                      "chain forward (per op)", "chain fwd+bwd (per op)"}
    assert set(results["per_op_us"]) == expected_cases
    for case, by_library in results["per_op_us"].items():
        expected = {"tinygrad_rnn"} | ({"torch"} if has_torch else set())
        expected |= set() if case.startswith("chain") else {"numpy"}
        assert set(by_library) == expected, case
        assert all(_positive_finite(us) for us in by_library.values()), case
    assert all(math.isfinite(us) for us in results["breakdown_us"].values())
    goal = results["goal"]
    assert goal["recorded_elementwise_us"] == results["per_op_us"]["mul, recorded"]["tinygrad_rnn"]
    assert goal["met"] == (goal["recorded_elementwise_us"] <= goal["limit_us"])


def test_rnn_quick_prints_ratios_and_writes_json(tmp_path):
    stdout, results = run_bench(tmp_path, "rnn", "--configs", "S", "--kinds", "GRU")
    assert "of limit" in stdout and "goals:" in stdout
    extra = {name for name in ("torch", "jax") if importlib.util.find_spec(name) is not None}
    for table in ("train_ms", "forward_no_grad_ms"):
        ms = results[table]["GRU"]["S"]
        assert set(ms) == {"ours", "hand-written", "composed"} | extra, table
        assert all(_positive_finite(v) for v in ms.values()), table
    assert _positive_finite(results["gemm_gflops"])
    assert results["limit_ms"]["GRU"]["S"] == pytest.approx(
        bench.train_flops("GRU", "S") / results["gemm_gflops"] / 1e6)
    assert results["fraction_of_limit"]["GRU"]["S"] == pytest.approx(
        results["limit_ms"]["GRU"]["S"] / results["train_ms"]["GRU"]["S"]["ours"])
    if "torch" in extra:
        assert any(goal["goal"].startswith("GRU S: ours <=") for goal in results["goals"])


def test_a_command_is_required():
    with pytest.raises(SystemExit):
        bench.main([])


def test_interleaved_rounds_times_every_candidate_each_round():
    calls = []
    candidates = {name: bench.Candidate("calls.append(name)", {"calls": calls, "name": name})
                  for name in ("first", "second")}
    rounds = bench.interleaved_rounds(candidates, number=2, repeat=3)
    assert {name: len(times) for name, times in rounds.items()} == {"first": 3, "second": 3}
    warm_up, timed = calls[:2], calls[2:]
    assert warm_up == ["first", "second"]
    assert timed == ["first", "first", "second", "second"] * 3  # interleaved, round by round


def test_hvp_quick_reports_the_ratio_to_a_training_step(tmp_path):
    stdout, results = run_bench(tmp_path, "hvp", "--kinds", "LSTM")
    ms = results["ms"]["LSTM"]
    assert ms["tinygrad_rnn hvp"] > 0 and ms["tinygrad_rnn step"] > 0
    ratio = results["hvp_over_step"]["LSTM"]["tinygrad_rnn"]
    assert ratio == pytest.approx(ms["tinygrad_rnn hvp"] / ms["tinygrad_rnn step"])
    assert results["goal"]["met"] == (ratio <= bench.HVP_OVER_STEP)
    assert "goal: hvp of the composed LSTM at S" in stdout


def test_the_chain_runs_against_a_baseline_tree_in_its_own_processes():
    tree = Path(bench.__file__).resolve().parent.parent
    seconds = bench.chain_against_baseline(tree, ops_count=20, rounds=1)  # this tree against itself
    assert set(seconds) == {"this tree", "baseline"} and all(_positive_finite(s) for s in seconds.values())


def test_cells_quick_reports_compiled_composed_and_the_built_in_cell(tmp_path):
    stdout, results = run_bench(tmp_path, "cells", "--kinds", "MinGRU")
    ms = results["train_ms"]["MinGRU"]["S"]
    assert set(ms) == {"compiled", "composed", "RNN compiled"} and all(_positive_finite(v) for v in ms.values())
    assert "MinGRU S: composed / compiled >= 5" in stdout


def test_threads_quick_times_the_limit_off_and_on(tmp_path):
    stdout, results = run_bench(tmp_path, "threads", "--kinds", "GRU", "--busy")
    assert "one core kept busy" in stdout and "GRU S" in stdout
    assert results["settings"]["busy"] is True and results["settings"]["rounds"] == 3
    assert set(results["ms"]) == {"GRU S"}
    assert all(_positive_finite(ms) for ms in results["ms"]["GRU S"].values())
