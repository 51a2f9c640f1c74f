# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Length-constrained FAST decoding: the model's own tokens, always exactly T * J coefficients.

Each FAST id stands for a known number of DCT coefficients (the characters of its BPE token).
``ChunkLengthRule`` tells greedy decoding, step by step, which ids may come next: FAST ids
that still fit in the T * J coefficients of a chunk, and the end token only once the chunk is
complete (then nothing else). The model's highest-scoring allowed id wins, so the chunk is the
model's, never padded, truncated or zero-filled; the commonest pi0-FAST failure, a sequence
that expands to a few coefficients too many or too few, cannot happen. Decoding still checks
everything afterwards, and a budget that runs out before the end is still an error.
``FastPolicyConfig.length_constrained`` turns the rule on (it is off by default): where the
model would have produced a malformed sequence, the constrained chunk is well-formed but can be
far off, since a shifted coefficient lands on another dimension.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer
import torch

from vla_ros.core.errors import ConfigError

__all__ = ['ChunkLengthRule', 'symbols_per_id']


def symbols_per_id(tokenizer_path: Path, *, vocab_size: int) -> NDArray[np.int64]:
    """Coefficients each FAST id stands for, read from the saved BPE (``fast_tokenizer.json``).

    Raises:
        ConfigError: an unreadable file, or ids outside ``vocab_size``.
    """
    try:
        vocabulary = Tokenizer.from_file(str(tokenizer_path)).get_vocab()
    except Exception as err:  # the Rust side raises a bare Exception for every failure
        raise ConfigError(f'{tokenizer_path}: cannot load the BPE tokenizer: {err}') from err
    counts = np.zeros(vocab_size, dtype=np.int64)
    for token, token_id in vocabulary.items():
        if not 0 <= token_id < vocab_size:
            raise ConfigError(f'{tokenizer_path}: id {token_id} outside [0, {vocab_size})')
        counts[token_id] = len(token)
    return counts


class ChunkLengthRule:
    """The ids allowed next so that the FAST ids expand to exactly ``coefficients``.

    Args:
        symbols: (F,) coefficients per FAST id (``symbols_per_id``), each >= 1.
        coefficients: T * J, the coefficients of one chunk.
        vocab_size: the model's vocabulary; FAST id f is model id vocab_size - 1 - f.
        end_id: the model id that ends a chunk.
    """

    def __init__(self, symbols: NDArray[np.int64], *, coefficients: int, vocab_size: int,
                 end_id: int) -> None:
        if symbols.size == 0 or symbols.min() < 1:
            raise ConfigError('FAST tokenizer: every id must stand for at least one coefficient')
        per_model_id = np.zeros(vocab_size, dtype=np.int64)
        per_model_id[vocab_size - 1 - np.arange(symbols.size)] = symbols
        self._per_model_id = per_model_id
        self._symbols = torch.from_numpy(per_model_id)
        self._coefficients = coefficients
        self._end = torch.zeros(vocab_size, dtype=torch.bool)
        self._end[end_id] = True

    def __call__(self, generated: Sequence[int]) -> torch.Tensor:
        """A (vocab_size,) bool mask of the ids allowed after ``generated``."""
        left = self._coefficients - int(self._per_model_id[list(generated)].sum())
        if left <= 0:
            return self._end
        return (self._symbols > 0) & (self._symbols <= left)
