"""Where numba cannot write its cache, tinygrad_rnn still imports and runs, with one warning.

That is the normal case of a system-wide or container install: the package
directory is read-only, the user is not its owner, and there is no writable
HOME or NUMBA_CACHE_DIR. numba's ``cache=True`` then raises at import
("cannot cache function ...: no locator available").
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_rnn as tg
from permissions import bound_by_permission_bits

PACKAGE = Path(tg.__file__).parent

RUN = """
import numpy as np
import tinygrad_rnn as tg
from tinygrad_rnn import nn

print("imported")
x = tg.Tensor(np.linspace(-3, 3, 7), requires_grad=True)
x.sigmoid().sum().backward()
rnn = nn.RNN(3, 4)
out, _ = rnn(tg.randn(5, 2, 3))
out.sum().backward()
print("ran", x.grad.shape, rnn.weight_hh_l0.grad.shape)
"""


def read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode & ~0o222)


def writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_read_only_install_without_a_cache_directory_imports_and_runs(tmp_path):
    install = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, install / "tinygrad_rnn", ignore=shutil.ignore_patterns("__pycache__"))
    read_only(tmp_path)  # the package, and HOME below it, can be neither written nor created
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("NUMBA_") and name not in ("XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(install), PYTHONDONTWRITEBYTECODE="1")
    try:
        result = subprocess.run(bound_by_permission_bits([sys.executable, "-W", "always", "-c", RUN]),
                                cwd=install, env=env, capture_output=True, text=True, timeout=600)
    finally:
        writable(tmp_path)  # so that pytest can delete it
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout and "ran (7,) (4, 4)" in result.stdout
    warnings = re.findall(r"^\S+:\d+: (\w+Warning): (.*)$", result.stderr, re.M)
    assert len(warnings) == 1, result.stderr
    kind, message = warnings[0]
    assert kind == "RuntimeWarning" and "numba cannot write its cache" in message
    assert "set NUMBA_CACHE_DIR" in message
    directory = re.search(r"into (\S+), for this process only", message)[1]
    assert not os.path.exists(directory)  # removed at exit


def test_without_even_a_temporary_directory_the_kernels_compile_in_memory(monkeypatch):
    from tinygrad_rnn import kernels

    def no_temporary_directory(**_):
        raise PermissionError("no writable temporary directory")

    monkeypatch.setattr(kernels, "_numba_can_cache", lambda: False)
    monkeypatch.setattr(kernels.tempfile, "mkdtemp", no_temporary_directory)
    before = kernels.numba.config.CACHE_DIR
    with pytest.warns(RuntimeWarning, match="kernels compile in memory"):
        assert kernels._cache_somewhere() is False  # what the kernels pass as cache=
    assert kernels.numba.config.CACHE_DIR == before
