"""A switch: a setting of this thread that a ``with`` block changes and puts back.

Grad mode (``autograd.grad_mode``), anomaly mode (``anomaly.anomaly_mode``)
and the tape's tags (``autograd.tags``) are each one Switch, owned by the
module that reads it. Each belongs to the thread that set it, as PyTorch's
grad mode does: a ``no_grad()`` block in one thread does not stop another
from recording, and every new thread starts from the defaults.
"""

from __future__ import annotations

import functools
import threading


class Switch(threading.local):
    """``switch.value``, this thread's setting; ``switch.to(value)`` sets it for a block.

    ``with switch.to(value):`` and ``@switch.to(value)`` (on a function) both
    put the previous value back on exit, exception or not.
    """

    def __init__(self, default):  # threading.local runs this again in each new thread
        self.value = default

    def to(self, value) -> Flip:
        return Flip(self, value)


class Flip:
    """A context manager and decorator: ``switch.value = value`` inside, the old value after."""

    def __init__(self, switch: Switch, value):
        self.switch, self.value = switch, value

    def __enter__(self):
        self.previous, self.switch.value = self.switch.value, self.value
        return self

    def __exit__(self, *exc_info):
        self.switch.value = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with Flip(self.switch, self.value):  # a new one per call: calls may nest or run in threads
                return fn(*args, **kwargs)

        return wrapper
