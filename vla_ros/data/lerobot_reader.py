# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Read a LeRobotDataset v3.0 directory back: its layout, episodes and each episode's frames.

Reads what ``lerobot_export`` writes (Parquet or ``.npz`` tables; MP4 or in-row images) and
LeRobot's own v3.0 datasets with a ``observation.state`` and an ``action`` joint vector. An
episode without an ``outcome`` column counts as of unknown outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError
from vla_ros.data.episodes import EpisodeOutcome
from vla_ros.data.lerobot_layout import (
    ACTION_KEY,
    DatasetLayout,
    FilePosition,
    ImageStorage,
    STATE_KEY,
)
from vla_ros.data.table_files import read_table
from vla_ros.data.video_files import read_video_frames

__all__ = ['DatasetEpisode', 'EpisodeData', 'LeRobotReader', 'is_lerobot_dataset']


def is_lerobot_dataset(path: Path) -> bool:
    """Whether ``path`` is a dataset directory (it has ``meta/info.json``)."""
    return (Path(path) / 'meta' / 'info.json').is_file()


@dataclass(frozen=True, slots=True)
class DatasetEpisode:
    """One episode's metadata and where its frames are.

    Attributes:
        index: the episode index.
        instruction: its task.
        outcome: how it ended.
        length: number of frames.
        dt_s: time between frames, seconds.
        data_file: the data table holding its rows.
        first_row: its first row's ``index`` (rows ``first_row`` .. + length - 1).
        videos: camera name -> (MP4 file position, index of its first frame in that file).
    """

    index: int
    instruction: str
    outcome: EpisodeOutcome
    length: int
    dt_s: float
    data_file: FilePosition
    first_row: int
    videos: Mapping[str, tuple[FilePosition, int]]

    @property
    def success(self) -> bool:
        """Whether it is recorded as succeeded."""
        return self.outcome is EpisodeOutcome.SUCCEEDED


@dataclass(frozen=True, slots=True)
class EpisodeData:
    """One episode's frames.

    Attributes:
        episode: its metadata.
        joint_positions: (T, J) float64 measured, rad (m for prismatic joints).
        actions: (T, J) float64 targets due one frame after each observation.
        images: camera name -> (T, H, W, 3) uint8 RGB.
    """

    episode: DatasetEpisode
    joint_positions: NDArray[np.float64]
    actions: NDArray[np.float64]
    images: Mapping[str, NDArray[np.uint8]]


class LeRobotReader:
    """A dataset directory; :attr:`layout` and :attr:`episodes` are read at construction."""

    def __init__(self, root: Path | str) -> None:
        """Read ``meta/info.json`` and the episode table.

        Raises:
            DataError: not a v3.0 dataset, or a metadata file unreadable or inconsistent.
        """
        self.root = Path(root)
        info_path = self.root / 'meta' / 'info.json'
        try:
            raw = json.loads(info_path.read_text())
        except (OSError, ValueError) as err:
            raise DataError(f'{self.root}: not a LeRobot dataset: {err}') from err
        self.layout = DatasetLayout.from_info(raw, info_path)
        self.episodes = self._read_episodes()
        self._cached: tuple[FilePosition, dict[str, NDArray[Any]]] | None = None

    def _read_episodes(self) -> tuple[DatasetEpisode, ...]:
        paths = sorted((self.root / 'meta' / 'episodes').glob(
            f'chunk-*/file-*{self.layout.table_format.suffix}'))
        if not paths:
            raise DataError(f'{self.root}: no episode table under meta/episodes')
        episodes: list[DatasetEpisode] = []
        for path in paths:
            table = read_table(path)
            try:
                episodes.extend(self._episode(table, row) for row in range(len(table['length'])))
            except (KeyError, ValueError, IndexError) as err:
                raise DataError(f'{path}: not a LeRobot episode table: {err!r}') from err
        return tuple(sorted(episodes, key=lambda episode: episode.index))

    def _episode(self, table: Mapping[str, NDArray[Any]], row: int) -> DatasetEpisode:
        tasks = table['tasks'][row]
        videos = {}
        if self.layout.image_storage is ImageStorage.VIDEO:
            for camera in self.layout.cameras:
                prefix = f'videos/{camera.key}/'
                position = FilePosition(int(table[f'{prefix}chunk_index'][row]),
                                        int(table[f'{prefix}file_index'][row]))
                first = round(float(table[f'{prefix}from_timestamp'][row]) * self.layout.fps)
                videos[camera.name] = (position, first)
        outcome = (EpisodeOutcome.parse(str(table['outcome'][row]), where=str(self.root))
                   if 'outcome' in table else EpisodeOutcome.UNKNOWN)
        return DatasetEpisode(
            index=int(table['episode_index'][row]),
            instruction=str(tasks if np.ndim(tasks) == 0 else tasks[0]), outcome=outcome,
            length=int(table['length'][row]), dt_s=1.0 / self.layout.fps,
            data_file=FilePosition(int(table['data/chunk_index'][row]),
                                   int(table['data/file_index'][row])),
            first_row=int(table['dataset_from_index'][row]), videos=videos)

    def load(self, episode: DatasetEpisode) -> EpisodeData:
        """Read the frames of ``episode``.

        Raises:
            DataError: a data or video file is missing, unreadable or short of rows.
        """
        table = self._data_table(episode.data_file)
        rows = np.flatnonzero(table['episode_index'] == episode.index)
        rows = rows[np.argsort(table['frame_index'][rows])]
        if len(rows) != episode.length:
            raise DataError(f'{self.root}: episode {episode.index} has {len(rows)} rows, '
                            f'expected {episode.length}')
        images = {}
        for camera in self.layout.cameras:
            if self.layout.image_storage is ImageStorage.VIDEO:
                position, first = episode.videos[camera.name]
                path = self.root / self.layout.video_path(camera.key, position)
                images[camera.name] = read_video_frames(path, first, episode.length)
            else:
                images[camera.name] = np.asarray(table[camera.key][rows], dtype=np.uint8)
        return EpisodeData(episode,
                           np.asarray(table[STATE_KEY][rows], dtype=np.float64),
                           np.asarray(table[ACTION_KEY][rows], dtype=np.float64), images)

    def _data_table(self, position: FilePosition) -> dict[str, NDArray[Any]]:
        if self._cached is None or self._cached[0] != position:
            table = read_table(self.root / self.layout.data_path(position))
            missing = {STATE_KEY, ACTION_KEY, 'episode_index', 'frame_index'} - set(table)
            if missing:
                raise DataError(f'{self.root}: data file {position} lacks {sorted(missing)}')
            self._cached = (position, table)
        return self._cached[1]
