"""The language-model examples run end to end (--quick) and report what they claim."""

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_char_lm_quick(tmp_path, capsys):
    pytest.importorskip("names")
    results = load_example("char_lm").main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "counted bigram" in printed and "samples at temperature" in printed
    assert results["test_nats_per_char"] < results["first_train_loss"] - 0.3  # it learned something
    assert 2.0 < results["bigram_nats_per_char"] < 3.0
    assert len(results["samples"]) == 3 and all(isinstance(s, str) for s in results["samples"])
    assert (tmp_path / "char_lm.png").stat().st_size > 0
    assert json.loads((tmp_path / "char_lm.json").read_text())["samples"] == results["samples"]


def test_char_lm_reads_any_text_file(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["abcabc", "bcabca", "cabcab"] * 40))
    results = load_example("char_lm").main(["--quick", "--corpus", str(corpus), "--out", str(tmp_path)])
    assert results["test_nats_per_char"] < results["first_train_loss"]
