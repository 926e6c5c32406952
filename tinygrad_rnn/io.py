"""Save and load checkpoints as .npz files: arrays plus JSON, never pickle.

A checkpoint is a nested structure of dicts, lists and tuples whose leaves
are arrays (np.ndarray or Tensor) or plain JSON values (None, bool, int,
float, str), for example ``{"model": model.state_dict(), "optimizer":
opt.state_dict(), "step": 100}``.

The file is an ordinary .npz archive. Each array is stored under its path in
the tree, components joined by "/" and percent-escaped (so
``np.load(path)["model/rnn.weight_ih_l0"]`` works); the member
``__tinygrad_rnn__`` holds UTF-8 JSON (as a uint8 array) with the format
name, the format version and the tree, whose nodes are::

    {"type": "dict", "keys": [...], "values": [...]}   keys: str or int
    {"type": "list", "items": [...]}    {"type": "tuple", "items": [...]}
    {"type": "array", "name": "model/weight"}
    {"type": "value", "value": 3}

Loading reads it back with ``allow_pickle=False`` and checks everything
before trusting it: no code stored in a file ever runs.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import uuid
import zipfile
from urllib.parse import quote

import numpy as np

from .tensor import Tensor

FORMAT_NAME = "tinygrad_rnn.checkpoint"
FORMAT_VERSION = 1  # bump when the layout changes; load() reads every version up to this
META_NAME = "__tinygrad_rnn__"

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
_JSON_LEAVES = (type(None), bool, int, float, str)


def save(obj: dict, path) -> None:
    """Write ``obj`` (a dict of arrays, Tensors, numbers, strings and nested
    dicts/lists/tuples of them) to ``path`` as a .npz checkpoint.

    The write is atomic: the data goes to a temporary file in the same
    directory, is flushed to disk, and then replaces ``path`` in one step, so
    a crash mid-save leaves the previous file intact (a killed process may
    leave a ``.<name>.*.tmp`` file behind, safe to delete). ``path`` is used
    exactly as given: no ".npz" is appended.

    Replacing a file keeps its permission bits (a 0600 checkpoint stays
    0600, whatever the umask) and, where the system allows, its owner and
    group. A file this process may not write (read-only, 0444) is refused
    with PermissionError, as ``open(path, "w")`` would refuse it. A symlink
    at ``path`` is itself replaced by the new file, with the mode a new
    file gets; the file it pointed to is left untouched.

    Raises TypeError for anything else in ``obj`` (modules, objects,
    object-dtype arrays), naming where in ``obj`` it sits.
    """
    path = _checked_path("save", path)
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict to save, got {type(obj).__name__}")
    arrays = {}
    tree = _encode(obj, (), arrays, set())
    meta = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "tree": tree})
    arrays = {META_NAME: np.frombuffer(meta.encode("ascii"), np.uint8), **arrays}

    replaced = _file_to_replace(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name[:100]}.{uuid.uuid4().hex[:12]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # a new file: 0o666 and the umask decide; a replaced one: never more open than it was
    fd = os.open(temporary, flags, 0o666 if replaced is None else stat.S_IMODE(replaced.st_mode))
    try:
        if replaced is not None:
            _take_over_permissions(fd, replaced)
        with os.fdopen(fd, "wb") as file:
            _write_npz(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _fsync_directory(directory)


def load(path) -> dict:
    """Read a checkpoint written by ``save``: the same nested structure, with
    np.ndarray leaves of exactly the saved dtypes and shapes.

    Tensors come back as ndarrays, numpy scalars as 0-d arrays; dicts, lists
    and tuples keep their type and order; Python floats and ints are exact
    (a NaN float comes back as a plain NaN). An array saved in the other
    byte order (``>f4`` on a little-endian machine) comes back with the same
    values in this machine's order.

    Never unpickles, and never allocates more than the file holds: every
    size the archive declares is checked against the file's size first, and
    compressed members (which ``save`` never writes) are refused. Raises
    ValueError naming the path and the problem for anything that is not a
    checkpoint of a supported version: a pickle, a foreign, compressed or
    truncated .npz, an object array, a malformed tree.
    """
    path = _checked_path("load", path)
    with open(path, "rb") as file:
        magic = file.read(4)
        if magic not in _ZIP_MAGIC:
            kind = "a pickle" if magic[:1] == b"\x80" else "not an .npz (zip) archive"
            raise ValueError(f"load: {path!r} is not a tinygrad_rnn checkpoint: the file is {kind}")
        file.seek(0)
        size = os.fstat(file.fileno()).st_size
        try:
            with np.load(file, allow_pickle=False) as archive:
                _check_members(archive.zip, size)
                return _read_checkpoint(archive)
        except MemoryError:  # the file's own bytes do not fit: not the file's fault
            raise
        except zipfile.BadZipFile as err:
            raise ValueError(
                f"load: {path!r} is a truncated or damaged .npz archive ({err})"
            ) from err
        except Exception as err:  # any way a damaged or foreign file can fail to parse
            raise ValueError(
                f"load: {path!r} is not a valid tinygrad_rnn checkpoint: {err}"
            ) from err


# -- saving ----------------------------------------------------------------------


def _encode(node, path: tuple, arrays: dict, open_containers: set) -> dict:
    """The JSON description of ``node``; its arrays go into ``arrays`` by name."""
    if isinstance(node, Tensor):
        node = node.data
    if isinstance(node, (np.ndarray, np.generic)):
        node = np.asarray(node)
        if node.dtype.hasobject or node.dtype.kind not in "biufcSU":
            raise TypeError(
                f"save: the array at {_show(path)} has dtype {node.dtype} (shape {node.shape}); "
                "only numeric, bool and string arrays can be saved "
                "(object arrays would need pickle)"
            )
        name = _array_name(path, arrays)
        arrays[name] = node
        return {"type": "array", "name": name}
    if isinstance(node, _JSON_LEAVES):
        return {"type": "value", "value": node}
    if not isinstance(node, (dict, list, tuple)):
        hint = "; save its .state_dict() instead" if hasattr(node, "state_dict") else ""
        raise TypeError(
            f"save: cannot store a {type(node).__name__} at {_show(path)}{hint} "
            "(supported: dict, list, tuple, ndarray, Tensor, None, bool, int, float, str)"
        )
    if id(node) in open_containers:
        raise ValueError(f"save: the {type(node).__name__} at {_show(path)} contains itself")
    open_containers.add(id(node))
    if isinstance(node, dict):
        keys = [_checked_key(key, path) for key in node]
        values = [_encode(node[key], path + (key,), arrays, open_containers) for key in node]
        encoded = {"type": "dict", "keys": keys, "values": values}
    else:
        items = [_encode(item, path + (i,), arrays, open_containers) for i, item in enumerate(node)]
        encoded = {"type": type(node).__name__, "items": items}
    open_containers.discard(id(node))
    return encoded


def _checked_key(key, path):
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    if isinstance(key, str):
        return key
    raise TypeError(
        f"save: dict keys must be str or int, got {type(key).__name__} {key!r} at {_show(path)}"
    )


def _array_name(path: tuple, taken: dict) -> str:
    """The path as a readable member name, unique in the archive.

    Escaping makes "/" separate components only; the rare clash left (an int
    key 0 beside a str key "0") gets a "#n" suffix, a character that escaped
    components never contain.
    """
    base = "/".join(quote(str(part), safe="", errors="surrogatepass") for part in path)
    name, n = base, 1
    while name in taken or name == META_NAME:
        name, n = f"{base}#{n}", n + 1
    return name


def _write_npz(file, arrays: dict) -> None:
    """What np.savez writes, without its keyword arguments (a key named "file"
    or "allow_pickle" would clash with them) and without pickle."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _file_to_replace(path: str) -> os.stat_result | None:
    """The status of the regular file ``save`` will replace, or None (nothing there, or a symlink).

    Raises PermissionError if this process may not write it: a rename would
    otherwise replace a file its owner made read-only.
    """
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None  # a symlink is replaced itself; a directory makes os.replace raise
    if not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, f"save: {path!r} is read-only (mode {stat.S_IMODE(status.st_mode):04o}); "
                              "make it writable or save elsewhere", path)
    return status


def _take_over_permissions(fd: int, replaced: os.stat_result) -> None:
    """Give the new file the replaced one's owner, group and exact permission bits (POSIX)."""
    if not hasattr(os, "fchmod"):
        return
    if (replaced.st_uid, replaced.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, replaced.st_uid, replaced.st_gid)
        except PermissionError:  # only root may give a file away: the new file stays ours
            pass
    os.fchmod(fd, stat.S_IMODE(replaced.st_mode))  # after fchown, which may clear set-id bits


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open directories)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# -- loading ---------------------------------------------------------------------


def _check_members(archive: zipfile.ZipFile, file_size: int) -> None:
    """Refuse an archive before inflating anything from it: every member must be
    stored uncompressed (``save`` never compresses, so a compressed member cannot be
    ours and could inflate a thousandfold), and the sizes its directory declares must
    add up to no more than the bytes the file holds."""
    declared = 0
    for info in archive.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"member {info.filename!r} is compressed (zip method {info.compress_type}); "
                             "tg.save never compresses, so the file is not one of its checkpoints")
        declared += info.file_size
        if info.compress_size != info.file_size or declared > file_size:
            raise ValueError(f"its directory declares {declared} bytes of members up to {info.filename!r} "
                             f"but the file holds {file_size} bytes")


def _read_checkpoint(archive) -> dict:
    members = set(archive.zip.namelist())
    if META_NAME + ".npy" not in members:
        raise ValueError(f"it has no {META_NAME} metadata (a foreign .npz?)")
    meta = _read_array(archive, META_NAME)
    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise ValueError(
            f"the metadata is a {meta.dtype} array of shape {meta.shape}, not uint8 bytes"
        )
    meta = json.loads(meta.tobytes().decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"the metadata does not name the format {FORMAT_NAME!r}")
    version = meta.get("version")
    if type(version) is not int or version < 1:
        raise ValueError(f"the format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"it was written in format version {version}, newer than this tinygrad_rnn reads "
            f"(up to {FORMAT_VERSION}); upgrade tinygrad_rnn to load it"
        )
    used = {META_NAME + ".npy"}
    obj = _decode(meta.get("tree"), archive, members, used)
    if not isinstance(obj, dict):
        raise ValueError(f"the tree's root is a {type(obj).__name__}, not a dict")
    if members != used:
        raise ValueError(f"members not described by the metadata: {sorted(members - used)[:5]}")
    return obj


def _decode(node, archive, members: set, used: set):
    kind = node.get("type") if isinstance(node, dict) else None
    if kind == "value" and isinstance(node.get("value"), _JSON_LEAVES):
        return node["value"]
    if kind == "array" and isinstance(node.get("name"), str):
        member = node["name"] + ".npy"
        if member not in members or member in used:
            raise ValueError(f"the tree names a missing or repeated array {node['name']!r}")
        used.add(member)
        return _read_array(archive, node["name"])
    if kind in ("list", "tuple") and isinstance(node.get("items"), list):
        items = [_decode(item, archive, members, used) for item in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict" and all(isinstance(node.get(part), list) for part in ("keys", "values")):
        keys, values = node["keys"], node["values"]
        plain = all(type(key) in (str, int) for key in keys)
        if not plain or len(keys) != len(values) or len(set(map(repr, keys))) != len(keys):
            raise ValueError("a dict in the tree has mismatched, repeated or non-str/int keys")
        return {key: _decode(value, archive, members, used) for key, value in zip(keys, values)}
    raise ValueError(f"malformed tree node {_truncated(node)}")


def _read_array(archive, name: str) -> np.ndarray:
    """One member, after checking its header against its size: a damaged
    header cannot make us allocate more than the file holds."""
    member = name + ".npy"  # the full member name, never the ambiguous short one
    with archive.zip.open(member) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"array {name!r} uses .npy version {version}, which is not supported")
        if dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects (pickled data), refused")
        expected = math.prod(shape) * dtype.itemsize
        held = archive.zip.getinfo(member).file_size - stream.tell()
    if expected != held:
        raise ValueError(
            f"array {name!r} is damaged: its header says shape {shape} of {dtype} "
            f"({expected} bytes) but it holds {held} bytes"
        )
    array = archive[member]
    if not isinstance(array, np.ndarray):
        raise ValueError(f"member {member!r} is not an .npy array")
    if array.dtype.byteorder not in "=|":  # the same values in this machine's byte order, as tensors need
        array = array.astype(array.dtype.newbyteorder("="))
    return array


# -- messages --------------------------------------------------------------------


def _checked_path(function: str, path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{function}: path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fsdecode(os.fspath(path))


def _show(path: tuple) -> str:
    return "obj" + "".join(f"[{part!r}]" for part in path)


def _truncated(node, limit: int = 80) -> str:
    text = repr(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."
