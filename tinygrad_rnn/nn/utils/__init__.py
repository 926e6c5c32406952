"""Helpers around training: gradient clipping, and packing of variable-length batches."""
from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_
