"""Every Python snippet in docs/*.md runs here, so the docs cannot rot.

The blocks of one page run in order, in one namespace, in a fresh temporary
directory, after ``tg.manual_seed(0)`` and ``np.random.seed(0)``: a page reads
like one script. Each block is its own test, named ``page.md:line``; asking
for one block runs the blocks above it first.

A block fenced as ```` ```python title="tinygrad_rnn/autograd/__init__.py" ```` quotes
that file instead of running: every line of it must occur in the file, in
that order (a line ``...`` stands for lines left out), so a quote cannot
drift from the code either. A block that needs an optional package which is
not installed (PyTorch, or Graphviz for ``tg.viz.draw``) is skipped. Only
fences that start a line count.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
TITLE = re.compile(r'title="(?P<path>[^"]+)"')
OPTIONAL_MODULES = {"torch", "graphviz", "matplotlib"}


def blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line number, info string, code) of every ```python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m["info"], m["code"]) for m in FENCE.finditer(text)]


def cases():
    for page in sorted(DOCS.rglob("*.md")):
        for index, (line, info, _) in enumerate(blocks(page)):
            kind = "quote" if TITLE.search(info) else "run"
            yield pytest.param(page, index, id=f"{page.relative_to(DOCS)}:{line}:{kind}")


class Page:
    """The running state of one page: its namespace and how many blocks have run."""

    def __init__(self, page: Path, directory: Path):
        self.blocks = blocks(page)
        self.directory = directory
        self.namespace = {"__name__": f"docs.{page.stem}"}
        self.done = 0
        self.failed_at = None  # line of the first block that failed
        tg.manual_seed(0)
        np.random.seed(0)

    def run_through(self, index: int) -> None:
        """Run blocks up to and including ``index``; skip if an earlier one failed."""
        while self.done <= index:
            if self.failed_at is not None:
                pytest.skip(f"an earlier block of this page failed (line {self.failed_at})")
            line, info, code = self.blocks[self.done]
            self.done += 1
            try:
                self._run(line, info, code)
            except BaseException as err:
                if not isinstance(err, pytest.skip.Exception):
                    self.failed_at = line
                raise

    def _run(self, line: int, info: str, code: str) -> None:
        title = TITLE.search(info)
        if title:
            check_quote(title["path"], code)
            return
        cwd = os.getcwd()
        os.chdir(self.directory)
        try:
            exec(compile(code, f"<docs block at line {line}>", "exec"), self.namespace)
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] in OPTIONAL_MODULES:
                pytest.skip(f"needs {err.name}, which is not installed")
            raise
        except tg.viz.GraphvizNotFound as err:
            pytest.skip(str(err))
        finally:
            os.chdir(cwd)


def check_quote(path: str, quote: str) -> None:
    """Every line of ``quote`` occurs in the file at ``path``, in order; ``...`` skips lines."""
    source = (ROOT / path).read_text(encoding="utf-8").splitlines()
    position = 0
    for line in quote.splitlines():
        if line.strip() in ("", "..."):
            continue
        for i in range(position, len(source)):
            if source[i].rstrip() == line.rstrip():
                position = i + 1
                break
        else:
            raise AssertionError(f"{path}: the quoted line {line.strip()!r} is not in the file "
                                 f"(after line {position})")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    return {}


@pytest.mark.parametrize("page, index", list(cases()))
def test_docs_block(pages, tmp_path_factory, page, index):
    if page not in pages:
        pages[page] = Page(page, tmp_path_factory.mktemp(page.stem))
    pages[page].run_through(index)


def test_the_docs_have_snippets_to_run():
    assert len(list(cases())) > 20


def test_a_quote_that_drifted_from_the_code_fails():
    check_quote("tinygrad_rnn/autograd/__init__.py", "class Function:\n    ...\n    def backward(self, grad):\n")
    with pytest.raises(AssertionError, match="'return 42' is not in the file"):
        check_quote("tinygrad_rnn/autograd/__init__.py", "class Function:\n    return 42\n")
