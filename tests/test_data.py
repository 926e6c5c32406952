"""tinygrad_rnn.data: vocabularies, tokenizers, windows, batches, sampling and sequence probabilities."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.data import (Vocab, batches, one_hot, pad_batch, sample, sequence_log_prob,
                               tokenize_chars, tokenize_words, windows)

tokens = st.lists(st.text(alphabet="abcxyz,.<>", min_size=1, max_size=3), max_size=30)


# -- Vocab -------------------------------------------------------------------------------

def test_vocab_specials_then_tokens_by_frequency_ties_by_first_appearance():
    vocab = Vocab.build([["b", "a", "c"], ["a", "d", "c"], ["a"]])
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "c", "b", "d"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert len(vocab) == 8 and vocab["a"] == 4 and vocab["zzz"] == vocab.unk_id
    assert vocab.stoi["d"] == 7


def test_vocab_min_freq_max_size_and_specials_in_the_data():
    data = ["aaab", "bbc", "<unk>"]
    assert Vocab.build(data, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(data, max_size=1).itos[4:] == ["a"]  # a and b both 3 times: a was seen first
    assert Vocab.build(data, max_size=0).itos == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert Vocab.build([["<unk>", "x", "<eos>"]]).itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x"]


def test_vocab_max_size_keeps_the_most_frequent():
    vocab = Vocab.build(["abbbcc"], max_size=2)
    assert vocab.itos[4:] == ["b", "c"]
    assert vocab.encode("abc") == [vocab.unk_id, 4, 5]


@given(tokens, tokens)
def test_encode_decode_round_trip_with_unknown_tokens(train, text):
    vocab = Vocab.build([train])
    decoded = vocab.decode(vocab.encode(text))
    assert decoded == [token if token in set(train) | {"<pad>", "<bos>", "<eos>"} else "<unk>" for token in text]
    assert vocab.decode(vocab.encode(train)) == train


def test_vocab_save_load(tmp_path):
    vocab = Vocab.build([tokenize_words("Ñandú, the café's menu. The end!")])
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded.itos == vocab.itos and loaded.stoi == vocab.stoi


def test_vocab_errors(tmp_path):
    vocab = Vocab.build(["ab"])
    with pytest.raises(IndexError, match="Vocab.decode: id 6"):
        vocab.decode([0, 6])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(["ab"], min_freq=0)
    with pytest.raises(ValueError, match="must start with"):
        Vocab(["a", "b"])
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="Vocab.load"):
        Vocab.load(tmp_path / "bad.json")


# -- tokenizers, one_hot --------------------------------------------------------------------

def test_tokenizers():
    assert tokenize_words("Hello, World! It's 2024.") == ["hello", ",", "world", "!", "it's", "2024", "."]
    assert tokenize_words("Elena no quiere salir.", lower=False) == ["Elena", "no", "quiere", "salir", "."]
    assert tokenize_chars("ab c") == ["a", "b", " ", "c"]


def test_one_hot_shapes_values_and_errors():
    ids = np.array([[0, 2], [1, 2]])
    encoded = one_hot(ids, 3)
    assert encoded.shape == (2, 2, 3) and encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded.data.argmax(-1), ids)
    np.testing.assert_array_equal(encoded.data.sum(-1), 1)
    assert one_hot(Tensor(np.array(1)), 4, dtype=np.float64).data.tolist() == [0, 1, 0, 0]
    with pytest.raises(IndexError, match="one_hot: id 3"):
        one_hot([0, 3], 3)
    with pytest.raises(IndexError, match="one_hot: id -1"):
        one_hot([-1], 3)
    with pytest.raises(TypeError, match="one_hot: ids must hold integers"):
        one_hot(np.array([0.5]), 3)


# -- windows, pad_batch, batches ----------------------------------------------------------------

@given(st.lists(st.integers(0, 50), max_size=25), st.integers(1, 6), st.integers(1, 4))
def test_windows_match_a_loop(ids, size, stride):
    contexts, targets = windows(ids, size, stride)
    expected = [(ids[i:i + size], ids[i + size]) for i in range(0, len(ids) - size, stride)]
    assert contexts.shape == (len(expected), size) and targets.shape == (len(expected),)
    assert contexts.dtype == np.int64 and targets.dtype == np.int64
    assert contexts.tolist() == [context for context, _ in expected]
    assert targets.tolist() == [target for _, target in expected]


def test_windows_errors():
    with pytest.raises(ValueError, match="windows: size"):
        windows([1, 2, 3], 0)
    with pytest.raises(ValueError, match=r"windows: ids must be 1-D, got shape \(1, 3\)"):
        windows([[1, 2, 3]], 1)


@given(st.lists(st.lists(st.integers(1, 9), max_size=6), min_size=1, max_size=5), st.booleans())
def test_pad_batch(sequences, batch_first):
    ids, lengths, mask = pad_batch(sequences, pad_id=0, batch_first=batch_first)
    if not batch_first:
        ids, mask = ids.T, mask.T
    longest = max(len(sequence) for sequence in sequences)
    assert ids.shape == mask.shape == (len(sequences), longest) and ids.dtype == np.int64
    assert lengths.tolist() == [len(sequence) for sequence in sequences]
    for row, sequence in enumerate(sequences):
        assert ids[row, :len(sequence)].tolist() == sequence
        assert (ids[row, len(sequence):] == 0).all()
        assert mask[row].tolist() == [True] * len(sequence) + [False] * (longest - len(sequence))


def test_pad_batch_pad_id_and_errors():
    ids, _, _ = pad_batch([[5], [6, 7]], pad_id=-1)
    assert ids.tolist() == [[5, -1], [6, 7]]
    with pytest.raises(ValueError, match="pad_batch: sequences is empty"):
        pad_batch([])


@given(st.integers(0, 40), st.integers(1, 12), st.booleans(), st.booleans(), st.integers(0, 1000))
def test_batches_cover_every_row_once(count, batch_size, shuffle, drop_last, seed):
    x = np.arange(count) * 10
    y = np.arange(count)[:, None].repeat(3, axis=1)
    seen = []
    for xb, yb in batches(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last):
        assert len(xb) == len(yb) <= batch_size
        assert (xb == yb[:, 0] * 10).all()  # rows stay aligned
        if drop_last:
            assert len(xb) == batch_size
        seen.extend(yb[:, 0].tolist())
    expected_count = count - count % batch_size if drop_last else count
    assert len(seen) == len(set(seen)) == expected_count
    if not shuffle:
        assert seen == list(range(expected_count))


def test_batches_seed_is_deterministic_and_shuffles():
    def rows(seed):
        return [b[0].tolist() for b in batches(np.arange(50), batch_size=7, seed=seed)]
    assert rows(3) == rows(3)
    assert rows(3) != rows(4)
    assert sorted(sum(rows(3), [])) == list(range(50)) and sum(rows(3), []) != list(range(50))
    tg.manual_seed(9)
    first = [b[0].tolist() for b in batches(np.arange(20), batch_size=5)]
    tg.manual_seed(9)
    assert [b[0].tolist() for b in batches(np.arange(20), batch_size=5)] == first


def test_batches_errors():
    with pytest.raises(ValueError, match=r"first dimension, got shapes \[\(3,\), \(4,\)\]"):
        next(batches(np.zeros(3), np.zeros(4), batch_size=2))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(np.zeros(3), batch_size=0))


# -- language-model helpers -------------------------------------------------------------------

class TableModel:
    """logits at step t = table[ids[t]] + position_bias[position]: a bigram with a clock.

    The position comes from the carried state, so a caller that forgets the state gets
    different (wrong) logits.
    """

    def __init__(self, table, position_bias):
        self.table, self.position_bias = table, position_bias

    def forward(self, ids, state=None):
        ids = np.asarray(ids)
        position = 0 if state is None else state
        steps = ids.shape[1]
        logits = self.table[ids].copy()
        logits[..., 0] += self.position_bias[position:position + steps]  # the clock moves token 0 only
        return Tensor(logits), position + steps


def table_model(seed=0, vocab=5, length=30):
    generator = np.random.default_rng(seed)
    return TableModel(generator.normal(size=(vocab, vocab)), generator.normal(size=length) * 3)


def log_softmax(row):
    row = np.asarray(row, dtype=np.float64)
    return row - row.max() - np.log(np.exp(row - row.max()).sum())


def test_sequence_log_prob_is_the_chain_rule_by_hand():
    model = table_model()
    ids = [3, 1, 4, 1, 0, 2]
    logits_at = lambda prev, position: model.table[prev] + np.eye(5)[0] * model.position_bias[position]
    with_bos = [2] + ids
    by_hand = sum(log_softmax(logits_at(with_bos[t], t))[with_bos[t + 1]] for t in range(len(ids)))
    assert sequence_log_prob(model, ids, bos_id=2) == pytest.approx(by_hand, rel=1e-12, abs=1e-12)
    given_first = sum(log_softmax(logits_at(ids[t], t))[ids[t + 1]] for t in range(len(ids) - 1))
    assert sequence_log_prob(model, ids) == pytest.approx(given_first, rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="sequence_log_prob: need at least one id"):
        sequence_log_prob(model, [3])


def test_sample_top_k_1_is_greedy_and_carries_state():
    model = table_model(seed=1)
    out = sample(model, [2, 4], max_len=10, top_k=1, seed=0)
    previous, greedy = 4, []
    for position in range(2, 12):
        previous = int(np.argmax(model.table[previous] + np.eye(5)[0] * model.position_bias[position - 1]))
        greedy.append(previous)
    assert out == greedy
    assert sample(model, [2, 4], max_len=10, top_k=1, temperature=0.1, seed=5) == greedy


def test_sample_stops_at_stop_token_and_top_k_restricts():
    table = np.log(np.array([[0.05, 0.05, 0.3, 0.3, 0.3]] * 5))
    model = TableModel(table, np.zeros(300))
    out = sample(model, [0], max_len=200, top_k=3, seed=0)
    assert len(out) == 200 and set(out) <= {2, 3, 4} and set(out) == {2, 3, 4}
    out = sample(model, [0], max_len=200, stop_token=3, seed=1)
    assert out[-1] == 3 and 3 not in out[:-1]
    assert sample(model, [0], max_len=50, seed=7) == sample(model, [0], max_len=50, seed=7)
    assert sample(model, [0], max_len=0) == []


def test_sample_temperature_sharpens():
    table = np.log(np.array([[0.1, 0.2, 0.3, 0.4]] * 4))
    model = TableModel(table, np.zeros(2100))
    cold = np.bincount(sample(model, [0], max_len=2000, temperature=0.25, seed=0), minlength=4) / 2000
    warm = np.bincount(sample(model, [0], max_len=2000, temperature=1.0, seed=0), minlength=4) / 2000
    np.testing.assert_allclose(warm, [0.1, 0.2, 0.3, 0.4], atol=0.04)
    expected_cold = np.array([1, 2, 3, 4]) ** 4 / np.sum(np.array([1, 2, 3, 4]) ** 4)
    np.testing.assert_allclose(cold, expected_cold, atol=0.04)


def test_sample_refuses_an_infinite_temperature_and_a_tiny_one_is_greedy():
    model = table_model(seed=1)
    with pytest.raises(ValueError, match=r"sample: temperature must be a number in \(0, inf\), got inf"):
        sample(model, [2, 4], max_len=3, temperature=float("inf"))
    greedy = sample(model, [2, 4], max_len=10, top_k=1, seed=0)
    for temperature in (1e-320, 5e-324, 1e-300):  # logits / temperature would overflow to inf - inf = NaN
        assert sample(model, [2, 4], max_len=10, temperature=temperature, seed=3) == greedy


def test_sample_names_logits_that_give_no_distribution():
    with pytest.raises(ValueError, match="sample: the model's logits at generated step 0 are NaN or all -inf"):
        sample(TableModel(np.full((4, 4), np.nan), np.zeros(10)), [0], max_len=3)
    certain = np.where(np.arange(4) == 2, 0.0, -np.inf)[None].repeat(4, 0)  # -inf for every id but 2
    for temperature in (1.0, 1e-320):
        assert sample(TableModel(certain, np.zeros(10)), [0], max_len=3, temperature=temperature) == [2, 2, 2]


def test_sample_errors():
    model = table_model()
    with pytest.raises(ValueError, match=r"sample: temperature must be a number in \(0, inf\), got 0"):
        sample(model, [0], 5, temperature=0)
    with pytest.raises(ValueError, match="sample: start_ids is empty"):
        sample(model, [], 5)
    with pytest.raises(ValueError, match="sample: top_k"):
        sample(model, [0], 5, top_k=0)


class LSTMLanguageModel(nn.Module):
    def __init__(self, vocab, hidden=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, 6)
        self.lstm = nn.LSTM(6, hidden, batch_first=True)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        output, state = self.lstm(self.embed(Tensor(np.asarray(ids))), state)
        return self.out(self.dropout(output)), state


def test_lstm_model_step_by_step_equals_whole_sequence_and_mode_is_restored():
    tg.manual_seed(0)
    model = LSTMLanguageModel(7).double()
    ids = [2, 5, 6, 4, 3]
    whole = sequence_log_prob(model, ids[1:], bos_id=2)
    assert model.training  # eval during scoring, training again afterwards
    model.eval()
    state, step_by_step = None, 0.0
    with tg.no_grad():
        for t in range(len(ids) - 1):
            logits, state = model(np.array([[ids[t]]]), state)
            step_by_step += log_softmax(logits.data[0, 0])[ids[t + 1]]
    assert whole == pytest.approx(step_by_step, rel=1e-12)
    model.train()
    assert sequence_log_prob(model, ids[1:], bos_id=2) == whole  # dropout is off while scoring
    out = sample(model, [2], max_len=20, stop_token=3, seed=0)
    assert 1 <= len(out) <= 20 and all(0 <= i < 7 for i in out)
