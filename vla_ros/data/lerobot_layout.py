# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The LeRobotDataset v3.0 layout: file paths, ``meta/info.json`` features, ``stats.json``.

A dataset directory holds::

    meta/info.json                       codebase_version, fps, features, totals, path templates
    meta/stats.json                      per feature: mean, std, min, max, q01, q99, count
    meta/tasks.parquet                   task_index, task (one row per distinct instruction)
    meta/episodes/chunk-000/file-000.parquet   per episode: index, tasks, length, outcome and
                                         where its rows and video frames are
    data/chunk-000/file-000.parquet      one row per frame: observation.state, action,
                                         timestamp, frame_index, episode_index, index, task_index
    videos/observation.images.<camera>/chunk-000/file-000.mp4

Many episodes share a file; a new file starts when one passes its size cap, and a chunk
directory holds at most ``CHUNKS_SIZE`` files. ``observation.state`` and ``action`` are
float32 joint vectors named by the joints; ``action`` row k is the target due one frame after
row k's observation. Without pyarrow the tables are ``.npz`` files of the same columns (the
path templates in ``info.json`` say which), and without PyAV the camera features have dtype
``image`` and live in the data rows instead of MP4 files.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError
from vla_ros.core.normalization import compute_stats
from vla_ros.data.table_files import TableFormat

__all__ = ['ACTION_KEY', 'CHUNKS_SIZE', 'CODEBASE_VERSION', 'DATA_FILE_SIZE_MB', 'INDEX_FEATURES',
           'STATE_KEY', 'VIDEO_FILE_SIZE_MB', 'CameraFeature', 'DatasetLayout', 'FilePosition',
           'ImageStorage', 'feature_stats', 'image_key', 'image_stats']

CODEBASE_VERSION = 'v3.0'
CHUNKS_SIZE = 1000
DATA_FILE_SIZE_MB = 100
VIDEO_FILE_SIZE_MB = 200
STATE_KEY = 'observation.state'
ACTION_KEY = 'action'
_IMAGE_PREFIX = 'observation.images.'
#: The per-frame bookkeeping columns and their dtypes.
INDEX_FEATURES = {'timestamp': 'float32', 'frame_index': 'int64', 'episode_index': 'int64',
                  'index': 'int64', 'task_index': 'int64'}


def image_key(camera: str) -> str:
    """The feature key of ``camera``'s images."""
    return f'{_IMAGE_PREFIX}{camera}'


class ImageStorage(Enum):
    """Where camera frames are kept; the value is the feature dtype LeRobot uses."""

    VIDEO = 'video'  # MP4 files per camera (needs PyAV)
    IMAGE = 'image'  # in the data rows: PNG in Parquet, raw pixels in .npz


@dataclass(frozen=True, slots=True)
class FilePosition:
    """Which chunk directory and file a row, an episode or a video frame is in."""

    chunk: int
    file: int

    @classmethod
    def of(cls, sequence_number: int) -> FilePosition:
        """The position of the ``sequence_number``-th file of its kind (0, 1, ...)."""
        return cls(sequence_number // CHUNKS_SIZE, sequence_number % CHUNKS_SIZE)


@dataclass(frozen=True, slots=True)
class CameraFeature:
    """A camera's name and image size."""

    name: str
    height: int
    width: int

    @property
    def key(self) -> str:
        """Its feature key."""
        return image_key(self.name)


@dataclass(frozen=True, slots=True)
class DatasetLayout:
    """What a dataset's frames hold and how its files are stored."""

    fps: int
    joint_names: tuple[str, ...]
    cameras: tuple[CameraFeature, ...]
    image_storage: ImageStorage
    table_format: TableFormat
    robot_type: str | None = None
    #: The MP4 encoder (VIDEO storage only).
    video_codec: str | None = None

    def data_path(self, position: FilePosition) -> str:
        """The data table of ``position``, relative to the dataset root."""
        return (f'data/chunk-{position.chunk:03d}/file-{position.file:03d}'
                f'{self.table_format.suffix}')

    def episodes_path(self, position: FilePosition) -> str:
        """The episode table of ``position``, relative to the dataset root."""
        return (f'meta/episodes/chunk-{position.chunk:03d}/file-{position.file:03d}'
                f'{self.table_format.suffix}')

    @property
    def tasks_path(self) -> str:
        """The task table, relative to the dataset root."""
        return f'meta/tasks{self.table_format.suffix}'

    @staticmethod
    def video_path(key: str, position: FilePosition) -> str:
        """The MP4 file of feature ``key`` at ``position``, relative to the dataset root."""
        return f'videos/{key}/chunk-{position.chunk:03d}/file-{position.file:03d}.mp4'

    def features(self) -> dict[str, Any]:
        """The ``features`` mapping of ``info.json``."""
        joints = {'dtype': 'float32', 'shape': [len(self.joint_names)],
                  'names': list(self.joint_names)}
        features: dict[str, Any] = {STATE_KEY: joints, ACTION_KEY: dict(joints)}
        for camera in self.cameras:
            feature: dict[str, Any] = {'dtype': self.image_storage.value,
                                       'shape': [camera.height, camera.width, 3],
                                       'names': ['height', 'width', 'channels']}
            if self.image_storage is ImageStorage.VIDEO:
                feature['info'] = {
                    'video.height': camera.height, 'video.width': camera.width,
                    'video.codec': self.video_codec, 'video.pix_fmt': 'yuv420p',
                    'video.is_depth_map': False, 'video.fps': self.fps, 'video.channels': 3,
                    'has_audio': False}
            features[camera.key] = feature
        for key, dtype in INDEX_FEATURES.items():
            features[key] = {'dtype': dtype, 'shape': [1], 'names': None}
        return features

    def info(self, *, episodes: int, frames: int, tasks: int) -> dict[str, Any]:
        """The whole ``info.json``."""
        suffix = self.table_format.suffix
        video = self.image_storage is ImageStorage.VIDEO
        return {
            'codebase_version': CODEBASE_VERSION, 'robot_type': self.robot_type,
            'total_episodes': episodes, 'total_frames': frames, 'total_tasks': tasks,
            'chunks_size': CHUNKS_SIZE, 'data_files_size_in_mb': DATA_FILE_SIZE_MB,
            'video_files_size_in_mb': VIDEO_FILE_SIZE_MB, 'fps': self.fps,
            'splits': {'train': f'0:{episodes}'},
            'data_path': f'data/chunk-{{chunk_index:03d}}/file-{{file_index:03d}}{suffix}',
            'video_path': ('videos/{video_key}/chunk-{chunk_index:03d}/'
                           'file-{file_index:03d}.mp4') if video else None,
            'features': self.features()}

    @classmethod
    def from_info(cls, raw: Any, where: Path) -> DatasetLayout:
        """Read ``info.json``'s mapping.

        Raises:
            DataError: another codebase version, or a missing or malformed field.
        """
        try:
            if raw['codebase_version'] != CODEBASE_VERSION:
                raise DataError(f'{where}: codebase_version {raw["codebase_version"]!r}, '
                                f'expected {CODEBASE_VERSION!r}')
            features = raw['features']
            joints = tuple(str(name) for name in features[STATE_KEY]['names'])
            cameras = tuple(CameraFeature(key[len(_IMAGE_PREFIX):], int(value['shape'][0]),
                                          int(value['shape'][1]))
                            for key, value in features.items() if key.startswith(_IMAGE_PREFIX))
            storages = {ImageStorage(features[camera.key]['dtype']) for camera in cameras}
            codecs = {features[camera.key].get('info', {}).get('video.codec')
                      for camera in cameras}
            return cls(fps=int(raw['fps']), joint_names=joints, cameras=cameras,
                       image_storage=storages.pop() if len(storages) == 1 else ImageStorage.IMAGE,
                       table_format=TableFormat.of(Path(raw['data_path'])),
                       robot_type=raw.get('robot_type'), video_codec=codecs.pop() if codecs
                       else None)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise DataError(f'{where}: not a LeRobot v3.0 info.json: {err!r}') from err


def feature_stats(values: NDArray[Any]) -> dict[str, list[float]]:
    """``stats.json`` entry of a (N, D) feature: mean, std, min, max, q01, q99, count."""
    array = np.asarray(values, dtype=np.float64)
    stats = compute_stats(array).to_json()
    stats['min'] = array.min(axis=0).tolist()
    stats['max'] = array.max(axis=0).tolist()
    stats['count'] = [len(array)]
    return stats


def image_stats(pixels: NDArray[np.uint8]) -> dict[str, Any]:
    """``stats.json`` entry of a camera from sampled (N, 3) RGB pixels, scaled to [0, 1].

    LeRobot keeps image statistics per channel with shape (3, 1, 1).
    """
    stats = feature_stats(pixels.astype(np.float64) / 255.0)
    return {key: value if key == 'count' else [[[channel]] for channel in value]
            for key, value in stats.items()}
