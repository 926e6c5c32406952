"""tg.data.Dataset, TensorDataset, DataLoader, default_collate and pad_collate: torch's batches,
reproducible shuffling, padding ready for packing, errors."""

import functools
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn
from tinygrad_rnn.data import DataLoader, Dataset, TensorDataset, default_collate, pad_collate

Pair = namedtuple("Pair", ["x", "y"])


def as_numpy(batch):
    """A batch of ours or of torch's as nested plain Python containers of ndarrays."""
    if isinstance(batch, Tensor):
        return batch.data
    if hasattr(batch, "detach"):  # a torch tensor
        return batch.detach().numpy()
    if isinstance(batch, dict):
        return {key: as_numpy(value) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(*map(as_numpy, batch)) if hasattr(batch, "_fields") else [as_numpy(b) for b in batch]
    return batch


def assert_same(ours, theirs):
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(ours, np.ndarray):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for key in ours:
            assert_same(ours[key], theirs[key])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        assert ours == theirs


def samples(kind, count=5):
    rng = np.random.default_rng(0)
    make = {
        "arrays": lambda i: rng.standard_normal((2, 3)),
        "float32_arrays": lambda i: rng.standard_normal(3).astype(np.float32),
        "floats": lambda i: float(i) / 3,
        "ints": lambda i: i * 7,
        "bools": lambda i: i % 2 == 0,
        "numpy_scalars": lambda i: np.float64(i) / 7,
        "strings": lambda i: f"sample {i}",
        "tuples": lambda i: (rng.standard_normal(4), i, f"s{i}"),
        "lists": lambda i: [i, float(i)],
        "dicts": lambda i: {"x": rng.standard_normal(2), "label": i, "meta": {"id": i * 1.5}},
        "namedtuples": lambda i: Pair(rng.standard_normal(2), i),
    }[kind]
    return [make(i) for i in range(count)]


KINDS = ["arrays", "float32_arrays", "floats", "ints", "bools", "numpy_scalars", "strings", "tuples", "lists",
         "dicts", "namedtuples"]


@pytest.mark.parametrize("kind", KINDS)
def test_default_collate_matches_torchs(kind):
    pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    batch = samples(kind)
    assert_same(as_numpy(default_collate(batch)), as_numpy(torch_collate(batch)))


def test_default_collate_stacks_tensors_and_keeps_their_graph():
    rows = [Tensor(np.full(3, float(i)), requires_grad=True) for i in range(4)]
    batch = default_collate(rows)
    assert batch.shape == (4, 3) and batch.dtype == np.float64
    (batch * Tensor(np.arange(4.0)[:, None])).sum().backward()
    assert [r.grad[0] for r in rows] == [0.0, 1.0, 2.0, 3.0]
    assert default_collate([1, 2.5]).data.tolist() == [1.0, 2.5]  # never truncated to ints


def test_default_collate_errors_say_what_does_not_fit():
    with pytest.raises(ValueError, match=r"cannot stack samples of shapes \[\(2,\), \(3,\)\].*pad_collate"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="each element in the batch should be a list or tuple of equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match=r"every sample must be a dict with the keys \['a'\], got \['b'\]"):
        default_collate([{"a": 1}, {"b": 2}])
    with pytest.raises(TypeError, match="a batch mixes arrays with float, ndarray"):
        default_collate([np.zeros(2), 1.0])
    with pytest.raises(TypeError, match="a batch must hold Tensors, .*; got object"):
        default_collate([object()])
    with pytest.raises(ValueError, match="batch must be a non-empty list of samples"):
        default_collate([])


@pytest.mark.parametrize("count, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                          (2, 5, True), (7, 1, False)])
def test_sequential_batches_match_torchs(count, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((count, 3))
    y = np.arange(count)
    ours = DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(ours)
    for our_batch, their_batch in zip(batches, theirs, strict=True):
        assert_same(as_numpy(our_batch), as_numpy(their_batch))


@given(count=st.integers(1, 40), batch_size=st.integers(1, 9), drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_shuffled_epochs_are_permutations_reproducible_from_the_seed(count, batch_size, drop_last, seed):
    dataset = list(range(count))

    def epochs(loader):
        return [np.concatenate([batch.data for batch in loader]) if len(loader) else np.array([], int)
                for _ in range(3)]

    first = epochs(DataLoader(dataset, batch_size, shuffle=True, drop_last=drop_last,
                              generator=np.random.default_rng(seed)))
    again = epochs(DataLoader(dataset, batch_size, shuffle=True, drop_last=drop_last,
                              generator=np.random.default_rng(seed)))
    for epoch, repeated in zip(first, again):
        np.testing.assert_array_equal(epoch, repeated)
        kept = count - count % batch_size if drop_last else count
        assert len(epoch) == kept and len(set(epoch.tolist())) == kept and set(epoch.tolist()) <= set(dataset)
    sizes = [len(batch) for batch in DataLoader(dataset, batch_size, shuffle=True, drop_last=drop_last)]
    assert all(size == batch_size for size in (sizes if drop_last else sizes[:-1]))


def test_each_epoch_draws_a_new_order_and_manual_seed_reproduces_them():
    dataset = list(range(50))
    loader = DataLoader(dataset, batch_size=50, shuffle=True)
    tg.manual_seed(3)
    orders = [next(iter(loader)).data.tolist() for _ in range(2)]
    assert orders[0] != orders[1] and sorted(orders[0]) == dataset
    tg.manual_seed(3)
    assert [next(iter(loader)).data.tolist() for _ in range(2)] == orders
    assert next(iter(DataLoader(dataset, batch_size=50))).data.tolist() == dataset  # no shuffle: in order


class Sentences(Dataset):
    """Variable-length id sequences with a label each."""

    def __init__(self):
        rng = np.random.default_rng(2)
        self.items = [(rng.integers(1, 20, length), int(length % 3)) for length in [3, 7, 1, 5, 4, 2]]

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)


def test_pad_collate_pads_returns_lengths_and_collates_the_rest():
    dataset = Sentences()
    loader = DataLoader(dataset, batch_size=4, collate_fn=functools.partial(pad_collate, batch_first=True))
    ids, lengths, labels = next(iter(loader))
    assert ids.shape == (4, 7) and ids.dtype == np.int64
    assert lengths.dtype == np.int64 and lengths.data.tolist() == [3, 7, 1, 5]
    assert labels.data.tolist() == [0, 1, 1, 2]
    for row, (sequence, _) in zip(ids.data, dataset.items):
        np.testing.assert_array_equal(row[:len(sequence)], sequence)
        assert not row[len(sequence):].any()


def test_pad_collate_feeds_pack_padded_sequence_and_an_lstm():
    tg.manual_seed(0)
    rng = np.random.default_rng(4)
    sequences = [rng.standard_normal((length, 3)) for length in [2, 5, 3]]
    padded, lengths = pad_collate(sequences, padding_value=-1.0)
    assert padded.shape == (5, 3, 3) and (padded.data[2:, 0] == -1.0).all()
    packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, enforce_sorted=False)
    lstm = nn.LSTM(3, 4).double()
    _, (h_n, _) = lstm(packed)
    for index, sequence in enumerate(sequences):  # each sequence's final state, as if run alone
        _, (alone, _) = lstm(Tensor(sequence[:, None]))
        np.testing.assert_allclose(h_n.data[:, index], alone.data[:, 0], rtol=1e-12)


def test_pad_collate_errors():
    with pytest.raises(TypeError, match="either every sample is a tuple"):
        pad_collate([(np.ones(2), 1), np.ones(3)])
    with pytest.raises(ValueError, match=r"sample 1 must be a sequence \(L, \*\) with L >= 1, got shape \(0,\)"):
        pad_collate([[1, 2], []])
    with pytest.raises(TypeError, match="sample 0 is not a sequence of numbers"):
        pad_collate(["text"])
    with pytest.raises(TypeError, match="pad_collate: batch_first must be a bool"):
        pad_collate([[1]], batch_first=1)


def test_tensor_dataset_and_loader_errors():
    with pytest.raises(ValueError, match=r"TensorDataset: the tensors must have the same first dim .*\(3, 2\), \(4,\)"):
        TensorDataset(Tensor(np.zeros((3, 2))), Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match="TensorDataset: tensors\\[0\\] must be a Tensor or ndarray"):
        TensorDataset([1, 2])
    dataset = TensorDataset(np.arange(6).reshape(3, 2), Tensor(np.arange(3)))
    first = dataset[0]
    assert len(dataset) == 3 and first[0].tolist() == [0, 1] and int(first[1]) == 0
    with pytest.raises(ValueError, match="DataLoader: batch_size must be an int >= 1, got 0"):
        DataLoader(dataset, batch_size=0)
    with pytest.raises(TypeError, match="DataLoader: generator must be a numpy.random.Generator"):
        DataLoader(dataset, shuffle=True, generator=0)
    with pytest.raises(ValueError, match="DataLoader: num_workers=2 is not supported"):
        DataLoader(dataset, num_workers=2)
    with pytest.raises(TypeError, match="DataLoader: dataset must have __getitem__ and __len__, got int"):
        DataLoader(5)
    with pytest.raises(NotImplementedError, match="Dataset: __getitem__\\(\\) is not defined"):
        Dataset()[0]


def test_the_package_keeps_every_old_name():
    import tinygrad_rnn.data as data

    for name in ["SPECIALS", "Vocab", "batches", "one_hot", "pad_batch", "sample", "sequence_log_prob",
                 "tokenize_chars", "tokenize_words", "windows"]:
        assert getattr(tg.data, name) is getattr(data, name)
    assert tg.data.DataLoader is DataLoader
