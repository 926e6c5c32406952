"""tg.save / tg.load: exact round trips, atomic writes, and files that must be refused."""

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from permissions import bound_by_permission_bits
from tinygrad_rnn import io as tgio


def assert_same(expected, actual, where="obj"):
    """Exact equality: container types and order, dtypes, shapes and bits."""
    if isinstance(expected, tg.Tensor):
        expected = expected.data
    if isinstance(expected, np.generic):
        expected = np.asarray(expected)
    if isinstance(expected, np.ndarray):
        assert type(actual) is np.ndarray, where
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, where
        assert actual.tobytes() == expected.tobytes(), where
    elif isinstance(expected, dict):
        assert type(actual) is dict and list(actual) == list(expected), where
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, f"{where}[{i}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert type(actual) is float and math.isnan(actual), where
    else:
        assert type(actual) is type(expected) and actual == expected, where
        if isinstance(expected, float):
            assert math.copysign(1, actual) == math.copysign(1, expected), where


def round_trip(obj, tmp_path):
    path = tmp_path / "checkpoint.npz"
    tg.save(obj, path)
    return tg.load(path)


# -- round trips -------------------------------------------------------------------


def test_round_trip_model_and_optimizer_state(tmp_path):
    rng = np.random.default_rng(0)
    obj = {
        "model": {
            "rnn.weight_ih_l0": rng.standard_normal((8, 4)).astype(np.float32),
            "rnn.bias_ih_l0": tg.Tensor(rng.standard_normal(8).astype(np.float32),
                                        requires_grad=True),
            "embedding.weight": rng.standard_normal((5, 3)),
        },
        "optimizer": {
            "state": {0: {"exp_avg": np.zeros((8, 4), np.float32), "step": 3},
                      1: {"exp_avg": np.ones(8, np.float32), "step": 3}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False,
                              "params": [0, 1], "name": None}],
        },
        "step": 100,
    }
    assert_same(obj, round_trip(obj, tmp_path))


@pytest.mark.parametrize("array", [
    np.array([1.5, -0.0, np.inf, -np.inf, np.nan], np.float32),
    np.array([np.nextafter(1.0, 2.0), 5e-324, -0.0, np.nan]),
    np.arange(-3, 3, dtype=np.int64).reshape(2, 3),
    np.array([[True, False], [False, True]]),
    np.array(3.25),
    np.array(7, np.int64),
    np.array(True),
    np.zeros((0,), np.float32),
    np.zeros((3, 0, 2)),
    np.arange(12, dtype=np.int8).reshape(3, 4),
    np.arange(6, dtype=np.uint16),
    np.arange(4, dtype=np.float16),
    np.array([1 + 2j, -3j]),
    np.arange(6, dtype=">f8"),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(20.0).reshape(4, 5)[::2, 1::2],  # a strided view
    np.array(["a", "rnn.weight", "ünïcode"]),
    np.float32(2.5),  # numpy scalars come back as 0-d arrays
], ids=lambda a: f"{a.dtype}{a.shape}")
def test_round_trip_arrays_exactly(tmp_path, array):
    loaded = round_trip({"x": array}, tmp_path)["x"]
    if array.dtype.byteorder not in "=|":  # the other byte order comes back in this machine's, same values
        array = array.astype(array.dtype.newbyteorder("="))
    assert_same(array, loaded)
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        assert loaded.flags.f_contiguous


@pytest.mark.parametrize("key", [
    "rnn.weight_ih_l0", "a/b", "a/b/c", "/", "", "%2F", "a%b", "x.npy", "file", "allow_pickle",
    tgio.META_NAME, "sp ace", "ünï/cödé", "nul\x00byte", "#1", "..", "../escape",
])
def test_keys_with_dots_slashes_and_odd_characters(tmp_path, key):
    obj = {key: np.arange(3.0), "a": {"b": np.ones(2)}, "x": np.zeros(1), "#": {1: np.ones(1)}}
    assert_same(obj, round_trip(obj, tmp_path))


def test_int_and_str_keys_that_print_alike_stay_apart(tmp_path):
    obj = {0: np.zeros(2), "0": np.ones(2), 1: {"0": np.full(2, 2.0)}, "1/0": np.full(2, 3.0)}
    assert_same(obj, round_trip(obj, tmp_path))


def test_arrays_are_named_by_their_path(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"model": {"rnn.weight": np.ones(2), "a/b": np.zeros(1)}, "step": 3}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted([tgio.META_NAME, "model/rnn.weight", "model/a%2Fb"])
        np.testing.assert_array_equal(archive["model/rnn.weight"], np.ones(2))
        meta = json.loads(archive[tgio.META_NAME].tobytes())
    assert meta["format"] == tgio.FORMAT_NAME and meta["version"] == tgio.FORMAT_VERSION


def test_python_leaves_are_exact(tmp_path):
    obj = {"ints": [0, -1, 2**70],
           "floats": [0.1, -0.0, 1e308, 5e-324, math.inf, -math.inf, math.nan],
           "flags": (True, False, None), "text": "héllo\n\"quoted\"", "empty": {}, "nothing": [],
           "nested": [[[]], ({},)]}
    assert_same(obj, round_trip(obj, tmp_path))


# -- hypothesis round trip ---------------------------------------------------------

_dtypes = st.sampled_from(
    [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.complex64]
)
_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
_arrays = _dtypes.flatmap(lambda dtype: hnp.arrays(dtype, _shapes))
_leaves = st.one_of(
    _arrays, st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
)
_keys = st.one_of(st.text(max_size=6), st.text(alphabet="./%#0", max_size=4), st.integers(-3, 3))
_trees = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=12,
)


@given(st.dictionaries(_keys, _trees, max_size=5))
def test_round_trip_random_nested_structures(tmp_path_factory, obj):
    assert_same(obj, round_trip(obj, tmp_path_factory.mktemp("hyp")))


# -- paths and atomic writes ---------------------------------------------------------


def test_path_is_used_as_given(tmp_path):
    tg.save({"a": np.ones(1)}, str(tmp_path / "ckpt"))
    tg.save({"a": np.ones(1)}, tmp_path / "other.bin")
    assert sorted(os.listdir(tmp_path)) == ["ckpt", "other.bin"]
    assert_same({"a": np.ones(1)}, tg.load(str(tmp_path / "ckpt")))


def test_overwriting_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "c.npz"
    for step in range(5):
        tg.save({"step": step, "w": np.full(3, step)}, path)
    assert os.listdir(tmp_path) == ["c.npz"]
    assert tg.load(path)["step"] == 4


def test_a_failing_write_keeps_the_previous_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    tg.save({"version": 1, "w": np.ones(3)}, path)

    def disk_full(file, array, allow_pickle):
        file.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError, match="No space"):
        tg.save({"version": 2, "w": np.zeros(3)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.npz"]
    assert_same({"version": 1, "w": np.ones(3)}, tg.load(path))


_SAVE_FOREVER = """
import sys
import numpy as np
import tinygrad_rnn as tg
big = np.empty(int(sys.argv[2]))
for version in range(1, 10**6):
    big.fill(version)
    tg.save({"version": version, "big": big}, sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_killed_mid_save_leaves_the_previous_checkpoint_intact(tmp_path):
    path, count = tmp_path / "big.npz", 25_000_000  # 200 MB of float64
    proc = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path), str(count)])
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for a complete checkpoint and the next one half written
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            sizes = [p.stat().st_size for p in partial if p.exists()]
            if path.exists() and any(2**20 < s < count * 8 for s in sizes):
                break
            assert proc.poll() is None, "the saving process died on its own"
            assert time.monotonic() < deadline, "no save in progress was seen"
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers, "the kill did not land mid-write"
    checkpoint = tg.load(path)
    version, big = checkpoint["version"], checkpoint["big"]
    assert version >= 1 and big.shape == (count,) and big.dtype == np.float64
    assert (big == version).all(), "the checkpoint mixes two versions"


# -- refused on save -----------------------------------------------------------------


class _ModelLike:
    def state_dict(self):
        return {}


@pytest.mark.parametrize("obj, message", [
    ({"a": np.array([1, "x"], dtype=object)}, r"obj\['a'\] has dtype object"),
    ({"a": [np.array([{}], dtype=object)]}, r"obj\['a'\]\[0\] has dtype object"),
    ({"m": _ModelLike()}, r"_ModelLike at obj\['m'\]; save its .state_dict"),
    ({"s": {1, 2}}, r"cannot store a set at obj\['s'\]"),
    ({"b": b"bytes"}, r"cannot store a bytes"),
    ({(1, 2): np.ones(1)}, r"keys must be str or int, got tuple"),
    ({True: np.ones(1)}, r"keys must be str or int, got bool"),
    ([np.ones(1)], r"expected a dict to save, got list"),
    (np.ones(1), r"expected a dict to save, got ndarray"),
])
def test_save_refuses_what_it_cannot_store_safely(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        tg.save(obj, tmp_path / "c.npz")
    assert os.listdir(tmp_path) == []


def test_save_refuses_a_structure_that_contains_itself(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        tg.save(loop, tmp_path / "c.npz")


def test_save_and_load_refuse_a_non_path():
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike, got int"):
        tg.save({}, 3)
    with pytest.raises(TypeError, match="load: path must be"):
        tg.load(None)


def test_load_of_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "absent.npz")


# -- refused on load -----------------------------------------------------------------


class _Payload:
    """Unpickling this creates the file at ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _assert_payload_is_live(tmp_path):
    """A refusal test is only meaningful if unpickling the payload does act."""
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe))).close()
    assert probe.exists()


def _write_archive(path, meta, members, compression=zipfile.ZIP_STORED):
    """An .npz with ``meta`` (dict -> JSON, bytes as is) and the given arrays."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        if meta is not None:
            raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
            members = {tgio.META_NAME: np.frombuffer(raw, np.uint8), **members}
        for name, array in members.items():
            if isinstance(array, bytes):  # a hand-made .npy
                archive.writestr(name + ".npy", array)
                continue
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=True)


def _meta(tree, version=tgio.FORMAT_VERSION, fmt=tgio.FORMAT_NAME):
    return {"format": fmt, "version": version, "tree": tree}


def _dict_node(**values):
    return {"type": "dict", "keys": list(values), "values": list(values.values())}


_ARRAY_A = {"type": "array", "name": "a"}


def test_load_refuses_a_raw_pickle_without_running_it(tmp_path):
    _assert_payload_is_live(tmp_path)
    marker, path = tmp_path / "pwned", tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    with pytest.raises(ValueError, match="is a pickle") as err:
        tg.load(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2])
def test_load_refuses_old_pickle_protocols_too(tmp_path, protocol):
    marker, path = tmp_path / "pwned", tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=protocol))
    with pytest.raises(ValueError, match="not a tinygrad_rnn checkpoint"):
        tg.load(path)
    assert not marker.exists()


def test_load_refuses_an_object_array_without_running_it(tmp_path):
    _assert_payload_is_live(tmp_path)
    marker, path = tmp_path / "pwned", tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    _write_archive(path, _meta(_dict_node(a=_ARRAY_A)), {"a": evil})
    with pytest.raises(ValueError, match="holds Python objects") as err:
        tg.load(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_load_refuses_a_foreign_npz_even_with_an_object_array(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "foreign.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    np.savez(path, weights=np.ones(3), evil=evil)
    with pytest.raises(ValueError, match="no __tinygrad_rnn__ metadata"):
        tg.load(path)
    assert not marker.exists()


def test_load_refuses_a_plain_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(ValueError, match="foreign"):
        tg.load(path)


@pytest.mark.parametrize("content", [b"", b"PK", b"hello world", b"\x93NUMPY"])
def test_load_refuses_files_that_are_not_archives(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a tinygrad_rnn checkpoint"):
        tg.load(path)


def test_load_refuses_a_file_cut_short_anywhere(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"w": np.arange(1000.0), "b": np.ones(10, np.float32), "step": 7}, path)
    whole = path.read_bytes()
    cut_path = tmp_path / "cut.npz"
    size = len(whole)
    for cut in sorted({1, 3, 4, 30, 100, 1000, size // 2, size - 100, size - 22, size - 1}):
        cut_path.write_bytes(whole[:cut])
        with pytest.raises(ValueError, match="cut.npz") as err:
            tg.load(cut_path)
        assert "checkpoint" in str(err.value) or "truncated" in str(err.value), cut


def test_load_refuses_a_newer_format_version(tmp_path):
    path = tmp_path / "future.npz"
    _write_archive(path, _meta(_dict_node(), version=tgio.FORMAT_VERSION + 1), {})
    with pytest.raises(ValueError, match=f"format version {tgio.FORMAT_VERSION + 1}, newer") as err:
        tg.load(path)
    assert "upgrade" in str(err.value)


def test_load_reads_an_archive_written_by_hand_in_the_current_format(tmp_path):
    """The format is what the module docstring says, not an accident of save()."""
    path = tmp_path / "by_hand.npz"
    tree = _dict_node(a=_ARRAY_A, step={"type": "value", "value": 5},
                      groups={"type": "tuple", "items": [{"type": "list", "items": []}]})
    _write_archive(path, _meta(tree), {"a": np.arange(3.0)})
    assert_same({"a": np.arange(3.0), "step": 5, "groups": ([],)}, tg.load(path))


@pytest.mark.parametrize("meta, members, message", [
    (b"{not json", {}, "Expecting"),
    (b"\xff\xfe", {}, "utf-8"),
    ([1, 2], {}, "does not name the format"),
    (_meta(_dict_node(), fmt="other"), {}, "does not name the format"),
    (_meta(_dict_node(), version="1"), {}, "not a positive integer"),
    (_meta(_dict_node(), version=0), {}, "not a positive integer"),
    (_meta(_dict_node(), version=True), {}, "not a positive integer"),
    (_meta({"type": "list", "items": []}), {}, "root is a list"),
    (_meta(None), {}, "malformed tree node None"),
    (_meta({"type": "pickle", "data": "..."}), {}, "malformed tree node"),
    (_meta(_dict_node(a={"type": "value", "value": [1]})), {}, "malformed tree node"),
    (_meta(_dict_node(a={"type": "array", "name": 3})), {}, "malformed tree node"),
    (_meta(_dict_node(a=_ARRAY_A)), {}, "missing or repeated array 'a'"),
    (_meta(_dict_node(a=_ARRAY_A, b=_ARRAY_A)), {"a": np.ones(1)}, "missing or repeated array 'a'"),
    (_meta({"type": "dict", "keys": ["a"], "values": []}), {}, "mismatched, repeated"),
    (_meta({"type": "dict", "keys": ["a", "a"], "values": [None, None]}), {}, "repeated"),
    (_meta({"type": "dict", "keys": [[1]], "values": [None]}), {}, "non-str/int keys"),
    (_meta(_dict_node()), {"stowaway": np.ones(1)}, "not described by the metadata"),
    (_meta(_dict_node(a=_ARRAY_A)), {"a": np.ones(1), "b": np.ones(1)}, "not described"),
])
def test_load_refuses_malformed_metadata(tmp_path, meta, members, message):
    path = tmp_path / "bad.npz"
    _write_archive(path, meta, members)
    with pytest.raises(ValueError, match=message) as err:
        tg.load(path)
    assert str(path) in str(err.value)


def test_load_refuses_metadata_that_is_not_bytes(tmp_path):
    path = tmp_path / "bad.npz"
    _write_archive(path, None, {tgio.META_NAME: np.ones(3)})
    with pytest.raises(ValueError, match="metadata is a float64 array"):
        tg.load(path)


def test_a_damaged_header_cannot_claim_more_data_than_the_file_holds(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.ones(4))
    honest, lying = b"'shape': (4,), }" + b" " * 14, b"'shape': (999999999999999,), }"
    assert buffer.getvalue().count(honest) == 1 and len(honest) == len(lying)
    npy = buffer.getvalue().replace(honest, lying)  # 8 PB claimed, 32 bytes stored
    path = tmp_path / "bad.npz"
    _write_archive(path, _meta(_dict_node(a=_ARRAY_A)), {"a": npy})
    with pytest.raises(ValueError, match="array 'a' is damaged"):
        tg.load(path)


def test_load_refuses_a_compressed_member_before_inflating_it(tmp_path):
    path = tmp_path / "bomb.npz"
    zeros = np.zeros(2**20)  # 8 MB that DEFLATE packs into about 8 kB
    _write_archive(path, _meta(_dict_node(a=_ARRAY_A)), {"a": zeros}, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match=r"member '.*\.npy' is compressed .* tg.save never compresses") as err:
        tg.load(path)
    assert str(path) in str(err.value)


def _npy_header(shape) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_a_directory_that_claims_a_terabyte_is_refused_before_allocating(tmp_path):
    claimed = 2**40  # the directory's size of the member, and its .npy header, agree: 1 TiB
    header = _npy_header(((claimed - len(_npy_header((1,)))) // 8,))
    assert len(header) + 8 * ((claimed - len(header)) // 8) == claimed
    path = tmp_path / "liar.npz"
    meta = json.dumps(_meta(_dict_node(a=_ARRAY_A))).encode()
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open(tgio.META_NAME + ".npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(meta, np.uint8))
        archive.writestr("a.npy", header + bytes(32))
        archive.getinfo("a.npy").file_size = archive.getinfo("a.npy").compress_size = claimed
    with pytest.raises(ValueError, match=r"declares \d+ bytes of members up to 'a.npy' but the file holds \d+"):
        tg.load(path)  # not MemoryError


# -- permissions of the file replaced ------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o660, 0o644], ids=oct)
def test_save_keeps_the_permission_bits_of_the_file_it_replaces(tmp_path, mode):
    path = tmp_path / "secret.npz"
    tg.save({"w": np.ones(2)}, path)
    os.chmod(path, mode)
    previous = os.umask(0o022)  # would make a new file 0644 and strip group write
    try:
        tg.save({"w": np.zeros(2)}, path)
    finally:
        os.umask(previous)
    assert stat_mode(path) == mode
    assert_same({"w": np.zeros(2)}, tg.load(path))


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o7777


_SAVE = """
import sys
import numpy as np
import tinygrad_rnn as tg
try:
    tg.save({"w": np.zeros(2)}, sys.argv[1])
except PermissionError as err:
    print("PermissionError", err)
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_refuses_a_read_only_file_as_open_would(tmp_path):
    path = tmp_path / "protected.npz"
    tg.save({"w": np.ones(2)}, path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    result = subprocess.run(bound_by_permission_bits([sys.executable, "-c", _SAVE, str(path)]),
                            capture_output=True, text=True, cwd=Path(tg.__file__).parent.parent, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"PermissionError [Errno 13] save: '{path}' is read-only (mode 0444)" in result.stdout
    assert path.read_bytes() == before and stat_mode(path) == 0o444
    assert [p.name for p in tmp_path.iterdir()] == ["protected.npz"]  # no temporary file left


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_save_to_a_symlink_replaces_the_link_and_leaves_its_target_alone(tmp_path):
    target, link = tmp_path / "step_100.npz", tmp_path / "latest.npz"
    tg.save({"step": 100}, target)
    link.symlink_to(target)
    tg.save({"step": 101}, link)
    assert not link.is_symlink()
    assert tg.load(target)["step"] == 100 and tg.load(link)["step"] == 101


def test_load_leaves_the_stored_file_unchanged(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"w": np.ones(3)}, path)
    before = path.read_bytes()
    tg.load(path)
    assert Path(path).read_bytes() == before
