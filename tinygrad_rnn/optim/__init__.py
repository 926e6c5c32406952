"""Optimizers and learning-rate schedulers, with torch.optim's names.

``optim.SGD``, ``optim.Adam``, ... live in ``optim/optimizers.py``;
``optim.lr_scheduler`` holds the schedulers, as ``torch.optim.lr_scheduler`` does.
"""

from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from . import lr_scheduler

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
