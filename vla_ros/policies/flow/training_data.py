# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Demonstration samples -> the contract, statistics and tensors a flow policy trains on.

Any indexable collection of samples (observation, (L, J) absolute action chunk, (L,) padding
flags) works; ``vla_ros.sim.demonstrations.DemonstrationDataset`` is the one vla_ros records.
This module never imports the sim: the samples arrive from the caller.

Every observation goes through ``FlowProcessor.prepare``, the inference path itself, so the
model trains on exactly the pixels, tokens and normalized state it will see when deployed.
Actions are z-scored with the statistics stored in the checkpoint and zero-padded to the
model's width; the loss mask keeps the robot's real joints and drops the padded dimensions,
and by default also the chunk rows past the episode's end.

The images are most of the memory (4 bytes per pixel channel as the model takes them). When
the processor maps each 8-bit pixel value to one float (its pixel table, ``input_encoder``;
letterboxed frames are resized in 8 bits first, so they qualify too), the tensors keep the
8-bit pixels instead and each batch is converted on selection, to the same float32 values: a
quarter of the memory, no change in what the model sees. Without such a table, or for a sample
whose input no 8-bit pixels give, every image is kept as float32.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
import logging
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import compute_stats
from vla_ros.core.training_samples import check_not_empty, MIN_STD, state_and_action_rows
from vla_ros.policies.flow.config import FeatureStats, Normalization

if TYPE_CHECKING:
    from vla_ros.core.policy import PolicySpec
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.flow.config import FlowPolicyConfig
    from vla_ros.policies.flow.processor import FlowProcessor

__all__ = ['PixelCodec', 'TrainingTensors', 'dataset_normalization', 'make_tensors']

_LOG = logging.getLogger(__name__)
#: Samples between ``_return_free_memory`` calls while the tensors are built.
_TRIM_EVERY = 1024



@dataclass(frozen=True, slots=True)
class TrainingTensors:
    """Every sample's model inputs and targets, stacked along the first axis (N samples).

    Attributes:
        input_ids: (N, S) int64 prompt tokens, right-padded with the pad token.
        attention_mask: (N, S) int64, 1 for real tokens, 0 for padding.
        pixel_values: (N, C, 3, H, W) float32 images as the image processor scales them, or,
            with ``pixel_codec``, (N, C, 3, H, W) uint8 pixels it turns into those values.
        pixel_attention_mask: (N, C) bool, True for cameras present.
        state: (N, max_state_dim) float32 normalized joint positions, zero-padded.
        actions: (N, L, max_action_dim) float32 normalized absolute targets, zero-padded.
        loss_mask: (N, L, max_action_dim) bool, True where the loss counts.
        pixel_codec: how stored uint8 pixels become the model's input; None when
            ``pixel_values`` holds that input already. ``select`` always returns float32.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values: torch.Tensor
    pixel_attention_mask: torch.Tensor
    state: torch.Tensor
    actions: torch.Tensor
    loss_mask: torch.Tensor
    pixel_codec: PixelCodec | None = None

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def model_pixels(self) -> torch.Tensor:
        """(N, C, 3, H, W) float32 images as the model takes them, whatever the storage."""
        if self.pixel_codec is None:
            return self.pixel_values
        return self.pixel_codec.decode(self.pixel_values)

    def select(self, indices: torch.Tensor) -> TrainingTensors:
        """The rows ``indices`` (a 1-D int64 tensor) of every field: one batch, float32."""
        pixels = self.pixel_values[indices]
        return TrainingTensors(
            input_ids=self.input_ids[indices], attention_mask=self.attention_mask[indices],
            pixel_values=pixels if self.pixel_codec is None else self.pixel_codec.decode(pixels),
            pixel_attention_mask=self.pixel_attention_mask[indices],
            state=self.state[indices], actions=self.actions[indices],
            loss_mask=self.loss_mask[indices])


@dataclass(frozen=True, slots=True)
class PixelCodec:
    """The image processor's map of 8-bit pixels to model input, as a table, and its inverse.

    ``table`` is ``FlowProcessor.pixel_table``: per channel, the float each of the 256 values
    becomes, read off the processor itself (``input_encoder``), so ``decode`` gives the
    processor's values bit for bit; ``encode`` inverts it where that is exact.

    Attributes:
        table: (3, 256) float32, strictly increasing along each channel.
    """

    table: torch.Tensor

    @classmethod
    def of(cls, table: NDArray[np.floating[Any]] | None) -> PixelCodec | None:
        """The codec of a processor's pixel table, or None.

        None without a table, or with one that is not invertible (values not strictly
        increasing: two pixel values giving one float).
        """
        if table is None:
            return None
        values = torch.from_numpy(np.asarray(table, dtype=np.float32))
        if values.shape != (3, 256) or not bool((values[:, 1:] > values[:, :-1]).all()):
            return None
        return cls(table=values)

    def decode(self, pixels: torch.Tensor) -> torch.Tensor:
        """(..., 3, H, W) uint8 -> the same shape, float32 model input."""
        out = torch.empty(pixels.shape, dtype=torch.float32)
        for channel in range(3):
            out[..., channel, :, :] = self.table[channel][pixels[..., channel, :, :].long()]
        return out

    def encode(self, values: torch.Tensor) -> torch.Tensor | None:
        """(..., 3, H, W) float32 model input -> uint8 pixels that decode to it exactly.

        None when no 8-bit pixels do (a resized frame's interpolated values).
        """
        pixels = torch.empty(values.shape, dtype=torch.uint8)
        for channel in range(3):
            plane = values[..., channel, :, :].contiguous()
            index = torch.searchsorted(self.table[channel], plane).clamp(max=255)
            if not torch.equal(self.table[channel][index], plane):
                return None
            pixels[..., channel, :, :] = index.to(torch.uint8)
        return pixels


def _return_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``), if it can.

    Each sample's preprocessing allocates its float32 images (hundreds of kB) and then a few
    small tensors that are kept; freed, the large blocks leave holes the next ones do not fit
    in, and the heap grows by about one image per sample (measured: 2.2 GB of resident memory
    for 0.45 GB of stored tensors over 8678 four-camera samples; 1.3 GB after a trim). Not
    glibc (another C library, another system): nothing to do.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


class _PixelStore:
    """N samples' images, as 8-bit pixels while every one so far encodes exactly."""

    def __init__(self, count: int, codec: PixelCodec | None) -> None:
        self._count = count
        self.codec: PixelCodec | None = codec
        self.values: torch.Tensor | None = None

    def put(self, index: int, values: torch.Tensor) -> None:
        """Store sample ``index``'s (C, 3, H, W) float32 model input."""
        if self.values is None:
            self.values = torch.empty((self._count, *values.shape),
                                      dtype=torch.float32 if self.codec is None else torch.uint8)
        encoded = None if self.codec is None else self.codec.encode(values)
        if encoded is None and self.codec is not None:  # from here on, float32
            _LOG.info("training images: sample %d is not the pixel table's image of 8-bit "
                      'pixels; keeping every image as float32', index)
            stored = torch.empty(self.values.shape, dtype=torch.float32)
            stored[:index] = self.codec.decode(self.values[:index])
            self.values, self.codec = stored, None
        self.values[index] = values if encoded is None else encoded


def _feature_stats(values: NDArray[np.float64], min_std: float) -> FeatureStats:
    stats = compute_stats(values)
    return FeatureStats(mean=stats.mean, std=tuple(max(std, min_std) for std in stats.std),
                        q01=stats.q01, q99=stats.q99)


def dataset_normalization(samples: SampleSource, spec: PolicySpec, *,
                          min_std: float = MIN_STD, every_row: bool = False) -> Normalization:
    """Mean, std (floored at ``min_std``), q01 and q99 of the state and of the actions.

    The state statistics cover every sample's joint positions; the action statistics cover
    each sample's first row, that is every step's commanded target once, or with
    ``every_row`` every row that is not padding (for offsets from the observation).

    Raises:
        ConfigError: no samples.
        InputError: a sample lacks one of ``spec``'s joints or holds NaN or Inf.
    """
    states, actions = state_and_action_rows(samples, spec.joint_names, every_row=every_row)
    return Normalization(state=_feature_stats(states, min_std),
                         actions=_feature_stats(actions, min_std))


def _padded(rows: list[torch.Tensor], pad_value: int) -> torch.Tensor:
    """Stack (1, S_i) rows into (N, max S_i), right-padding with ``pad_value``."""
    length = max(row.shape[1] for row in rows)
    return torch.cat([torch.nn.functional.pad(row, (0, length - row.shape[1]), value=pad_value)
                      for row in rows])


def make_tensors(samples: SampleSource, processor: FlowProcessor, config: FlowPolicyConfig,
                 *, max_action_dim: int, mask_padding: bool = True) -> TrainingTensors:
    """Run every sample through the inference preprocessing and stack the results.

    Args:
        samples: the demonstrations.
        processor: the processor built from ``config`` (it normalizes the state).
        config: spec and statistics; the actions are normalized with its action statistics.
        max_action_dim: width of the model's action space; actions are zero-padded to it.
        mask_padding: keep the rows past the episode's end out of the loss; when False they
            count, so the model learns to hold the episode's last target there.

    Raises:
        ConfigError: no samples, or a chunk that is not (chunk_length, J).
        InputError: an observation the processor refuses (camera, size, joint, instruction).
    """
    check_not_empty(samples)
    spec = config.spec
    actions_stats = config.normalization.actions
    n_joints = len(spec.joint_names)
    input_ids, attention_masks, camera_masks, states, actions, masks = [], [], [], [], [], []
    pixels = _PixelStore(len(samples), PixelCodec.of(processor.pixel_table))
    for index in range(len(samples)):
        sample = samples[index]
        if sample.actions.shape != (spec.chunk_length, n_joints):
            raise ConfigError(f'training sample {index}: actions {sample.actions.shape!r}, '
                              f'expected ({spec.chunk_length}, {n_joints})')
        inputs = processor.prepare(sample.observation)
        pixels.put(index, inputs.pixel_values[0].float())
        if index % _TRIM_EVERY == _TRIM_EVERY - 1:
            _return_free_memory()
        input_ids.append(inputs.input_ids)
        attention_masks.append(inputs.attention_mask)
        camera_masks.append(inputs.pixel_attention_mask)
        states.append(inputs.state)
        padded = np.zeros((spec.chunk_length, max_action_dim), dtype=np.float32)
        padded[:, :n_joints] = actions_stats.normalize(sample.actions)
        actions.append(padded)
        mask = np.zeros((spec.chunk_length, max_action_dim), dtype=bool)
        rows = ~np.asarray(sample.is_padding, dtype=bool) if mask_padding else slice(None)
        mask[rows, :n_joints] = True
        masks.append(mask)
    _return_free_memory()
    pad_id = processor.hf_processor.tokenizer.pad_token_id
    assert pixels.values is not None  # at least one sample
    return TrainingTensors(
        input_ids=_padded(input_ids, int(pad_id or 0)),
        attention_mask=_padded(attention_masks, 0),
        pixel_values=pixels.values, pixel_codec=pixels.codec,
        pixel_attention_mask=torch.cat(camera_masks),
        state=torch.cat(states).float(),
        actions=torch.from_numpy(np.stack(actions)),
        loss_mask=torch.from_numpy(np.stack(masks)))
