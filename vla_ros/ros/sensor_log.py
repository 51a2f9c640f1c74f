# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a robot's sensors published while something ran: joint states and camera frames.

``SensorLog`` subscribes on a spinning node to the joint states and to every camera; it keeps
every joint state with its wall-clock arrival time, and of each camera the first and the newest
frame (``vla-ros demo`` plots them). Messages unlike the first ones (another robot on the DDS
domain, a malformed message, a frame of another size) are counted in ``foreign`` and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import functools
import threading
import time

import numpy as np
from numpy.typing import NDArray
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState

from vla_ros.core.errors import InputError
from vla_ros.ros.convert import image_from_msg
from vla_ros.ros.qos import SENSOR_QOS

__all__ = ['SensorLog', 'SensorRecording']

#: How often ``wait_for_sensors`` looks, seconds.
_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class SensorRecording:
    """A copy of what a ``SensorLog`` kept.

    Attributes:
        times_s: (N,) wall-clock arrival time of each joint state, s (monotonic).
        positions: (N, J) joint positions, rad (m for prismatic joints), columns ``names``.
        names: the joint names of the first joint state of the robot.
        frames: camera -> its frames, the first and the newest (one when only one came).
        marked_frames: camera -> its newest frame at ``mark_frames`` (empty if never called).
        foreign: messages ignored as not this robot's.
    """

    times_s: NDArray[np.float64]
    positions: NDArray[np.float64]
    names: tuple[str, ...]
    frames: dict[str, tuple[NDArray[np.uint8], ...]]
    marked_frames: dict[str, NDArray[np.uint8]]
    foreign: int


class SensorLog:
    """Collects joint states and camera frames from a spinning node (module docstring)."""

    def __init__(self, node: Node, *, camera_topics: Mapping[str, str], joint_state_topic: str,
                 joints: tuple[str, ...]) -> None:
        self._lock = threading.Lock()
        self._times_s: list[float] = []
        self._positions: list[list[float]] = []
        self._names: list[str] = []
        self._joints = set(joints)  # a joint state of this robot names at least these
        self._foreign = 0
        self._frames: dict[str, list[NDArray[np.uint8]]] = {camera: [] for camera in camera_topics}
        self._marked: dict[str, NDArray[np.uint8]] = {}
        self._joint_state_sub = node.create_subscription(
            JointState, joint_state_topic, self._on_joint_state, SENSOR_QOS)
        self._image_subs = [
            node.create_subscription(Image, topic, functools.partial(self._on_image, camera),
                                     SENSOR_QOS)
            for camera, topic in camera_topics.items()]

    def wait_for_sensors(self, timeout_s: float) -> bool:
        """Wait until a joint state and a frame of every camera came; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._positions and all(self._frames.values()):
                    return True
            time.sleep(_POLL_S)
        return False

    def mark_frames(self) -> None:
        """Keep each camera's newest frame as the moment of interest (only the first call)."""
        with self._lock:
            if not self._marked:
                self._marked = {camera: frames[-1] for camera, frames in self._frames.items()
                                if frames}

    def recording(self) -> SensorRecording:
        """A copy of everything kept so far."""
        with self._lock:
            return SensorRecording(
                times_s=np.array(self._times_s, dtype=np.float64),
                positions=np.array(self._positions, dtype=np.float64),
                names=tuple(self._names),
                frames={camera: tuple(frames) for camera, frames in self._frames.items()},
                marked_frames=dict(self._marked), foreign=self._foreign)

    def _on_joint_state(self, msg: JointState) -> None:
        with self._lock:
            if not self._names and self._joints <= set(msg.name):
                self._names = list(msg.name)
            if list(msg.name) != self._names or len(msg.position) != len(self._names):
                self._foreign += 1  # another robot on this DDS domain, or a malformed message
                return
            self._times_s.append(time.monotonic())
            self._positions.append(list(msg.position))

    def _on_image(self, camera: str, msg: Image) -> None:
        try:
            frame = image_from_msg(msg, where=f'camera {camera}')
        except InputError:
            with self._lock:
                self._foreign += 1
            return
        with self._lock:
            frames = self._frames[camera]
            if frames and frames[0].shape != frame.shape:
                self._foreign += 1
                return
            frames.append(frame)
            del frames[1:-1]  # keep the first and the newest
