"""The one random generator behind initialisation, dropout and tensor factories."""

import numpy as np

from . import arguments

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator: the same seed gives the same bits."""
    global _generator
    arguments.integer("manual_seed", "seed", seed, low=0)
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator
