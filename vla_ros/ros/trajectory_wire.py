# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A ``JointTrajectory`` as the bytes the middleware sends, built with numpy (issue 16).

rclpy builds a message point by point in Python (a ``JointTrajectoryPoint`` per step, each
field checked element by element) and converts it to C again when it is published: about
0.3 ms for a 50-point chunk on this project's CPU, and as much again inside ``publish``.
``Publisher.publish`` also takes the serialized bytes (``publish_raw``), so the policy node
sends those instead: the message in plain little-endian CDR with its encapsulation header, as
rmw_fastrtps, rmw_cyclonedds and rmw_zenoh put a ROS message on the wire.

Every point of a chunk has the same fields (J positions, J velocities, no accelerations or
efforts, a time), so from the second point on each one is a record of fixed size, and the
points are one numpy structured array written in one go. The first point may start 4 bytes
off the 8-byte grid (it depends on the joint names' lengths); it then lacks the padding
before its positions and is cut out of a full record.

``WireFormat.probe`` checks, once, that this middleware reads the bytes back as the message
rclpy would have built (``rclpy.serialization`` uses the running rmw's type support); if it
does not, the node sends messages as before and says so in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct

import numpy as np
from rclpy.serialization import deserialize_message
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.ros.convert import trajectory_to_msg

__all__ = ['trajectory_to_cdr', 'WireFormat']

#: Plain CDR, little-endian, no options.
_ENCAPSULATION = b'\x00\x01\x00\x00'
_NANOSECONDS = 1_000_000_000


def trajectory_to_cdr(command: JointTrajectoryCommand) -> bytes | None:
    """The CDR bytes of ``trajectory_to_msg(command)``; None where the layout does not apply.

    None for a command without velocities (its points' records would alternate between two
    alignments); the caller then builds the message.
    """
    if command.velocities is None:
        return None
    joints = len(command.joint_names)
    header = bytearray(struct.pack('<iII', 0, 0, 1))  # zero stamp; frame_id '' (length 1)
    header += b'\x00'
    _pad(header, 4)
    header += struct.pack('<I', joints)
    for name in command.joint_names:
        encoded = name.encode() + b'\x00'
        _pad(header, 4)
        header += struct.pack('<I', len(encoded)) + encoded
    _pad(header, 4)
    header += struct.pack('<I', len(command.times_from_start_s))
    nanoseconds = np.rint(np.asarray(command.times_from_start_s, dtype=np.float64) * 1e9
                          ).astype(np.int64)
    points = np.zeros(len(nanoseconds), dtype=_point_dtype(joints))
    points['positions_size'] = joints
    points['positions'] = command.positions
    points['velocities_size'] = joints
    points['velocities'] = command.velocities
    points['sec'] = nanoseconds // _NANOSECONDS
    points['nanosec'] = nanoseconds % _NANOSECONDS
    body = points.tobytes()
    if len(header) % 8 == 4 and len(body):  # first point off the grid: no padding before it
        body = body[:4] + body[8:]
    return _ENCAPSULATION + bytes(header) + body


def _pad(buffer: bytearray, alignment: int) -> None:
    """Zero bytes up to the next multiple of ``alignment`` (offsets from after the header)."""
    buffer += b'\x00' * (-len(buffer) % alignment)


def _point_dtype(joints: int) -> np.dtype[np.void]:
    """A ``JointTrajectoryPoint`` starting on the 8-byte grid: J positions and velocities."""
    return np.dtype([
        ('positions_size', '<u4'), ('pad0', '<u4'), ('positions', '<f8', (joints,)),
        ('velocities_size', '<u4'), ('pad1', '<u4'), ('velocities', '<f8', (joints,)),
        ('accelerations_size', '<u4'), ('effort_size', '<u4'),
        ('sec', '<i4'), ('nanosec', '<u4')])


@dataclass(frozen=True, slots=True)
class WireFormat:
    """Whether this middleware reads ``trajectory_to_cdr``'s bytes as rclpy's message."""

    raw: bool
    reason: str

    @classmethod
    def probe(cls) -> WireFormat:
        """Round-trip probe commands (names of every length mod 8) through rclpy's reader."""
        rng = np.random.default_rng(0)
        for joints in (1, 2, 7):
            for suffix in ('', 'a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg'):
                names = tuple(f'probe{suffix}_{index}' for index in range(joints))
                command = JointTrajectoryCommand(
                    names, np.array([0.1, 0.2, 0.3]), rng.normal(size=(3, joints)),
                    rng.normal(size=(3, joints)))
                encoded = trajectory_to_cdr(command)
                try:
                    decoded = None if encoded is None else deserialize_message(
                        encoded, JointTrajectory)
                except Exception as err:
                    return cls(False, 'rclpy messages (this middleware cannot read numpy-built '
                               f'CDR: {err})')
                if decoded != trajectory_to_msg(command):
                    return cls(False, 'rclpy messages (this middleware reads numpy-built CDR of '
                               f'{names} back differently)')
        return cls(True, "CDR bytes built with numpy (read back as rclpy's messages at "
                   'configure)')
