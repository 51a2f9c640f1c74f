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

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
import itertools
from typing import Protocol, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.diffusion.config import FeatureNormalization, Normalization, NormMode
from vla_ros.policies.diffusion.processor import ModelInputs
from vla_ros.policies.normalization import compute_stats, QuantileStats, ZScoreStats

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.diffusion.processor import DiffusionProcessor

__all__ = [
    'ConcatenatedSamples', 'MIN_STD', 'QUANTILE_EPS', 'SampleSource', 'TrainingSampleLike',
    'TrainingTensors', 'dataset_normalization', 'dataset_spec', 'instructions_of', 'make_tensors',
]

#: Floor of a stored standard deviation, robot units: a joint that never moves in the data
#: must not turn measurement noise into huge z-scores.
MIN_STD = 1e-3
#: The quantile statistics' ``eps`` (added to q99 - q01), robot units, for the same reason: a
#: joint held at 0 (q01 = q99 = 0) would otherwise map rounding noise of 1e-9 rad to +-1.
QUANTILE_EPS = 1e-3


class TrainingSampleLike(Protocol):
    """One supervised pair, as ``vla_ros.sim.demonstrations.TrainingSample`` holds it."""

    @property
    def observation(self) -> Observation:
        """Images, joint positions and instruction at step t."""
        ...

    @property
    def actions(self) -> NDArray[np.float64]:
        """(L, J) absolute targets; row k is due (k + 1) * dt_s after the observation."""
        ...

    @property
    def is_padding(self) -> NDArray[np.bool_]:
        """(L,) True for rows past the episode's end."""
        ...


class SampleSource(Protocol):
    """An indexable collection of training samples (``DemonstrationDataset`` is one)."""

    def __len__(self) -> int:
        """Number of samples."""
        ...

    def __getitem__(self, index: int) -> TrainingSampleLike:
        """Sample ``index``, 0 <= index < len."""
        ...


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


class ConcatenatedSamples:
    """Several sample sources read as one, in order (e.g. two recorded datasets).

    Args:
        sources: the sources; their samples must share joints, cameras and chunk length.
    """

    def __init__(self, sources: Sequence[SampleSource]) -> None:
        self._sources = list(sources)
        self._ends = list(itertools.accumulate(len(source) for source in self._sources))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, index: int) -> TrainingSampleLike:
        if not 0 <= index < len(self):
            raise IndexError(f'sample {index} of {len(self)}')
        source = bisect.bisect_right(self._ends, index)
        start = self._ends[source - 1] if source else 0
        return self._sources[source][index - start]


def _check_not_empty(samples: SampleSource) -> None:
    if len(samples) < 1:
        raise ConfigError('training samples: none given; record demonstrations first')


def dataset_spec(samples: SampleSource, *, dt_s: float) -> PolicySpec:
    """The contract the samples define: joints, cameras (first observation's order), size, chunk.

    Raises:
        ConfigError: no samples, or cameras of different sizes.
    """
    _check_not_empty(samples)
    first = samples[0]
    shapes = {name: image.shape[:2] for name, image in first.observation.images.items()}
    if len(set(shapes.values())) != 1:
        raise ConfigError(f'training samples: camera sizes {shapes!r}, expected one size')
    height, width = next(iter(shapes.values()))
    return PolicySpec(joint_names=first.observation.joint_names, camera_names=tuple(shapes),
                      image_height=int(height), image_width=int(width),
                      chunk_length=len(first.actions), dt_s=float(dt_s))


def instructions_of(samples: SampleSource) -> list[str]:
    """The distinct instructions of ``samples``, in order of first appearance."""
    return list(dict.fromkeys(samples[index].observation.instruction
                              for index in range(len(samples))))


def _feature(values: list[NDArray[np.float64]], mode: NormMode) -> FeatureNormalization:
    stats = compute_stats(np.stack(values))
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
    _check_not_empty(samples)
    states, actions = [], []
    for index in range(len(samples)):
        sample = samples[index]
        states.append(sample.observation.positions_for(spec.joint_names))
        actions.append(np.asarray(sample.actions[0], dtype=np.float64))
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
    _check_not_empty(samples)
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
