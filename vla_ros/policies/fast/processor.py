# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> prompt, action chunk <-> FAST tokens and the end token, for ``fast``.

A chunk (T, J) is mapped to the model's space (``TokenNormalization``), compressed by the
checkpoint's ``FastTokenizer`` (DCT, scale and round, BPE) and its FAST ids placed at the end
of the language model's vocabulary, reversed as pi0-FAST places them: FAST id f is model id
``vocab_size - 1 - f``. The model ends a chunk with the tokenizer's ``<eos>``.

Decoding checks every step and raises PolicyOutputError instead of guessing: no end token
within the budget, an id that is no FAST token, or ids that expand to more or fewer than
T * J coefficients (``FastTokenizer.decode``). Never padded, truncated or zero chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import ActionChunk

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.fast.config import FastPolicyConfig
    from vla_ros.policies.fast.fast_tokenizer import FastTokenizer
    from vla_ros.policies.tokens.prompt import PromptEncoder, PromptInputs

__all__ = ['FastProcessor']


class FastProcessor:
    """Turns observations into prompts and FAST tokens into action chunks, and back.

    Args:
        config: the checkpoint's vla_ros config.
        prompt: the prompt encoder built from the config and the checkpoint's tokenizer.
        fast_tokenizer: the checkpoint's FAST tokenizer, fitted for (chunk_length, joints).
        vocab_size: the language model's vocabulary size; FAST ids take its last ids.
        end_id: the id that ends a chunk (the text tokenizer's ``<eos>``).

    Raises:
        ConfigError: a FAST tokenizer of another chunk shape, or ids that overlap.
    """

    def __init__(self, config: FastPolicyConfig, prompt: PromptEncoder,
                 fast_tokenizer: FastTokenizer, *, vocab_size: int, end_id: int) -> None:
        spec, shape = config.spec, fast_tokenizer.config
        if (shape.chunk_length, shape.action_dim) != (spec.chunk_length, len(spec.joint_names)):
            raise ConfigError(
                f'fast_config.json: chunks of {shape.chunk_length} x {shape.action_dim}, the '
                f'spec has {spec.chunk_length} steps x {len(spec.joint_names)} joints')
        if not 0 <= end_id < vocab_size - fast_tokenizer.vocab_size:
            raise ConfigError(f'end id {end_id} overlaps the {fast_tokenizer.vocab_size} FAST '
                              f'ids at the end of the vocabulary of {vocab_size}')
        self._config = config
        self._prompt = prompt
        self._fast = fast_tokenizer
        self._vocab_size = vocab_size
        self._end_id = end_id

    @property
    def spec(self) -> PolicySpec:
        """The policy contract."""
        return self._config.spec

    @property
    def prompt(self) -> PromptEncoder:
        """The prompt encoder in use."""
        return self._prompt

    @property
    def fast_tokenizer(self) -> FastTokenizer:
        """Normalized chunks <-> FAST ids."""
        return self._fast

    @property
    def end_id(self) -> int:
        """The model id that ends a chunk."""
        return self._end_id

    @property
    def first_fast_id(self) -> int:
        """Lowest model id a FAST token uses."""
        return self._vocab_size - self._fast.vocab_size

    def prepare(self, observation: Observation) -> PromptInputs:
        """The model inputs of ``observation``.

        Raises:
            InputError: the observation does not fit the spec.
        """
        return self._prompt.encode(observation)

    def target_ids(self, actions: ArrayLike, joint_positions: ArrayLike) -> NDArray[np.int64]:
        """The model ids a chunk of absolute targets (T, J) becomes: FAST ids, then the end.

        Raises:
            InputError: a wrong shape, NaN or Inf.
        """
        normalized = self._config.normalization.normalize_actions(actions, joint_positions)
        fast_ids = self._fast.encode(normalized)
        return np.append(self._vocab_size - 1 - fast_ids, self._end_id).astype(np.int64)

    def to_action_chunk(self, token_ids: ArrayLike, joint_positions: ArrayLike) -> ActionChunk:
        """Decode generated ids (FAST ids then the end token) into absolute joint targets.

        Raises:
            PolicyOutputError: no end token, an id that is no FAST token, or ids that do not
                expand to exactly chunk_length x joints coefficients.
        """
        ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        if ids.size == 0 or ids[-1] != self._end_id:
            raise PolicyOutputError(
                f'FAST output: {ids.size} ids without the end token {self._end_id}; the chunk '
                f'did not end within the budget of {self._config.max_new_tokens} ids')
        body = ids[:-1]
        outside = np.flatnonzero(body < self.first_fast_id)
        if outside.size:
            position = int(outside[0])
            raise PolicyOutputError(
                f'FAST output: id {int(body[position])} at position {position} is not a FAST '
                f'token (expected {self.first_fast_id} to {self._vocab_size - 1})')
        normalized = self._fast.decode(self._vocab_size - 1 - body)
        positions = self._config.normalization.unnormalize_actions(normalized, joint_positions)
        spec = self.spec
        return ActionChunk(joint_names=spec.joint_names, positions=positions, dt_s=spec.dt_s)
