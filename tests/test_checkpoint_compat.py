"""Checkpoints written by earlier versions keep loading.

tests/fixtures/checkpoint_v1.npz was written once, by ``tg.save`` in
checkpoint format version 1 (``python tests/test_checkpoint_compat.py``
wrote it; never rewrite it with a newer version). Whatever the format
becomes, ``tg.load`` must read this file into exactly the content below,
and its model state must still load into the layer it came from.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import io as tgio
from tinygrad_rnn import nn, optim

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v1.npz"


def numbered(shape, dtype=np.float32, scale=0.01):
    """Reproducible values with no random generator involved."""
    count = math.prod(shape)
    return ((np.arange(count) % 97 - 48) * scale).astype(dtype).reshape(shape)


def lstm_state() -> dict:
    model = nn.LSTM(3, 4, num_layers=2, bidirectional=True, fused=False)
    return {name: numbered(p.shape) for name, p in model.named_parameters()}


def content() -> dict:
    """What the fixture holds: a model, an optimizer state, and every kind of leaf."""
    model = lstm_state()
    return {
        "model": model,
        "optimizer": {
            "state": {0: {"step": 7, "exp_avg": numbered((16, 3)), "exp_avg_sq": np.abs(numbered((16, 3), scale=1e-4))}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0,
                              "amsgrad": False, "params": list(range(len(model)))}],
        },
        "step": 1234,
        "loss": 0.6931471805599453,
        "history": [1.5, -0.0, math.inf, None, True, "text/with %escapes#"],
        "dtypes": {name: numbered((2, 3), name) for name in ("float64", "float32", "float16", "int64",
                                                               "int32", "uint8", "bool", "complex64")},
        "scalar": np.float64(2.5),
        "empty": np.zeros((0, 3), np.float32),
        7: "int key",
        "nested": ({"a": [np.arange(3, dtype=np.int64)]},),
    }


def assert_same(expected, actual):
    if isinstance(expected, np.generic):
        expected = np.asarray(expected)
    if isinstance(expected, np.ndarray):
        assert type(actual) is np.ndarray
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert actual.tobytes() == expected.tobytes()
    elif isinstance(expected, dict):
        assert type(actual) is dict and list(actual) == list(expected)
        for key in expected:
            assert_same(expected[key], actual[key])
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for e, a in zip(expected, actual):
            assert_same(e, a)
    else:
        assert type(actual) is type(expected) and actual == expected
        if isinstance(expected, float):
            assert math.copysign(1, actual) == math.copysign(1, expected)


def test_the_fixture_is_format_version_1():
    with np.load(FIXTURE, allow_pickle=False) as archive:
        meta = json.loads(archive[tgio.META_NAME].tobytes())
    assert meta["format"] == "tinygrad_rnn.checkpoint" and meta["version"] == 1


def test_a_version_1_checkpoint_loads_exactly():
    assert_same(content(), tg.load(FIXTURE))


def test_its_model_and_optimizer_state_load_into_fresh_objects():
    loaded = tg.load(FIXTURE)
    model = nn.LSTM(3, 4, num_layers=2, bidirectional=True, fused=False)
    model.load_state_dict(loaded["model"])
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, loaded["model"][name])
    out, (h, c) = model(tg.ones(2, 1, 3))
    assert out.shape == (2, 1, 8) and np.isfinite(out.data).all()

    params = list(model.parameters())
    opt = optim.Adam(params)
    opt.load_state_dict(loaded["optimizer"])
    assert opt.param_groups[0]["betas"] == (0.9, 0.999) and opt.state[params[0]]["step"] == 7
    np.testing.assert_array_equal(opt.state[params[0]]["exp_avg"], numbered((16, 3)))
    before = params[0].data.copy()
    params[0].grad = np.ones_like(before)
    opt.step()  # the restored state is usable: step 8 of Adam from the saved moments
    assert opt.state[params[0]]["step"] == 8 and not np.array_equal(params[0].data, before)


if __name__ == "__main__":  # how the fixture was written (format version 1); do not rerun with a newer format
    assert tgio.FORMAT_VERSION == 1, "the fixture must stay a version-1 file"
    tg.save(content(), sys.argv[1] if len(sys.argv) > 1 else FIXTURE)
