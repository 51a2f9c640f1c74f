# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobotDataset v3.0 directory -> a rosbag2 bag that exports back to the same frames.

Frame k of an episode becomes, at bag time ``t_k`` (the dataset's fps from the episode's
start): a ``sensor_msgs/msg/JointState`` of ``observation.state`` on ``joint_states``, an rgb8
``sensor_msgs/msg/Image`` per camera on ``camera/<name>/image_raw``, and a one-point
``trajectory_msgs/msg/JointTrajectory`` commanding ``action`` at ``t_{k+1}`` (zero header
stamp: it starts on arrival) on the command topic. Episode markers (as the recorder's
episode services write them) carry each episode's task and outcome, and episodes follow each
other with a gap of ``EPISODE_GAP_S``. Header stamps are the bag times. Messages are encoded
with rosbags; no ROS installation is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np

from vla_ros.data.bag_writer import BagWriter, StorageFormat
from vla_ros.data.episodes import (
    encode_marker,
    EPISODE_START_TOPIC,
    EPISODE_STOP_TOPIC,
    MARKER_TYPE,
)
from vla_ros.data.lerobot_reader import EpisodeData, LeRobotReader
from vla_ros.data.message_types import MessageTypes
from vla_ros.data.sync import frame_stamp_ns

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

__all__ = ['DEFAULT_COMMAND_TOPIC', 'EPISODE_GAP_S', 'IMPORT_START_NS', 'ImportSummary',
           'import_lerobot']

#: Where the actions go by default: no controller listens there, so playing the bag
#: commands nothing unless remapped to a controller's topic.
DEFAULT_COMMAND_TOPIC = '/joint_trajectory'
EPISODE_GAP_S = 1.0
#: Bag time of the first frame (2023-11-14T22:13:20Z): fixed, so an import repeats exactly.
IMPORT_START_NS = 1_700_000_000_000_000_000
_JOINT_STATE = 'sensor_msgs/msg/JointState'
_IMAGE = 'sensor_msgs/msg/Image'
_TRAJECTORY = 'trajectory_msgs/msg/JointTrajectory'


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import wrote."""

    bag: Path
    episodes: int
    frames: int
    messages: int


def import_lerobot(root: Path, bag: Path, *, storage: StorageFormat = StorageFormat.SQLITE3,
                   command_topic: str = DEFAULT_COMMAND_TOPIC,
                   start_ns: int = IMPORT_START_NS) -> ImportSummary:
    """Write every episode of the dataset in ``root`` into a new bag ``bag``.

    Raises:
        DataError: not a readable dataset, or the bag path exists.
    """
    reader = LeRobotReader(root)
    message_types = MessageTypes()
    fps = reader.layout.fps
    origin_ns, frames = start_ns, 0
    with BagWriter(bag, storage=storage, message_types=message_types) as writer:
        encoder = _Encoder(message_types.typestore, reader.layout.joint_names)
        for episode in reader.episodes:
            data = reader.load(episode)
            last_ns = _write_episode(writer, encoder, data, origin_ns=origin_ns, fps=fps,
                                     command_topic=command_topic)
            frames += episode.length
            origin_ns = last_ns + int(EPISODE_GAP_S * 1e9)
        counts = writer.close()
    return ImportSummary(bag, len(reader.episodes), frames,
                         sum(count.written for count in counts))


def _write_episode(writer: BagWriter, encoder: _Encoder, data: EpisodeData, *, origin_ns: int,
                   fps: int, command_topic: str) -> int:
    """Write one episode from ``origin_ns``; the bag time of its last frame."""
    writer.write(f'/{EPISODE_START_TOPIC}', MARKER_TYPE, origin_ns,
                 encode_marker(data.episode.instruction))
    stamp_ns = origin_ns
    for index in range(data.episode.length):
        stamp_ns = frame_stamp_ns(origin_ns, index, fps)
        due_ns = frame_stamp_ns(origin_ns, index + 1, fps) - stamp_ns
        writer.write('/joint_states', _JOINT_STATE, stamp_ns,
                     encoder.joint_state(data.joint_positions[index], stamp_ns))
        for camera, images in data.images.items():
            writer.write(f'/camera/{camera}/image_raw', _IMAGE, stamp_ns,
                         encoder.image(images[index], stamp_ns, camera))
        writer.write(command_topic, _TRAJECTORY, stamp_ns,
                     encoder.trajectory(data.actions[index], due_ns))
    writer.write(f'/{EPISODE_STOP_TOPIC}', MARKER_TYPE, stamp_ns,
                 encode_marker(data.episode.outcome.value))
    return stamp_ns


class _Encoder:
    """Builds CDR bytes of the standard messages with a rosbags typestore."""

    def __init__(self, typestore: Typestore, joint_names: tuple[str, ...]) -> None:
        self._store = typestore
        self._types = typestore.types
        self._joint_names = list(joint_names)

    def _header(self, stamp_ns: int, frame_id: str = '') -> Any:
        seconds, nanoseconds = divmod(stamp_ns, 1_000_000_000)
        return self._types['std_msgs/msg/Header'](
            stamp=self._types['builtin_interfaces/msg/Time'](sec=seconds, nanosec=nanoseconds),
            frame_id=frame_id)

    def _encode(self, message: Any, type_name: str) -> bytes:
        return bytes(self._store.serialize_cdr(message, type_name))

    def joint_state(self, positions: np.ndarray[Any, Any], stamp_ns: int) -> bytes:
        """A JointState of ``positions`` (no velocities or efforts)."""
        empty = np.zeros(0, dtype=np.float64)
        return self._encode(self._types[_JOINT_STATE](
            header=self._header(stamp_ns), name=self._joint_names,
            position=np.asarray(positions, dtype=np.float64), velocity=empty, effort=empty),
            _JOINT_STATE)

    def image(self, pixels: np.ndarray[Any, Any], stamp_ns: int, camera: str) -> bytes:
        """An rgb8 Image of (H, W, 3) uint8 ``pixels``."""
        height, width = pixels.shape[:2]
        return self._encode(self._types[_IMAGE](
            header=self._header(stamp_ns, camera), height=height, width=width, encoding='rgb8',
            is_bigendian=0, step=width * 3,
            data=np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1)), _IMAGE)

    def trajectory(self, target: np.ndarray[Any, Any], due_ns: int) -> bytes:
        """A one-point JointTrajectory reaching ``target`` ``due_ns`` after it arrives."""
        seconds, nanoseconds = divmod(due_ns, 1_000_000_000)
        empty = np.zeros(0, dtype=np.float64)
        point = self._types['trajectory_msgs/msg/JointTrajectoryPoint'](
            positions=np.asarray(target, dtype=np.float64), velocities=empty,
            accelerations=empty, effort=empty,
            time_from_start=self._types['builtin_interfaces/msg/Duration'](
                sec=seconds, nanosec=nanoseconds))
        return self._encode(self._types[_TRAJECTORY](
            header=self._header(0), joint_names=self._joint_names, points=[point]), _TRAJECTORY)
