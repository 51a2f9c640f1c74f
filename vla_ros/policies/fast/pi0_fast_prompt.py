# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""pi0-FAST's prompt and action text as LeRobot (0.4+) and openpi lay them out, both ways.

``Pi0FastPrompt`` is what inference (``lerobot_fast_policy``) and training (``train.py``) share,
so a policy trained here sees exactly the tokens it is deployed with, and exactly those of a
released pi0-FAST:

- prompt: each present camera's image placeholders (model id V, the vocabulary size, as
  PaliGemma's ``image_token_index``), then ``tokenizer.encode("Task: {task}, State: {bins};\n")``
  (PaliGemma's tokenizer puts ``<bos>`` in front), then ``<bos>``. The state is normalised
  with the folder's statistics, zero-padded to ``state_width`` (LeRobot's ``max_state_dim``,
  32) and cut into 256 bins (``state_bins``, unclipped), as LeRobot's prepare-state step does;
- what the model generates: ``Action: ``, FAST ids (FAST id f is model id
  ``vocab_size(tokenizer) - 1 - skip - f``), ``|``; training appends ``<eos>`` after ``|``
  as openpi does, decoding stops at ``|``.

``LeRobotNormalizer`` is LeRobot's normaliser step for one feature: MEAN_STD
``(x - mean) / (std + eps)`` or QUANTILES ``2 (x - q01) / (q99 - q01) - 1``, unclipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
import torch

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.normalization import ZScoreStats
from vla_ros.policies.frames import letterbox
from vla_ros.policies.lerobot_files import LEROBOT_NORM_EPS
from vla_ros.policies.tokens.prompt import pixels_to_model, PromptInputs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from transformers import PreTrainedTokenizerBase

    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec

__all__ = ['LeRobotNormalizer', 'Pi0FastPrompt', 'state_bins']

_QUANTILES, _MEAN_STD = 'QUANTILES', 'MEAN_STD'


def state_bins(normalized_state: NDArray[np.float64]) -> str:
    """LeRobot's and openpi's state text: 256 bins over [-1, 1), ``np.digitize``, unclipped."""
    bins = np.digitize(normalized_state, bins=np.linspace(-1.0, 1.0, 257)[:-1]) - 1
    return ' '.join(str(int(value)) for value in bins)


@dataclass(frozen=True, slots=True)
class LeRobotNormalizer:
    """One feature's LeRobot normalisation (module doc).

    Attributes:
        mode: ``MEAN_STD`` or ``QUANTILES``.
        stats: statistic name -> (D,) values, robot units (``mean``/``std`` or ``q01``/``q99``).
    """

    mode: str
    stats: Mapping[str, NDArray[np.float64]]

    def __post_init__(self) -> None:
        if self.mode not in (_QUANTILES, _MEAN_STD):
            raise ConfigError(f'normalization mode {self.mode!r}, expected {_MEAN_STD!r} or '
                              f'{_QUANTILES!r}')

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Robot units (..., D) -> model space."""
        if self.mode == _MEAN_STD:
            return self._zscore().normalize(values)
        low, span = self._quantile_span()
        return np.asarray(2.0 * (np.asarray(values, np.float64) - low) / span - 1.0)

    def unnormalize(self, normalized: ArrayLike) -> NDArray[np.float64]:
        """Model space (..., D) -> robot units."""
        if self.mode == _MEAN_STD:
            return self._zscore().unnormalize(normalized)
        low, span = self._quantile_span()
        return np.asarray((np.asarray(normalized, np.float64) + 1.0) * span / 2.0 + low)

    def _zscore(self) -> ZScoreStats:
        return ZScoreStats(mean=tuple(self.stats['mean']), std=tuple(self.stats['std']),
                           eps=LEROBOT_NORM_EPS)

    def _quantile_span(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        low = np.asarray(self.stats['q01'], np.float64)
        span = np.asarray(self.stats['q99'], np.float64) - low
        return low, np.where(span == 0.0, LEROBOT_NORM_EPS, span)


class Pi0FastPrompt:
    """Observations -> pi0-FAST prompts, and FAST ids <-> the generated text (module doc).

    Args:
        tokenizer: the text tokenizer (PaliGemma's, or the small one trained here).
        spec: cameras (in the model's order, present ones only), image size, chunk shape.
        state_joints: the joints of ``observation.state``, in order.
        state: the state's normaliser.
        model_vocab_size: rows of the language model's embedding (the image placeholder id).
        tokens_per_image: placeholders per camera, the vision tower's patch count.
        fast_skip_tokens: ids left free at the end of the text vocabulary (128).
        fast_vocab_size: FAST ids.
        state_width: bins written for the state: it is zero-padded to this width (LeRobot's
            ``max_state_dim``, default 32); a wider state is written whole.

    Raises:
        ConfigError: the FAST ids do not fit the vocabulary, or a marker is not one token.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, spec: PolicySpec, *,
                 state_joints: tuple[str, ...], state: LeRobotNormalizer,
                 model_vocab_size: int, tokens_per_image: int, fast_skip_tokens: int,
                 fast_vocab_size: int, state_width: int) -> None:
        self._tokenizer = tokenizer
        self._spec = spec
        self._state_joints = state_joints
        self._state = state
        self._state_width = state_width
        self._bos = _single_id(tokenizer, tokenizer.bos_token, 'bos')
        self._end = _single_id(tokenizer, '|', 'end-of-action')
        self._eos = _single_id(tokenizer, tokenizer.eos_token, 'eos')
        self._action_prefix = [int(i) for i in tokenizer.encode('Action: ',
                                                                add_special_tokens=False)]
        self._last_fast_id = int(tokenizer.vocab_size) - 1 - fast_skip_tokens
        self._fast_vocab_size = fast_vocab_size
        if self._last_fast_id - fast_vocab_size + 1 < 0 or self._last_fast_id >= (
                model_vocab_size):
            raise ConfigError(f'{fast_vocab_size} FAST ids below id {self._last_fast_id} do not '
                              f'fit the vocabulary of {model_vocab_size}')
        self._image_ids = [model_vocab_size] * (tokens_per_image * len(spec.camera_names))

    @property
    def spec(self) -> PolicySpec:
        """The cameras, image size and joints the prompts are built for."""
        return self._spec

    @property
    def end_id(self) -> int:
        """The id of ``|``, where decoding stops."""
        return self._end

    @property
    def prefix_length(self) -> int:
        """Ids of ``Action: `` before the FAST ids."""
        return len(self._action_prefix)

    @property
    def action_prefix(self) -> tuple[int, ...]:
        """The ids of ``Action: ``."""
        return tuple(self._action_prefix)

    @property
    def last_fast_id(self) -> int:
        """Model id of FAST id 0; FAST id f is ``last_fast_id - f``."""
        return self._last_fast_id

    def task_ids(self, instruction: str) -> NDArray[np.int64]:
        """The prompt's ids up to ``Task: {instruction},`` (for pointing pre-training)."""
        text_ids = self._tokenizer.encode(f'Task: {_clean(instruction)},')
        return np.asarray(self._image_ids + list(text_ids), dtype=np.int64)

    def prompt_ids(self, observation: Observation) -> NDArray[np.int64]:
        """The prompt's ids (L,) for ``observation``.

        Raises:
            InputError: a state joint is missing.
        """
        normalized = self._state.normalize(observation.positions_for(self._state_joints))
        state = np.zeros(max(self._state_width, normalized.size))
        state[:normalized.size] = normalized
        text = f'Task: {_clean(observation.instruction)}, State: {state_bins(state)};\n'
        return np.asarray(self._image_ids + list(self._tokenizer.encode(text)) + [self._bos],
                          dtype=np.int64)

    def images(self, observation: Observation) -> NDArray[np.uint8]:
        """The cameras' images (C, H, W, 3) uint8 in the model's order, letterboxed.

        Raises:
            InputError: a camera is missing or its image is malformed.
        """
        spec = self._spec
        return np.stack([letterbox(observation.images[camera], height=spec.image_height,
                                   width=spec.image_width) for camera in spec.camera_names])

    def encode(self, observation: Observation) -> PromptInputs:
        """``observation``'s model inputs (CPU), the whole prompt one bidirectional block."""
        input_ids = torch.from_numpy(self.prompt_ids(observation))[None]
        return PromptInputs(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids),
                            pixel_values=pixels_to_model(torch.from_numpy(
                                self.images(observation))))

    def target_ids(self, fast_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """What the model learns to generate: ``Action: ``, model ids, ``|``, ``<eos>``."""
        return np.asarray([*self._action_prefix, *(self._last_fast_id - fast_ids), self._end,
                           self._eos], dtype=np.int64)

    def fast_ids(self, generated: NDArray[np.int64], *, budget: int) -> NDArray[np.int64]:
        """``Action: `` + model ids + ``|`` -> FAST ids; PolicyOutputError for anything else."""
        prefix = len(self._action_prefix)
        if list(generated[:prefix]) != self._action_prefix:
            raise PolicyOutputError(f'pi0-FAST output: {generated[:prefix].tolist()} does not '
                                    f'start with "Action: " {self._action_prefix}')
        if generated.size <= prefix or generated[-1] != self._end:
            raise PolicyOutputError(f'pi0-FAST output: no "|" ({self._end}) within the budget '
                                    f'of {budget} ids')
        fast = self._last_fast_id - generated[prefix:-1]
        outside = np.flatnonzero((fast < 0) | (fast >= self._fast_vocab_size))
        if outside.size:
            raise PolicyOutputError(f'pi0-FAST output: id {int(generated[prefix + outside[0]])} '
                                    f'at position {prefix + int(outside[0])} is no FAST token')
        return fast.astype(np.int64)


def _clean(instruction: str) -> str:
    """LeRobot's task text: stripped, underscores and newlines as spaces."""
    return instruction.strip().replace('_', ' ').replace('\n', ' ')


def _single_id(tokenizer: PreTrainedTokenizerBase, token: object, what: str) -> int:
    ids = tokenizer.encode(str(token), add_special_tokens=False) if token is not None else []
    if len(ids) != 1:
        raise ConfigError(f'text tokenizer: the {what} token {token!r} is {ids!r}, expected one '
                          'id')
    return int(ids[0])
