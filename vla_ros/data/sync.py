# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Resample a bag's camera, joint-state and command streams into fixed-rate frames.

Frame k of an episode is taken at ``t_k = t_0 + k / fps``; ``t_0`` is the episode's start, or
the first time every stream has data if that is later, and frames run while ``t_k`` is inside
the episode. A frame holds what a policy would have seen at ``t_k`` (the newest image of
each camera and the newest position of each joint received at or before ``t_k``) and the
action that followed: the joint targets due at ``t_{k+1}``, the layout of vla_ros's own
demonstrations (``actions[k]`` is due one step after observation k).

:class:`ActionSource` says where the targets come from. ``COMMANDS``: the recorded
``trajectory_msgs/msg/JointTrajectory`` commands (one topic per controller); the target of a
joint at time ``t`` is the newest trajectory for it received strictly before ``t``, linearly
interpolated at ``t`` (its first point before the first point's time, its last after the
end). A trajectory starts when it is received: header stamps are ignored (the policy node
sends zero stamps, and a stamp from another clock would misplace it). ``NEXT_STATE``: the
measured positions at ``t_{k+1}``, for recordings without commands (teleoperation).

Joint states and commands are read whole (they are small); images are streamed by
:func:`iter_frames`, one decoded image per camera in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
import logging
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError, InputError
from vla_ros.core.images import decode_compressed_image, decode_image
from vla_ros.data.cdr import deserialize

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

    from vla_ros.data.bag_reader import BagInfo, BagMessage, BagReader
    from vla_ros.data.episodes import EpisodeSpan

__all__ = ['ActionSource', 'CameraStream', 'EpisodeTimeline', 'Frame', 'StreamLayout',
           'frame_stamp_ns', 'iter_frames', 'sample_episodes']

_LOGGER = logging.getLogger(__name__)
_IMAGE_TYPES = ('sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage')
_JOINT_STATE_TYPE = 'sensor_msgs/msg/JointState'
_TRAJECTORY_TYPE = 'trajectory_msgs/msg/JointTrajectory'
#: The policy node's dry-run output: never commanded, so never an action.
_PREVIEW_PREFIX = '/vla/preview/'
#: Topic name endings that say nothing about which camera it is.
_IMAGE_SUFFIXES = ('/compressed', '/image_raw', '/image_rect', '/image_color', '/image')


class ActionSource(Enum):
    """Where a frame's action (the joint targets due one frame later) comes from."""

    COMMANDS = 'commands'
    NEXT_STATE = 'next-state'


def frame_stamp_ns(origin_ns: int, index: int, fps: int) -> int:
    """The bag time of frame ``index`` of a grid that starts at ``origin_ns``."""
    return origin_ns + index * 1_000_000_000 // fps


@dataclass(frozen=True, slots=True)
class CameraStream:
    """A camera topic and the name the dataset and the policy know it by."""

    name: str
    topic: str
    type_name: str


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """Which topics of a bag are the joint states, the cameras and the commands."""

    joint_state_topic: str
    cameras: tuple[CameraStream, ...]
    command_topics: tuple[str, ...]

    @classmethod
    def detect(cls, info: BagInfo, *, cameras: Mapping[str, str] | None = None) -> StreamLayout:
        """Find the streams by type: one JointState topic, every image topic, every command.

        A camera is named after its topic: ``/camera/front/image_raw`` is ``front``; found
        cameras are ordered by name, given ones keep their order.

        Args:
            info: the bag's topics.
            cameras: name -> topic, to choose and name the cameras explicitly.

        Raises:
            DataError: no or several joint-state topics, no camera, a camera topic missing,
                or two camera topics with the same name.
        """
        types = {topic.topic: topic.type_name for topic in info.topics}
        joint_topics = [topic for topic, kind in types.items() if kind == _JOINT_STATE_TYPE]
        if len(joint_topics) != 1:
            raise DataError(f'{info.path}: expected one {_JOINT_STATE_TYPE} topic, found '
                            f'{joint_topics or "none"}')
        if cameras is None:  # sorted by name: the same order for every bag
            found = sorted((_camera_name(topic), topic) for topic, kind in types.items()
                           if kind in _IMAGE_TYPES)
        else:
            found = [(name, topic if topic.startswith('/') else f'/{topic}')
                     for name, topic in cameras.items()]
        missing = [topic for _, topic in found if types.get(topic) not in _IMAGE_TYPES]
        names = [name for name, _ in found]
        if not found or missing or len(set(names)) != len(names):
            raise DataError(f'{info.path}: cameras {dict(found)!r}: need at least one, each an '
                            f'image topic of the bag, with distinct names (bag image topics: '
                            f'{[t for t, k in types.items() if k in _IMAGE_TYPES]})')
        commands = tuple(topic for topic, kind in types.items() if kind == _TRAJECTORY_TYPE
                         and not topic.startswith(_PREVIEW_PREFIX))
        return cls(joint_topics[0], tuple(CameraStream(name, topic, types[topic])
                                          for name, topic in found), commands)

    @property
    def camera_names(self) -> tuple[str, ...]:
        """The cameras' names, in layout order."""
        return tuple(camera.name for camera in self.cameras)


def _camera_name(topic: str) -> str:
    name = topic
    while any(name.endswith(suffix) for suffix in _IMAGE_SUFFIXES):
        name = name[:name.rindex('/')]
    return name.rsplit('/', 1)[-1] or topic.strip('/').replace('/', '_')


@dataclass(frozen=True, slots=True)
class EpisodeTimeline:
    """An episode's frame times, joint positions and actions (its images come from iter_frames).

    Attributes:
        episode: the span and its metadata.
        joint_names: the columns of ``joint_positions`` and ``actions``.
        stamps_ns: (T,) int64 bag time of each frame, ns.
        joint_positions: (T, J) float64 measured at each frame, rad (m for prismatic joints).
        actions: (T, J) float64 targets due one frame later, same units.
        fps: frames per second.
    """

    episode: EpisodeSpan
    joint_names: tuple[str, ...]
    stamps_ns: NDArray[np.int64]
    joint_positions: NDArray[np.float64]
    actions: NDArray[np.float64]
    fps: int

    @property
    def length(self) -> int:
        """Number of frames T."""
        return len(self.stamps_ns)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame's images, with where it belongs."""

    #: Index into the timelines given to :func:`iter_frames`.
    episode_index: int
    frame_index: int
    #: Camera name -> (H, W, 3) uint8 RGB.
    images: Mapping[str, NDArray[np.uint8]]


@dataclass(frozen=True, slots=True)
class _Trajectory:
    received_ns: int
    #: (P,) each point's time after ``received_ns`` (small numbers: exact as floats).
    point_offsets_ns: NDArray[np.int64]
    #: (P, J) of this trajectory's joints.
    positions: NDArray[np.float64]
    joint_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Signals:
    """Per joint: measurement times and values; per joint: the trajectories naming it."""

    joint_states: Mapping[str, tuple[NDArray[np.int64], NDArray[np.float64]]]
    joint_order: tuple[str, ...]
    commands: Mapping[str, list[_Trajectory]]
    camera_ready_ns: int


def sample_episodes(reader: BagReader, typestore: Typestore, episodes: Sequence[EpisodeSpan], *,
                    layout: StreamLayout, fps: int, action_source: ActionSource,
                    joint_names: Sequence[str] | None = None) -> tuple[EpisodeTimeline, ...]:
    """The frame grid, joint positions and actions of each episode; empty episodes dropped.

    Args:
        reader: the open bag.
        typestore: knows the bag's message types.
        episodes: non-overlapping spans, in time order (``split_episodes``).
        layout: the bag's streams.
        fps: frames per second of the grid.
        action_source: where the actions come from.
        joint_names: the joints, in order; by default those of the joint states (only the
            commanded ones with COMMANDS), in the order the joint states list them.

    Raises:
        DataError: fps < 1, no command topic for COMMANDS, a requested joint never measured
            or commanded, or a message that does not decode.
    """
    if fps < 1:
        raise DataError(f'fps: {fps!r}, expected an integer >= 1')
    if action_source is ActionSource.COMMANDS and not layout.command_topics:
        raise DataError(f'{reader.path}: no {_TRAJECTORY_TYPE} topic to take actions from; '
                        "record the controllers' joint_trajectory topics or use next-state "
                        'actions')
    signals = _read_signals(reader, typestore, layout)
    names = _joint_names(signals, action_source, joint_names, reader)
    ready_ns = max([signals.camera_ready_ns] + [int(signals.joint_states[name][0][0])
                                                for name in names])
    if action_source is ActionSource.COMMANDS:
        ready_ns = max([ready_ns] + [signals.commands[name][0].received_ns for name in names])
    timelines = []
    for span in episodes:
        origin_ns = max(span.start_ns, ready_ns)
        count = _frame_count(span.end_ns - origin_ns, fps)
        if count <= 0:
            _LOGGER.warning('%s: episode at %d ns has no frame with every stream; dropped',
                            reader.path, span.start_ns)
            continue
        stamps = np.array([frame_stamp_ns(origin_ns, k, fps) for k in range(count + 1)],
                          dtype=np.int64)
        states = _states_at(signals, names, stamps)
        actions = (states[1:] if action_source is ActionSource.NEXT_STATE
                   else _targets_at(signals, names, stamps[1:]))
        timelines.append(EpisodeTimeline(span, names, stamps[:-1], states[:-1], actions, fps))
    return tuple(timelines)


def _frame_count(span_ns: int, fps: int) -> int:
    """How many grid stamps ``frame_stamp_ns(0, k, fps)`` lie in [0, span_ns]."""
    if span_ns < 0:
        return 0
    return -(-(span_ns + 1) * fps // 1_000_000_000)


def _joint_names(signals: _Signals, action_source: ActionSource,
                 requested: Sequence[str] | None, reader: BagReader) -> tuple[str, ...]:
    commanded = action_source is ActionSource.COMMANDS
    if requested is None:
        names = tuple(name for name in signals.joint_order
                      if not commanded or name in signals.commands)
    else:
        names = tuple(requested)
    lacking = [name for name in names if name not in signals.joint_states
               or (commanded and name not in signals.commands)]
    if not names or lacking:
        raise DataError(f'{reader.path}: joints {list(names)!r}: {lacking or "none"} never '
                        f'{"measured and commanded" if commanded else "measured"} (measured: '
                        f'{list(signals.joint_order)}, commanded: {sorted(signals.commands)})')
    return names


def _read_signals(reader: BagReader, typestore: Typestore, layout: StreamLayout) -> _Signals:
    stamps: dict[str, list[int]] = {}
    values: dict[str, list[float]] = {}
    commands: dict[str, list[_Trajectory]] = {}
    for message in reader.messages([layout.joint_state_topic, *layout.command_topics]):
        decoded = _decode(typestore, message, reader)
        if message.topic == layout.joint_state_topic:
            for name, position in zip(decoded.name, decoded.position):
                stamps.setdefault(str(name), []).append(message.timestamp_ns)
                values.setdefault(str(name), []).append(float(position))
        elif decoded.points:
            trajectory = _trajectory(decoded, message.timestamp_ns)
            for name in trajectory.joint_names:
                commands.setdefault(name, []).append(trajectory)
    camera_ready_ns = max(_first_stamp_ns(reader, camera.topic) for camera in layout.cameras)
    return _Signals({name: (np.array(stamps[name], dtype=np.int64),
                            np.array(values[name], dtype=np.float64)) for name in stamps},
                    tuple(stamps), commands, camera_ready_ns)


def _decode(typestore: Typestore, message: BagMessage, reader: BagReader) -> Any:
    return deserialize(typestore, message.data, message.type_name,
                       where=f'{reader.path}: {message.topic} at {message.timestamp_ns} ns')


def _trajectory(decoded: Any, received_ns: int) -> _Trajectory:
    names = tuple(str(name) for name in decoded.joint_names)
    offsets = [point.time_from_start.sec * 1_000_000_000 + point.time_from_start.nanosec
               for point in decoded.points]
    positions = np.array([np.asarray(point.positions, dtype=np.float64)
                          for point in decoded.points])
    if positions.shape != (len(offsets), len(names)):
        raise DataError(f'joint trajectory received at {received_ns} ns: positions '
                        f'{positions.shape!r}, expected ({len(offsets)}, {len(names)})')
    return _Trajectory(received_ns, np.array(offsets, dtype=np.int64), positions, names)


def _first_stamp_ns(reader: BagReader, topic: str) -> int:
    first = next(reader.messages([topic]), None)
    if first is None:
        raise DataError(f'{reader.path}: camera topic {topic} has no message')
    return first.timestamp_ns


def _states_at(signals: _Signals, names: tuple[str, ...],
               stamps_ns: NDArray[np.int64]) -> NDArray[np.float64]:
    """(T, J) newest measured position at or before each stamp."""
    columns = []
    for name in names:
        times, values = signals.joint_states[name]
        columns.append(values[np.searchsorted(times, stamps_ns, side='right') - 1])
    return np.stack(columns, axis=1)


def _targets_at(signals: _Signals, names: tuple[str, ...],
                stamps_ns: NDArray[np.int64]) -> NDArray[np.float64]:
    """(T, J) commanded target due at each stamp, from the newest trajectory before it."""
    targets = np.empty((len(stamps_ns), len(names)))
    for column, name in enumerate(names):
        trajectories = signals.commands[name]
        received = np.array([trajectory.received_ns for trajectory in trajectories])
        chosen = np.searchsorted(received, stamps_ns, side='left') - 1
        for row, (stamp_ns, index) in enumerate(zip(stamps_ns, chosen)):
            trajectory = trajectories[index]
            joint = trajectory.joint_names.index(name)
            targets[row, column] = np.interp(stamp_ns - trajectory.received_ns,
                                             trajectory.point_offsets_ns,
                                             trajectory.positions[:, joint])
    return targets


def iter_frames(reader: BagReader, typestore: Typestore, timelines: Sequence[EpisodeTimeline],
                layout: StreamLayout) -> Iterator[Frame]:
    """Every frame's images, in time order: the newest image of each camera at the frame.

    Raises:
        DataError: an image message that does not decode, or an encoding vla_ros cannot read.
    """
    pending = ((episode, index, int(stamp_ns)) for episode, timeline in enumerate(timelines)
               for index, stamp_ns in enumerate(timeline.stamps_ns))
    latest: dict[str, BagMessage] = {}
    decoded: dict[str, tuple[BagMessage, NDArray[np.uint8]]] = {}

    def frame(episode: int, index: int) -> Frame:
        images = {}
        for camera in layout.cameras:
            message = latest[camera.topic]
            cached = decoded.get(camera.topic)
            if cached is None or cached[0] is not message:
                cached = decoded[camera.topic] = (message, _image(typestore, message, reader))
            images[camera.name] = cached[1]
        return Frame(episode, index, images)

    upcoming = next(pending, None)
    for message in reader.messages([camera.topic for camera in layout.cameras]):
        while upcoming is not None and upcoming[2] < message.timestamp_ns:
            yield frame(upcoming[0], upcoming[1])
            upcoming = next(pending, None)
        if upcoming is None:
            return
        latest[message.topic] = message
    while upcoming is not None:
        yield frame(upcoming[0], upcoming[1])
        upcoming = next(pending, None)


def _image(typestore: Typestore, message: BagMessage, reader: BagReader) -> NDArray[np.uint8]:
    decoded = _decode(typestore, message, reader)
    where = f'{message.topic} at {message.timestamp_ns} ns'
    try:
        if message.type_name == _IMAGE_TYPES[1]:
            return decode_compressed_image(decoded.data, where=where)
        return decode_image(encoding=decoded.encoding, height=decoded.height,
                            width=decoded.width, step=decoded.step, data=decoded.data,
                            where=where)
    except InputError as err:
        raise DataError(f'{reader.path}: {err}') from err
