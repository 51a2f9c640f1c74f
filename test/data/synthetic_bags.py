# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A recording with known values, written with rclpy's own serializer (not the code under test).

Times are ms after ``T0_NS``. Over 4 s:

- ``/joint_states``: every 20 ms (index i at 20 i) joint1 = i, joint2 = -i; the gripper in its
  own messages every 30 ms (index g at 30 g + 2), gripper_joint = 0.001 g.
- ``/camera/front/image_raw`` (8x8 rgb8) every 50 ms (index j at 50 j + 1), red = j;
  ``/camera/wrist/image_raw`` every 100 ms (at 100 j + 1), red = j (see the pixel functions).
- ``/arm_controller/joint_trajectory`` n at 200 n + 5: points at +100 ms (n, 10 n) and at
  +300 ms (n + 2, 10 n + 20); ``/gripper_controller/joint_trajectory`` m at 500 m + 5: one
  point at +50 ms, 0.01 m.
- Episode markers: 'pick up the cube' from 300 to 1500 (succeeded), 'put it down' from 2000
  to 3500 (failed).
"""

from __future__ import annotations

from pathlib import Path

from builtin_interfaces.msg import Duration, Time
import numpy as np
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from vla_ros.data import BagWriter, MessageTypes

T0_NS = 1_700_000_000_000_000_000
MS = 1_000_000
DURATION_MS = 4000
EPISODES = (('pick up the cube', 300, 1500, 'succeeded'), ('put it down', 2000, 3500, 'failed'))
IMAGE_HEIGHT = IMAGE_WIDTH = 8


def stamp(ms: float) -> int:
    """Bag time of ``ms`` after T0."""
    return T0_NS + int(round(ms * MS))


def _time(stamp_ns: int) -> Time:
    return Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)


def _pixels(red: int, green: np.ndarray, blue: int) -> np.ndarray:
    image = np.empty((IMAGE_HEIGHT, IMAGE_WIDTH, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = red, green, blue
    return image


def _position() -> np.ndarray:
    """8 y + x at each pixel: tells rows from columns."""
    rows, columns = np.indices((IMAGE_HEIGHT, IMAGE_WIDTH))
    return IMAGE_WIDTH * rows + columns


def front_pixels(index: int) -> np.ndarray:
    """The front camera's image number ``index``: red = index, green = 8 y + x, blue 7."""
    return _pixels(index, _position(), 7)


def wrist_pixels(index: int) -> np.ndarray:
    """The wrist camera's image number ``index``: red = index, green = 255 - (8 y + x)."""
    return _pixels(index, 255 - _position(), 0)


def _image(pixels: np.ndarray, stamp_ns: int) -> Image:
    msg = Image(height=IMAGE_HEIGHT, width=IMAGE_WIDTH, encoding='rgb8', is_bigendian=0,
                step=IMAGE_WIDTH * 3, data=pixels.tobytes())
    msg.header.stamp = _time(stamp_ns)
    return msg


def _trajectory(names: list[str], points: list[tuple[int, list[float]]]) -> JointTrajectory:
    return JointTrajectory(joint_names=names, points=[
        JointTrajectoryPoint(positions=positions,
                             time_from_start=Duration(sec=0, nanosec=offset_ms * MS))
        for offset_ms, positions in points])


def messages(*, markers: bool = True) -> list[tuple[str, str, int, object]]:
    """(topic, type, bag time, message) of the whole recording, in time order."""
    made: list[tuple[str, str, int, object]] = []
    for i in range(DURATION_MS // 20):
        made.append(('/joint_states', 'sensor_msgs/msg/JointState', stamp(20 * i),
                     JointState(name=['joint1', 'joint2'], position=[float(i), float(-i)])))
    for g in range(DURATION_MS // 30):
        made.append(('/joint_states', 'sensor_msgs/msg/JointState', stamp(30 * g + 2),
                     JointState(name=['gripper_joint'], position=[0.001 * g])))
    for j in range(DURATION_MS // 50):
        made.append(('/camera/front/image_raw', 'sensor_msgs/msg/Image', stamp(50 * j + 1),
                     _image(front_pixels(j), stamp(50 * j + 1))))
    for j in range(DURATION_MS // 100):
        made.append(('/camera/wrist/image_raw', 'sensor_msgs/msg/Image', stamp(100 * j + 1),
                     _image(wrist_pixels(j), stamp(100 * j + 1))))
    for n in range(DURATION_MS // 200):
        made.append(('/arm_controller/joint_trajectory', 'trajectory_msgs/msg/JointTrajectory',
                     stamp(200 * n + 5), _trajectory(['joint1', 'joint2'], [
                         (100, [float(n), 10.0 * n]), (300, [n + 2.0, 10.0 * n + 20.0])])))
    for m in range(DURATION_MS // 500):
        made.append(('/gripper_controller/joint_trajectory',
                     'trajectory_msgs/msg/JointTrajectory', stamp(500 * m + 5),
                     _trajectory(['gripper_joint'], [(50, [0.01 * m])])))
    for instruction, start_ms, stop_ms, outcome in EPISODES if markers else ():
        made.append(('/vla/episode/start', 'std_msgs/msg/String', stamp(start_ms),
                     String(data=instruction)))
        made.append(('/vla/episode/stop', 'std_msgs/msg/String', stamp(stop_ms),
                     String(data=outcome)))
    return sorted(made, key=lambda entry: entry[2])


def write_bag(path: Path, *, markers: bool = True) -> Path:
    """Write the recording into a new bag at ``path``."""
    with BagWriter(path, message_types=MessageTypes()) as writer:
        for topic, type_name, stamp_ns, message in messages(markers=markers):
            writer.write(topic, type_name, stamp_ns, serialize_message(message))
    return path


def arm_target(due_ms: float) -> tuple[float, float]:
    """(joint1, joint2) commanded for ``due_ms``: the newest arm trajectory received before."""
    n = int((due_ms - 5 - 1e-9) // 200)
    since_ms = due_ms - (200 * n + 5)
    if since_ms <= 100:
        return float(n), 10.0 * n
    fraction = (since_ms - 100) / 200
    return n + 2.0 * fraction, 10.0 * n + 20.0 * fraction


def gripper_target(due_ms: float) -> float:
    """gripper_joint commanded for ``due_ms``."""
    return 0.01 * int((due_ms - 5 - 1e-9) // 500)


def joint_state(at_ms: float) -> tuple[float, float, float]:
    """(joint1, joint2, gripper_joint) measured last at or before ``at_ms``."""
    i = min(int(at_ms // 20), DURATION_MS // 20 - 1)
    g = min(int((at_ms - 2) // 30), DURATION_MS // 30 - 1)
    return float(i), float(-i), 0.001 * g
