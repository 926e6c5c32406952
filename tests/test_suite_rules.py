"""The suite's own rules (tests/conftest.py): CI draws enough examples, and no test file is silently empty."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

HERE = Path(__file__).parent


def test_ci_draws_200_examples_per_property():
    assert settings.get_profile("ci").max_examples == 200
    assert settings.get_profile("default").max_examples == 40
    assert "export HYPOTHESIS_PROFILE=ci" in (HERE.parent / ".ci" / "run").read_text()


def test_a_test_file_that_collects_nothing_fails_the_run(tmp_path):
    shutil.copy(HERE / "conftest.py", tmp_path)
    (tmp_path / "test_fine.py").write_text("def test_one():\n    pass\n")
    (tmp_path / "test_renamed.py").write_text("def check_one():  # renamed: pytest no longer finds it\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "these test files collect no tests: " in result.stderr and "test_renamed.py" in result.stderr
    (tmp_path / "test_renamed.py").unlink()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
