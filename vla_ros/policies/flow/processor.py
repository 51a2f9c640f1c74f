# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> PI0 model inputs, and PI0 model output -> ``ActionChunk``.

Images and the instruction go through transformers' own ``PI0Processor`` (its tokenizer and
image processor come with the checkpoint, or for LeRobot folders from ``policy.tokenizer``), so
pixels and tokens are what the model was built for. A camera of another resolution is first
letterboxed to the spec's size (aspect kept, black bars, as openpi and LeRobot do; see
``input_encoder`` for how); an image of the spec's size passes unchanged. State and actions are
normalized with the checkpoint's statistics and zero-padded to the model's widths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch
from transformers import PI0Processor

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.images import letterbox_geometry
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.types import ActionChunk
from vla_ros.policies.flow.input_encoder import InputEncoder

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.flow.config import FlowPolicyConfig

__all__ = ['FlowProcessor', 'ModelInputs']


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """The keyword arguments of ``PI0ForConditionalGeneration.sample_actions``, batch of one.

    Attributes:
        input_ids: (1, L) int64 image placeholder tokens, BOS, instruction, newline.
        attention_mask: (1, L) int64, 1 for real tokens, 0 for padding.
        pixel_values: (1, C, 3, H, W) float, one slot per camera in spec order.
        pixel_attention_mask: (1, C) bool, True for cameras present.
        state: (1, max_state_dim) float, normalized joint positions, zero-padded.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values: torch.Tensor
    pixel_attention_mask: torch.Tensor
    state: torch.Tensor

    def to(self, device: torch.device, dtype: torch.dtype) -> ModelInputs:
        """Move every tensor to ``device``; floating tensors also become ``dtype``."""
        return ModelInputs(
            input_ids=self.input_ids.to(device),
            attention_mask=self.attention_mask.to(device),
            pixel_values=self.pixel_values.to(device, dtype),
            pixel_attention_mask=self.pixel_attention_mask.to(device),
            state=self.state.to(device, dtype))


class FlowProcessor:
    """Turns observations into model inputs and model outputs into action chunks.

    Args:
        config: the checkpoint's vla_ros config (spec and normalization statistics).
        hf_processor: transformers' processor for the images and the instruction.
        max_state_dim: width of the model's state input; the state is zero-padded to it.
        max_action_dim: width of the model's action output; extra columns are dropped.
    """

    def __init__(self, config: FlowPolicyConfig, hf_processor: PI0Processor, *,
                 max_state_dim: int, max_action_dim: int) -> None:
        n_state, n_actions = len(config.state_joints), len(config.spec.joint_names)
        if n_state > max_state_dim or n_actions > max_action_dim:
            raise ConfigError(
                f'spec.joint_names: {n_state} state and {n_actions} action joints, but the '
                f'model takes at most {max_state_dim} state and {max_action_dim} action '
                'dimensions')
        self._config = config
        self._hf_processor = hf_processor
        self._max_state_dim = max_state_dim
        self._max_action_dim = max_action_dim
        self._encoder = InputEncoder(hf_processor, height=config.spec.image_height,
                                     width=config.spec.image_width,
                                     cameras=len(config.spec.camera_names))

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: Path, config: FlowPolicyConfig, *,
                        max_state_dim: int, max_action_dim: int) -> FlowProcessor:
        """Load the tokenizer and image processor saved in ``checkpoint_dir`` (never online).

        Raises:
            ConfigError: the processor files are missing or unreadable.
        """
        try:
            hf_processor = PI0Processor.from_pretrained(checkpoint_dir, local_files_only=True)
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise ConfigError(
                f'{checkpoint_dir}: cannot load the PI0 processor (tokenizer and image '
                f'processor): {err}') from err
        return cls(config, hf_processor, max_state_dim=max_state_dim,
                   max_action_dim=max_action_dim)

    @property
    def spec(self) -> PolicySpec:
        """The policy contract the inputs are checked against."""
        return self._config.spec

    @property
    def hf_processor(self) -> PI0Processor:
        """The transformers processor (tokenizer and image processor) in use."""
        return self._hf_processor

    @property
    def pixel_table(self) -> NDArray[np.floating[Any]] | None:
        """(3, 256) the pixel value each uint8 value of each channel becomes, or None.

        None where the processor's image side is not such an elementwise map
        (``input_encoder``).
        """
        return self._encoder.pixel_table

    def save(self, checkpoint_dir: Path) -> None:
        """Write the transformers processor files (tokenizer, image processor) into a directory."""
        self._hf_processor.save_pretrained(checkpoint_dir)

    def prepare(self, observation: Observation) -> ModelInputs:
        """Check ``observation`` against the spec and build the model inputs (on CPU, float32).

        Raises:
            InputError: a camera is missing or not an RGB image, a joint is missing, or the
                instruction is empty.
        """
        spec = self._config.spec
        images = observation.images_for(spec)
        for camera, image in zip(spec.camera_names, images):
            try:  # the encoder letterboxes the frames; name the camera of one it cannot
                letterbox_geometry(image, height=spec.image_height, width=spec.image_width)
            except InputError as err:
                raise InputError(f'camera {camera!r}: {err}') from err
        instruction = normalize_instruction(observation.instruction)
        positions = observation.positions_for(self._config.state_joints)
        state = self._config.normalization.state.normalize(positions)
        padded_state = np.zeros((1, self._max_state_dim), dtype=np.float32)
        padded_state[0, :len(state)] = state
        encoded = self._encoder.encode(list(images), instruction)
        return ModelInputs(
            input_ids=encoded['input_ids'], attention_mask=encoded['attention_mask'],
            pixel_values=encoded['pixel_values'],
            pixel_attention_mask=encoded['pixel_attention_mask'],
            state=torch.from_numpy(padded_state))

    def to_action_chunk(self, actions: torch.Tensor) -> ActionChunk:
        """Unpad and unnormalize the sampler's output into absolute joint positions.

        Args:
            actions: (1, T_model, max_action_dim) normalized actions from the sampler.

        Raises:
            PolicyOutputError: the output has the wrong shape or non-finite values.
        """
        spec = self._config.spec
        n_joints = len(spec.joint_names)
        shape = tuple(actions.shape)
        if len(shape) != 3 or shape[0] != 1 or shape[1] < spec.chunk_length or (
                shape[2] != self._max_action_dim):
            raise PolicyOutputError(
                f'flow model output: shape {shape!r}, expected '
                f'(1, >= {spec.chunk_length}, {self._max_action_dim})')
        normalized = actions[0, :spec.chunk_length, :n_joints].float().cpu().numpy()
        if not np.all(np.isfinite(normalized)):
            raise PolicyOutputError('flow model output: contains NaN or Inf')
        positions = self._config.normalization.actions.unnormalize(normalized)
        return ActionChunk(joint_names=spec.joint_names, positions=positions, dt_s=spec.dt_s)
