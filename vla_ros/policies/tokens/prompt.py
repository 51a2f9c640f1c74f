# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> the prompt both token families decode from (images, instruction, state).

The prompt is one prefix-LM block, as pi0-FAST lays it out::

    <image> x (cameras * tokens_per_image)  <bos>  "Task: {instruction}, State: {s_1} ... {s_J};
    Action: "

Each camera's placeholders are replaced by its patch embeddings inside the model, in the
spec's camera order. The state is the observed joint positions, q01/q99-normalized into
[-1, 1] (clipped) and cut into ``state_bins`` uniform bins, written as decimal numbers, as
pi0.5 and pi0-FAST write theirs. Images are taken exactly at the spec's size (a wrong size is
refused, never resized) and scaled from uint8 to [-1, 1], as SigLIP expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.images import require_size
from vla_ros.core.instructions import normalize_instruction
from vla_ros.policies.tokens.vlm import IMAGE_TOKEN

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from vla_ros.core.normalization import QuantileStats
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec

__all__ = ['PromptEncoder', 'PromptInputs', 'pixels_to_model']


@dataclass(frozen=True, slots=True)
class PromptInputs:
    """One observation's model inputs.

    Attributes:
        input_ids: (1, L) int64 prompt token ids.
        token_type_ids: (1, L) int64 zeros: the whole prompt is the bidirectional prefix.
        pixel_values: (C, 3, H, W) float32 in [-1, 1], one image per camera in spec order.
    """

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    pixel_values: torch.Tensor

    def to(self, device: torch.device) -> PromptInputs:
        """The same inputs on ``device``."""
        return PromptInputs(input_ids=self.input_ids.to(device),
                            token_type_ids=self.token_type_ids.to(device),
                            pixel_values=self.pixel_values.to(device))


def pixels_to_model(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (..., H, W, 3) -> float32 (..., 3, H, W) in [-1, 1], SigLIP's scaling."""
    channels_first = images.movedim(-1, -3).to(torch.float32)
    return channels_first / 127.5 - 1.0


class PromptEncoder:
    """Builds the prompt of the module docstring for observations that fit ``spec``.

    Args:
        spec: cameras, image size and joints the observation must provide.
        tokenizer: the checkpoint's text tokenizer, with an ``<image>`` token.
        state_stats: q01/q99 of the joint positions, one entry per joint of ``spec``.
        state_bins: bins of the normalized state.
        tokens_per_image: placeholders per camera, the vision tower's patch count.
    """

    def __init__(self, spec: PolicySpec, tokenizer: PreTrainedTokenizerFast, *,
                 state_stats: QuantileStats, state_bins: int, tokens_per_image: int) -> None:
        if state_stats.dim != len(spec.joint_names):
            raise ConfigError(f'normalization.state: {state_stats.dim} dimensions, expected '
                              f'{len(spec.joint_names)} (one per joint)')
        self._spec = spec
        self._tokenizer = tokenizer
        self._state_stats = state_stats
        self._state_bins = state_bins
        image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        bos_id = tokenizer.bos_token_id
        if not isinstance(image_id, int) or bos_id is None:
            raise ConfigError('tokenizer: expected <image> and <bos> tokens')
        self._prefix_ids = [image_id] * (len(spec.camera_names) * tokens_per_image) + [bos_id]

    @property
    def spec(self) -> PolicySpec:
        """The cameras, image size and joints the prompts are built for."""
        return self._spec

    @property
    def tokenizer(self) -> PreTrainedTokenizerFast:
        """The text tokenizer in use."""
        return self._tokenizer

    def state_text(self, joint_positions: NDArray[np.float64]) -> str:
        """The state part of the prompt: one bin number per joint, space-separated."""
        normalized = self._state_stats.normalize(joint_positions)
        bins = np.minimum(np.floor((normalized + 1.0) * self._state_bins / 2.0),
                          self._state_bins - 1).astype(np.int64)
        return ' '.join(str(int(value)) for value in bins)

    def task_ids(self, instruction: str) -> NDArray[np.int64]:
        """The ids of the prompt up to ``Task: {instruction},`` (for pointing pre-training)."""
        text_ids = self._tokenizer(f'Task: {instruction},', add_special_tokens=False)['input_ids']
        return np.asarray(self._prefix_ids + list(text_ids), dtype=np.int64)

    def prompt_ids(self, observation: Observation) -> NDArray[np.int64]:
        """The prompt's token ids (L,) for ``observation``'s instruction and joint positions.

        Raises:
            InputError: a missing joint or an empty instruction.
        """
        instruction = normalize_instruction(observation.instruction)
        positions = observation.positions_for(self._spec.joint_names)
        text = f'Task: {instruction}, State: {self.state_text(positions)};\nAction: '
        text_ids = self._tokenizer(text, add_special_tokens=False)['input_ids']
        return np.asarray(self._prefix_ids + list(text_ids), dtype=np.int64)

    def images(self, observation: Observation) -> NDArray[np.uint8]:
        """The cameras' images (C, H, W, 3) uint8 in spec order.

        Raises:
            InputError: a camera is missing or has the wrong size.
        """
        spec = self._spec
        images = []
        for camera, image in zip(spec.camera_names, observation.images_for(spec)):
            require_size(image, height=spec.image_height, width=spec.image_width,
                         where=f'camera {camera!r}')
            images.append(image)
        return np.stack(images)

    def encode(self, observation: Observation) -> PromptInputs:
        """Check ``observation`` and build its model inputs (CPU).

        Raises:
            InputError: a camera missing or of the wrong size, a joint missing, or an empty
                instruction.
        """
        images = torch.from_numpy(self.images(observation))
        input_ids = torch.from_numpy(self.prompt_ids(observation))[None]
        return PromptInputs(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids),
                            pixel_values=pixels_to_model(images))
