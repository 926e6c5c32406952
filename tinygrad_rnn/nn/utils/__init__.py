"""Helpers around training: gradient clipping, and packing of variable-length batches."""
from . import rnn
