# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> pi0.5 network inputs, and network output -> ``ActionChunk``.

As LeRobot's pi0.5 pipeline does: the state is normalised (QUANTILES or MEAN_STD), padded,
cut into 256 bins and written into the prompt ``Task: ..., State: ...;`` + newline +
``Action: ``, which
PaliGemma's tokenizer turns into tokens right-padded (and truncated) to the folder's
``tokenizer_max_length``; each camera is letterboxed to the model's square size and scaled
from [0, 255] to [-1, 1]. Cameras the robot lacks are left out rather than sent as masked
slots: masked image tokens neither attend nor are attended to and take no position, so the
result is the same. The output is cut to the chunk length and the action joints and
unnormalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TYPE_CHECKING

import numpy as np
import torch

from vla_ros.core.errors import InputError, PolicyOutputError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.types import ActionChunk
from vla_ros.policies.frames import letterbox
from vla_ros.policies.pi05.config import discretize_state, prompt_text
from vla_ros.policies.pi05.network import PrefixInputs

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.pi05.config import Pi05PolicyConfig

__all__ = ['Pi05Inputs', 'Pi05Processor']


@dataclass(frozen=True, slots=True)
class Pi05Inputs:
    """One observation prepared for the network, and the prompt it was built from.

    Attributes:
        prompt: the text given to the tokenizer.
        network: pixels (1, C, 3, H, W) float32 in [-1, 1], tokens (1, L), mask (1, L).
    """

    prompt: str
    network: PrefixInputs

    def to(self, device: torch.device, dtype: torch.dtype) -> PrefixInputs:
        """The network inputs on ``device``; the pixels in ``dtype``."""
        inputs = self.network
        return PrefixInputs(pixel_values=inputs.pixel_values.to(device, dtype),
                            tokens=inputs.tokens.to(device),
                            token_mask=inputs.token_mask.to(device))


class Pi05Processor:
    """Turns observations into network inputs and network outputs into action chunks.

    Args:
        config: the policy's settings (spec, normalisation, prompt length).
        tokenizer: PaliGemma's tokenizer (any transformers tokenizer of that vocabulary).
        max_action_dim: width of the network's action output.
    """

    def __init__(self, config: Pi05PolicyConfig, tokenizer: Any, *, max_action_dim: int) -> None:
        self._config = config
        self._tokenizer = tokenizer
        self._max_action_dim = max_action_dim

    @property
    def spec(self) -> PolicySpec:
        """The policy contract the inputs are checked against."""
        return self._config.spec

    def _pixels(self, observation: Observation) -> torch.Tensor:
        spec = self._config.spec
        images = []
        for camera, camera_image in zip(spec.camera_names, observation.images_for(spec)):
            try:
                image = letterbox(camera_image, height=spec.image_height,
                                  width=spec.image_width)
            except InputError as err:
                raise InputError(f'camera {camera!r}: {err}') from err
            scaled = image.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - (
                np.float32(1.0))
            images.append(scaled.transpose(2, 0, 1))
        return torch.from_numpy(np.stack(images)[None])

    def prompt(self, observation: Observation) -> str:
        """The prompt for ``observation``: task and discretised state (module doc).

        Raises:
            InputError: an empty instruction or a missing state joint.
        """
        config = self._config
        positions = observation.positions_for(config.state_joint_names)
        bins = discretize_state(config.state.normalize(positions), config.max_state_dim)
        return prompt_text(normalize_instruction(observation.instruction), bins)

    def prepare(self, observation: Observation) -> Pi05Inputs:
        """Check ``observation`` against the spec and build the network inputs (CPU).

        Raises:
            InputError: a camera is missing or not an RGB image, a joint is missing, or the
                instruction is empty.
        """
        prompt = self.prompt(observation)
        encoded = self._tokenizer(
            prompt, max_length=self._config.tokenizer_max_length, truncation=True,
            padding='max_length', padding_side='right', return_tensors='pt')
        return Pi05Inputs(prompt=prompt, network=PrefixInputs(
            pixel_values=self._pixels(observation), tokens=encoded['input_ids'],
            token_mask=encoded['attention_mask'].bool()))

    def to_action_chunk(self, actions: torch.Tensor) -> ActionChunk:
        """Cut and unnormalise the sampler's (1, T_model, max_action_dim) output.

        Raises:
            PolicyOutputError: the output has the wrong shape or non-finite values.
        """
        spec = self._config.spec
        shape = tuple(actions.shape)
        if len(shape) != 3 or shape[0] != 1 or shape[1] < spec.chunk_length or (
                shape[2] != self._max_action_dim):
            raise PolicyOutputError(f'pi0.5 output: shape {shape!r}, expected '
                                    f'(1, >= {spec.chunk_length}, {self._max_action_dim})')
        normalized = actions[0, :spec.chunk_length, :len(spec.joint_names)].float().cpu().numpy()
        if not np.all(np.isfinite(normalized)):
            raise PolicyOutputError('pi0.5 output: contains NaN or Inf')
        positions = self._config.actions.unnormalize(normalized)
        return ActionChunk(joint_names=spec.joint_names, positions=positions, dt_s=spec.dt_s)
