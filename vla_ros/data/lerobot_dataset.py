# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobotDataset v3.0 directory as training samples, like the sim's DemonstrationDataset.

``LeRobotTrainingDataset`` has the interface of ``vla_ros.sim.demonstrations
.DemonstrationDataset`` (``len``, indexing, ``dt_s``, ``episodes``), and its samples have the
fields of ``TrainingSample``, so the training code takes demonstrations recorded on a robot
(``vla-ros record`` -> ``vla-ros export --lerobot``) the way it takes simulated ones. Sample
``(e, t)`` pairs frame t's observation with ``actions[t:t + L]`` of episode e, the last action
repeated past the episode's end (``is_padding`` marks those rows): a dataset action row is
due one frame (``dt_s``) after its observation, as in the simulated demonstrations.

Episodes are loaded into memory once. With ``successful_only`` only episodes recorded as
failed are left out; those of unknown outcome (a bag without episode markers) are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.data.episodes import EpisodeOutcome
from vla_ros.data.lerobot_reader import DatasetEpisode, EpisodeData, LeRobotReader

__all__ = ['DatasetSample', 'LeRobotTrainingDataset', 'RecordedEpisode']


@dataclass(frozen=True, slots=True)
class DatasetSample:
    """An observation and the action chunk that followed it (``TrainingSample``'s fields).

    Attributes:
        observation: frame t's images, joint positions and instruction.
        actions: (L, J) float64 absolute targets; row k is due (k + 1) * dt_s after t.
        is_padding: (L,) bool, true for rows past the episode's end (copies of the last).
    """

    observation: Observation
    actions: NDArray[np.float64]
    is_padding: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RecordedEpisode:
    """One episode in memory, with the attributes of a sim ``Demonstration`` training uses."""

    meta: DatasetEpisode
    joint_names: tuple[str, ...]
    data: EpisodeData

    @property
    def length(self) -> int:
        """Number of frames T."""
        return self.meta.length

    @property
    def dt_s(self) -> float:
        """Time between frames, seconds."""
        return self.meta.dt_s

    @property
    def success(self) -> bool:
        """Whether the episode is recorded as succeeded."""
        return self.meta.success

    @property
    def outcome(self) -> EpisodeOutcome:
        """How the episode ended."""
        return self.meta.outcome

    @property
    def instruction(self) -> str:
        """The episode's task."""
        return self.meta.instruction

    def observation(self, step: int) -> Observation:
        """The observation of frame ``step``, stamped ``step * dt_s`` after the start."""
        images = {name: frames[step] for name, frames in self.data.images.items()}
        return Observation(images=images, joint_names=self.joint_names,
                           joint_positions=self.data.joint_positions[step],
                           instruction=self.meta.instruction, stamp_s=step * self.dt_s)


class LeRobotTrainingDataset:
    """Every frame of every episode of a LeRobot dataset directory, as training samples.

    Args:
        root: a dataset directory (``meta/info.json`` and its tables).
        chunk_length: actions per sample (the policy's ``chunk_length``).
        successful_only: leave out episodes recorded as failed.

    Raises:
        ConfigError: a chunk length < 1.
        DataError: not a readable dataset.
    """

    def __init__(self, root: Path | str, *, chunk_length: int,
                 successful_only: bool = True) -> None:
        if chunk_length < 1:
            raise ConfigError(f'chunk_length: {chunk_length!r}, expected >= 1')
        reader = LeRobotReader(root)
        joint_names = reader.layout.joint_names
        self._episodes = [
            RecordedEpisode(meta, joint_names, reader.load(meta)) for meta in reader.episodes
            if not successful_only or meta.outcome is not EpisodeOutcome.FAILED]
        self._dt_s = 1.0 / reader.layout.fps
        self._chunk_length = chunk_length
        self._index = [(e, step) for e, episode in enumerate(self._episodes)
                       for step in range(episode.length)]

    @property
    def dt_s(self) -> float:
        """Time between frames (and between a sample's action rows), seconds."""
        return self._dt_s

    @property
    def episodes(self) -> list[RecordedEpisode]:
        """The episodes in use, in index order."""
        return list(self._episodes)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> DatasetSample:
        episode_index, step = self._index[index]
        episode = self._episodes[episode_index]
        rows = np.arange(step, step + self._chunk_length)
        is_padding = rows >= episode.length
        actions = episode.data.actions[np.minimum(rows, episode.length - 1)]
        return DatasetSample(observation=episode.observation(step), actions=actions,
                             is_padding=is_padding)

    def __iter__(self) -> Iterator[DatasetSample]:
        for index in range(len(self)):
            yield self[index]
