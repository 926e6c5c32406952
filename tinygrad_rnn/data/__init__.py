"""Data: vocabularies, tokenizers and language-model helpers (``data/text.py``), and
Dataset, TensorDataset and DataLoader with their collate functions (``data/loader.py``)."""

from .loader import DataLoader, Dataset, TensorDataset, default_collate, pad_collate
from .text import (SPECIALS, Vocab, batches, one_hot, pad_batch, sample, sequence_log_prob, tokenize_chars,
                   tokenize_words, windows)

__all__ = [
    "DataLoader", "Dataset", "SPECIALS", "TensorDataset", "Vocab", "batches", "default_collate", "one_hot",
    "pad_batch", "pad_collate", "sample", "sequence_log_prob", "tokenize_chars", "tokenize_words", "windows",
]
