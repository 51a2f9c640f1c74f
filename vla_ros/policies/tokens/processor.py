# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> prompt, action chunk <-> bin tokens, for the ``tokens`` family.

A chunk (T, J) is mapped to the model's space (``TokenNormalization``: relative to the
observed joints if the checkpoint says so, then q01/q99 into [-1, 1]), cut into bins and
written time-major, all J dimensions of step 0 first, as T * J ids from the last ``n_bins``
ids of the vocabulary (``ActionTokenizer``). Decoding is the exact reverse and refuses a
sequence of the wrong length or with a non-action id (PolicyOutputError): never zeros.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.types import ActionChunk
from vla_ros.policies.tokens.action_tokenizer import ActionTokenizer

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.tokens.config import TokensPolicyConfig
    from vla_ros.policies.tokens.prompt import PromptEncoder, PromptInputs

__all__ = ['TokensProcessor']


class TokensProcessor:
    """Turns observations into prompts and bin tokens into action chunks, and back.

    Args:
        config: the checkpoint's vla_ros config (spec, statistics, bins).
        prompt: the prompt encoder built from the same config and the checkpoint's tokenizer.
        vocab_size: the language model's vocabulary size; actions use its last ``n_bins`` ids.
    """

    def __init__(self, config: TokensPolicyConfig, prompt: PromptEncoder, *,
                 vocab_size: int) -> None:
        self._config = config
        self._prompt = prompt
        self._action_tokenizer = ActionTokenizer(vocab_size=vocab_size, n_bins=config.n_bins,
                                                 layout=config.layout)

    @property
    def spec(self) -> PolicySpec:
        """The policy contract."""
        return self._config.spec

    @property
    def prompt(self) -> PromptEncoder:
        """The prompt encoder in use."""
        return self._prompt

    @property
    def action_tokenizer(self) -> ActionTokenizer:
        """Normalized actions <-> bin token ids."""
        return self._action_tokenizer

    @property
    def tokens_per_chunk(self) -> int:
        """Ids the model generates per chunk: chunk_length * joints."""
        return self.spec.chunk_length * len(self.spec.joint_names)

    def prepare(self, observation: Observation) -> PromptInputs:
        """The model inputs of ``observation``.

        Raises:
            InputError: the observation does not fit the spec.
        """
        return self._prompt.encode(observation)

    def target_ids(self, actions: ArrayLike, joint_positions: ArrayLike) -> NDArray[np.int64]:
        """The ids (T * J,) a chunk of absolute targets (T, J) becomes, for training.

        Raises:
            InputError: a wrong shape, NaN or Inf.
        """
        normalized = self._config.normalization.normalize_actions(actions, joint_positions)
        return self._action_tokenizer.encode(normalized).reshape(-1)

    def to_action_chunk(self, token_ids: ArrayLike,
                        joint_positions: ArrayLike) -> ActionChunk:
        """Decode generated ids into absolute joint targets.

        Args:
            token_ids: (T * J,) ids as generated, time-major.
            joint_positions: (J,) the observed positions (the origin of delta actions).

        Raises:
            PolicyOutputError: not exactly chunk_length * J ids, or a non-action id.
        """
        spec = self.spec
        ids = np.asarray(token_ids)
        if ids.shape != (self.tokens_per_chunk,):
            raise PolicyOutputError(
                f'action tokens: {ids.size} ids, expected {self.tokens_per_chunk} '
                f'(chunk_length {spec.chunk_length} x {len(spec.joint_names)} joints)')
        normalized = self._action_tokenizer.decode(ids, len(spec.joint_names))
        positions = self._config.normalization.unnormalize_actions(normalized, joint_positions)
        return ActionChunk(joint_names=spec.joint_names, positions=positions, dt_s=spec.dt_s)
