# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Bags -> a LeRobotDataset v3.0 directory (see ``lerobot_layout`` for the files).

Each bag is split into episodes (``episodes.split_episodes``), each episode resampled to the
dataset's fps (``sync``), and the frames written as they stream out of the bag: the joint
vectors into data tables, the images into MP4 files per camera (or the data rows). Every bag
must have the same joints and cameras, of the same size. ``meta/stats.json`` holds the
statistics of every frame's state and action and of a sample of the image pixels (every
``STATS_FRAME_STRIDE``-th frame, every ``STATS_PIXEL_STRIDE``-th pixel per axis).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError
from vla_ros.data.bag_reader import BagReader
from vla_ros.data.episodes import EpisodeSource, split_episodes
from vla_ros.data.lerobot_layout import (
    ACTION_KEY,
    CameraFeature,
    DATA_FILE_SIZE_MB,
    DatasetLayout,
    feature_stats,
    FilePosition,
    image_stats,
    ImageStorage,
    INDEX_FEATURES,
    STATE_KEY,
    VIDEO_FILE_SIZE_MB,
)
from vla_ros.data.message_types import MessageTypes
from vla_ros.data.sync import (
    ActionSource,
    EpisodeTimeline,
    Frame,
    iter_frames,
    sample_episodes,
    StreamLayout,
)
from vla_ros.data.table_files import TableFormat, write_table
from vla_ros.data.video_files import video_available, VideoWriter

__all__ = ['ExportOptions', 'ExportSummary', 'STATS_FRAME_STRIDE', 'STATS_PIXEL_STRIDE',
           'export_lerobot']

STATS_FRAME_STRIDE = 5
STATS_PIXEL_STRIDE = 4
_MB = 1 << 20


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """How bags become a dataset.

    Attributes:
        fps: frames per second of the dataset.
        action_source: where each frame's action comes from.
        episode_source: what marks the episodes in a bag.
        joint_names: the joints, in order; None: those the bag measures and commands.
        cameras: camera name -> topic; None: every image topic, named after it.
        default_instruction: the task of episodes whose bag records no instruction.
        image_storage: None picks VIDEO when PyAV is installed, else IMAGE.
        table_format: None picks Parquet when pyarrow is installed, else ``.npz``.
        robot_type: ``info.json``'s robot_type.
    """

    fps: int = 30
    action_source: ActionSource = ActionSource.COMMANDS
    episode_source: EpisodeSource = EpisodeSource.AUTO
    joint_names: tuple[str, ...] | None = None
    cameras: Mapping[str, str] | None = None
    default_instruction: str = ''
    image_storage: ImageStorage | None = None
    table_format: TableFormat | None = None
    robot_type: str | None = None


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote."""

    root: Path
    layout: DatasetLayout
    episodes: int
    frames: int
    tasks: tuple[str, ...]


def export_lerobot(bags: Sequence[Path], out: Path,
                   options: ExportOptions | None = None) -> ExportSummary:
    """Write the episodes of ``bags`` as a new LeRobot v3.0 dataset in ``out``.

    Raises:
        DataError: ``out`` exists, a bag is unreadable or lacks a stream, the bags differ in
            joints or cameras, an episode has no instruction and no default is given, or a
            requested storage format is not installed.
    """
    options = options or ExportOptions()
    if out.exists():
        raise DataError(f'{out}: exists already; choose a new dataset directory')
    storage = options.image_storage or (
        ImageStorage.VIDEO if video_available() else ImageStorage.IMAGE)
    table_format = options.table_format or TableFormat.best_available()
    if not table_format.available:
        raise DataError('Parquet tables need pyarrow, which is not installed; use npz')
    if storage is ImageStorage.VIDEO and not video_available():
        raise DataError('MP4 videos need PyAV (the av package), which is not installed; store '
                        'the images in the data rows instead')
    writer = _DatasetWriter(out, options, storage, table_format)
    types = MessageTypes().typestore
    for bag in bags:
        with BagReader(bag) as reader:
            layout = StreamLayout.detect(reader.info, cameras=options.cameras)
            spans = split_episodes(reader, types, source=options.episode_source)
            timelines = sample_episodes(reader, types, spans, layout=layout, fps=options.fps,
                                        action_source=options.action_source,
                                        joint_names=options.joint_names)
            frames = iter_frames(reader, types, timelines, layout)
            for episode, group in itertools.groupby(frames, key=lambda frame: frame.episode_index):
                writer.add_episode(timelines[episode], group, where=str(bag))
    return writer.finish()


@dataclass(slots=True)
class _Pending:
    """Rows and images of the data file being filled."""

    columns: dict[str, list[NDArray[Any]]] = field(default_factory=dict)
    bytes: int = 0

    def add(self, name: str, values: NDArray[Any]) -> None:
        self.columns.setdefault(name, []).append(values)
        self.bytes += values.nbytes


@dataclass(slots=True)
class _Video:
    writer: VideoWriter
    files: int


class _DatasetWriter:
    """Appends episodes to the dataset files; ``finish`` writes the metadata."""

    def __init__(self, root: Path, options: ExportOptions, storage: ImageStorage,
                 table_format: TableFormat) -> None:
        self._root = root
        self._options = options
        self._storage = storage
        self._table_format = table_format
        self._layout: DatasetLayout | None = None
        self._pending = _Pending()
        self._data_files = 0
        self._videos: dict[str, _Video] = {}
        self._tasks: dict[str, int] = {}
        self._episodes: dict[str, list[Any]] = {}
        self._frames = 0
        self._joint_rows: dict[str, list[NDArray[np.float32]]] = {STATE_KEY: [], ACTION_KEY: []}
        self._pixels: dict[str, list[NDArray[np.uint8]]] = {}

    def add_episode(self, timeline: EpisodeTimeline, frames: Iterable[Frame], *,
                    where: str) -> None:
        """Write one episode's frames, and remember its table rows and metadata."""
        instruction = timeline.episode.instruction or self._options.default_instruction
        if not instruction:
            raise DataError(f'{where}: episode at {timeline.episode.start_ns} ns has no '
                            'instruction; give a default task')
        index = self._episode_count()
        starts = {name: video.writer.frames for name, video in self._videos.items()}
        count = 0
        for frame in frames:
            self._add_images(frame, timeline, where)
            count += 1
        if count != timeline.length:
            raise DataError(f'{where}: {count} images for {timeline.length} frames')
        layout = self._require_layout()
        task_index = self._tasks.setdefault(instruction, len(self._tasks))
        frame_index = np.arange(count, dtype=np.int64)
        state = timeline.joint_positions.astype(np.float32)
        action = timeline.actions.astype(np.float32)
        for name, values in ((STATE_KEY, state), (ACTION_KEY, action),
                             ('timestamp', (frame_index / layout.fps).astype(np.float32)),
                             ('frame_index', frame_index),
                             ('episode_index', np.full(count, index, dtype=np.int64)),
                             ('index', self._frames + frame_index),
                             ('task_index', np.full(count, task_index, dtype=np.int64))):
            self._pending.add(name, values)
        self._joint_rows[STATE_KEY].append(state)
        self._joint_rows[ACTION_KEY].append(action)
        self._add_episode_row(index, instruction, timeline, starts)
        self._frames += count
        self._roll_files()

    def _episode_count(self) -> int:
        return len(self._episodes.get('episode_index', []))

    def _require_layout(self) -> DatasetLayout:
        if self._layout is None:
            raise DataError('internal: an episode without frames')
        return self._layout

    def _add_images(self, frame: Frame, timeline: EpisodeTimeline, where: str) -> None:
        layout = self._layout_for(frame, timeline, where)
        for camera in layout.cameras:
            image = frame.images[camera.name]
            if image.shape != (camera.height, camera.width, 3):
                raise DataError(f'{where}: camera {camera.name!r} image {image.shape!r}, '
                                f'expected ({camera.height}, {camera.width}, 3) like the first')
            if frame.frame_index % STATS_FRAME_STRIDE == 0:
                self._pixels.setdefault(camera.name, []).append(
                    image[::STATS_PIXEL_STRIDE, ::STATS_PIXEL_STRIDE].reshape(-1, 3))
            if self._storage is ImageStorage.VIDEO:
                self._video(camera).writer.add(image)
            else:
                self._pending.add(camera.key, image[np.newaxis])

    def _layout_for(self, frame: Frame, timeline: EpisodeTimeline, where: str) -> DatasetLayout:
        cameras = tuple(CameraFeature(name, *image.shape[:2])
                        for name, image in frame.images.items())
        if self._layout is None:
            self._layout = DatasetLayout(
                fps=timeline.fps, joint_names=timeline.joint_names, cameras=cameras,
                image_storage=self._storage, table_format=self._table_format,
                robot_type=self._options.robot_type)
        layout = self._layout
        if timeline.joint_names != layout.joint_names or tuple(
                camera.name for camera in cameras) != tuple(c.name for c in layout.cameras):
            raise DataError(f'{where}: joints {timeline.joint_names} and cameras '
                            f"{[c.name for c in cameras]} differ from the first bag's "
                            f'{layout.joint_names} and {[c.name for c in layout.cameras]}')
        return layout

    def _video(self, camera: CameraFeature) -> _Video:
        video = self._videos.get(camera.name)
        if video is None:
            layout = self._require_layout()
            files = 0
            path = self._root / layout.video_path(camera.key, FilePosition.of(files))
            video = self._videos[camera.name] = _Video(VideoWriter(
                path, fps=layout.fps, height=camera.height, width=camera.width), files)
            self._layout = replace(layout, video_codec=video.writer.codec)
        return video

    def _add_episode_row(self, index: int, instruction: str, timeline: EpisodeTimeline,
                         video_starts: Mapping[str, int]) -> None:
        layout = self._require_layout()
        data = FilePosition.of(self._data_files)
        row: dict[str, Any] = {
            'episode_index': index, 'tasks': [instruction], 'length': timeline.length,
            'data/chunk_index': data.chunk, 'data/file_index': data.file,
            'dataset_from_index': self._frames, 'dataset_to_index': self._frames + timeline.length,
            'outcome': timeline.episode.outcome.value,
            'meta/episodes/chunk_index': 0, 'meta/episodes/file_index': 0}
        for camera in layout.cameras if self._storage is ImageStorage.VIDEO else ():
            video = self._videos[camera.name]
            position = FilePosition.of(video.files)
            first = video_starts.get(camera.name, 0)
            row.update({f'videos/{camera.key}/chunk_index': position.chunk,
                        f'videos/{camera.key}/file_index': position.file,
                        f'videos/{camera.key}/from_timestamp': first / layout.fps,
                        f'videos/{camera.key}/to_timestamp':
                            (first + timeline.length) / layout.fps})
        for name, value in row.items():
            self._episodes.setdefault(name, []).append(value)

    def _roll_files(self) -> None:
        """Start new data and video files where the current ones passed their size caps."""
        if self._pending.bytes >= DATA_FILE_SIZE_MB * _MB:
            self._flush_data()
        layout = self._require_layout()
        for camera in layout.cameras:
            video = self._videos.get(camera.name)
            if video is not None and video.writer.size_bytes() >= VIDEO_FILE_SIZE_MB * _MB:
                video.writer.close()
                path = self._root / layout.video_path(camera.key, FilePosition.of(video.files + 1))
                self._videos[camera.name] = _Video(VideoWriter(
                    path, fps=layout.fps, height=camera.height, width=camera.width),
                    video.files + 1)

    def _flush_data(self) -> None:
        if not self._pending.columns:
            return
        path = self._root / self._require_layout().data_path(FilePosition.of(self._data_files))
        write_table(path, {name: np.concatenate(parts)
                           for name, parts in self._pending.columns.items()})
        self._pending = _Pending()
        self._data_files += 1

    def finish(self) -> ExportSummary:
        """Close the files and write the metadata."""
        if self._layout is None:
            raise DataError('no episode with frames in the bags; nothing exported')
        self._flush_data()
        for video in self._videos.values():
            video.writer.close()
        layout = self._require_layout()
        tasks = tuple(self._tasks)
        write_table(self._root / layout.tasks_path,
                    {'task_index': np.arange(len(tasks), dtype=np.int64),
                     'task': np.array(tasks, dtype=str)}, pandas_index='task')
        write_table(self._root / layout.episodes_path(FilePosition.of(0)), {
            name: np.array(values, dtype=str if name in ('tasks', 'outcome') else None)
            for name, values in self._episodes.items()})
        meta = self._root / 'meta'
        info = layout.info(episodes=self._episode_count(), frames=self._frames, tasks=len(tasks))
        (meta / 'info.json').write_text(json.dumps(info, indent=2) + '\n')
        (meta / 'stats.json').write_text(json.dumps(self._stats(), indent=2) + '\n')
        return ExportSummary(self._root, layout, self._episode_count(), self._frames, tasks)

    def _stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {key: feature_stats(np.concatenate(rows))
                                 for key, rows in self._joint_rows.items()}
        layout = self._require_layout()
        for camera in layout.cameras:
            stats[camera.key] = image_stats(np.concatenate(self._pixels[camera.name]))
        episode_lengths = np.array(self._episodes['length'])
        frame_index = np.concatenate([np.arange(length) for length in episode_lengths])
        task_index = np.repeat([self._tasks[task[0]] for task in self._episodes['tasks']],
                               episode_lengths)
        for key, values in (('timestamp', frame_index / layout.fps),
                            ('frame_index', frame_index),
                            ('episode_index', np.repeat(np.arange(len(episode_lengths)),
                                                        episode_lengths)),
                            ('index', np.arange(self._frames)), ('task_index', task_index)):
            stats[key] = feature_stats(np.asarray(values, dtype=np.float64)[:, np.newaxis])
        assert set(stats) >= set(INDEX_FEATURES), 'every bookkeeping column has statistics'
        return stats
