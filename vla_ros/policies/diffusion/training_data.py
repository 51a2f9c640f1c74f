# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Demonstration samples -> the contract, statistics and tensors a diffusion policy trains on.

Any indexable collection of samples (observation, (L, J) absolute action chunk, (L,) padding
flags) works; ``vla_ros.sim.demonstrations.DemonstrationDataset`` is the one vla_ros records.
This module never imports the sim: the samples arrive from the caller.

Every observation goes through ``DiffusionProcessor.prepare``, the inference path itself, so
the network trains on exactly the pixels, tokens and normalized state it will see deployed.
Actions are normalized with the statistics stored in the checkpoint and zero-padded to the
model's width; the loss mask keeps the robot's joints (never the padded dimensions) and, when
asked, drops the chunk rows past an episode's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import compute_stats, NormMode, QuantileStats, ZScoreStats
from vla_ros.core.training_samples import check_not_empty, MIN_STD, state_and_action_rows
from vla_ros.policies.diffusion.config import FeatureNormalization, Normalization
from vla_ros.policies.diffusion.processor import ModelInputs

if TYPE_CHECKING:
    from vla_ros.core.policy import PolicySpec
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.diffusion.processor import DiffusionProcessor

__all__ = ['QUANTILE_EPS', 'TrainingTensors', 'dataset_normalization', 'make_tensors']

#: The quantile statistics' ``eps`` (added to q99 - q01), robot units, for the same reason: a
#: joint held at 0 (q01 = q99 = 0) would otherwise map rounding noise of 1e-9 rad to +-1.
QUANTILE_EPS = 1e-3


@dataclass(frozen=True, slots=True)
class TrainingTensors:
    """Every sample's network inputs and targets, stacked (N samples).

    Attributes:
        inputs: images, tokens and normalized state of each observation.
        actions: (N, L, max_action_dim) float32 normalized absolute targets, zero-padded.
        loss_mask: (N, L, max_action_dim) bool, True where the loss counts.
    """

    inputs: ModelInputs
    actions: torch.Tensor
    loss_mask: torch.Tensor

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def select(self, indices: torch.Tensor) -> TrainingTensors:
        """Rows ``indices`` (1-D int64) of every field: one batch."""
        return TrainingTensors(inputs=self.inputs.select(indices),
                               actions=self.actions[indices], loss_mask=self.loss_mask[indices])


def _feature(values: NDArray[np.float64], mode: NormMode) -> FeatureNormalization:
    stats = compute_stats(values)
    if mode is NormMode.QUANTILE:
        return FeatureNormalization(mode, QuantileStats(q01=stats.q01, q99=stats.q99,
                                                        eps=QUANTILE_EPS))
    return FeatureNormalization(mode, ZScoreStats(
        mean=stats.mean, std=tuple(max(std, MIN_STD) for std in stats.std)))


def dataset_normalization(samples: SampleSource, spec: PolicySpec, *, state_mode: NormMode,
                          action_mode: NormMode) -> Normalization:
    """Statistics of the state (every sample's joint positions) and of the actions.

    The action statistics cover each sample's first row, that is every commanded target once.
    Standard deviations are floored at ``MIN_STD``; quantile spans get ``QUANTILE_EPS``.

    Raises:
        ConfigError: no samples.
        InputError: a sample lacks one of ``spec``'s joints or holds NaN or Inf.
    """
    states, actions = state_and_action_rows(samples, spec.joint_names)
    return Normalization(state=_feature(states, state_mode),
                         actions=_feature(actions, action_mode))


def make_tensors(samples: SampleSource, processor: DiffusionProcessor, *,
                 train_padding: bool) -> TrainingTensors:
    """Run every sample through the inference preprocessing and stack the results.

    Args:
        samples: the demonstrations.
        processor: built from the checkpoint's config (it normalizes state and actions).
        train_padding: count the rows past an episode's end (the last target repeated) in the
            loss, so the policy learns to hold where a demonstration stopped.

    Raises:
        ConfigError: no samples, or a chunk that is not (chunk_length, J).
        InputError: an observation the processor refuses (camera, size, joint, instruction).
    """
    check_not_empty(samples)
    spec = processor.spec
    joints = len(spec.joint_names)
    prepared, actions, masks = [], [], []
    for index in range(len(samples)):
        sample = samples[index]
        if sample.actions.shape != (spec.chunk_length, joints):
            raise ConfigError(f'training sample {index}: actions {sample.actions.shape!r}, '
                              f'expected ({spec.chunk_length}, {joints})')
        prepared.append(processor.prepare(sample.observation))
        normalized = processor.normalize_actions(sample.actions)
        actions.append(normalized)
        mask = np.zeros(normalized.shape, dtype=bool)
        rows = slice(None) if train_padding else ~np.asarray(sample.is_padding, dtype=bool)
        mask[rows, :joints] = True
        masks.append(mask)
    return TrainingTensors(inputs=ModelInputs.concatenate(prepared),
                           actions=torch.from_numpy(np.stack(actions)),
                           loss_mask=torch.from_numpy(np.stack(masks)))
