# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Length-constrained decoding for pi0-FAST's released output: ``Action: ``, FAST ids, ``|``.

``Pi0FastLengthRule`` tells greedy decoding which ids may come next so that the output is
always well-formed: first the ids of ``Action: ``, one by one; then FAST ids (model id
``last_fast_id - f``) that still fit in the chunk's T * D coefficients; then ``|`` once the
chunk is complete, and nothing else. The model's highest-scoring allowed id wins, so the
chunk is the model's own, never padded or zero-filled. A FAST id counts the coefficients it
spells on its own (``ReleasedFastTokenizer.coefficients``); an id that spells none on its own
(a part of a multi-byte character, or a byte no coefficient uses) is never allowed.

Released pi0-FAST decodes freely (LeRobot, openpi), and so does ``LeRobotFastPolicy`` unless
asked: this rule is for small models trained here, whose commonest failure is a chunk a few
coefficients long or short (``docs/results.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer

__all__ = ['Pi0FastLengthRule', 'released_symbols_per_id']


def released_symbols_per_id(fast: ReleasedFastTokenizer) -> NDArray[np.int64]:
    """(F,) coefficients each FAST id spells on its own; 0 where it spells no whole one."""
    counts = np.zeros(fast.vocab_size, dtype=np.int64)
    for fast_id in range(fast.vocab_size):
        try:
            counts[fast_id] = fast.coefficients(np.array([fast_id])).size
        except PolicyOutputError:
            counts[fast_id] = 0
    return counts


class Pi0FastLengthRule:
    """The ids allowed next (module doc).

    Args:
        action_prefix: the ids of ``Action: ``.
        symbols: (F,) coefficients per FAST id (``released_symbols_per_id``).
        last_fast_id: model id of FAST id 0; FAST id f is ``last_fast_id - f``.
        end_id: the id of ``|``.
        coefficients: T * D, the coefficients of one chunk.
        vocab_size: rows of the model's output.

    Raises:
        ConfigError: the FAST ids do not fit the vocabulary, or no id spells one coefficient.
    """

    def __init__(self, action_prefix: Sequence[int], symbols: NDArray[np.int64], *,
                 last_fast_id: int, end_id: int, coefficients: int, vocab_size: int) -> None:
        if last_fast_id >= vocab_size or last_fast_id - symbols.size + 1 < 0:
            raise ConfigError(f'{symbols.size} FAST ids below id {last_fast_id} do not fit the '
                              f'vocabulary of {vocab_size}')
        if not np.any(symbols == 1):
            raise ConfigError('FAST tokenizer: no id spells a single coefficient, so a chunk '
                              'cannot always be completed')
        per_model_id = np.zeros(vocab_size, dtype=np.int64)
        per_model_id[last_fast_id - np.arange(symbols.size)] = symbols
        self._per_model_id = per_model_id
        self._symbols = torch.from_numpy(per_model_id)
        self._prefix = [int(token_id) for token_id in action_prefix]
        self._coefficients = coefficients
        self._masks = {token_id: self._only(token_id, vocab_size)
                       for token_id in {*self._prefix, end_id}}
        self._end_id = end_id

    @staticmethod
    def _only(token_id: int, vocab_size: int) -> torch.Tensor:
        mask = torch.zeros(vocab_size, dtype=torch.bool)
        mask[token_id] = True
        return mask

    def __call__(self, generated: Sequence[int]) -> torch.Tensor:
        """A (vocab_size,) bool mask of the ids allowed after ``generated``."""
        done = len(generated)
        if done < len(self._prefix):
            return self._masks[self._prefix[done]]
        left = self._coefficients - int(self._per_model_id[list(generated[len(self._prefix):])]
                                        .sum())
        if left <= 0:
            return self._masks[self._end_id]
        return (self._symbols > 0) & (self._symbols <= left)
