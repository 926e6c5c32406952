"""Argument errors of everything built on tensors: modules, losses, optimizers, init, data, checkpoints.

What this file protects: every public entry point above the Tensor refuses
nonsense with ValueError, TypeError or IndexError and a message that names the
function or module, the argument, what was expected and what was given
(docs/errors.md): sizes and hyper-parameters at construction, the input and
the initial state at a call, targets of losses, options of optimizers, lengths
of packed sequences, ids of data utilities, paths of checkpoints.

Where a new test goes: a new wrong call is one row of ``BAD_CALLS`` (name: call,
error, pattern), grouped by the part of the library it calls; a check that
needs a loop over the recurrent kinds or both paths (``fused``) is its own
parametrized test below the table. Errors of tensor ops are in
test_errors_tensor.py; random bad input (the no-crash property) is in
test_fuzz.py; NaN and inf *values*, which propagate instead of raising, are in
test_special_values.py.
"""

import math
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, data, nn, optim
from tinygrad_rnn.nn.utils import rnn as packing

from layer_kinds import KINDS, LAYER_CLASSES

nan, inf = math.nan, math.inf


def ones(*shape, dtype=np.float32):
    return Tensor(np.ones(shape, dtype))


def param():
    p = nn.Parameter(np.ones(3, np.float32))
    p.grad = np.ones(3, np.float32)
    return p


# (what to run, the error, a pattern the message must match)
BAD_CALLS = {
    # -- Linear, Embedding, Dropout
    "Linear size": (lambda: nn.Linear(2.5, 2), TypeError, r"Linear: in_features must be an int, got float 2.5"),
    "Linear array input": (lambda: nn.Linear(3, 2)(np.ones((2, 3))), TypeError, r"Linear: input must be a Tensor, got ndarray"),
    "Linear int input": (lambda: nn.Linear(3, 2)(ones(2, 3, dtype=np.int64)), TypeError,
                         r"Linear: input dtype int64 differs from the weight's float32"),
    "Linear features": (lambda: nn.Linear(3, 2)(ones(2, 4)), ValueError, r"Linear: input of shape \(2, 4\) .* in_features=3"),
    "Embedding negative index": (lambda: nn.Embedding(3, 2)([0, -1]), IndexError, r"embedding: index -1 is out of range .*num_embeddings=3"),
    "Embedding index too large": (lambda: nn.Embedding(3, 2)([[3]]), IndexError, r"embedding: index 3 is out of range"),
    "Embedding float indices": (lambda: nn.Embedding(3, 2)(np.array([0.0, 1.0])), TypeError,
                                r"embedding: indices must be integers, got dtype float64"),
    "Embedding bool indices": (lambda: nn.Embedding(3, 2)(np.array([True])), TypeError, r"embedding: indices must be integers, got dtype bool"),
    "Embedding padding_idx float": (lambda: nn.Embedding(3, 2, padding_idx=1.5), TypeError,
                                    r"Embedding: padding_idx must be an int, got float"),
    "Dropout p str": (lambda: nn.Dropout("0.5"), TypeError, r"Dropout: p must be a number, got str"),
    "Dropout p nan": (lambda: nn.Dropout(nan), ValueError, r"Dropout: p must be a probability in \[0, 1\], got nan"),
    "dropout array": (lambda: F.dropout(np.ones(3), 0.5), TypeError, r"dropout: input must be a Tensor, got ndarray"),
    # -- recurrent layers
    "LSTM rank 1": (lambda: nn.LSTM(2, 3)(ones(2)), ValueError, r"LSTM: input must be \(T, N, input_size\) .* got shape \(2,\)"),
    "GRU rank 4": (lambda: nn.GRU(2, 3)(ones(1, 1, 1, 2)), ValueError, r"GRU: input must be .* got shape \(1, 1, 1, 2\)"),
    "RNN features": (lambda: nn.RNN(2, 3)(ones(4, 1, 5)), ValueError, r"RNN: input has 5 features per step but input_size is 2"),
    "LSTM empty sequence": (lambda: nn.LSTM(2, 3)(ones(0, 1, 2)), ValueError, r"LSTM: input shape \(0, 1, 2\) has an empty sequence"),
    "GRU empty batch": (lambda: nn.GRU(2, 3, batch_first=True)(ones(0, 4, 2)), ValueError, r"GRU: .*empty sequence or batch"),
    "LSTM hx shape": (lambda: nn.LSTM(2, 3)(ones(4, 2, 2), (ones(1, 2, 4), ones(1, 2, 3))), ValueError,
                      r"LSTM: h_0 has shape \(1, 2, 4\), expected \(1, 2, 3\)"),
    "LSTM c shape": (lambda: nn.LSTM(2, 3)(ones(4, 2, 2), (ones(1, 2, 3), ones(2, 2, 3))), ValueError,
                     r"LSTM: c_0 has shape \(2, 2, 3\), expected \(1, 2, 3\)"),
    "LSTM hx not a tuple": (lambda: nn.LSTM(2, 3)(ones(4, 1, 2), ones(1, 1, 3)), TypeError, r"LSTM: hx must be a tuple \(h_0, c_0\)"),
    "GRU hx layers": (lambda: nn.GRU(2, 3, num_layers=2)(ones(4, 1, 2), ones(1, 1, 3)), ValueError,
                      r"GRU: h_0 has shape \(1, 1, 3\), expected \(2, 1, 3\)"),
    "RNN input dtype": (lambda: nn.RNN(3, 4)(Tensor(np.zeros((2, 1, 3)))), TypeError,
                        r"RNN: input dtype float64 differs from the weights' float32"),
    "RNN array input": (lambda: nn.RNN(2, 3)(np.ones((4, 1, 2), np.float32)), TypeError, r"RNN: input must be a Tensor or PackedSequence"),
    "LSTM num_layers": (lambda: nn.LSTM(2, 3, num_layers=0), ValueError, r"LSTM: num_layers must be an int >= 1, got 0"),
    "GRU hidden_size": (lambda: nn.GRU(2, -3), ValueError, r"GRU: hidden_size must be an int >= 1, got -3"),
    "LSTM hidden_size 0": (lambda: nn.LSTM(3, 0), ValueError, r"LSTM: hidden_size must be an int >= 1, got 0"),
    "GRU input_size 0": (lambda: nn.GRU(0, 3), ValueError, r"GRU: input_size must be an int >= 1, got 0"),
    "RNN dropout": (lambda: nn.RNN(2, 3, dropout=1.5), ValueError, r"RNN: dropout must be a probability in \[0, 1\], got 1.5"),
    "LSTM dropout nan": (lambda: nn.LSTM(2, 3, dropout=nan), ValueError, r"LSTM: dropout must be a probability in \[0, 1\], got nan"),
    "LSTM batch_first str": (lambda: nn.LSTM(2, 3, batch_first="yes"), TypeError, r"LSTM: batch_first must be a bool, got str"),
    "GRU bidirectional int": (lambda: nn.GRU(2, 3, bidirectional=2), TypeError, r"GRU: bidirectional must be a bool, got int 2"),
    "RNN bias None": (lambda: nn.RNN(2, 3, bias=None), TypeError, r"RNN: bias must be a bool, got NoneType"),
    "RNN nonlinearity": (lambda: nn.RNN(2, 3, nonlinearity="sigmoid"), ValueError, r"RNN: nonlinearity must be 'tanh' or 'relu'"),
    "packed batch_sizes": (lambda: nn.LSTM(2, 3, fused=False)(packing.PackedSequence(ones(3, 2), np.array([2, 2]))),
                           ValueError, r"LSTM: batch_sizes \[2, 2\] must be positive, non-increasing and add up to the 3 rows"),
    "RNNCell nonlinearity": (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), ValueError,
                             r"RNNCell: nonlinearity must be 'tanh' or 'relu'"),
    "LSTMCell hidden_size": (lambda: nn.LSTMCell(3, -1), ValueError, r"LSTMCell: hidden_size must be an int >= 1"),
    "GRUCell features": (lambda: nn.GRUCell(3, 4)(tg.randn(5, 2)), ValueError,
                         r"GRUCell: input has 2 features but input_size is 3"),
    "RNNCell array input": (lambda: nn.RNNCell(2, 3)(np.ones((1, 2), np.float32)), TypeError, r"RNNCell: input must be a Tensor"),
    "GRUCell rank": (lambda: nn.GRUCell(2, 3)(ones(1, 1, 2)), ValueError, r"GRUCell: input must be \(N, input_size\) or \(input_size,\)"),
    "RNNCell hx shape": (lambda: nn.RNNCell(2, 3)(ones(4, 2), ones(4, 2)), ValueError, r"RNNCell: hx has shape \(4, 2\), expected \(4, 3\)"),
    "GRUCell hx dtype": (lambda: nn.GRUCell(2, 3)(ones(1, 2), ones(1, 3, dtype=np.float64)), TypeError,
                         r"GRUCell: hx dtype float64 differs from the input's float32"),
    "LSTMCell hx not a tuple": (lambda: nn.LSTMCell(2, 3)(ones(1, 2), ones(1, 3)), TypeError, r"LSTMCell: hx must be a tuple \(h_0, c_0\)"),
    # -- packing: lengths
    "lengths zero": (lambda: packing.pack_padded_sequence(ones(3, 2, 1), [3, 0]), ValueError,
                     r"pack_padded_sequence: every length must be between 1 and 3 .* got 0"),
    "lengths beyond T": (lambda: packing.pack_padded_sequence(ones(3, 2, 1), [4, 1]), ValueError,
                         r"pack_padded_sequence: every length must be between 1 and 3 .* got 4"),
    "lengths float": (lambda: packing.pack_padded_sequence(ones(3, 2, 1), [3.0, 1.0]), TypeError,
                      r"pack_padded_sequence: lengths must be a 1-D sequence of ints"),
    "lengths count": (lambda: packing.pack_padded_sequence(ones(3, 2, 1), [3]), ValueError,
                      r"pack_padded_sequence: got 1 lengths for a batch of 2"),
    "lengths not decreasing": (lambda: packing.pack_padded_sequence(ones(4, 2, 3), [2, 3]), ValueError,
                               r"pack_padded_sequence: .*not in decreasing order"),
    "pack array": (lambda: packing.pack_padded_sequence(np.ones((3, 2)), [3, 1]), TypeError,
                   r"pack_padded_sequence: input must be a Tensor, got ndarray"),
    "pad_sequence array": (lambda: packing.pad_sequence([ones(2), np.ones(2)]), TypeError,
                           r"pad_sequence: sequences\[1\] must be a Tensor, got ndarray"),
    "pad_packed array": (lambda: packing.pad_packed_sequence(np.ones(3)), TypeError,
                         r"pad_packed_sequence: sequence must be a PackedSequence, got ndarray"),
    # -- losses: targets and options
    "cross_entropy target too large": (lambda: F.cross_entropy(ones(2, 3), [0, 3]), IndexError,
                                       r"cross_entropy: target 3 is out of range for C=3 classes"),
    "cross_entropy negative target": (lambda: F.cross_entropy(ones(2, 3), [-1, 0]), IndexError, r"cross_entropy: target -1 is out of range"),
    "nll_loss target": (lambda: F.nll_loss(ones(2, 3), [0, 7]), IndexError, r"nll_loss: target 7 is out of range"),
    "cross_entropy float target": (lambda: F.cross_entropy(ones(2, 3), np.array([0.0, 1.0])), TypeError,
                                   r"cross_entropy: class-index targets must be integers, got dtype float64"),
    "cross_entropy target shape": (lambda: F.cross_entropy(ones(2, 3), [0, 1, 2]), ValueError,
                                   r"cross_entropy: target of shape \(3,\) does not fit input of shape \(2, 3\)"),
    "cross_entropy ignore_index float": (lambda: F.cross_entropy(ones(2, 3), [0, 1], ignore_index=1.5), TypeError,
                                         r"cross_entropy: ignore_index must be an int, got float"),
    "cross_entropy label_smoothing nan": (lambda: F.cross_entropy(ones(2, 3), [0, 1], label_smoothing=nan), ValueError,
                                          r"cross_entropy: label_smoothing must be a probability in \[0, 1\], got nan"),
    "cross_entropy weight str": (lambda: F.cross_entropy(ones(2, 3), [0, 1], weight="abc"), TypeError,
                                 r"cross_entropy: weight must be an array of numbers, got str"),
    "CrossEntropyLoss reduction": (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
                                   r"CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    "NLLLoss ignore_index": (lambda: nn.NLLLoss(ignore_index="x"), TypeError, r"NLLLoss: ignore_index must be an int, got str"),
    "BCE target shape": (lambda: F.binary_cross_entropy_with_logits(ones(2, 3), np.ones(3)), ValueError,
                         r"binary_cross_entropy_with_logits: target of shape \(3,\) must have the input's shape \(2, 3\)"),
    "BCE target str": (lambda: F.binary_cross_entropy_with_logits(ones(3), "abc"), TypeError,
                       r"binary_cross_entropy_with_logits: target must be an array of numbers, got str"),
    "mse_loss input array": (lambda: F.mse_loss(np.ones(3), ones(3)), TypeError, r"mse_loss: input must be a Tensor, got ndarray"),
    # -- optimizers
    "SGD lr str": (lambda: optim.SGD([param()], lr="0.1"), TypeError, r"SGD: lr must be a number, got str"),
    "SGD lr None": (lambda: optim.SGD([param()], lr=None), TypeError, r"SGD: lr must be a number, got NoneType"),
    "SGD lr nan": (lambda: optim.SGD([param()], lr=nan), ValueError, r"SGD: invalid lr nan \(must be a finite number"),
    "SGD lr inf": (lambda: optim.SGD([param()], lr=inf), ValueError, r"SGD: invalid lr inf"),
    "SGD dampening nan": (lambda: optim.SGD([param()], lr=0.1, momentum=0.9, dampening=nan), ValueError, r"SGD: invalid dampening nan"),
    "SGD nesterov str": (lambda: optim.SGD([param()], lr=0.1, nesterov="no"), TypeError, r"SGD: nesterov must be a bool"),
    "SGD params int": (lambda: optim.SGD(3, lr=0.1), TypeError, r"SGD: params must be an iterable of tensors or of dicts, got int"),
    "SGD group without params": (lambda: optim.SGD([{"lr": 0.1}], lr=0.1), TypeError,
                                 r"SGD: a parameter group must be a dict with a 'params' entry, got keys \['lr'\]"),
    "Adam betas float": (lambda: optim.Adam([param()], betas=0.9), TypeError, r"Adam: betas must be a pair of numbers, got float"),
    "Adam betas nan": (lambda: optim.Adam([param()], betas=(nan, 0.9)), ValueError, r"Adam: invalid betas \(nan, 0.9\)"),
    "Adam betas str": (lambda: optim.Adam([param()], betas=("a", 0.9)), TypeError, r"Adam: betas must be a number, got str"),
    "Adam eps inf": (lambda: optim.Adam([param()], eps=inf), ValueError, r"Adam: invalid eps inf"),
    "AdamW amsgrad str": (lambda: optim.AdamW([param()], amsgrad="yes"), TypeError, r"AdamW: amsgrad must be a bool"),
    "Adagrad lr_decay nan": (lambda: optim.Adagrad([param()], lr_decay=nan), ValueError, r"Adagrad: invalid lr_decay nan"),
    "RMSprop alpha above 1": (lambda: optim.RMSprop([param()], alpha=2.0), ValueError,
                              r"RMSprop: invalid alpha 2.0 \(must be a finite number in \[0, 1\]\)"),
    "load_state_dict junk": (lambda: optim.SGD([param()], lr=0.1).load_state_dict({}), TypeError,
                             r"SGD: load_state_dict expects a dict with 'state' and 'param_groups', got keys \[\]"),
    # -- gradient clipping
    "clip max_norm nan": (lambda: nn.utils.clip_grad_norm_([param()], nan), ValueError, r"clip_grad_norm_: max_norm must be a number in \[0, inf\], got nan"),
    "clip max_norm str": (lambda: nn.utils.clip_grad_norm_([param()], "1"), TypeError, r"clip_grad_norm_: max_norm must be a number, got str"),
    "clip norm_type nan": (lambda: nn.utils.clip_grad_norm_([param()], 1.0, norm_type=nan), ValueError,
                           r"clip_grad_norm_: norm_type must be a number in \(0, inf\], got nan"),
    "clip parameters junk": (lambda: nn.utils.clip_grad_norm_(["w"], 1.0), TypeError,
                             r"clip_grad_norm_: parameters must be a Tensor, got str"),
    "clip_value nan": (lambda: nn.utils.clip_grad_value_([param()], nan), ValueError, r"clip_grad_value_: clip_value must be a number in \[0, inf\], got nan"),
    # -- init
    "uniform_ nan": (lambda: nn.init.uniform_(tg.zeros(3), nan, 1.0), ValueError, r"uniform_: the range needs finite a <= b, got a=nan"),
    "uniform_ inf": (lambda: nn.init.uniform_(tg.zeros(3), 0.0, inf), ValueError, r"uniform_: .* b=inf"),
    "normal_ std nan": (lambda: nn.init.normal_(tg.zeros(3), std=nan), ValueError, r"normal_: needs a finite mean and a finite std >= 0"),
    "normal_ mean str": (lambda: nn.init.normal_(tg.zeros(3), mean="0"), TypeError, r"normal_: mean must be a number, got str"),
    "constant_ str": (lambda: nn.init.constant_(tg.zeros(3), "1"), TypeError, r"constant_: val must be a number, got str"),
    "xavier gain nan": (lambda: nn.init.xavier_uniform_(tg.zeros(3, 2), gain=nan), ValueError,
                        r"xavier_uniform_: gain must be a number in \(-inf, inf\), got nan"),
    "kaiming a inf": (lambda: nn.init.kaiming_uniform_(tg.zeros(3, 2), a=inf), ValueError, r"kaiming_uniform_: a must be a number"),
    "orthogonal gain str": (lambda: nn.init.orthogonal_(tg.zeros(3, 2), gain="1"), TypeError, r"orthogonal_: gain must be a number"),
    # -- data
    "tokenize_words int": (lambda: data.tokenize_words(3), TypeError, r"tokenize_words: text must be a str, got int"),
    "pad_batch pad_id": (lambda: data.pad_batch([[1]], pad_id=1.5), TypeError, r"pad_batch: pad_id must be an int, got float"),
    "pad_batch batch_first": (lambda: data.pad_batch([[1]], batch_first="no"), TypeError, r"pad_batch: batch_first must be a bool"),
    "one_hot out of range": (lambda: data.one_hot([0, 5], 3), IndexError, r"one_hot: id 5 is out of range for num_classes=3"),
    "batches seed": (lambda: list(data.batches([1, 2], batch_size=1, seed=-2)), ValueError, r"batches: seed must be an int >= 0, got -2"),
    "sample no model": (lambda: data.sample(None, [1], 3), TypeError, r"sample: model must have a forward\(ids, state\) method"),
    "sample top_k bool": (lambda: data.sample(None, [1], 3, top_k=True), TypeError, r"sample: top_k must be an int, got bool"),
    "sample temperature nan": (lambda: data.sample(None, [1], 3, temperature=nan), ValueError, r"sample: temperature must be a number in \(0, inf\), got nan"),
    # -- checkpoints
    "save non-path": (lambda: tg.save({}, 3), TypeError, r"save: path must be a str or os.PathLike, got int"),
    "save a module": (lambda: tg.save({"m": nn.Linear(1, 1)}, "unused.npz"), TypeError, r"save: cannot store a Linear at obj\['m'\]"),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_raises_a_named_error(name):
    call, error, message = BAD_CALLS[name]
    with pytest.raises(error, match=message):
        call()


# -- recurrent layers: the initial state and the weights, on both paths ------------------------------


@pytest.mark.parametrize("layer, hx, error, message", [
    ("GRU", lambda: (tg.zeros(1, 2, 4),), TypeError, r"GRU: hx must be a Tensor, got tuple"),
    ("RNN", lambda: np.zeros((1, 2, 4)), TypeError, r"RNN: hx must be a Tensor, got ndarray"),
    ("LSTM", lambda: (tg.zeros(1, 2, 4),), TypeError, r"LSTM: hx must be a tuple \(h_0, c_0\), got a tuple of 1"),
    ("LSTM", lambda: ([0.0], tg.zeros(1, 2, 4)), TypeError, r"LSTM: h_0 must be a Tensor, got list"),
    ("LSTM", lambda: (tg.zeros(1, 2, 4), tg.zeros(1, 2, 4, dtype=np.int64)), TypeError,
     r"LSTM: c_0 dtype int64 differs from the weights' float32"),
    ("GRU", lambda: tg.zeros(2, 2, 4), ValueError, r"GRU: h_0 has shape \(2, 2, 4\), expected \(1, 2, 4\)"),
], ids=["GRU tuple", "RNN ndarray", "LSTM 1-tuple", "LSTM list h_0", "LSTM c_0 dtype", "GRU shape"])
@pytest.mark.parametrize("fused", [True, False])
def test_a_bad_initial_state_is_named_as_the_layer_and_its_argument(layer, hx, error, message, fused):
    module = getattr(tg.nn, layer)(3, 4, fused=fused)
    with pytest.raises(error, match=message):
        module(tg.randn(5, 2, 3), hx())


def test_a_weight_of_another_dtype_is_named_by_the_layer_not_by_its_kernel():
    lstm = tg.nn.LSTM(3, 4)
    lstm.weight_hh_l0.data = lstm.weight_hh_l0.data.astype(np.float64)
    with pytest.raises(TypeError, match=r"LSTM: weight_hh_l0 has dtype float64, but the input and weight_ih_l0 have "
                                        r"float32; convert the whole module with .to\(dtype\)"):
        lstm(tg.randn(5, 2, 3))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_initial_state_of_another_dtype_is_refused_naming_the_layer(kind, fused, dtype):
    layer = KINDS[kind].make_layer(3, 4, fused=fused)  # float32 weights
    h_0 = tg.Tensor(np.zeros((1, 2, 4), dtype))
    hx = KINDS[kind].carry([h_0, tg.zeros(1, 2, 4)][:KINDS[kind].states])
    message = rf"{KINDS[kind].layer.__name__}: h_0 dtype {np.dtype(dtype)} differs from the weights' float32"
    with pytest.raises(TypeError, match=message):  # never computed in float64, nor an internal op's error
        layer(tg.randn(5, 2, 3), hx)
    if kind == "lstm":
        with pytest.raises(TypeError, match=r"LSTM: c_0 dtype float64 differs from the weights' float32"):
            layer(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.Tensor(np.zeros((1, 2, 4)))))


@pytest.mark.parametrize("layer", LAYER_CLASSES)
def test_dropout_with_a_single_layer_warns_as_torch_does(layer):
    with pytest.warns(UserWarning, match=rf"{layer}: dropout is applied between stacked layers.*num_layers=1 it "
                                         r"does nothing; got dropout=0.5 and num_layers=1"):
        getattr(tg.nn, layer)(2, 3, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(tg.nn, layer)(2, 3, num_layers=2, dropout=0.5)
        getattr(tg.nn, layer)(2, 3)


# -- packed sequences: the order of the batch ------------------------------------------------------------


@pytest.mark.parametrize("sorted_indices, unsorted_indices, error, match", [
    ([0, 0, 1, 2], None, ValueError, r"PackedSequence: sorted_indices \[0, 0, 1, 2\] is not a permutation"),
    ([1, 2, 0, 3], [1, 2, 0, 3], ValueError, r"unsorted_indices \[1, 2, 0, 3\] is not the inverse of"),
    (None, [[0, 1]], TypeError, r"PackedSequence: unsorted_indices must be a 1-D integer array"),
    ([0.0, 1.0], None, TypeError, r"PackedSequence: sorted_indices must be a 1-D integer array"),
])
def test_packed_sequence_refuses_orders_that_are_not_permutations(sorted_indices, unsorted_indices, error, match):
    with pytest.raises(error, match=match):
        packing.PackedSequence(tg.zeros(4, 3), np.array([4]), sorted_indices, unsorted_indices)


def test_a_layer_refuses_an_order_of_the_wrong_size_or_half_an_order():
    packed = packing.pack_padded_sequence(tg.zeros(3, 4, 2), [2, 3, 3, 1], enforce_sorted=False)
    lstm = nn.LSTM(2, 3)
    with pytest.raises(ValueError, match=r"LSTM: sorted_indices has 3 entries but the batch has batch_sizes\[0\] = 4"):
        lstm(packing.PackedSequence(packed.data, packed.batch_sizes, [2, 0, 1]))
    with pytest.raises(ValueError, match=r"LSTM: the PackedSequence has only one of sorted_indices and unsorted"):
        lstm(packed._replace(unsorted_indices=None))
