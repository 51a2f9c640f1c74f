# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Training samples as every trainer reads them, and the policy contract they define.

A sample is an observation with the (L, J) absolute action chunk that follows it and (L,)
flags for the rows past the episode's end. ``vla_ros.sim.demonstrations`` records them from
the simulator and ``vla_ros.data.lerobot_dataset`` reads them from robot datasets; every
family's trainer (``vla_ros.policies.<family>.train``) consumes them. The types live here, in
``core`` (numpy only), so that neither side imports the other.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
import itertools
from typing import Protocol, TYPE_CHECKING

import numpy as np

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import PolicySpec

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from vla_ros.core.types import Observation

__all__ = [
    'MIN_STD', 'ConcatenatedSamples', 'ObservedJointDeltas', 'SampleSource', 'TrainingSampleLike',
    'check_not_empty', 'dataset_spec', 'instructions_of', 'state_and_action_rows',
]

#: Floor of a stored standard deviation, robot units: a joint that never moves in the data
#: (the reach task's wrist roll) must not turn measurement noise into huge z-scores.
MIN_STD = 1e-3


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


@dataclass(frozen=True, slots=True)
class _DeltaSample:
    """A sample whose chunk rows count from its observed joints (``ObservedJointDeltas``)."""

    observation: Observation
    actions: NDArray[np.float64]
    is_padding: NDArray[np.bool_]


class ObservedJointDeltas:
    """Samples whose chunk rows become offsets from the observed joints (openpi's delta actions).

    Row k of a sample's chunk is its absolute target minus the joint positions observed with
    it, so every row of a chunk counts from the same measured state. Such a policy runs behind
    an ``action_space`` section that declares each controller ``joint_delta`` with
    ``delta_reference: observation`` (its columns in the controllers' order, which must be the
    samples' joint order).

    Args:
        samples: absolute-target samples.
    """

    def __init__(self, samples: SampleSource) -> None:
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> TrainingSampleLike:
        """Sample ``index`` with its chunk rewritten as offsets.

        Raises:
            ConfigError: the chunk's width is not the observation's joint count.
        """
        sample = self._samples[index]
        observation = sample.observation
        positions = np.asarray(observation.joint_positions, dtype=np.float64)
        actions = np.asarray(sample.actions, dtype=np.float64)
        if actions.ndim != 2 or actions.shape[1] != positions.shape[0]:
            raise ConfigError(f'training sample {index}: chunk of shape {actions.shape}, '
                              f'expected (L, {positions.shape[0]}) for joints '
                              f'{list(observation.joint_names)!r}')
        return _DeltaSample(observation=observation, actions=actions - positions,
                            is_padding=sample.is_padding)


def check_not_empty(samples: SampleSource) -> None:
    """Refuse an empty sample source before any statistics are taken of it.

    Raises:
        ConfigError: no samples.
    """
    if len(samples) < 1:
        raise ConfigError('training samples: none given; record demonstrations first')


def dataset_spec(samples: SampleSource, *, dt_s: float) -> PolicySpec:
    """The contract the samples define: joints, cameras (first observation's order), size, chunk.

    Raises:
        ConfigError: no samples, or cameras of different sizes.
    """
    check_not_empty(samples)
    first = samples[0]
    shapes = {name: image.shape[:2] for name, image in first.observation.images.items()}
    if len(set(shapes.values())) != 1:
        raise ConfigError(f'training samples: camera sizes {shapes!r}, expected one size')
    height, width = next(iter(shapes.values()))
    return PolicySpec(joint_names=first.observation.joint_names, camera_names=tuple(shapes),
                      image_height=int(height), image_width=int(width),
                      chunk_length=len(first.actions), dt_s=float(dt_s))


def instructions_of(samples: SampleSource) -> list[str]:
    """The distinct instructions of ``samples``, in order of first appearance.

    A family that needs them in another order (the token families' tokenizers take them
    sorted) sorts the result itself.
    """
    return list(dict.fromkeys(samples[index].observation.instruction
                              for index in range(len(samples))))


def state_and_action_rows(samples: SampleSource, joint_names: Sequence[str], *,
                          every_row: bool = False
                          ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """What a family's statistics are taken of: (N, J) joint positions and (M, J) targets.

    The state rows are every sample's joint positions (``joint_names`` order); the action rows
    are each sample's first chunk row, that is every step's commanded target once, or with
    ``every_row`` each chunk's rows that are not padding (offsets from the observation grow
    along the chunk, so its first row alone would understate their spread).

    Raises:
        ConfigError: no samples.
        InputError: a sample lacks one of ``joint_names`` or holds NaN or Inf.
    """
    check_not_empty(samples)
    states, actions = [], []
    for index in range(len(samples)):
        sample = samples[index]
        states.append(sample.observation.positions_for(tuple(joint_names)))
        rows = np.asarray(sample.actions, dtype=np.float64)
        actions.append(rows[~np.asarray(sample.is_padding)] if every_row else rows[:1])
    return np.stack(states), np.concatenate(actions)
