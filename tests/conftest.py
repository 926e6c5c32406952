"""Hypothesis profiles, and a suite that fails when a test file collects no tests.

Profiles (HYPOTHESIS_PROFILE=name; numba compiles on first call, so no per-example deadline):

- ``default``: 40 examples per property, for a quick run while editing;
- ``ci``: what .ci/run uses, 200 examples per property. At 40, mutation testing
  (issue 14) found planted bugs that a property caught with one seed and missed
  with another. With 200 the whole suite took 3.6 minutes on a 2-core machine
  (40: about 2);
- ``thorough``: 500 examples, for a deeper search locally.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

for name, examples in (("default", 40), ("ci", 200), ("thorough", 500)):
    settings.register_profile(name, deadline=None, max_examples=examples,
                              suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_EMPTY = []  # test files in which pytest found no test


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report):
    """Note every test file that collects nothing: a renamed test function, a module-level
    skip that grew too wide or a broken decorator would otherwise pass in silence."""
    if report.passed and report.nodeid.endswith(".py") and os.path.basename(report.nodeid).startswith("test_"):
        if not report.result:
            _EMPTY.append(report.nodeid)


def pytest_collection_finish(session):
    if _EMPTY:
        raise pytest.UsageError(f"these test files collect no tests: {', '.join(_EMPTY)}")
