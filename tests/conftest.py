"""Hypothesis profiles: numba compiles on first call, so no per-example deadline.

`default` runs in CI; `thorough` (HYPOTHESIS_PROFILE=thorough) runs more examples locally.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
